package transport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ShutdownGrace is how long in-flight requests may run on after a shutdown signal.
const ShutdownGrace = 10 * time.Second

// MaxHeaderBytes caps a request's headers (net/http allows 4 KiB more). MCP requests carry a few
// small headers, an OIDC token the largest; every connection stalled in its headers may pin this
// much before anyone knows who it is.
const MaxHeaderBytes = 16 << 10

// ReadHeaderTimeout is how long a connection may take to send a request's headers, which a client
// sends at once: a connection stalled in them holds a place under the connection cap for no longer.
const ReadHeaderTimeout = 5 * time.Second

// ServeHTTP serves h on ln until ctx is done, then shuts down gracefully: beforeShutdown (when not nil)
// drains (NewHTTPHandler's ends long-lived streams and answers new requests 503 while the calls in
// flight finish, the listener still open), then new connections are refused and requests in flight
// get what is left of ShutdownGrace to finish. Requests run in a context that the shutdown does not cancel, so a call in flight completes.
// Connections that have not sent a whole request yet are closed at once: a client stalled in its
// headers must not hold the shutdown up (net/http would wait for it for up to 5 s). Connections are
// capped by the limits of ln when it came from LimitConns, by the default limits otherwise.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger zerolog.Logger, beforeShutdown func(context.Context)) error {
	cl, ok := ln.(*connLimiter)
	if !ok {
		cl = LimitConns(ln, ConnLimits{}, logger).(*connLimiter)
	}
	var fresh freshConns
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          newStdLogger(logger),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnState: func(c net.Conn, state http.ConnState) {
			fresh.track(c, state)
			cl.track(c, state)
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cl) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	fresh.closeAll() // before a drain that may wait for calls: they have said nothing, and are told nothing
	if beforeShutdown != nil {
		beforeShutdown(sctx)
	}
	srv.RegisterOnShutdown(fresh.closeAll)
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// freshConns tracks the connections that have not yet sent their first request.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state == http.StateNew {
		if f.conns == nil {
			f.conns = make(map[net.Conn]struct{})
		}
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}
