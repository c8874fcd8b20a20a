package accesstoken_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken"
	"github.com/orkeys/openrouter-keys-mcp/accesstoken/testissuer"
)

const audience = "https://keys.example.com/mcp"

func newVerifier(t *testing.T, iss *testissuer.Issuer, minRefresh time.Duration) *accesstoken.Verifier {
	t.Helper()
	v, err := accesstoken.New(context.Background(), accesstoken.Config{Issuer: iss.URL, Audience: audience, MinRefresh: minRefresh})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	iss := testissuer.Start()
	defer iss.Close()
	other := testissuer.Start()
	defer other.Close()
	v := newVerifier(t, iss, 0)

	valid := iss.Claims("alice", audience, "keys:read keys:write")
	valid["email"] = "alice@example.com"
	valid["scp"] = []string{"keys:admin"}
	c, err := v.Verify(context.Background(), iss.Token(valid))
	if err != nil {
		t.Fatalf("a valid token: %v", err)
	}
	if c.Subject != "alice" || c.Email != "alice@example.com" || !slices.Equal(c.Scopes, []string{"keys:admin", "keys:read", "keys:write"}) {
		t.Errorf("claims %+v", c)
	}

	with := func(k string, val any) map[string]any {
		m := iss.Claims("alice", audience, "keys:read")
		m[k] = val
		return m
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"wrong audience", iss.Token(with("aud", "https://other.example.com/mcp")), "not meant for this server"},
		{"wrong issuer", iss.Token(with("iss", other.URL)), "another issuer"},
		{"signed by another issuer", other.Token(iss.Claims("alice", audience, "keys:read")), "signature"},
		{"expired", iss.Token(with("exp", time.Now().Add(-time.Minute).Unix())), "expired"},
		{"not yet valid", iss.Token(with("nbf", time.Now().Add(time.Hour).Unix())), "not valid yet"},
		{"alg none", testissuer.Unsigned(iss.Claims("alice", audience, "keys:read")), "accepted algorithm"},
		{"HS256 with the public key", testissuer.HS256WithPublicKey(iss.Current(), iss.Claims("alice", audience, "keys:read")), "accepted algorithm"},
		{"no subject", iss.Token(with("sub", "")), "no subject"},
		{"not a JWT", "sk-or-v1-" + strings.Repeat("a", 64), "not a JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error repeats the token")
			}
		})
	}
}

// After the issuer rotates its keys, a token naming the new key is verified (the keys are fetched
// again), and one signed with the retired key no longer is.
func TestRotation(t *testing.T) {
	iss := testissuer.Start()
	defer iss.Close()
	v := newVerifier(t, iss, time.Millisecond)
	old := iss.Current()
	if _, err := v.Verify(context.Background(), iss.Token(iss.Claims("alice", audience, ""))); err != nil {
		t.Fatal(err)
	}
	iss.Rotate()
	time.Sleep(5 * time.Millisecond)
	if _, err := v.Verify(context.Background(), iss.Token(iss.Claims("alice", audience, ""))); err != nil {
		t.Fatalf("a token of the new key after rotation: %v", err)
	}
	if _, err := v.Verify(context.Background(), old.Sign(iss.Claims("alice", audience, ""))); err == nil {
		t.Fatal("a token of the retired key was accepted")
	}
}

// Tokens naming keys the issuer never had do not make the verifier fetch the keys again and again.
func TestRefreshIsBounded(t *testing.T) {
	iss := testissuer.Start()
	defer iss.Close()
	v := newVerifier(t, iss, time.Hour)
	before := iss.KeyFetches()
	for range 20 {
		stranger := testissuer.NewKey()
		if _, err := v.Verify(context.Background(), stranger.Sign(iss.Claims("mallory", audience, ""))); err == nil {
			t.Fatal("a token of a key the issuer never published was accepted")
		}
	}
	if n := iss.KeyFetches() - before; n > 0 {
		t.Errorf("the keys were fetched %d more times within the refresh interval, want none", n)
	}
}

func TestNewRefusesAnIssuerThatIsNotItself(t *testing.T) {
	iss := testissuer.Start()
	defer iss.Close()
	_, err := accesstoken.New(context.Background(), accesstoken.Config{Issuer: iss.URL + "/", Audience: audience})
	if err == nil {
		t.Fatal("an issuer URL that differs from the discovery document's was accepted")
	}
}
