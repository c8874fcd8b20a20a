package transport

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// ProtectedResource is the server's OAuth 2.0 Protected Resource Metadata (RFC 9728), which MCP
// clients read to learn where to sign their user in, and for which scopes.
type ProtectedResource struct {
	Resource               string   `json:"resource"` // the public URL of /mcp
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// wellKnown is where RFC 9728 puts the metadata, before the resource's path.
const wellKnown = "/.well-known/oauth-protected-resource"

// MetadataURL is the metadata's public URL: the well-known path inserted between the resource's
// host and its path, as RFC 9728 section 3.1 says.
func (p ProtectedResource) MetadataURL() string {
	u, err := url.Parse(p.Resource)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + wellKnown + strings.TrimSuffix(u.Path, "/")
}

// serveMetadata serves the metadata at the well-known path, with the path of the resource (and of
// /mcp, when a proxy serves the resource under another path) after it, and bare. It is public:
// any page may read it.
func serveMetadata(mux *http.ServeMux, p *ProtectedResource) {
	h := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "max-age=300")
		writeJSON(w, http.StatusOK, p)
	}
	paths := []string{wellKnown, wellKnown + "/mcp"}
	if u, err := url.Parse(p.Resource); err == nil && u.Path != "" && u.Path != "/" && u.Path != "/mcp" {
		paths = append(paths, wellKnown+strings.TrimSuffix(u.Path, "/"))
	}
	for _, path := range paths {
		mux.HandleFunc("GET "+path, h)
	}
}

// challenge is the WWW-Authenticate value of a refusal: the error (RFC 6750 section 3), the scope
// that would do, and where the metadata is, when the server publishes it.
func challenge(res *ProtectedResource, errCode, scope string) string {
	parts := []string{`realm="openrouter-keys-mcp"`}
	if errCode != "" {
		parts = append(parts, `error="`+errCode+`"`)
	}
	if scope != "" {
		parts = append(parts, `scope="`+scope+`"`)
	}
	if res != nil {
		parts = append(parts, `resource_metadata="`+res.MetadataURL()+`"`)
	}
	return "Bearer " + strings.Join(parts, ", ")
}

// ScopeError is an Authenticator's refusal of a valid token that grants too little: it is answered
// 403 insufficient_scope, naming Scope (space-separated scopes, any of which would do).
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string {
	return "the access token grants none of the scopes this server needs: ask for " + e.Scope
}

// insufficientScope answers 403 with the challenge that tells the client which scope to ask for.
func insufficientScope(w http.ResponseWriter, res *ProtectedResource, scope, msg string) {
	w.Header().Set("WWW-Authenticate", challenge(res, "insufficient_scope", scope))
	writeJSON(w, http.StatusForbidden, httpError(msg))
}

// asScopeError returns err's ScopeError, if it is one.
func asScopeError(err error) (*ScopeError, bool) {
	var se *ScopeError
	return se, errors.As(err, &se)
}

type grantKey struct{}

// WithGrant returns ctx carrying the tools the request's credential permits. An Authenticator whose
// tokens carry scopes calls it: tools/list then shows only these, narrowing headers narrow within
// them, and a call of another tool is answered 403 insufficient_scope before anything is sent.
func WithGrant(ctx context.Context, tools []string) context.Context {
	return context.WithValue(ctx, grantKey{}, tools)
}

// grantFrom returns the tools the request's credential permits, and whether it was limited at all.
func grantFrom(ctx context.Context) ([]string, bool) {
	g, ok := ctx.Value(grantKey{}).([]string)
	return g, ok
}
