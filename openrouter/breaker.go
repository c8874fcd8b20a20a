package openrouter

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"
)

// How long the breaker holds a key that OpenRouter answered 429: what OpenRouter asked for, else
// minHold (short: less than the retry policy's first backoff, which it leaves alone), and never
// more than maxHold (the retry policy, or the caller, decides beyond that).
const (
	minHold = 250 * time.Millisecond
	maxHold = time.Minute
)

// breaker remembers, per upstream key, that OpenRouter is rate limiting it: until the wait
// OpenRouter asked for is over, an attempt with that key is answered here with a 429 of our own
// and never sent. Without it, every call in flight with the key, and each of their retries, would
// go on knocking at OpenRouter, and it counts those too. Keys are known by their digest.
type breaker struct {
	now func() time.Time

	mu   sync.Mutex
	open map[[sha256.Size]byte]time.Time // until when
}

// newBreaker returns a breaker on the clock now (the retry policy's, so that tests share one).
func newBreaker(now func() time.Time) *breaker {
	return &breaker{now: now, open: make(map[[sha256.Size]byte]time.Time)}
}

// guard wraps the attempts of one call made with key: refused while key's breaker is open, and
// opening it when OpenRouter answers 429. The call that opened it is let through: its retry policy
// has already waited what OpenRouter asked for (on its own clock) before trying again.
func (b *breaker) guard(key Secret, method, path string, attempt attemptFunc) attemptFunc {
	id := sha256.Sum256([]byte(key.Reveal()))
	tripped := false
	return func(ctx context.Context, timeout time.Duration) (outcome, error) {
		if wait := b.wait(id); wait > 0 && !tripped {
			return held, &APIError{Status: http.StatusTooManyRequests, Code: http.StatusTooManyRequests,
				Message:    "OpenRouter is rate limiting this key; not sent, to let its limit recover",
				RetryAfter: wait, Method: method, Path: path}
		}
		kind, err := attempt(ctx, timeout)
		if tripped = StatusOf(err) == http.StatusTooManyRequests; tripped {
			b.trip(id, retryAfterOf(err))
		}
		return kind, err
	}
}

// wait is how long key's breaker stays open; 0 when it is closed.
func (b *breaker) wait(id [sha256.Size]byte) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.open[id]
	if !ok {
		return 0
	}
	if d := until.Sub(b.now()); d > 0 {
		return d
	}
	delete(b.open, id)
	return 0
}

// trip opens key's breaker for hold, what OpenRouter asked for (minHold when it asked for nothing,
// never more than maxHold), unless it is open longer already.
func (b *breaker) trip(id [sha256.Size]byte, hold time.Duration) {
	if hold <= 0 {
		hold = minHold
	}
	until := b.now().Add(min(hold, maxHold))
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.open[id]) {
		b.open[id] = until
	}
}

func retryAfterOf(err error) time.Duration {
	var e *APIError
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
