package transport

import (
	"context"
	"net/http"
	"time"
)

// DrainRetryAfter is the Retry-After, in seconds, of a request refused because the server is
// draining: by then a load balancer has another replica to send it to.
const DrainRetryAfter = "1"

// refuseWhileDraining answers 503 with Retry-After to every request that reaches next once the
// server has begun to shut down (draining is done), and closes its connection: the caller should
// go to another replica, and the calls already admitted finish meanwhile.
func refuseWhileDraining(draining context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Err() != nil {
			w.Header().Set("Retry-After", DrainRetryAfter)
			shuttingDown(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// waitForCalls waits until no call holds a slot, or ctx ends: the bound on how long admitted calls
// may take to finish once the server drains.
func (l *limiter) waitForCalls(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(l.calls.c)+len(l.replies.c) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
