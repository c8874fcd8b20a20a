package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// personAuth stands for an Authenticator of signed-in people (main's verifies tokens; this transport
// test is about what the front door does with the principal and the grant it returns): a token
// "person:<sub>:<n>:<tool,tool>" is person sub's n-th token, permitting those tools; "person:<sub>:<n>:"
// permits none but its holder is known; "scopeless" is a valid token that grants nothing.
func personAuth(ctx context.Context, token string) (context.Context, error) {
	parts := strings.Split(token, ":")
	switch {
	case token == "scopeless":
		return nil, &transport.ScopeError{Scope: "keys:read keys:write"}
	case len(parts) != 4 || parts[0] != "person":
		return nil, errors.New("not a token of ours")
	}
	ctx = transport.WithPrincipal(ctx, transport.Principal{Kind: transport.PrincipalPerson, ID: parts[1], Email: parts[1] + "@example.com"})
	var grant []string
	if parts[3] != "" {
		grant = strings.Split(parts[3], ",")
	}
	return transport.WithGrant(ctx, grant), nil
}

var resource = &transport.ProtectedResource{Resource: "https://keys.example.com/team/mcp", AuthorizationServers: []string{"https://id.example.com"},
	ScopesSupported: []string{"keys:read", "keys:write"}, BearerMethodsSupported: []string{"header"}}

func startPeople(t *testing.T, change func(*transport.HTTPOptions)) *frontDoor {
	return start(t, nil, func(o *transport.HTTPOptions) {
		o.Auth, o.Resource, o.ToolNames = personAuth, resource, []string{"echo", "wipe"}
		o.ScopeFor = func(tool string) string { return map[string]string{"echo": "keys:read", "wipe": "keys:write"}[tool] }
		if change != nil {
			change(o)
		}
	})
}

func TestProtectedResourceMetadataAndChallenges(t *testing.T) {
	fd := startPeople(t, nil)
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/team/mcp"} {
		r := fd.do(t, request{method: http.MethodGet, path: path, auth: "-"})
		var got transport.ProtectedResource
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &got) != nil || got.Resource != resource.Resource ||
			!slices.Equal(got.AuthorizationServers, resource.AuthorizationServers) {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	const metadata = `resource_metadata="https://keys.example.com/.well-known/oauth-protected-resource/team/mcp"`
	for _, tc := range []struct {
		name, auth string
		status     int
		challenge  []string
		not        string
	}{
		{"no token", "-", 401, []string{metadata}, "error="},
		{"a bad token", "Bearer forged", 401, []string{metadata, `error="invalid_token"`}, "scope="},
		{"no scope", "Bearer scopeless", 403, []string{metadata, `error="insufficient_scope"`, `scope="keys:read keys:write"`}, "invalid_token"},
		{"an empty grant", "Bearer person:alice:1:", 403, []string{`error="insufficient_scope"`}, "invalid_token"},
	} {
		r := fd.do(t, request{auth: tc.auth})
		h := r.header.Get("WWW-Authenticate")
		if r.status != tc.status || strings.Contains(h, tc.not) {
			t.Errorf("%s: %d %s %s", tc.name, r.status, h, r.body)
		}
		for _, want := range tc.challenge {
			if !strings.Contains(h, want) {
				t.Errorf("%s: WWW-Authenticate %s lacks %s", tc.name, h, want)
			}
		}
	}
}

// The grant is the most a request sees and calls: headers narrow within it, a call beyond it is 403
// naming the scope, before the MCP server is reached.
func TestGrantBoundsTheTools(t *testing.T) {
	fd := startPeople(t, nil)
	reader := "Bearer person:alice:1:echo"
	if got := toolsListed(t, fd.do(t, request{auth: reader})); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("granted echo, tools/list shows %v", got)
	}
	if r := fd.do(t, request{auth: reader, headers: map[string]string{"X-MCP-Tools": "wipe"}}); r.status != http.StatusBadRequest {
		t.Errorf("X-MCP-Tools: wipe, granted echo: %d %s; want 400, no tool in common", r.status, r.body)
	}
	if got := toolsListed(t, fd.do(t, request{auth: "Bearer person:alice:1:echo,wipe", headers: map[string]string{"X-MCP-Readonly": "true"}})); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("granted echo and wipe, read-only: %v", got)
	}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wipe","arguments":{}}}`
	r := fd.do(t, request{auth: reader, body: call})
	if h := r.header.Get("WWW-Authenticate"); r.status != http.StatusForbidden || !strings.Contains(h, `scope="keys:write"`) || strings.Contains(r.body, "wiped") {
		t.Errorf("wipe, granted echo: %d %s %s", r.status, h, r.body)
	}
	if r := fd.do(t, request{auth: "Bearer person:alice:1:echo,wipe", body: call}); !strings.Contains(r.body, "wiped") {
		t.Errorf("wipe, granted: %d %s", r.status, r.body)
	}
	if !strings.Contains(fd.log.String(), `"principal":"person:alice","email":"alice@example.com"`) {
		t.Errorf("the request log does not name the person:\n%s", fd.log.String())
	}
}

// A person's session follows the person through their tokens (refreshed while it lasts); another
// person cannot use it.
func TestSessionsOfAPersonFollowThePerson(t *testing.T) {
	fd := startPeople(t, func(o *transport.HTTPOptions) { o.Stateful = true })
	id := fd.initialize(t, "Bearer person:alice:1:echo")
	session := map[string]string{"Mcp-Session-Id": id}
	if r := fd.do(t, request{auth: "Bearer person:alice:2:echo", headers: session}); r.status != http.StatusOK {
		t.Errorf("alice with a new token: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{auth: "Bearer person:bob:1:echo", headers: session}); r.status != http.StatusNotFound {
		t.Errorf("bob in alice's session: %d %s", r.status, r.body)
	}
}
