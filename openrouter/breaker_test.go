package openrouter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// TestRateLimitedKeyIsNotHammered: once OpenRouter answers a key 429 with Retry-After, further calls
// with that key are not sent until the wait is over; calls with another key still are.
func TestRateLimitedKeyIsNotHammered(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":429,"message":"Rate limit exceeded"}}`))
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1_000_000, 0)
	var clock sync.Mutex
	c := mustNew(t, openrouter.Options{BaseURL: srv.URL, APIKey: "sk-or-v1-limited",
		Retry: openrouter.RetryPolicy{MaxAttempts: 1, Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }}})
	sent := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen["Bearer "+key]
	}
	ctx := context.Background()
	if _, err := c.CurrentKey(ctx); openrouter.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("first call: %v", err)
	}
	for range 3 {
		_, err := c.CurrentKey(ctx)
		var ae *openrouter.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter != 5*time.Second {
			t.Fatalf("a call while the key is held: %v", err)
		}
	}
	if n := sent("sk-or-v1-limited"); n != 1 {
		t.Errorf("OpenRouter saw %d requests with the limited key, want 1", n)
	}
	_, _ = c.CurrentKey(openrouter.WithAPIKey(ctx, "sk-or-v1-other"))
	if n := sent("sk-or-v1-other"); n != 1 {
		t.Errorf("another key's call: %d requests, want 1", n)
	}
	clock.Lock()
	now = now.Add(5 * time.Second)
	clock.Unlock()
	_, _ = c.CurrentKey(ctx)
	if n := sent("sk-or-v1-limited"); n != 2 {
		t.Errorf("after the wait OpenRouter saw %d requests with the key, want 2", n)
	}
	if _, err := c.CurrentKey(ctx); err == nil || strings.Contains(err.Error(), "sk-or-v1") {
		t.Errorf("the held key's error must not quote the key: %v", err)
	}
}

// TestBreakerHoldsWhatOpenRouterAsked: a 429 asking for less than the breaker's default hold is held
// only that long; one asking for nothing is held the default (a quarter second).
func TestBreakerHoldsWhatOpenRouterAsked(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		held, free    time.Duration // still held after held, free again after free
	}{
		{"retry-after-ms", "20", 10 * time.Millisecond, 20 * time.Millisecond},
		{"", "", 200 * time.Millisecond, 250 * time.Millisecond},
	} {
		var mu sync.Mutex
		sent := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			sent++
			mu.Unlock()
			if tc.header != "" {
				w.Header().Set(tc.header, tc.value)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"code":429,"message":"Rate limit exceeded"}}`))
		}))
		now := time.Unix(1_000_000, 0)
		var clock sync.Mutex
		at := func(d time.Duration) {
			clock.Lock()
			defer clock.Unlock()
			now = time.Unix(1_000_000, 0).Add(d)
		}
		c := mustNew(t, openrouter.Options{BaseURL: srv.URL, APIKey: "sk-or-v1-limited",
			Retry: openrouter.RetryPolicy{MaxAttempts: 1, Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }}})
		count := func() int { mu.Lock(); defer mu.Unlock(); return sent }
		_, _ = c.CurrentKey(context.Background())
		at(tc.held)
		_, _ = c.CurrentKey(context.Background())
		if n := count(); n != 1 {
			t.Errorf("%q: a call %s after the 429 was sent (%d requests), want it held", tc.header, tc.held, n)
		}
		at(tc.free)
		_, _ = c.CurrentKey(context.Background())
		if n := count(); n != 2 {
			t.Errorf("%q: a call %s after the 429 was held (%d requests), want it sent", tc.header, tc.free, n)
		}
		srv.Close()
	}
}
