package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// The tests in this package drive the HTTP front door with real requests, over a small real mcp-go
// server, so they stand alone: no OpenRouter client and no tools package.

const (
	goodToken = "Good-Token-0123456789abcdef"
	legacy    = "2025-06-18"
	listBody  = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	initBody  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",` +
		`"capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`
)

// testKey is shaped like an OpenRouter key; isSecret below recognises it (and the access token).
var testKey = "sk-or-v1-" + strings.Repeat("0123456789abcdef", 4)

func isSecret(s string) bool {
	return strings.Contains(s, "sk-or-v1-0123456789") || strings.Contains(s, goodToken)
}

// tokenAuth lets in callers presenting goodToken, or any token that starts with "other-" (a second
// caller with a credential of its own).
func tokenAuth(ctx context.Context, token string) (context.Context, error) {
	if token == goodToken || strings.HasPrefix(token, "other-") {
		return ctx, nil
	}
	return nil, errors.New("wrong access token")
}

// gate blocks the "slow" tool until released, so tests can hold calls in flight.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1000), release: make(chan struct{})} }

// newMCPServer builds a small real MCP server: echo (read-only), wipe (destructive) and slow (waits
// on g when g is set). Its tool filter applies the request's narrowing, as main's does.
func newMCPServer(g *gate) *server.MCPServer {
	s := server.NewMCPServer("test", "1.0",
		server.WithToolCapabilities(true), // listChanged: a subscriptions/listen stream stays open
		server.WithToolFilter(func(ctx context.Context, list []mcp.Tool) []mcp.Tool {
			n := transport.NarrowingFrom(ctx)
			return slices.DeleteFunc(list, func(t mcp.Tool) bool {
				readOnly := t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
				return (n.ReadOnly && !readOnly) || (len(n.Tools) > 0 && !slices.Contains(n.Tools, t.Name))
			})
		}))
	text := func(s string) server.ToolHandlerFunc {
		return func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(s), nil
		}
	}
	s.AddTool(mcp.NewTool("echo", mcp.WithReadOnlyHintAnnotation(true)), text("echo"))
	s.AddTool(mcp.NewTool("wipe", mcp.WithReadOnlyHintAnnotation(false)), text("wiped"))
	s.AddTool(mcp.NewTool("slow", mcp.WithReadOnlyHintAnnotation(true)),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if g != nil {
				g.entered <- struct{}{}
				select {
				case <-g.release:
				case <-ctx.Done():
				}
			}
			return mcp.NewToolResultText("slow"), nil
		})
	return s
}

var toolNames = []string{"echo", "wipe", "slow"}

// syncBuffer is a log sink safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// frontDoor is a served handler and what the test needs to reach it.
type frontDoor struct {
	url      string
	log      *syncBuffer
	shutdown func(context.Context)
	srv      *httptest.Server
}

// start serves NewHTTPHandler over a real mcp-go server; change adjusts the options first.
func start(t *testing.T, g *gate, change func(*transport.HTTPOptions)) *frontDoor {
	t.Helper()
	log := &syncBuffer{}
	o := transport.HTTPOptions{
		Auth:      tokenAuth,
		AuthHint:  "send the access token as Authorization: Bearer <token>",
		Loopback:  true,
		Version:   "test",
		ToolNames: toolNames,
		Logger:    zerolog.New(log),
		IsSecret:  isSecret,
	}
	if change != nil {
		change(&o)
	}
	h, shutdown := transport.NewHTTPHandler(newMCPServer(g), o)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		if g != nil {
			select {
			case <-g.release:
			default:
				close(g.release)
			}
		}
		shutdown(context.Background())
		srv.Close()
	})
	return &frontDoor{url: srv.URL, log: log, shutdown: shutdown, srv: srv}
}

// request is one HTTP request to the front door; its zero value is an authorised legacy tools/list.
type request struct {
	method  string            // POST when empty
	path    string            // /mcp when empty, may carry a query
	auth    string            // "Bearer goodToken" when empty; "-" for none
	body    string            // listBody when empty and the method is POST
	chunked bool              // send the body without its length
	headers map[string]string // "\n" separates the values of a header sent several times
}

type response struct {
	status int
	header http.Header
	body   string
}

func (fd *frontDoor) do(t *testing.T, rq request) response {
	t.Helper()
	resp := fd.open(t, rq)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// open sends the request and returns the response as soon as its headers are in (an event stream's
// go on); the test closes its body.
func (fd *frontDoor) open(t *testing.T, rq request) *http.Response {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	if rq.path == "" {
		rq.path = "/mcp"
	}
	if rq.body == "" && rq.method == http.MethodPost {
		rq.body = listBody
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
		if rq.chunked {
			body = io.MultiReader(body) // hides the length from the client
		}
	}
	req, err := http.NewRequest(rq.method, fd.url+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, legacy)
	switch rq.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+goodToken)
	case "-":
	default:
		req.Header.Set("Authorization", rq.auth)
	}
	for k, v := range rq.headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Del(k)                            // the test's own values replace any default
		for _, one := range strings.Split(v, "\n") { // a header sent several times
			req.Header.Add(k, one)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// toolsListed returns the names in a tools/list answer.
func toolsListed(t *testing.T, r response) []string {
	t.Helper()
	var msg struct {
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"result"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &msg) != nil {
		t.Fatalf("tools/list: %d %s", r.status, r.body)
	}
	var names []string
	for _, tool := range msg.Result.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func TestAuthorisedCallIsServed(t *testing.T) {
	fd := start(t, nil, nil)
	if got := toolsListed(t, fd.do(t, request{})); !slices.Equal(got, []string{"echo", "slow", "wipe"}) {
		t.Errorf("tools: %v", got)
	}
	r := fd.do(t, request{method: http.MethodGet, path: "/healthz", auth: "-"})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"version":"test"`) {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
}

func TestOriginCheck(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.AllowedOrigins = []string{"http://localhost:6274"} })
	for origin, want := range map[string]int{
		"":                                 http.StatusOK,
		"http://localhost:6274":            http.StatusOK,
		fd.url:                             http.StatusOK, // the server's own origin
		"https://evil.example":             http.StatusForbidden,
		"http://localhost:6275":            http.StatusForbidden,
		"null":                             http.StatusForbidden,
		"ftp://" + fd.url[len("http://"):]: http.StatusForbidden,
	} {
		fd.expectWithHeader(t, "Origin", origin, want)
	}
}

// TestAllowedOriginsGetCORS: a page of an allowed origin can make its preflight (which carries no
// credentials) and read the answers; another origin's preflight is refused.
func TestAllowedOriginsGetCORS(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.AllowedOrigins = []string{"http://localhost:6274"} })
	preflight := map[string]string{"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"}
	r := fd.do(t, request{method: http.MethodOptions, auth: "-", headers: preflight})
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:6274" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Traceparent") {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	r = fd.do(t, request{headers: map[string]string{"Origin": "http://localhost:6274"}})
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:6274" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") {
		t.Errorf("call from an allowed origin: %d %v", r.status, r.header)
	}
	preflight["Origin"] = "https://evil.example"
	if r := fd.do(t, request{method: http.MethodOptions, auth: "-", headers: preflight}); r.status != http.StatusForbidden ||
		r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin's preflight: %d %v", r.status, r.header)
	}
}

func TestHealthzAnswersGetOnly(t *testing.T) {
	fd := start(t, nil, nil)
	if r := fd.do(t, request{path: "/healthz", method: http.MethodGet}); r.status != http.StatusOK {
		t.Errorf("GET /healthz: %d", r.status)
	}
	if r := fd.do(t, request{path: "/healthz", body: "{}"}); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
		t.Errorf("POST /healthz: %d %v", r.status, r.header)
	}
}

// expectWithHeader checks the status of an authorised tools/list sent with one header set.
func (fd *frontDoor) expectWithHeader(t *testing.T, name, value string, want int) {
	t.Helper()
	if r := fd.do(t, request{headers: map[string]string{name: value}}); r.status != want {
		t.Errorf("%s %q: %d, want %d: %s", name, value, r.status, want, r.body)
	}
}

func TestLoopbackHostCheck(t *testing.T) {
	fd := start(t, nil, nil)
	for host, want := range map[string]int{
		"localhost":             http.StatusOK,
		"localhost:8080":        http.StatusOK,
		"127.0.0.1:8080":        http.StatusOK,
		"[::1]:8080":            http.StatusOK,
		"evil.example":          http.StatusForbidden,
		"attacker.example:8080": http.StatusForbidden,
		"127.0.0.1.nip.io":      http.StatusForbidden,
	} {
		fd.expectWithHeader(t, "Host", host, want)
	}
}

func TestBearerAuth(t *testing.T) {
	fd := start(t, nil, nil)
	for name, auth := range map[string]string{
		"missing":      "-",
		"not bearer":   "Basic " + goodToken,
		"empty bearer": "Bearer ",
		"wrong token":  "Bearer wrong-token-0123456789",
		"two tokens":   "Bearer " + goodToken + " " + goodToken,
		"no space":     "Bearer" + goodToken,
	} {
		r := fd.do(t, request{auth: auth})
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" ||
			!strings.Contains(r.body, "as Authorization: Bearer") || strings.Contains(r.body, goodToken) {
			t.Errorf("%s: %d %q %s", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}
	for name, auth := range map[string]string{
		"lower-case scheme": "bearer " + goodToken,
		"extra spaces":      "  Bearer   " + goodToken + "  ",
	} {
		if r := fd.do(t, request{auth: auth}); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Without an Authenticator, no token is asked for.
	open := start(t, nil, func(o *transport.HTTPOptions) { o.Auth = nil })
	if r := open.do(t, request{auth: "-"}); r.status != http.StatusOK {
		t.Errorf("no auth configured: %d %s", r.status, r.body)
	}
}

func TestBodyCap(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.MaxBodyBytes = 200 })
	pad := func(n int) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", n) + `"}}`
	}
	small := pad(200 - len(pad(0)))
	for _, chunked := range []bool{false, true} {
		if r := fd.do(t, request{body: small, chunked: chunked}); r.status != http.StatusOK {
			t.Errorf("a body of exactly the cap (chunked %v): %d %s", chunked, r.status, r.body)
		}
		if r := fd.do(t, request{body: small + " ", chunked: chunked}); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("a body over the cap (chunked %v): %d %s", chunked, r.status, r.body)
		}
	}
}

func TestInFlightCap(t *testing.T) {
	g := newGate()
	fd := start(t, g, func(o *transport.HTTPOptions) { o.MaxInFlight = 2 })
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if r := fd.do(t, request{body: call}); r.status != http.StatusOK {
				t.Errorf("held call: %d %s", r.status, r.body)
			}
		})
		<-g.entered
	}
	r := fd.do(t, request{})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("a third call while two are in flight: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// A client's answer to a question of the server's (an elicitation a held call may be waiting on)
	// is still read: refusing it would hold that call, and its slot, until it timed out.
	answer := `{"jsonrpc":"2.0","id":1,"result":{"action":"accept","content":{"confirm":true}}}`
	if r := fd.do(t, request{body: answer}); r.status == http.StatusTooManyRequests {
		t.Errorf("an answer while the calls are full: %d %s", r.status, r.body)
	}
	close(g.release)
	wg.Wait()
	if r := fd.do(t, request{}); r.status != http.StatusOK {
		t.Errorf("after the calls ended: %d %s", r.status, r.body)
	}
}

func TestNarrowingHeadersOnlyNarrow(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.ToolNames = []string{"echo", "wipe"} })
	for _, tc := range []struct {
		headers map[string]string
		want    []string
	}{
		{map[string]string{"X-MCP-Readonly": "true"}, []string{"echo", "slow"}},
		{map[string]string{"X-MCP-Readonly": "false"}, []string{"echo", "slow", "wipe"}},
		{map[string]string{"X-MCP-Tools": "wipe"}, []string{"wipe"}},
		{map[string]string{"X-MCP-Tools": " echo , wipe "}, []string{"echo", "wipe"}},
		{map[string]string{"X-MCP-Tools": "wipe", "X-MCP-Readonly": "true"}, nil},
		// Sent twice (a proxy adding its own): every value narrows, whatever the client put first.
		{map[string]string{"X-MCP-Readonly": "false\ntrue"}, []string{"echo", "slow"}},
		{map[string]string{"X-MCP-Tools": "echo,wipe\nwipe"}, []string{"wipe"}},
	} {
		if got := toolsListed(t, fd.do(t, request{headers: tc.headers})); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.headers, got, tc.want)
		}
	}
	// A tool the server does not name for narrowing (slow) cannot be asked for: headers never widen.
	for _, h := range []map[string]string{
		{"X-MCP-Tools": "slow"}, {"X-MCP-Tools": "echo,nope"}, {"X-MCP-Readonly": "maybe"}, {"X-MCP-Tools": "echo\nwipe"},
	} {
		if r := fd.do(t, request{headers: h}); r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", h, r.status, r.body)
		}
	}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wipe","arguments":{}}}`
	r := fd.do(t, request{body: call, headers: map[string]string{"X-MCP-Readonly": "true"}})
	if strings.Contains(r.body, "wiped") {
		t.Errorf("a read-only request called a destructive tool: %s", r.body)
	}
}

func TestRequestLog(t *testing.T) {
	fd := start(t, nil, nil)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"note":"` + testKey + `"}}}`
	r := fd.do(t, request{body: call, headers: map[string]string{"X-Request-Id": "req-42"}})
	if r.status != http.StatusOK || r.header.Get("X-Request-Id") != "req-42" {
		t.Fatalf("call: %d %q %s", r.status, r.header.Get("X-Request-Id"), r.body)
	}
	fd.do(t, request{auth: "Bearer wrong-" + goodToken})
	bad := fd.do(t, request{headers: map[string]string{"X-Request-Id": "bad id with spaces"}})
	if id := bad.header.Get("X-Request-Id"); len(id) != 16 {
		t.Errorf("an insane X-Request-Id was kept: %q", id)
	}
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(fd.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["message"] == "http request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 request lines, got %d: %s", len(lines), fd.log)
	}
	first := lines[0]
	for k, want := range map[string]any{
		"request_id": "req-42", "http_method": "POST", "path": "/mcp", "rpc_method": "tools/call",
		"tool": "echo", "status": float64(200),
	} {
		if first[k] != want {
			t.Errorf("log field %s = %v, want %v", k, first[k], want)
		}
	}
	if lines[1]["status"] != float64(http.StatusUnauthorized) {
		t.Errorf("the refused call logged %v", lines[1]["status"])
	}
	if log := fd.log.String(); strings.Contains(log, goodToken) || strings.Contains(log, testKey) {
		t.Errorf("a credential or a secret reached the log: %s", log)
	}
}

func TestQueryCredentialsRefused(t *testing.T) {
	fd := start(t, nil, nil)
	pct := func(s string) string { // every byte percent-encoded
		var b strings.Builder
		for i := range len(s) {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	}
	for _, q := range []string{
		"key=" + testKey,
		"key=" + testKey + ";",
		"a=1;key=" + testKey,
		"a=1;k=" + testKey,
		"x=" + testKey + "%zz",
		"x=%zz" + testKey,
		"x=" + pct(testKey),
		"x=" + strings.ReplaceAll(pct(testKey), "%", "%25"), // encoded twice
		"x=" + url.QueryEscape(testKey),
		pct("x") + "=" + pct(testKey) + ";",
		testKey,
		"access_token=anything",
		"API_KEY=anything",
		"t=" + goodToken,
		"a=b;c=" + goodToken + "%zz",
		"whatever=" + pct(goodToken),
		goodToken + "=1",
	} {
		for _, path := range []string{"/mcp?", "/healthz?", "/nowhere?"} {
			r := fd.do(t, request{path: path + q})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "never accepted in the URL") {
				t.Errorf("%s%s: %d %s", path, q, r.status, r.body)
			}
		}
	}
	for _, q := range []string{"", "?", "?debug=1", "?a=1;b=2", "?x=%zz"} {
		if r := fd.do(t, request{path: "/mcp" + q}); r.status != http.StatusOK {
			t.Errorf("/mcp%s: %d %s", q, r.status, r.body)
		}
	}
	if log := fd.log.String(); strings.Contains(log, testKey) || strings.Contains(log, goodToken) {
		t.Errorf("a credential reached the log: %s", log)
	}
	// Without a predicate, no query string is accepted at all.
	strict := start(t, nil, func(o *transport.HTTPOptions) { o.IsSecret = nil })
	if r := strict.do(t, request{path: "/mcp?debug=1"}); r.status != http.StatusBadRequest {
		t.Errorf("nil IsSecret, a harmless query: %d %s", r.status, r.body)
	}
}

func TestSecretInPathIsNotLogged(t *testing.T) {
	fd := start(t, nil, nil)
	for _, path := range []string{"/" + testKey, "/x/" + url.PathEscape(goodToken)} {
		if r := fd.do(t, request{path: path}); r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if log := fd.log.String(); strings.Contains(log, testKey) || strings.Contains(log, goodToken) {
		t.Errorf("a credential in the path reached the log: %s", log)
	}
}

// rawRequest opens a connection and sends a POST /mcp's headers, declaring a body of length bytes,
// and the first sent bytes of that body; the rest never comes.
func (fd *frontDoor) rawRequest(t *testing.T, auth string, length, sent int) net.Conn {
	t.Helper()
	return fd.stalledPost(t, auth, "Content-Length: "+strconv.Itoa(length), strings.Repeat(" ", sent))
}

// stalledPost opens a connection and sends a POST /mcp's headers with framing (how the body's length
// is told), the Authorization header when auth is set, and then first, the start of a body whose
// rest never comes.
func (fd *frontDoor) stalledPost(t *testing.T, auth, framing, first string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fd.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
		"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: " + legacy + "\r\n" + framing + "\r\n"
	if auth != "" {
		head += "Authorization: " + auth + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"+first); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the response on c, and whether the server then closed the connection. The deadline
// only keeps a broken server from hanging the test: every answer expected here comes at once.
func answer(t *testing.T, c net.Conn) (status int, closed bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, err = br.ReadByte()
	return resp.StatusCode, errors.Is(err, io.EOF)
}

func TestAuthComesBeforeTheBody(t *testing.T) {
	// A 401 comes at once; an implementation that read the body first would answer 408 at the deadline.
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.BodyTimeout = 2 * time.Second })
	for _, auth := range []string{"", "Bearer wrong-token-0123456789"} {
		c := fd.rawRequest(t, auth, 1000, 10)
		if status, closed := answer(t, c); status != http.StatusUnauthorized || !closed {
			t.Errorf("auth %q with a stalled body: %d, connection closed: %v", auth, status, closed)
		}
	}
}

func TestStalledBodyTimesOut(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.BodyTimeout = 200 * time.Millisecond })
	c := fd.rawRequest(t, "Bearer "+goodToken, 1000, 10)
	if status, closed := answer(t, c); status != http.StatusRequestTimeout || !closed {
		t.Errorf("a stalled body: %d, connection closed: %v", status, closed)
	}
	// A whole body is not cut off, and the call may outlast the body's deadline.
	g := newGate()
	fd = start(t, g, func(o *transport.HTTPOptions) { o.BodyTimeout = 50 * time.Millisecond })
	go func() {
		<-g.entered
		time.Sleep(200 * time.Millisecond)
		close(g.release)
	}()
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	if r := fd.do(t, request{body: call}); r.status != http.StatusOK || !strings.Contains(r.body, `"slow"`) {
		t.Errorf("a call longer than the body deadline: %d %s", r.status, r.body)
	}
}

func TestShutdownCutsOffBodies(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.BodyTimeout = time.Minute })
	c := fd.rawRequest(t, "Bearer "+goodToken, 1000, 10)
	fd.shutdown(context.Background())
	if status, closed := answer(t, c); status != http.StatusServiceUnavailable || !closed {
		t.Errorf("a stalled body at shutdown: %d, connection closed: %v", status, closed)
	}
}

func TestLargeBodiesHaveTheirOwnCap(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.MaxLargeBodies = 1
		o.BodyTimeout = time.Minute
	})
	large := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 100<<10) + `"}}`
	for i := 0; ; i++ {
		// The stalled request may lose the slot to the probe (and be refused): then try again.
		c := fd.rawRequest(t, "Bearer "+goodToken, 200<<10, 100<<10)
		time.Sleep(20 * time.Millisecond)
		r := fd.do(t, request{body: large})
		if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "" {
			break
		}
		if r.status != http.StatusOK || i == 100 {
			t.Fatalf("a large body while another is read: %d %s", r.status, r.body)
		}
		c.Close()
	}
	if r := fd.do(t, request{body: large, chunked: true}); r.status != http.StatusTooManyRequests {
		t.Errorf("a large body of unknown length while another is read: %d %s", r.status, r.body)
	}
	for _, chunked := range []bool{false, true} {
		if r := fd.do(t, request{chunked: chunked}); r.status != http.StatusOK {
			t.Errorf("a small body (chunked %v) while a large one stalls: %d %s", chunked, r.status, r.body)
		}
	}
}

// initialize opens a session with the credential in auth ("" for goodToken) and returns its id.
func (fd *frontDoor) initialize(t *testing.T, auth string) string {
	t.Helper()
	r := fd.do(t, request{body: initBody, auth: auth})
	id := r.header.Get("Mcp-Session-Id")
	if r.status != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d %q %s", r.status, id, r.body)
	}
	r = fd.do(t, request{body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, auth: auth,
		headers: map[string]string{"Mcp-Session-Id": id}})
	if r.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", r.status, r.body)
	}
	return id
}

// openStream opens the GET event stream of session id.
func (fd *frontDoor) openStream(t *testing.T, auth, id string) *http.Response {
	t.Helper()
	return fd.open(t, request{method: http.MethodGet, auth: auth,
		headers: map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": id}})
}

func TestStatelessRefusesEventStreams(t *testing.T) {
	fd := start(t, nil, nil)
	r := fd.do(t, request{method: http.MethodGet, headers: map[string]string{"Accept": "text/event-stream"}})
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
		t.Errorf("GET /mcp when stateless: %d Allow %q %s", r.status, r.header.Get("Allow"), r.body)
	}
}

func TestEventStreamsDoNotBlockCalls(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.Stateful = true
		o.MaxInFlight = 2
	})
	id := fd.initialize(t, "")
	for i := range transport.DefaultMaxStreams {
		if resp := fd.openStream(t, "Bearer "+goodToken, fd.initialize(t, "")); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
	}
	session := map[string]string{"Mcp-Session-Id": id}
	if r := fd.do(t, request{headers: session}); r.status != http.StatusOK {
		t.Errorf("a call while %d streams are open: %d %s", transport.DefaultMaxStreams, r.status, r.body)
	}
	resp := fd.openStream(t, "Bearer "+goodToken, id)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("one stream more than the cap: %d", resp.StatusCode)
	}
}

func TestShutdownEndsEventStreams(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.Stateful = true })
	resp := fd.openStream(t, "Bearer "+goodToken, fd.initialize(t, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	fd.shutdown(context.Background())
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Errorf("stream after shutdown: %v", err)
	}
}

func TestSessionCap(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.Stateful = true
		o.MaxSessions = 2
	})
	first := fd.initialize(t, "")
	fd.initialize(t, "Bearer other-1")
	r := fd.do(t, request{body: initBody})
	var msg struct {
		ID    int `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if r.status != http.StatusServiceUnavailable || json.Unmarshal([]byte(r.body), &msg) != nil || msg.ID != 1 ||
		msg.Error.Code != -32000 || !strings.Contains(msg.Error.Message, "too many open sessions") ||
		r.header.Get("Mcp-Session-Id") != "" {
		t.Errorf("initialize beyond the cap: %d %q %s", r.status, r.header.Get("Mcp-Session-Id"), r.body)
	}
	if r := fd.do(t, request{method: http.MethodDelete, headers: map[string]string{"Mcp-Session-Id": first}}); r.status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	fd.initialize(t, "")
}

func TestSessionsAreBoundToTheirCredential(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.Stateful = true })
	id := fd.initialize(t, "")
	session := map[string]string{"Mcp-Session-Id": id}
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if r := fd.do(t, request{method: method, auth: "Bearer other-thief", headers: session}); r.status != http.StatusNotFound {
			t.Errorf("%s with another credential: %d %s", method, r.status, r.body)
		}
	}
	if r := fd.do(t, request{headers: session}); r.status != http.StatusOK {
		t.Fatalf("the owner, after the attempts: %d %s", r.status, r.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		if r := fd.do(t, request{method: method}); r.status != http.StatusBadRequest {
			t.Errorf("%s without a session: %d %s", method, r.status, r.body)
		}
	}
	if r := fd.do(t, request{method: http.MethodDelete, headers: session}); r.status != http.StatusOK {
		t.Fatalf("the owner's DELETE: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{headers: session}); r.status != http.StatusNotFound {
		t.Errorf("an ended session: %d %s", r.status, r.body)
	}
}

func TestIdleSessionsEnd(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.Stateful = true
		o.MaxSessions = 1
		o.SessionIdleTTL = time.Second
	})
	session := map[string]string{"Mcp-Session-Id": fd.initialize(t, "")}
	for i := 0; ; i++ { // mcp-go sweeps every second here
		time.Sleep(100 * time.Millisecond)
		r := fd.do(t, request{body: initBody})
		if r.status == http.StatusOK {
			break // the idle session ended and gave its place back
		}
		if r.status != http.StatusServiceUnavailable || i == 100 {
			t.Fatalf("initialize while the only session is idle: %d %s", r.status, r.body)
		}
	}
	if r := fd.do(t, request{headers: session}); r.status != http.StatusNotFound {
		t.Errorf("an idle session: %d %s", r.status, r.body)
	}
}

func TestListenStreamsCountAsStreams(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.MaxInFlight = 1
		o.MaxStreams = 1
	})
	const modern = "2026-07-28"
	listen := `{"jsonrpc":"2.0","id":7,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},` +
		`"_meta":{"` + mcp.MetaKeyProtocolVersion + `":"` + modern + `","` + mcp.MetaKeyClientInfo + `":{"name":"t","version":"1"},"` +
		mcp.MetaKeyClientCapabilities + `":{}}}}`
	header := map[string]string{mcp.HeaderProtocolVersion: modern, mcp.HeaderMethod: "subscriptions/listen"}
	stream := fd.open(t, request{body: listen, headers: header}) // its headers are in: it holds the slot
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("a listen stream: %d", stream.StatusCode)
	}
	if r := fd.do(t, request{body: listen, headers: header}); r.status != http.StatusTooManyRequests {
		t.Fatalf("a second listen stream: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{}); r.status != http.StatusOK {
		t.Errorf("a call while a listen stream is open: %d %s", r.status, r.body)
	}
	fd.shutdown(context.Background())
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Errorf("the listen stream after shutdown: %v", err)
	}
}

func TestShutdownLetsCallsFinishButNotStalledClients(t *testing.T) {
	g := newGate()
	addr, stop := serveReal(t, g, func(o *transport.HTTPOptions) { o.BodyTimeout = time.Minute })
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	result := make(chan response, 1)
	go func() {
		fd := &frontDoor{url: "http://" + addr}
		result <- fd.do(t, request{body: call})
	}()
	<-g.entered
	body := staller(t, addr, "Bearer "+goodToken, []byte(strings.Repeat(" ", 100)))
	head, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	_, _ = io.WriteString(head, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n") // and no more
	time.Sleep(100 * time.Millisecond)                                       // let both reach the server
	stopped := make(chan error, 1)
	go func() { _, err := stop(); stopped <- err }()
	select { // cut off by the shutdown, not by its minute-long deadline
	case <-body:
	case <-time.After(5 * time.Second):
		t.Error("a connection stalled in its body outlived the shutdown")
	}
	_ = head.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := head.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("a connection stalled in its headers, at shutdown: %v", err)
	}
	close(g.release)
	if r := <-result; r.status != http.StatusOK || !strings.Contains(r.body, `"slow"`) {
		t.Errorf("the call in flight at shutdown: %d %s", r.status, r.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("ServeHTTP: %v", err)
	}
}
