package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken/testissuer"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// oidcServer is the binary serving `http --auth oidc` on the emulator, signing people in with a test
// issuer of its own on loopback.
type oidcServer struct {
	*httpServer
	iss      *testissuer.Issuer
	resource string // the resource URL, the audience of its tokens
	audit    string // the audit log's path
}

func startOIDC(t *testing.T, args ...string) *oidcServer {
	t.Helper()
	iss := testissuer.Start()
	t.Cleanup(iss.Close)
	addr := freeLoopbackAddr(t)
	resource := "http://" + addr + "/mcp"
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startHTTP(t, cleanEnv(), append([]string{"--sandbox", "--addr", addr, "--auth", "oidc", "--oidc-issuer", iss.URL,
		"--resource-url", resource, "--audit-log", audit, "--confirm", "never"}, args...)...)
	return &oidcServer{httpServer: s, iss: iss, resource: resource, audit: audit}
}

// token is an access token of the server's issuer for sub, with scopes.
func (s *oidcServer) token(sub, scopes string) string {
	c := s.iss.Claims(sub, s.resource, scopes)
	c["email"] = sub + "@example.com"
	return s.iss.Token(c)
}

const listTools = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

// TestOIDCChallengesAndMetadata: the server publishes RFC 9728 metadata, and answers every token the
// specification says to refuse with 401 and a challenge pointing at it; a token without the server's
// scopes gets 403 insufficient_scope.
func TestOIDCChallengesAndMetadata(t *testing.T) {
	t.Parallel()
	s := startOIDC(t)
	metaURL := strings.TrimSuffix(s.resource, "/mcp") + "/.well-known/oauth-protected-resource/mcp"
	for _, u := range []string{metaURL, strings.TrimSuffix(metaURL, "/mcp")} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal([]byte(readAll(t, resp)), &meta); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
		}
		want := map[string]any{"resource": s.resource, "authorization_servers": []any{s.iss.URL},
			"scopes_supported": []any{"keys:read", "keys:write", "keys:admin"}, "bearer_methods_supported": []any{"header"}}
		for k, v := range want {
			if b, _ := json.Marshal(meta[k]); string(b) != mustJSON(t, v) {
				t.Errorf("GET %s: %s = %s, want %s", u, k, b, mustJSON(t, v))
			}
		}
	}

	// A person's token is a credential: refused in a query string, even a valid one, even beside a header.
	token := s.token("alice", "keys:read")
	if resp := post(t, s.url+"?q="+token, "Bearer "+token, nil, listTools); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a token in the query string: %d, want 400", resp.StatusCode)
	}

	claims := func(k string, v any) map[string]any {
		c := s.iss.Claims("alice", s.resource, "keys:read")
		c[k] = v
		return c
	}
	challenge := `resource_metadata="` + metaURL + `"`
	for _, tc := range []struct {
		name, authorization string
		status              int
		challenge           []string
	}{
		{"no token", "", 401, []string{challenge}},
		{"wrong audience", "Bearer " + s.iss.Token(claims("aud", "http://elsewhere.example/mcp")), 401, []string{challenge, `error="invalid_token"`}},
		{"wrong issuer", "Bearer " + s.iss.Token(claims("iss", "http://127.0.0.1:1")), 401, []string{`error="invalid_token"`}},
		{"expired", "Bearer " + s.iss.Token(claims("exp", time.Now().Add(-time.Minute).Unix())), 401, []string{`error="invalid_token"`}},
		{"not yet valid", "Bearer " + s.iss.Token(claims("nbf", time.Now().Add(time.Hour).Unix())), 401, []string{`error="invalid_token"`}},
		{"alg none", "Bearer " + testissuer.Unsigned(claims("x", 1)), 401, []string{`error="invalid_token"`}},
		{"HS256 with the public key", "Bearer " + testissuer.HS256WithPublicKey(s.iss.Current(), claims("x", 1)), 401, []string{`error="invalid_token"`}},
		{"an OpenRouter key", "Bearer sk-or-v1-" + strings.Repeat("ab", 32), 401, []string{`error="invalid_token"`}},
		{"none of the scopes", "Bearer " + s.token("alice", "openid profile"), 403,
			[]string{`error="insufficient_scope"`, `scope="keys:read keys:write keys:admin"`, challenge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, s.url, tc.authorization, nil, listTools)
			body := readAll(t, resp)
			got := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			for _, want := range tc.challenge {
				if !strings.Contains(got, want) {
					t.Errorf("WWW-Authenticate: %s; want it to hold %s", got, want)
				}
			}
			if tc.authorization != "" && strings.Contains(body, strings.TrimPrefix(tc.authorization, "Bearer ")) {
				t.Errorf("the answer repeats the token")
			}
		})
	}
}

// TestOIDCScopesDecideTheTools: a keys:read token sees and calls only the read tools, a header cannot
// widen that, a call beyond it is a 403 naming the scope and changes nothing; a token with every scope
// changes keys, and the audit log and the request log name the person.
func TestOIDCScopesDecideTheTools(t *testing.T) {
	t.Parallel()
	s := startOIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	reader := "Bearer " + s.token("rita", "keys:read")
	names := toolNames(t, ctx, mcpGoHTTP(t, ctx, s.url, "", map[string]string{"Authorization": reader}))
	if want := readTools; !slices.Equal(names, want) { // the read-only tools, as --read-only offers them
		t.Errorf("a keys:read token sees %v, want %v", names, want)
	}
	widened := toolNames(t, ctx, mcpGoHTTP(t, ctx, s.url, "", map[string]string{"Authorization": reader, "X-MCP-Tools": "list_keys,create_key"}))
	if !slices.Equal(widened, []string{"list_keys"}) {
		t.Errorf("X-MCP-Tools: list_keys,create_key with a keys:read token shows %v, want [list_keys]", widened)
	}
	resp := post(t, s.url, reader, nil, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_key","arguments":{"name":"nope"}}}`)
	body := readAll(t, resp)
	if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 403 || !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="keys:write"`) {
		t.Errorf("create_key with a keys:read token: %d %s %s; want 403 insufficient_scope naming keys:write", resp.StatusCode, h, body)
	}
	resp = post(t, s.url, reader, nil, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_key","arguments":{"hash":"`+strings.Repeat("a", 64)+`"}}}`)
	if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 403 || !strings.Contains(h, `scope="keys:admin"`) {
		t.Errorf("delete_key with a keys:read token: %d %s; want 403 naming keys:admin", resp.StatusCode, h)
	}
	readAll(t, resp)

	admin := mcpGoHTTP(t, ctx, s.url, "", map[string]string{"Authorization": "Bearer " + s.token("alice", "keys:read keys:write keys:admin")})
	if n, all := len(toolNames(t, ctx, admin)), len(tools.Names()); n != all {
		t.Errorf("a token with every scope sees %d tools, want all %d", n, all)
	}
	// A token pasted where a name belongs is refused without being repeated, sent or recorded.
	pasted := s.token("alice", "keys:write")
	if _, text, isErr, err := admin.call(ctx, "create_key", map[string]any{"name": pasted}); err != nil || !isErr || strings.Contains(text, pasted) {
		t.Errorf("create_key named with an access token: isError %v, err %v, %.200s", isErr, err, text)
	}
	hash := newKey(t, ctx, admin, "by-alice")
	if _, text, isErr, err := admin.call(ctx, "delete_key", map[string]any{"hash": hash}); err != nil || isErr {
		t.Fatalf("delete_key with keys:admin: %v %s", err, text)
	}

	b, err := os.ReadFile(s.audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 { // create and delete, each an attempt and an outcome; nothing of rita's
		t.Fatalf("audit log has %d records, want 4:\n%s", len(lines), b)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["principal"] != "person:alice" || rec["email"] != "alice@example.com" {
			t.Errorf("audit record %s: want principal person:alice and her email", l)
		}
	}
	logged := 0
	for l := range strings.SplitSeq(s.stderr.String(), "\n") {
		if strings.Contains(l, `"message":"http request"`) && strings.Contains(l, `"principal":"person:rita"`) {
			logged++
		}
		if strings.Contains(l, "eyJ") {
			t.Errorf("a log line holds something like a token: %.300s", l)
		}
	}
	if logged < 4 {
		t.Errorf("%d request log lines name person:rita, want at least 4", logged)
	}
}

// TestOIDCDiscoveryWithTheTypeScriptSDK: the official TypeScript SDK's own functions read the 401
// challenge and the metadata (validating it against its RFC 9728 schema), its client works with a
// person's token, and it reads the 403 challenge of a call beyond the token's scopes.
func TestOIDCDiscoveryWithTheTypeScriptSDK(t *testing.T) {
	t.Parallel()
	node := lookTool(t, "node", installNode)
	if nodeMajor(t, node) < 20 {
		missingTool(t, "Node.js >= 20", installNode)
	}
	script := npmScript(t, "ts-client", "discover.mjs")
	s := startOIDC(t)
	var sum struct {
		ResourceMetadataURL string `json:"resourceMetadataUrl"`
		Metadata            struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			ScopesSupported      []string `json:"scopes_supported"`
		} `json:"metadata"`
		Tools        []string `json:"tools"`
		Insufficient struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
			Scope  string `json:"scope"`
		} `json:"insufficient"`
	}
	runScript(t, node, &sum, script, s.url, s.token("rita", "keys:read"))
	if want := strings.TrimSuffix(s.resource, "/mcp") + "/.well-known/oauth-protected-resource/mcp"; sum.ResourceMetadataURL != want {
		t.Errorf("the SDK read resource_metadata %q, want %q", sum.ResourceMetadataURL, want)
	}
	if sum.Metadata.Resource != s.resource || !slices.Equal(sum.Metadata.AuthorizationServers, []string{s.iss.URL}) ||
		!slices.Equal(sum.Metadata.ScopesSupported, []string{"keys:read", "keys:write", "keys:admin"}) {
		t.Errorf("the SDK read the metadata %+v", sum.Metadata)
	}
	if !slices.Equal(sum.Tools, readTools) {
		t.Errorf("the SDK's client with a keys:read token lists %v, want the read tools %v", sum.Tools, readTools)
	}
	if sum.Insufficient.Status != 403 || sum.Insufficient.Error != "insufficient_scope" || sum.Insufficient.Scope != "keys:write" {
		t.Errorf("the SDK read the 403 challenge as %+v", sum.Insufficient)
	}
}

// TestOIDCTwoReplicasBehindNginx: two replicas configured alike, behind nginx round-robin, accept the
// same person's tokens (each verifies them against the issuer's keys on its own), serve the whole
// tool flow between them, and both log the person.
func TestOIDCTwoReplicasBehindNginx(t *testing.T) {
	t.Parallel()
	nginx := findNginx(t)
	iss := testissuer.Start()
	t.Cleanup(iss.Close)
	const resource = "https://keys.example.test/mcp" // the public URL; nginx stands in for the TLS proxy

	key := "sk-or-v1-" + randomHex(t, 32)
	_, base := startLogged(t, binary, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "serving the OpenRouter emulator", "base_url",
		"sandbox", "--addr", "127.0.0.1:0")
	env := cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key, "OPENROUTER_KEYS_MCP_AUTH=oidc", "OPENROUTER_KEYS_MCP_OIDC_ISSUER="+iss.URL,
		"OPENROUTER_KEYS_MCP_RESOURCE_URL="+resource, "OPENROUTER_KEYS_MCP_CONFIRM=never")
	replicas := []*httpServer{startHTTP(t, env, "--base-url", base), startHTTP(t, env, "--base-url", base)}
	var upstreams []string
	for _, r := range replicas {
		upstreams = append(upstreams, strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/mcp"))
	}
	proxy := startNginx(t, nginx, upstreams)
	url := "http://" + proxy.addr + "/mcp"

	c := iss.Claims("alice", resource, "keys:read keys:write keys:admin")
	token := iss.Token(c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runFlow(t, ctx, mcpGoHTTP(t, ctx, url, "", map[string]string{"Authorization": "Bearer " + token}))
	if resp := post(t, url, "", nil, listTools); resp.StatusCode != 401 ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="https://keys.example.test/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("no token through nginx: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for i, r := range replicas {
		logs := r.stderr.String()
		if !strings.Contains(logs, `"principal":"person:alice"`) {
			t.Errorf("replica %d served no request of alice's; nginx:\n%s", i+1, proxy.log(t))
		}
		if strings.Contains(logs, token) {
			t.Errorf("replica %d logged the token", i+1)
		}
	}
}

// TestOIDCKeyRotation: after the issuer rotates its keys, the server fetches them again for a token
// naming the new key, and a token of the retired key is refused from then on.
func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	s := startOIDC(t)
	old := s.iss.Current()
	if resp := post(t, s.url, "Bearer "+s.token("alice", "keys:read"), nil, listTools); resp.StatusCode != 200 {
		t.Fatalf("before rotation: %d %s", resp.StatusCode, readAll(t, resp))
	}
	s.iss.Rotate()
	time.Sleep(2100 * time.Millisecond) // the server fetches the keys at most every 2 s
	resp := post(t, s.url, "Bearer "+s.token("alice", "keys:read"), nil, listTools)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("a token of the new key: %d %s, want 200 (the keys fetched again)", resp.StatusCode, body)
	}
	resp = post(t, s.url, "Bearer "+old.Sign(s.iss.Claims("alice", s.resource, "keys:read")), nil, listTools)
	if readAll(t, resp); resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("a token of the retired key: %d %s, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
