package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// watchedUpstream is an emulator that holds the first request to a key endpoint until that request's
// context ends (its client went away) or hold passes, and reports both moments. Later requests are
// answered at once.
type watchedUpstream struct {
	base, key string
	arrived   chan struct{} // the held request reached the upstream
	gone      chan struct{} // the held request's context ended: the client gave it up
	released  chan struct{} // hold passed with the client still there
}

func newWatchedUpstream(t *testing.T, hold time.Duration) *watchedUpstream {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	u := &watchedUpstream{key: sb.ManagementKey(), arrived: make(chan struct{}), gone: make(chan struct{}), released: make(chan struct{})}
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			close(u.arrived)
			select {
			case <-r.Context().Done():
				close(u.gone)
				return
			case <-time.After(hold):
				close(u.released)
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u.base = srv.URL + "/api/v1"
	return u
}

// TestCancelledCallEndsItsUpstreamRequest: when the MCP client gives up a call (its context ends), the
// request to OpenRouter ends too, at once, not when its own timeout (10 s) comes. Over stdio mcp-go's
// client and the go-sdk's send notifications/cancelled, which cancels the handler's context; over HTTP
// the client ends the HTTP request, which does. Either way the context reaches the upstream request.
// The server goes on answering afterwards.
func TestCancelledCallEndsItsUpstreamRequest(t *testing.T) {
	type starter func(t *testing.T, ctx context.Context, version string, u *watchedUpstream) session
	stdio := func(start func(*testing.T, context.Context, string, []string, ...string) (session, *lockedBuffer)) starter {
		return func(t *testing.T, ctx context.Context, version string, u *watchedUpstream) session {
			s, _ := start(t, ctx, version, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+u.key), "--base-url", u.base)
			return s
		}
	}
	overHTTP := func(connect func(*testing.T, context.Context, string, string, map[string]string) session, extra ...string) starter {
		return func(t *testing.T, ctx context.Context, version string, u *watchedUpstream) session {
			srv := startHTTP(t, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+u.key), append([]string{"--base-url", u.base}, extra...)...)
			return connect(t, ctx, srv.url, version, nil)
		}
	}
	clients := map[string]starter{
		"stdio/mcp-go":         stdio(startMCPGo),
		"stdio/go-sdk":         stdio(startGoSDK),
		"http/mcp-go":          overHTTP(mcpGoHTTP),
		"http/go-sdk":          overHTTP(goSDKHTTP),
		"http-stateful/mcp-go": overHTTP(mcpGoHTTP, "--stateful"),
		"http-stateful/go-sdk": overHTTP(goSDKHTTP, "--stateful"),
	}
	for name, start := range clients {
		for _, version := range []string{"", "2025-06-18"} {
			t.Run(name+"/"+cmp(version, "default"), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				u := newWatchedUpstream(t, 30*time.Second)
				s := start(t, ctx, version, u)

				callCtx, cancelCall := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() {
					_, _, _, err := s.call(callCtx, "list_keys", nil)
					done <- err
				}()
				select {
				case <-u.arrived:
				case <-time.After(30 * time.Second):
					t.Fatal("the call never reached the upstream")
				}
				start := time.Now()
				cancelCall()
				select {
				case <-u.gone:
					t.Logf("the upstream saw the request go %s after the client cancelled", time.Since(start).Round(time.Millisecond))
				case <-u.released:
					t.Fatal("the upstream request ran its course: the cancellation did not reach it")
				case <-time.After(5 * time.Second):
					t.Fatal("the upstream request was still open 5 s after the client cancelled the call")
				}
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("the cancelled call returned %v, want context.Canceled", err)
				}
				// The server still answers.
				_, text, isErr, err := s.call(ctx, "current_key", nil)
				if err != nil || isErr {
					t.Errorf("a call after the cancellation: %v %s", err, text)
				}
			})
		}
	}
}

// TestShutdownCancelsInFlightCallsOnlyAfterTheGrace: on SIGTERM a call in flight keeps its upstream
// request for the grace period (transport.ShutdownGrace) and loses it only once that has passed, when
// the server stops. (TestSIGTERMLetsTheCallInFlightFinish shows a call that ends within the grace
// being answered.)
func TestShutdownCancelsInFlightCallsOnlyAfterTheGrace(t *testing.T) {
	t.Parallel()
	u := newWatchedUpstream(t, time.Minute)
	srv := startHTTP(t, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+u.key), "--base-url", u.base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := mcpGoHTTP(t, ctx, srv.url, "", nil)
	go func() { _, _, _, _ = s.call(ctx, "list_keys", nil) }()
	<-u.arrived
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-u.gone:
	case <-time.After(transport.ShutdownGrace + 15*time.Second):
		t.Fatal("the upstream request outlived the grace period")
	}
	took := time.Since(start)
	if took < transport.ShutdownGrace-time.Second {
		t.Errorf("the upstream request was cut %s after SIGTERM, before the %s grace was over", took, transport.ShutdownGrace)
	}
	t.Logf("the call in flight lost its upstream request %s after SIGTERM (grace %s)", took.Round(100*time.Millisecond), transport.ShutdownGrace)
	_ = srv.wait(t)
}
