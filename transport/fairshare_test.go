package transport_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// TestRatePerPrincipal: one caller that spends its bucket is refused with 429 and a Retry-After,
// before its body is read (a stalled body is answered at once), while another caller is served.
func TestRatePerPrincipal(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.RatePerPrincipal = 0.5 // one token every 2 s: none comes back during the test
		o.BurstPerPrincipal = 3
		o.BodyTimeout = time.Minute
	})
	for i := range 3 {
		if r := fd.do(t, request{auth: "Bearer other-flooder"}); r.status != http.StatusOK {
			t.Fatalf("call %d within the burst: %d %s", i+1, r.status, r.body)
		}
	}
	r := fd.do(t, request{auth: "Bearer other-flooder"})
	secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != http.StatusTooManyRequests || secs < 1 || secs > 2 {
		t.Errorf("a call past the burst: %d, Retry-After %q, %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	c := fd.rawRequest(t, "Bearer other-flooder", 1000, 10)
	if status, _ := answer(t, c); status != http.StatusTooManyRequests {
		t.Errorf("a call past the burst with a stalled body: %d, want 429 at once", status)
	}
	if r := fd.do(t, request{}); r.status != http.StatusOK {
		t.Errorf("another caller meanwhile: %d %s", r.status, r.body)
	}
}

// TestAuthenticatorNamesThePrincipal: two credentials that the authenticator says are one principal
// (as one person's two tokens will be) share one bucket.
func TestAuthenticatorNamesThePrincipal(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.RatePerPrincipal, o.BurstPerPrincipal = 0.5, 1
		o.Auth = func(ctx context.Context, token string) (context.Context, error) {
			ctx, err := tokenAuth(ctx, token)
			if err != nil {
				return nil, err
			}
			return transport.WithPrincipal(ctx, transport.Principal{Kind: "person", ID: "ada"}), nil
		}
	})
	if r := fd.do(t, request{auth: "Bearer other-ada-laptop"}); r.status != http.StatusOK {
		t.Fatalf("first token: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{auth: "Bearer other-ada-phone"}); r.status != http.StatusTooManyRequests {
		t.Errorf("the same principal's second token: %d %s", r.status, r.body)
	}
}
