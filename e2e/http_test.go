package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// httpServer is the binary serving MCP over HTTP on a free loopback port.
type httpServer struct {
	*rawServer
	url string // the MCP endpoint, http://127.0.0.1:PORT/mcp
}

// startHTTP runs `openrouter-keys-mcp http --addr 127.0.0.1:0 args...` and waits for it to say where
// it listens.
func startHTTP(t *testing.T, env []string, args ...string) *httpServer {
	t.Helper()
	r, url := startLogged(t, binary, env, "serving MCP over HTTP", "url", append([]string{"http", "--addr", "127.0.0.1:0"}, args...)...)
	return &httpServer{rawServer: r, url: url}
}

// mcpGoHTTP connects mcp-go's streamable HTTP client, with extra headers.
func mcpGoHTTP(t *testing.T, ctx context.Context, url, version string, headers map[string]string) session {
	t.Helper()
	return mcpGoHTTPWith(t, ctx, url, version, headers, nil)
}

// mcpGoHTTPWith is mcpGoHTTP with client options, such as an elicitation handler.
func mcpGoHTTPWith(t *testing.T, ctx context.Context, url, version string, headers map[string]string, opts []mcpclient.ClientOption) session {
	t.Helper()
	tr, err := mcptransport.NewStreamableHTTP(url, mcptransport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	s, err := connectMCPGo(ctx, tr, version, "mcp-go-http-test", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.c.Close() })
	return s
}

// headerTransport adds fixed headers to every request of the go-sdk client.
type headerTransport struct {
	headers map[string]string
	next    http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return h.next.RoundTrip(r)
}

// goSDKHTTP connects the official go-sdk's streamable HTTP client, with extra headers.
func goSDKHTTP(t *testing.T, ctx context.Context, url, version string, headers map[string]string) session {
	t.Helper()
	hc := &http.Client{Transport: headerTransport{headers: headers, next: http.DefaultTransport}}
	c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-http-test", Version: "1"}, nil)
	s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return goSDKSession{s}
}

func TestToolFlowOverHTTP(t *testing.T) {
	for _, mode := range []string{"stateless", "stateful"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			args := []string{"--sandbox"}
			if mode == "stateful" {
				args = append(args, "--stateful")
			}
			srv := startHTTP(t, cleanEnv(), args...)
			for clientName, connect := range map[string]func(*testing.T, context.Context, string, string, map[string]string) session{
				"mcp-go": mcpGoHTTP, "go-sdk": goSDKHTTP,
			} {
				for _, version := range []string{"", "2025-06-18"} {
					t.Run(clientName+"/"+cmp(version, "default"), func(t *testing.T) {
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						s := connect(t, ctx, srv.url, version, nil)
						if want := cmp(version, "2026-07-28"); s.protocolVersion() != want {
							t.Errorf("negotiated %q, want %q", s.protocolVersion(), want)
						}
						runFlow(t, ctx, s)
					})
				}
			}
			if keyShape.MatchString(srv.stderr.String()) {
				t.Errorf("a key reached the server's log:\n%s", srv.stderr)
			}
		})
	}
}

// twoAccounts serves an emulator with two separate accounts on a loopback port.
func twoAccounts(t *testing.T) (base, keyA, keyB string) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
	keyB = sb.AddAccount("")
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1", sb.ManagementKey(), keyB
}

func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

func TestCallerKeysKeepCallersApart(t *testing.T) {
	base, keyA, keyB := twoAccounts(t)
	srv := startHTTP(t, cleanEnv(), "--base-url", base, "--key-source", "caller")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	a := goSDKHTTP(t, ctx, srv.url, "", bearer(keyA))
	b := mcpGoHTTP(t, ctx, srv.url, "", bearer(keyB))
	sc, text, isErr, err := a.call(ctx, "create_key", map[string]any{"name": "only-a"})
	if err != nil || isErr {
		t.Fatalf("create as A: %v %s", err, text)
	}
	hash := sc["key"].(map[string]any)["hash"].(string)
	for name, s := range map[string]session{"A": a, "B": b} {
		sc, text, isErr, err := s.call(ctx, "list_keys", map[string]any{"include_disabled": true})
		if err != nil || isErr {
			t.Fatalf("list as %s: %v %s", name, err, text)
		}
		keys := sc["keys"].([]any)
		if sees := len(keys) == 1 && keys[0].(map[string]any)["hash"] == hash; sees != (name == "A") {
			t.Errorf("caller %s sees %d keys: %v", name, len(keys), keys)
		}
	}
	if _, text, isErr, err := b.call(ctx, "get_key", map[string]any{"hash": hash}); err != nil || !isErr || !strings.Contains(text, "no key with that hash") {
		t.Errorf("B reading A's key: err=%v isError=%v %s", err, isErr, text)
	}
	wrong := mcpGoHTTP(t, ctx, srv.url, "", bearer("sk-or-v1-"+strings.Repeat("0", 64)))
	if _, text, isErr, err := wrong.call(ctx, "list_keys", nil); err != nil || !isErr || !strings.Contains(text, "rejected the API key") {
		t.Errorf("an unknown key: err=%v isError=%v %s", err, isErr, text)
	}

	for name, header := range map[string]string{
		"missing":      "",
		"not bearer":   "Basic " + keyA,
		"empty bearer": "Bearer ",
		"not a key":    "Bearer some-access-token-of-ours",
		"two tokens":   "Bearer " + keyA + " " + keyB,
	} {
		resp := post(t, srv.url, header, nil, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" ||
			!strings.Contains(body, "Authorization: Bearer sk-or-v1-") || strings.Contains(body, keyA) {
			t.Errorf("%s Authorization: %d %q %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
	resp := post(t, srv.url+"?key="+keyA, "Bearer "+keyA, nil, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if body := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "never accepted in the URL") {
		t.Errorf("a key in the query string: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(srv.stderr.String(), keyA) || strings.Contains(srv.stderr.String(), keyB) {
		t.Errorf("a caller's key reached the server's log")
	}
}

// TestCallerKeysSeeTheirOwnControls: the server's cache of the controls (guardrails, members,
// workspaces) is kept by the caller's key: two callers of different accounts, one right after the
// other, each see their own account's.
func TestCallerKeysSeeTheirOwnControls(t *testing.T) {
	sb := sandbox.New(sandbox.Options{}) // A has the sample guardrails and members; B none
	keyA, keyB := sb.ManagementKey(), sb.AddAccount("")
	up := httptest.NewServer(sb)
	t.Cleanup(up.Close)
	srv := startHTTP(t, cleanEnv(), "--base-url", up.URL+"/api/v1", "--key-source", "caller")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := mcpGoHTTP(t, ctx, srv.url, "", bearer(keyA)), mcpGoHTTP(t, ctx, srv.url, "", bearer(keyB))
	count := func(s session, tool, field string) int {
		t.Helper()
		sc, text, isErr, err := s.call(ctx, tool, nil)
		if err != nil || isErr {
			t.Fatalf("%s: %v %s", tool, err, text)
		}
		items, _ := sc[field].([]any)
		return len(items)
	}
	workspaces := func(s session) string {
		t.Helper()
		sc, text, isErr, err := s.call(ctx, "list_workspaces", nil)
		if err != nil || isErr {
			t.Fatalf("list_workspaces: %v %s", err, text)
		}
		return fmt.Sprint(sc["workspaces"])
	}
	if ga, gb := count(a, "list_guardrails", "guardrails"), count(b, "list_guardrails", "guardrails"); ga == 0 || gb != 0 {
		t.Errorf("guardrails: A sees %d, B %d; want some and none", ga, gb)
	}
	if mb, ma := count(b, "list_members", "members"), count(a, "list_members", "members"); ma <= mb {
		t.Errorf("members: A sees %d, B %d; want more for A (the sample's)", ma, mb)
	}
	if wa, wb := workspaces(a), workspaces(b); wa == wb {
		t.Errorf("A and B see the same workspaces: %s", wa)
	}
}

func post(t *testing.T, url, authorization string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServerKeyNeedsTheAccessToken(t *testing.T) {
	token := strings.Repeat("t0ken", 8)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startHTTP(t, cleanEnv(), "--sandbox", "--auth-token-file", tokenFile)
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for name, header := range map[string]string{"missing": "", "wrong": "Bearer " + strings.Repeat("x", 40), "query": ""} {
		url := srv.url
		if name == "query" {
			url += "?access_token=" + token
		}
		resp := post(t, url, header, nil, list)
		if body := readAll(t, resp); resp.StatusCode < 400 || strings.Contains(body, token) {
			t.Errorf("%s token: %d %s", name, resp.StatusCode, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := goSDKHTTP(t, ctx, srv.url, "", bearer(token))
	if _, text, isErr, err := s.call(ctx, "current_key", nil); err != nil || isErr {
		t.Errorf("with the right token: %v %s", err, text)
	}
	if strings.Contains(srv.stderr.String(), token) {
		t.Error("the access token reached the log")
	}
}

func TestHTTPRefusesForeignOriginsAndHosts(t *testing.T) {
	srv := startHTTP(t, cleanEnv(), "--sandbox", "--allowed-origins", "http://localhost:6274")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	cases := []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"foreign host", map[string]string{"Host": "evil.example"}, http.StatusForbidden},
		{"rebinding host with port", map[string]string{"Host": "attacker.example:8080"}, http.StatusForbidden},
		{"allowed origin", map[string]string{"Origin": "http://localhost:6274"}, http.StatusOK},
		{"no origin", nil, http.StatusOK},
	}
	for _, tc := range cases {
		resp := post(t, srv.url, "", tc.headers, list)
		if body := readAll(t, resp); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	resp, err := http.Get(strings.TrimSuffix(srv.url, "/mcp") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	if resp := post(t, srv.url, "", nil, big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB body: %d", resp.StatusCode)
	}
}

// slowUpstream is an emulator whose key endpoints answer only after release is closed, and which
// reports each request as it arrives.
func slowUpstream(t *testing.T) (base, key string, arrived <-chan struct{}, release chan struct{}) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	arrivedc := make(chan struct{}, 16)
	release = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrivedc <- struct{}{}
		<-release
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return srv.URL + "/api/v1", sb.ManagementKey(), arrivedc, release
}

func TestSIGTERMLetsTheCallInFlightFinish(t *testing.T) {
	base, key, arrived, release := slowUpstream(t)
	srv := startHTTP(t, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "--base-url", base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := mcpGoHTTP(t, ctx, srv.url, "", nil)
	type outcome struct {
		text  string
		isErr bool
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		_, text, isErr, err := s.call(ctx, "list_keys", nil)
		done <- outcome{text, isErr, err}
	}()
	<-arrived // the call is in flight, waiting on OpenRouter
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the shutdown begin before the answer comes
	close(release)
	if o := <-done; o.err != nil || o.isErr {
		t.Errorf("the call in flight did not complete: %v %s", o.err, o.text)
	}
	if err := srv.wait(t); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, srv.stderr)
	}
}

func TestCallsBeyondTheInFlightCapGet429(t *testing.T) {
	base, key, arrived, release := slowUpstream(t)
	srv := startHTTP(t, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "--base-url", base, "--max-in-flight", "1")
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_keys","arguments":{}}}`
	var first atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp := post(t, srv.url, "", nil, call)
		first.Store(int32(resp.StatusCode))
		resp.Body.Close()
	}()
	<-arrived
	resp := post(t, srv.url, "", nil, call)
	if body := readAll(t, resp); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second call while the first is in flight: %d %s", resp.StatusCode, body)
	}
	close(release)
	<-done
	if first.Load() != http.StatusOK {
		t.Errorf("first call: %d", first.Load())
	}
}

func TestStatefulSessionEndsWithDELETE(t *testing.T) {
	srv := startHTTP(t, cleanEnv(), "--sandbox", "--stateful")
	resp := post(t, srv.url, "", nil, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	readAll(t, resp)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, id)
	}
	session := map[string]string{"Mcp-Session-Id": id}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if resp := post(t, srv.url, "", session, list); resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list in the session: %d %s", resp.StatusCode, readAll(t, resp))
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.url, nil)
	req.Header.Set("Mcp-Session-Id", id)
	del, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, del)
	if del.StatusCode >= 300 {
		t.Fatalf("DELETE: %d", del.StatusCode)
	}
	if resp := post(t, srv.url, "", session, list); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted session: %d, want 404: %s", resp.StatusCode, readAll(t, resp))
	}
	// The request's log line is written when its handler returns, which may be just after the client
	// has read the answer.
	logged := func() bool {
		return strings.Contains(srv.stderr.String(), `"rpc_method":"tools/list"`) && strings.Contains(srv.stderr.String(), `"request_id":`)
	}
	for deadline := time.Now().Add(5 * time.Second); !logged() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !logged() {
		t.Errorf("no request log line:\n%s", srv.stderr)
	}
}
