package openrouter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Defaults of RetryPolicy.
const (
	// DefaultMaxAttempts is how many times a call is tried, the first time included.
	DefaultMaxAttempts = 4
	// DefaultBudget bounds a whole call, attempts and waits together: well under the tens of seconds
	// after which MCP hosts give up on a tool call, so the model hears why instead of a host timeout.
	DefaultBudget = 20 * time.Second
	// DefaultBaseDelay is the ceiling of the first backoff wait; it doubles with each retry.
	DefaultBaseDelay = 500 * time.Millisecond
	// DefaultMaxDelay caps one backoff wait. A Retry-After from OpenRouter is honoured beyond it, as
	// long as the budget covers it.
	DefaultMaxDelay = 5 * time.Second
)

// RetryPolicy says when a failed call is tried again and how long it waits first. Any zero field takes
// its default, so the zero value is the default policy.
//
// What is retried:
//   - GET, PATCH and DELETE (all idempotent here: a PATCH sets the same fields again, a DELETE of a gone
//     key changes nothing) on 429, 500, 502, 503 and 504, on connection errors, on an attempt that timed
//     out, and on an answer that was cut short, too large or not the JSON expected;
//   - POST /keys only when the request certainly never reached OpenRouter (the connection could not be
//     made). Any other failure of a create is final and, unless OpenRouter said no (4xx), wraps
//     ErrOutcomeUnknown: the key may exist, and only a look at the list can tell.
//
// Waits are exponential with full jitter: before retry n, a random time in [0, min(MaxDelay,
// BaseDelay·2^(n-1))). When OpenRouter sends Retry-After (seconds or an HTTP date) or retry-after-ms,
// that wait is used instead. A call never runs past its Budget (nor past its context's deadline): when
// the wait OpenRouter asks for does not fit in what is left, the call fails at once and its error says
// how long to wait.
//
// A DELETE retried after an attempt whose answer was lost (a dropped connection, a timeout, a 5xx) and
// then answered 404 counts as a success: the first attempt most likely deleted the key, and either way
// the key is gone.
type RetryPolicy struct {
	MaxAttempts int           // attempts per call, the first included; 1 turns retries off
	Budget      time.Duration // wall time for a whole call, attempts and waits together
	BaseDelay   time.Duration // ceiling of the first backoff wait
	MaxDelay    time.Duration // ceiling of any backoff wait

	// Hooks for tests and logging; nil means the real thing.
	Now     func() time.Time                                 // the clock the budget is measured on
	Sleep   func(ctx context.Context, d time.Duration) error // waits d, or returns ctx's error sooner
	Jitter  func(ceiling time.Duration) time.Duration        // a random duration in [0, ceiling)
	OnRetry func(context.Context, RetryEvent)                // called before each wait, with the call's context; must not block
}

// RetryEvent describes a failed attempt that is about to be tried again.
type RetryEvent struct {
	Method  string        // the request's method
	Path    string        // the endpoint, e.g. /keys/{hash}
	Attempt int           // the attempt that failed, counting from 1
	Wait    time.Duration // how long the client waits before the next attempt
	Err     error         // why the attempt failed (safe to log: no key, no secret)
}

// withDefaults fills in the zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Budget <= 0 {
		p.Budget = DefaultBudget
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Jitter == nil {
		p.Jitter = func(ceiling time.Duration) time.Duration {
			if ceiling <= 0 {
				return 0
			}
			return rand.N(ceiling)
		}
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the ceiling of the wait before retry n (n ≥ 1): BaseDelay doubled n-1 times, at most
// MaxDelay.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// outcome classifies a failed attempt for the retry decision.
type outcome int

const (
	// final: retrying cannot help, or must not happen (the caller's context ended, a 4xx, a bad request).
	final outcome = iota
	// unsent: nothing reached OpenRouter (the connection could not be made); safe to retry any method.
	unsent
	// lost: the request went out but no usable answer came back; it may have been carried out.
	lost
	// answered: OpenRouter (or a proxy before it) answered with an error status; see the *APIError.
	answered
	// held: the breaker kept the request back, unsent, while OpenRouter rate limits the key; a 429
	// *APIError says how long. Waiting it out spends no attempt: nothing was sent.
	held
)

// retryableStatus are the statuses worth another attempt of an idempotent request.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryable decides whether an attempt that failed with kind may be tried again.
func retryable(method string, kind outcome, err error) bool {
	switch kind {
	case unsent:
		return true
	case lost:
		return method != http.MethodPost
	case answered:
		return method != http.MethodPost && retryableStatus(StatusOf(err))
	case held:
		return method != http.MethodPost
	}
	return false
}

// errGoneAfterLostAnswer is what a retried DELETE meets when an earlier attempt, whose answer was lost,
// most likely deleted the key: a 404. DeleteKey counts it as success.
var errGoneAfterLostAnswer = errors.New("the key was gone when the delete was retried")

// attemptFunc makes one attempt with the given timeout and classifies its failure.
type attemptFunc func(ctx context.Context, timeout time.Duration) (outcome, error)

// withRetries runs attempt until it succeeds, fails for good, runs out of attempts or of budget, or ctx
// ends. It is the one place the retry policy is applied.
func (c *Client) withRetries(ctx context.Context, method, path string, attempt attemptFunc) error {
	p := c.retry
	deadline := p.Now().Add(p.Budget)
	// left is the time that remains for the call: the budget, and the caller's own deadline.
	left := func() time.Duration {
		d := deadline.Sub(p.Now())
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, time.Until(dl))
		}
		return d
	}
	answerLost := false
	for n := 1; ; n++ {
		kind, err := attempt(ctx, min(c.timeout, max(left(), time.Millisecond)))
		if err == nil {
			return nil
		}
		if kind == held && n > 1 {
			// Not sent, so not an attempt: readers of a key held back together would otherwise spend
			// their attempts on the breaker's refusals, not on OpenRouter. The budget still bounds them.
			n--
		}
		if method == http.MethodDelete && answerLost && StatusOf(err) == http.StatusNotFound {
			return errGoneAfterLostAnswer
		}
		if kind == lost || (kind == answered && StatusOf(err) >= 500) {
			answerLost = true
		}
		if ctx.Err() != nil || !retryable(method, kind, err) {
			return err
		}
		if n >= p.MaxAttempts {
			if n == 1 {
				return err // retries are off
			}
			return fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		wait := p.Jitter(p.backoff(n))
		var apiErr *APIError
		asked := errors.As(err, &apiErr) && apiErr.RetryAfter > 0
		if asked {
			wait = apiErr.RetryAfter
		}
		if remaining := left(); wait >= remaining {
			if asked {
				return fmt.Errorf("OpenRouter asked to wait %s before trying again, more than the %s left for this call, so it was not retried: %w",
					seconds(wait, true), seconds(max(remaining, 0), false), err)
			}
			return fmt.Errorf("%w (gave up after %d attempts: out of time)", err, n)
		}
		if p.OnRetry != nil {
			p.OnRetry(ctx, RetryEvent{Method: method, Path: path, Attempt: n, Wait: wait, Err: err})
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("request cancelled while waiting to retry (%w) after: %w", serr, err)
		}
	}
}

// seconds writes a duration for a message as whole seconds ("12 seconds"), rounded up or down: a model
// reads that more easily than "11.734s".
func seconds(d time.Duration, up bool) string {
	n := d / time.Second
	if up && d%time.Second != 0 {
		n++
	}
	if n == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", n)
}
