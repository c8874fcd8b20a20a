package transport_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// In caller mode, the OAuth paths a host tries after a 401 answer, in the shape of an OAuth error it
// shows, that there is no sign-in and which header to send; they never start a sign-in.
func TestOAuthPathsSayThereIsNoSignIn(t *testing.T) {
	const hint = "send your OpenRouter management key as Authorization: Bearer sk-or-v1-..."
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.AuthHint = hint
		o.AllowedOrigins = []string{"http://localhost:6274"}
	})
	for _, rq := range []request{
		{method: http.MethodGet, path: "/.well-known/oauth-protected-resource"},
		{method: http.MethodGet, path: "/.well-known/oauth-protected-resource/mcp"},
		{method: http.MethodGet, path: "/.well-known/oauth-authorization-server"},
		{method: http.MethodGet, path: "/.well-known/oauth-authorization-server/mcp"},
		{method: http.MethodGet, path: "/.well-known/openid-configuration"},
		{method: http.MethodGet, path: "/mcp/.well-known/openid-configuration"},
		{method: http.MethodPost, path: "/register", body: `{"client_name":"Claude Code","redirect_uris":["http://localhost:1/callback"]}`},
		{method: http.MethodGet, path: "/authorize"},
		{method: http.MethodPost, path: "/token", body: "grant_type=authorization_code"},
		{method: http.MethodGet, path: "/.well-known/oauth-protected-resource", headers: map[string]string{"Origin": "http://localhost:6274"}},
	} {
		rq.auth = "-" // a host probes before it has any credential
		r := fd.do(t, rq)
		var oauthErr struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if err := json.Unmarshal([]byte(r.body), &oauthErr); err != nil || r.status != http.StatusNotFound ||
			r.header.Get("Content-Type") != "application/json" || oauthErr.Error != "invalid_request" ||
			!strings.Contains(oauthErr.Description, "no sign-in") || !strings.Contains(oauthErr.Description, hint) {
			t.Errorf("%s %s: %d %q %s (%v)", rq.method, rq.path, r.status, r.header.Get("Content-Type"), r.body, err)
		}
		if origin := rq.headers["Origin"]; origin != "" && r.header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s from an allowed origin: no CORS, so a browser host cannot read it", rq.path)
		}
	}
	// The MCP endpoint still asks for the token, and other paths stay plain 404s.
	if r := fd.do(t, request{auth: "-"}); r.status != http.StatusUnauthorized || !strings.Contains(r.body, hint) {
		t.Errorf("/mcp without a token: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{method: http.MethodGet, path: "/favicon.ico", auth: "-"}); r.status != http.StatusNotFound || strings.Contains(r.body, "sign-in") {
		t.Errorf("/favicon.ico: %d %s", r.status, r.body)
	}
}
