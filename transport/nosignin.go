package transport

import "net/http"

// Without HTTPOptions.Resource (--auth oidc) the server has no sign-in: a caller presents a bearer
// token it already has (an OpenRouter key, or the server's access token), never one obtained through
// OAuth. But an MCP host that gets a 401 and
// finds no resource_metadata in WWW-Authenticate falls back, as the MCP authorization specification
// tells it to, to the well-known discovery paths (RFC 9728 protected resource metadata, RFC 8414 and
// OpenID Connect authorization server metadata, at the root and under /mcp), and then to dynamic
// client registration at /register. A bare 404 there surfaces as "Dynamic Client Registration
// rejected (HTTP 404)" or as an OAuth login the user cannot complete, and the 401's own advice is never
// seen.
//
// So those paths answer 404 (there is no metadata, and no authorization server: a host must not go on
// to sign in) with a body in the shape of an OAuth error response (RFC 6749 §5.2, which RFC 7591 uses
// for registration errors): hosts parse it and show its error_description, which says that there is
// no sign-in and which header to send. Serving protected resource metadata without an authorization
// server was the other choice; hosts differ in what they do with one, and some would still try to
// register, so the answer stays a refusal that reads well.

// noSignInPaths are the OAuth paths hosts try: the well-known metadata (subtree patterns, so that the
// path-suffixed forms match too) and the endpoints an authorization server would have.
var noSignInPaths = []string{"/.well-known/", "/mcp/.well-known/", "/register", "/authorize", "/token"}

// noSignIn answers the OAuth paths with what to do instead; hint is the AuthHint of the 401.
func noSignIn(hint string) http.Handler {
	msg := "this MCP server has no sign-in (no OAuth, no client registration): do not log in; "
	if hint == "" {
		msg += "it needs no token"
	} else {
		msg += "configure the client to " + hint + " with every request (a header in its MCP settings)"
	}
	body := map[string]any{"error": "invalid_request", "error_description": msg}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusNotFound, body)
	})
}
