package transport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// ShutdownGrace is how long in-flight requests may run on after a shutdown signal.
const ShutdownGrace = 10 * time.Second

// ServeHTTP serves h on ln until ctx is done, then shuts down gracefully: beforeShutdown (when not nil)
// ends long-lived streams, new connections are refused and requests in flight get ShutdownGrace to
// finish. Requests run in a context that the shutdown does not cancel, so a call in flight completes.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger zerolog.Logger, beforeShutdown func(context.Context)) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          newStdLogger(logger),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if beforeShutdown != nil {
		beforeShutdown(sctx)
	}
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
