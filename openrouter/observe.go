package openrouter

import (
	"context"
	"errors"
	"time"
)

// observed wraps each attempt of a call so that Options.OnAttempt hears of it: the status
// OpenRouter answered (0 when none came, or the request was never sent) and how long it took.
func (c *Client) observed(method, endpoint string, attempt attemptFunc) attemptFunc {
	if c.onAttempt == nil {
		return attempt
	}
	return func(ctx context.Context, timeout time.Duration) (outcome, error) {
		start := time.Now()
		kind, err := attempt(ctx, timeout)
		status := StatusOf(err)
		if err == nil {
			status = 200 // any 2xx: the client does not keep which
		}
		var ns notSentError
		if !errors.As(err, &ns) {
			c.onAttempt(method, endpoint, status, time.Since(start))
		}
		return kind, err
	}
}
