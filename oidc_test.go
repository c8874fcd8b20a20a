package main

import (
	"io"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken/testissuer"
)

// Doctor checks an OIDC configuration end to end against a real (loopback) issuer, one line each.
func TestDoctorChecksOIDC(t *testing.T) {
	iss := testissuer.Start()
	defer iss.Close()
	base := []string{"doctor", "--sandbox", "--auth", "oidc", "--resource-url", "https://keys.example.com/mcp"}

	code, out, _ := runMain(t, nil, append(base, "--oidc-issuer", iss.URL)...)
	for _, want := range []string{
		"ok       OIDC discovery at " + iss.URL + " names the issuer and its keys at " + iss.URL + "/jwks",
		"ok       the issuer publishes 1 signing keys",
		"ok       access tokens must be for https://keys.example.com/mcp (aud)",
	} {
		if code != 0 || !strings.Contains(out, want+"") {
			t.Errorf("doctor: exit %d, want a line %q:\n%s", code, want, out)
		}
	}

	_, out, _ = runMain(t, nil, append(base, "--oidc-issuer", iss.URL, "--oidc-audience", "api://keys")...)
	if !strings.Contains(out, "note     access tokens must carry aud api://keys, but clients ask for tokens for the resource https://keys.example.com/mcp") {
		t.Errorf("doctor with an audience that is not the resource: want a note:\n%s", out)
	}

	code, out, _ = runMain(t, nil, append(base, "--oidc-issuer", iss.URL+"/")...)
	if code == 0 || !strings.Contains(out, "PROBLEM  access tokens: discovery at "+iss.URL+"/") {
		t.Errorf("doctor with an issuer that is not the discovery document's: exit %d:\n%s", code, out)
	}
}

// Signed-in people are told apart: each gets a share of the server by default, as callers with keys
// of their own do, not the whole of it as the one holder of a shared access token does.
func TestEachPersonGetsAShare(t *testing.T) {
	env := map[string]string{"OPENROUTER_MANAGEMENT_KEY": "sk-or-v1-" + strings.Repeat("0123456789abcdef", 4)}
	cfg, err := parseConfig([]string{"http", "--auth", "oidc", "--oidc-issuer", "https://id.example.com", "--resource-url",
		"https://keys.example.com/mcp", "--stateful"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ratePer != defaultRatePerCaller || cfg.maxInFlightPer != cfg.maxInFlight/4 || cfg.maxSessionsPer != cfg.maxSessions/10 {
		t.Errorf("rate %d, in flight %d of %d, sessions %d of %d: want a caller's share each", cfg.ratePer, cfg.maxInFlightPer,
			cfg.maxInFlight, cfg.maxSessionsPer, cfg.maxSessions)
	}
}
