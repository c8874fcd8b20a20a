package transport

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// buckets is a token bucket per principal: each holds up to burst requests and refills at rate a
// second. A principal whose bucket is full is not kept (a full bucket and none are the same), so
// the map holds only the principals that called within the last burst/rate seconds.
type buckets struct {
	rate, burst float64
	now         func() time.Time

	mu        sync.Mutex
	held      map[Principal]*bucket
	sweptAt   time.Time
	refillDur time.Duration // how long an empty bucket takes to fill: the sweep's period
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// newBuckets returns the buckets for rate requests a second, bursts of up to burst; nil (no limit)
// when rate is not positive.
func newBuckets(rate float64, burst int) *buckets {
	if rate <= 0 {
		return nil
	}
	b := float64(max(burst, 1))
	return &buckets{rate: rate, burst: b, now: time.Now, held: make(map[Principal]*bucket),
		refillDur: time.Duration(b / rate * float64(time.Second))}
}

// take takes one request's token for p, or reports how long until one is there.
func (b *buckets) take(p Principal) (wait time.Duration, ok bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweepLocked(now)
	k := b.held[p]
	if k == nil {
		k = &bucket{tokens: b.burst, at: now}
		b.held[p] = k
	}
	k.tokens = min(b.burst, k.tokens+now.Sub(k.at).Seconds()*b.rate)
	k.at = now
	if k.tokens >= 1 {
		k.tokens--
		return 0, true
	}
	return time.Duration((1 - k.tokens) / b.rate * float64(time.Second)), false
}

// sweepLocked forgets the buckets that have filled up, at most once per refill period, so that the
// map costs nothing per request and stays as small as the set of recent callers.
func (b *buckets) sweepLocked(now time.Time) {
	if now.Sub(b.sweptAt) < b.refillDur {
		return
	}
	b.sweptAt = now
	for p, k := range b.held {
		if k.tokens+now.Sub(k.at).Seconds()*b.rate >= b.burst {
			delete(b.held, p)
		}
	}
}

// admit takes a token for p, or answers 429 with Retry-After (whole seconds, at least one) and
// reports false. Nil buckets admit everything.
func (b *buckets) admit(w http.ResponseWriter, p Principal) bool {
	if b == nil {
		return true
	}
	wait, ok := b.take(p)
	if ok {
		return true
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, httpError("too many requests from this caller: at most "+
		strconv.FormatFloat(b.rate, 'f', -1,
			64)+" a second (bursts of "+strconv.Itoa(int(b.burst))+"); retry in "+strconv.Itoa(secs)+" s"))
	return false
}
