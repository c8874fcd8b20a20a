package openrouter_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// keyCatcher is a server that records whether any request reached it, and whether one carried a key.
type keyCatcher struct {
	*httptest.Server
	hits, keys atomic.Int32
}

func newKeyCatcher(t *testing.T, tlsOn bool) *keyCatcher {
	k := &keyCatcher{}
	k.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			k.keys.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"label":"sk-or-v1-abc...123","limit":null,"usage":0}}`))
	}))
	if tlsOn {
		k.StartTLS()
	} else {
		k.Start()
	}
	t.Cleanup(k.Close)
	return k
}

// redirector answers every request with a redirect to target's origin, same path.
func redirector(t *testing.T, target string, tlsOn bool) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	})
	srv := httptest.NewUnstartedServer(h)
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestRedirectsNeverCarryTheKey: a redirect to another port of the same host, or from https to http,
// is refused before anything is sent there, with an error naming the base URL; a redirect within the
// base URL's origin is followed without the key. net/http alone sends the key on in both first cases.
func TestRedirectsNeverCarryTheKey(t *testing.T) {
	t.Run("another port", func(t *testing.T) {
		catcher := newKeyCatcher(t, false)
		from := redirector(t, catcher.URL, false)
		c := mustNew(t, openrouter.Options{BaseURL: from.URL + "/api/v1", APIKey: testKey})
		_, err := c.CurrentKey(context.Background())
		assertRefused(t, err, from.URL, catcher)
	})
	t.Run("https to http", func(t *testing.T) {
		catcher := newKeyCatcher(t, false)
		from := redirector(t, catcher.URL, true)
		roots := x509.NewCertPool()
		roots.AddCert(from.Certificate())
		c := mustNew(t, openrouter.Options{BaseURL: from.URL + "/api/v1", APIKey: testKey})
		openrouter.SetTransportTLS(c, &tls.Config{RootCAs: roots})
		_, err := c.CurrentKey(context.Background())
		assertRefused(t, err, from.URL, catcher)
	})
	t.Run("same origin", func(t *testing.T) {
		catcher := newKeyCatcher(t, false)
		var first atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if first.CompareAndSwap(false, true) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			catcher.Config.Handler.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		// The caller's own client is copied, not changed.
		mine := &http.Client{}
		c := mustNew(t, openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: testKey, HTTPClient: mine})
		if _, err := c.CurrentKey(context.Background()); err != nil {
			t.Fatalf("a redirect within the origin: %v", err)
		}
		if catcher.hits.Load() != 1 || catcher.keys.Load() != 0 {
			t.Errorf("after a redirect within the origin: %d requests, %d with the key; want 1, 0", catcher.hits.Load(), catcher.keys.Load())
		}
		if mine.CheckRedirect != nil {
			t.Error("the caller's http.Client was changed")
		}
	})
}

func assertRefused(t *testing.T, err error, base string, catcher *keyCatcher) {
	t.Helper()
	if err == nil {
		t.Fatal("a redirect to another origin was followed")
	}
	if !strings.Contains(err.Error(), base+"/api/v1") || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("the error does not name the base URL and the redirect: %v", err)
	}
	if strings.Contains(err.Error(), testKeyHex) {
		t.Errorf("the error holds the key: %v", err)
	}
	if n := catcher.hits.Load(); n != 0 {
		t.Errorf("%d requests reached the redirect's target (%d with the key)", n, catcher.keys.Load())
	}
}
