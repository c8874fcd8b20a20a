package openrouter_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// TestConnectionsAreReused: the one transport New builds keeps connections alive and shares them
// between calls, concurrent ones included, and speaks HTTP/2 when the server offers it.
func TestConnectionsAreReused(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := map[bool]string{false: "HTTP/1.1", true: "HTTP/2 over TLS"}[h2]
		t.Run(name, func(t *testing.T) {
			sb := sandbox.New(sandbox.Options{})
			var conns atomic.Int32
			var protos sync.Map
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				protos.Store(r.Proto, true)
				sb.ServeHTTP(w, r)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			if h2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
			if err != nil {
				t.Fatal(err)
			}
			if h2 {
				roots := x509.NewCertPool()
				roots.AddCert(srv.Certificate())
				openrouter.SetTransportTLS(c, &tls.Config{RootCAs: roots})
			}
			ctx := context.Background()
			for range 50 {
				if _, err := c.CurrentKey(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 25 {
						if _, err := c.ListKeys(ctx, openrouter.ListKeysParams{}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			want := "HTTP/1.1"
			// Reuse, not a count: without keep-alive each of the 250 calls would open a connection. The
			// bound is not 1 + 8: net/http may dial for a waiting request, hand it a connection freed
			// meanwhile and keep the new one idle, more often on a loaded machine (this failed at 12).
			limit := int32(25)
			if h2 {
				want, limit = "HTTP/2.0", 1 // one connection carries every stream
			}
			if n := conns.Load(); n > limit {
				t.Errorf("250 calls opened %d connections, want at most %d", n, limit)
			}
			protos.Range(func(k, _ any) bool {
				if k != want {
					t.Errorf("a request came over %s, want %s", k, want)
				}
				return true
			})
		})
	}
}
