package main

import (
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
