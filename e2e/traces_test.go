package e2e

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// otlpReceiver is an OTLP/HTTP collector in the test: it keeps every span exported to /v1/traces.
type otlpReceiver struct {
	url      string
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string // service.name of each export's resources
	auth     []string // the Authorization header of each export
	gzipped  int      // exports that came gzip-compressed
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			t.Errorf("the exporter sent %s %s; want POST /v1/traces", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		rcv.mu.Lock()
		rcv.auth = append(rcv.auth, r.Header.Get("Authorization"))
		rcv.mu.Unlock()
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			rcv.mu.Lock()
			rcv.gzipped++
			rcv.mu.Unlock()
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("an export that is not OTLP protobuf: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					rcv.services = append(rcv.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				rcv.spans = append(rcv.spans, ss.Spans...)
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rcv.url = srv.URL
	return rcv
}

// inTrace is the spans exported in the trace whose id is hex.
func (r *otlpReceiver) inTrace(traceID string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			out = append(out, s)
		}
	}
	return out
}

func (r *otlpReceiver) all() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// tracedUpstream is an emulator that keeps the traceparent header of every request it is sent ("" for
// a request without one).
type tracedUpstream struct {
	base, key string
	mu        sync.Mutex
	parents   map[string][]string // path -> traceparent headers
}

func startTracedUpstream(t *testing.T) *tracedUpstream {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	u := &tracedUpstream{key: sb.ManagementKey(), parents: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.parents[r.URL.Path] = append(u.parents[r.URL.Path], r.Header.Get("traceparent"))
		u.mu.Unlock()
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u.base = srv.URL + "/api/v1"
	return u
}

func (u *tracedUpstream) traceparents(path string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.parents[path]...)
}

// tracesEnv is the environment without any OpenRouter key or OTEL_ variable of the developer's, with
// the upstream's key.
func tracesEnv(up *tracedUpstream, extra ...string) []string {
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, append([]string{"OPENROUTER_MANAGEMENT_KEY=" + up.key}, extra...)...)
}

// A caller's trace: its trace id and the span the server's spans hang from.
const (
	headerTrace  = "0af7651916cd43dd8448eb211c80319c"
	headerParent = "b7ad6b7169203331"
	metaTrace    = "4bf92f3577b34da6a3ce929d0e0e4736"
	metaParent   = "00f067aa0ba902b7"
	proxyTrace   = "11111111111111111111111111111111"
)

func traceparent(traceID, spanID string) string { return "00-" + traceID + "-" + spanID + "-01" }

// attrs is a span's attributes as text.
func attrs(s *tracepb.Span) map[string]string {
	m := map[string]string{}
	for _, a := range s.Attributes {
		v := a.GetValue()
		switch {
		case v.GetStringValue() != "":
			m[a.Key] = v.GetStringValue()
		default:
			m[a.Key] = fmt.Sprint(v.GetIntValue())
		}
	}
	return m
}

// checkLinked checks the trace the caller started with traceID at parentID: one server span for the
// tool call, its child for the request to OpenRouter at endpoint, and the traceparent OpenRouter
// received naming that child. It returns the server span.
func checkLinked(t *testing.T, rcv *otlpReceiver, up *tracedUpstream, traceID, parentID, tool, endpoint, path string) *tracepb.Span {
	t.Helper()
	var server, client *tracepb.Span
	var clients []*tracepb.Span // a tool may read more than one endpoint
	for _, s := range rcv.inTrace(traceID) {
		switch s.Kind {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			clients = append(clients, s)
			if attrs(s)["url.template"] == endpoint {
				client = s
			}
		}
	}
	if server == nil || client == nil {
		t.Fatalf("trace %s: want a server span and a client span for %s; exported: %s", traceID, endpoint, names(rcv.all()))
	}
	for _, c := range clients {
		if !equalBytes(c.ParentSpanId, server.SpanId) {
			t.Errorf("the OpenRouter span %q is not a child of the MCP span", c.Name)
		}
	}
	if got := hex.EncodeToString(server.ParentSpanId); got != parentID {
		t.Errorf("the MCP span's parent is %q; want the caller's span %s", got, parentID)
	}
	if want := "tools/call " + tool; server.Name != want {
		t.Errorf("the MCP span is named %q; want %q", server.Name, want)
	}
	a := attrs(server)
	if a["mcp.method.name"] != "tools/call" || a["gen_ai.tool.name"] != tool || a["jsonrpc.request.id"] == "" {
		t.Errorf("the MCP span's attributes: %v", a)
	}
	if want := "GET " + endpoint; client.Name != want {
		t.Errorf("the OpenRouter span is named %q; want %q", client.Name, want)
	}
	if c := attrs(client); c["url.template"] != endpoint || c["http.request.method"] != "GET" || c["server.address"] != "127.0.0.1" {
		t.Errorf("the OpenRouter span's attributes: %v", c)
	}
	want := traceparent(traceID, hex.EncodeToString(client.SpanId))
	found := false
	for _, tp := range up.traceparents(path) {
		found = found || tp == want
	}
	if !found {
		t.Errorf("OpenRouter received traceparents %q at %s; want %s", up.traceparents(path), path, want)
	}
	return server
}

// names lists spans by trace and name, for a failure's message.
func names(spans []*tracepb.Span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "\n  %x %s %q", s.TraceId, s.Kind, s.Name)
	}
	return b.String()
}

func equalBytes(a, b []byte) bool {
	return len(a) > 0 && hex.EncodeToString(a) == hex.EncodeToString(b)
}

// checkNothingSecret fails when a span's name or attribute holds a secret, a key's hash or name.
func checkNothingSecret(t *testing.T, spans []*tracepb.Span, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		texts := []string{s.Name}
		for _, v := range attrs(s) {
			texts = append(texts, v)
		}
		for _, text := range texts {
			if keyShape.MatchString(text) || strings.Contains(text, "sk-or") {
				t.Errorf("span %q holds a key: %q", s.Name, text)
			}
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("span %q holds %q", s.Name, secret)
				}
			}
		}
	}
}

// TestTracesLinkTheCallerToOpenRouterOverHTTP: a caller's trace context, from a traceparent header or
// from params._meta (which wins over a header a proxy may have set), is the parent of the server's
// span for the call, whose child is the request to OpenRouter, which OpenRouter receives with a
// traceparent naming that child. The spans reach the collector when the server stops.
func TestTracesLinkTheCallerToOpenRouterOverHTTP(t *testing.T) {
	rcv := startOTLPReceiver(t)
	up := startTracedUpstream(t)
	token := strings.Repeat("tr4ce", 8)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startHTTP(t, tracesEnv(up, "OTEL_SERVICE_NAME=keys-in-test", "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20collector-token"),
		"--base-url", up.base, "--auth-token-file", tokenFile,
		"--otlp-endpoint", rcv.url)

	call := func(id int, tool, args, meta string, headers map[string]string) string {
		params := `{"name":"` + tool + `","arguments":` + args + meta + `}`
		return readAll(t, post(t, srv.url, "Bearer "+token, headers,
			fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}`, id, params)))
	}
	if out := call(1, "list_keys", `{}`, "", map[string]string{"traceparent": traceparent(headerTrace, headerParent)}); !strings.Contains(out, `"keys"`) {
		t.Fatalf("list_keys: %s", out)
	}
	meta := `,"_meta":{"traceparent":"` + traceparent(metaTrace, metaParent) + `","tracestate":"caller=1"}`
	missing := strings.Repeat("0", 64)
	if out := call(2, "get_key", `{"hash":"`+missing+`"}`, meta, map[string]string{"traceparent": traceparent(proxyTrace, headerParent)}); !strings.Contains(out, `"isError":true`) {
		t.Fatalf("get_key of a key that does not exist: %s", out)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.wait(t); err != nil {
		t.Fatalf("the server did not stop cleanly: %v\n%s", err, srv.stderr)
	}

	checkLinked(t, rcv, up, headerTrace, headerParent, "list_keys", "/keys", "/api/v1/keys")
	failed := checkLinked(t, rcv, up, metaTrace, metaParent, "get_key", "/keys/{hash}", "/api/v1/keys/"+missing)
	if a := attrs(failed); a["error.type"] != "tool_error" {
		t.Errorf("the span of a call the model reads as failed: error.type %q; want tool_error", a["error.type"])
	}
	if spans := rcv.inTrace(proxyTrace); len(spans) > 0 {
		t.Errorf("the header's trace context was used although params._meta carried one: %v", spans)
	}
	checkNothingSecret(t, rcv.all(), token, missing, up.key)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, s := range rcv.services {
		if s != "keys-in-test" {
			t.Errorf("service.name %q; want OTEL_SERVICE_NAME's keys-in-test", s)
		}
	}
	for _, a := range rcv.auth {
		if a != "Bearer collector-token" {
			t.Errorf("an export came with Authorization %q; want OTEL_EXPORTER_OTLP_HEADERS's", a)
		}
	}
}

// TestTracesFollowMetaOverStdio: over stdio, where there are no headers, the trace context comes from
// params._meta; the spans are exported, compressed as OTEL_EXPORTER_OTLP_COMPRESSION asks, when the
// client closes stdin.
func TestTracesFollowMetaOverStdio(t *testing.T) {
	rcv := startOTLPReceiver(t)
	up := startTracedUpstream(t)
	r := startRaw(t, tracesEnv(up, "OTEL_EXPORTER_OTLP_COMPRESSION=gzip"), "--base-url", up.base, "--otlp-endpoint", rcv.url)
	// As a client must, the call waits for initialize's answer: the session's protocol version, which
	// the span names, is set by then (mcp-go may serve a message sent sooner before it).
	r.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	for r.stdout.Scan() && !strings.Contains(r.stdout.Text(), `"id":1`) {
	}
	r.send(t,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_keys","arguments":{},"_meta":{"traceparent":"`+traceparent(metaTrace, metaParent)+`"}}}`,
	)
	for r.stdout.Scan() && !strings.Contains(r.stdout.Text(), `"id":2`) {
	}
	_ = r.stdin.Close()
	if err := r.wait(t); err != nil {
		t.Fatalf("the server did not stop cleanly: %v\n%s", err, r.stderr)
	}
	server := checkLinked(t, rcv, up, metaTrace, metaParent, "list_keys", "/keys", "/api/v1/keys")
	if a := attrs(server); a["mcp.protocol.version"] != "2025-06-18" {
		t.Errorf("mcp.protocol.version %q; want the one the session negotiated", a["mcp.protocol.version"])
	}
	checkNothingSecret(t, rcv.all(), up.key)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.gzipped == 0 {
		t.Error("OTEL_EXPORTER_OTLP_COMPRESSION=gzip: no export came compressed")
	}
}

// TestTracesOffByDefault: without an endpoint, or with OTEL_SDK_DISABLED, nothing is exported and
// OpenRouter receives no traceparent, not even the caller's.
func TestTracesOffByDefault(t *testing.T) {
	for name, disabled := range map[string]bool{"no endpoint": false, "SDK disabled": true} {
		t.Run(name, func(t *testing.T) {
			rcv := startOTLPReceiver(t)
			up := startTracedUpstream(t)
			args, env := []string{"--base-url", up.base}, tracesEnv(up)
			if disabled {
				args, env = append(args, "--otlp-endpoint", rcv.url), tracesEnv(up, "OTEL_SDK_DISABLED=true")
			}
			r := startRaw(t, env, args...)
			r.send(t,
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
				`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_keys","arguments":{},"_meta":{"traceparent":"`+traceparent(metaTrace, metaParent)+`"}}}`,
			)
			for answered := 0; answered < 2 && r.stdout.Scan(); {
				if strings.Contains(r.stdout.Text(), `"id":`) {
					answered++
				}
			}
			_ = r.stdin.Close()
			if err := r.wait(t); err != nil {
				t.Fatalf("the server did not stop cleanly: %v\n%s", err, r.stderr)
			}
			if tps := up.traceparents("/api/v1/keys"); len(tps) == 0 || tps[0] != "" {
				t.Errorf("OpenRouter received traceparents %q; want a request without one", tps)
			}
			if spans := rcv.all(); len(spans) > 0 {
				t.Errorf("spans were exported: %s", names(spans))
			}
		})
	}
}
