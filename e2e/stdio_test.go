package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// These tests run the real binary, built once in TestMain, over stdio with two independent clients:
// mcp-go's and the official go-sdk's.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orkm-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "openrouter-keys-mcp")
	build := exec.Command("go", "build", "-race", "-o", binary, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment without any OpenRouter key, so a developer's own key never leaks in.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENROUTER") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// session is what the flow needs of an MCP client.
type session interface {
	listTools(ctx context.Context) (map[string]json.RawMessage, error) // name -> outputSchema
	call(ctx context.Context, tool string, args map[string]any) (structured map[string]any, text string, isError bool, err error)
	protocolVersion() string
}

type mcpGoSession struct{ c *mcpclient.Client }

func (s mcpGoSession) listTools(ctx context.Context) (map[string]json.RawMessage, error) {
	res, err := s.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, tool := range res.Tools {
		b, err := json.Marshal(tool)
		if err != nil {
			return nil, err
		}
		var raw struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, err
		}
		out[tool.Name] = raw.OutputSchema
	}
	return out, nil
}

func (s mcpGoSession) call(ctx context.Context, tool string, args map[string]any) (map[string]any, string, bool, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, "", false, err
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text += tc.Text
		}
	}
	return asObject(res.StructuredContent), text, res.IsError, nil
}

func (s mcpGoSession) protocolVersion() string { return s.c.ProtocolVersion() }

type goSDKSession struct{ s *sdk.ClientSession }

func (s goSDKSession) listTools(ctx context.Context) (map[string]json.RawMessage, error) {
	res, err := s.s.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, tool := range res.Tools {
		b, err := json.Marshal(tool.OutputSchema)
		if err != nil {
			return nil, err
		}
		out[tool.Name] = b
	}
	return out, nil
}

func (s goSDKSession) call(ctx context.Context, tool string, args map[string]any) (map[string]any, string, bool, error) {
	res, err := s.s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, "", false, err
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			text += tc.Text
		}
	}
	return asObject(res.StructuredContent), text, res.IsError, nil
}

func (s goSDKSession) protocolVersion() string { return s.s.InitializeResult().ProtocolVersion }

func asObject(v any) map[string]any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// startMCPGo starts the binary with mcp-go's stdio client; version "" lets them negotiate the newest.
func startMCPGo(t *testing.T, ctx context.Context, version string, env []string, args ...string) (session, *lockedBuffer) {
	t.Helper()
	return startMCPGoWith(t, ctx, version, env, nil, args...)
}

// startMCPGoWith is startMCPGo with client options, such as an elicitation handler.
func startMCPGoWith(t *testing.T, ctx context.Context, version string, env []string, opts []mcpclient.ClientOption, args ...string) (session, *lockedBuffer) {
	t.Helper()
	stderr := &lockedBuffer{}
	tr := mcptransport.NewStdioWithOptions(binary, env, args, mcptransport.WithCommandStderrWriter(stderr))
	s, err := connectMCPGo(ctx, tr, version, "mcp-go-test", opts)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr)
	}
	t.Cleanup(func() { _ = s.c.Close() })
	return s, stderr
}

// connectMCPGo starts mcp-go's client on a transport and initializes it at version ("" for the newest).
func connectMCPGo(ctx context.Context, tr mcptransport.Interface, version, clientName string, opts []mcpclient.ClientOption) (mcpGoSession, error) {
	if version != "" {
		opts = append(opts, mcpclient.WithProtocolVersion(version))
	}
	c := mcpclient.NewClient(tr, opts...)
	if err := c.Start(ctx); err != nil {
		return mcpGoSession{}, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: clientName, Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return mcpGoSession{}, fmt.Errorf("initialize: %w", err)
	}
	return mcpGoSession{c}, nil
}

// startGoSDK starts the binary with the official go-sdk client.
func startGoSDK(t *testing.T, ctx context.Context, version string, env []string, args ...string) (session, *lockedBuffer) {
	t.Helper()
	stderr := &lockedBuffer{}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-test", Version: "1"}, nil)
	s, err := c.Connect(ctx, &sdk.CommandTransport{Command: cmd}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v\nstderr:\n%s", err, stderr)
	}
	t.Cleanup(func() { _ = s.Close() })
	return goSDKSession{s}, stderr
}

var keyShape = regexp.MustCompile(`sk-or-v1-[0-9a-f]{64}`)

func TestToolFlowOverStdio(t *testing.T) {
	clients := map[string]func(*testing.T, context.Context, string, []string, ...string) (session, *lockedBuffer){
		"mcp-go": startMCPGo,
		"go-sdk": startGoSDK,
	}
	for clientName, start := range clients {
		for _, version := range []string{"", "2025-06-18"} {
			t.Run(clientName+"/"+cmp(version, "default"), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				s, stderr := start(t, ctx, version, cleanEnv(), "--sandbox", "--log-level", "debug")
				// With no pin both clients speak the newest revision, which has no initialize handshake.
				if want := cmp(version, "2026-07-28"); s.protocolVersion() != want {
					t.Errorf("negotiated %q, want %q", s.protocolVersion(), want)
				}
				secret := runFlow(t, ctx, s)
				if strings.Contains(stderr.String(), secret) || keyShape.MatchString(stderr.String()) {
					t.Errorf("a secret reached the server's log:\n%s", stderr)
				}
				if !strings.Contains(stderr.String(), "SANDBOX MODE") {
					t.Errorf("--sandbox must be announced on stderr:\n%s", stderr)
				}
			})
		}
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkedCaller runs tools/list and returns a function that calls a tool, fails the test on an error
// or an error result, and checks the structuredContent against the tool's outputSchema.
func checkedCaller(t *testing.T, ctx context.Context, s session) func(tool string, args map[string]any) map[string]any {
	t.Helper()
	schemas, err := s.listTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(tools.Names()) {
		t.Fatalf("tools/list: %d tools", len(schemas))
	}
	resolved := map[string]*jsonschema.Resolved{}
	for name, raw := range schemas {
		var sc jsonschema.Schema
		if err := json.Unmarshal(raw, &sc); err != nil {
			t.Fatalf("%s outputSchema: %v", name, err)
		}
		rs, err := sc.Resolve(nil)
		if err != nil {
			t.Fatalf("%s outputSchema: %v", name, err)
		}
		resolved[name] = rs
	}
	return func(tool string, args map[string]any) map[string]any {
		t.Helper()
		sc, text, isErr, err := s.call(ctx, tool, args)
		if err != nil || isErr {
			t.Fatalf("%s: err=%v isError=%v %s", tool, err, isErr, text)
		}
		if err := resolved[tool].Validate(sc); err != nil {
			t.Errorf("%s: structuredContent does not match its outputSchema: %v", tool, err)
		}
		return sc
	}
}

// runFlow runs tools/list, then create, get, update, list, delete, get and current_key, checking every
// structuredContent against the tool's outputSchema. It returns the created key's secret.
func runFlow(t *testing.T, ctx context.Context, s session) string {
	t.Helper()
	call := checkedCaller(t, ctx, s)
	created := call("create_key", map[string]any{"name": "e2e", "limit": 25, "limit_reset": "monthly"})
	hash := created["key"].(map[string]any)["hash"].(string)
	secret := created["secret"].(string)
	if !keyShape.MatchString(secret) {
		t.Fatalf("create_key: secret has the wrong shape")
	}
	if got := call("get_key", map[string]any{"hash": hash})["key"].(map[string]any); got["name"] != "e2e" || got["limit"] != 25.0 {
		t.Errorf("get_key: %v", got)
	}
	upd := call("update_key", map[string]any{"hash": hash, "remove_limit": true, "name": nil, "disabled": true})["key"].(map[string]any)
	if upd["limit"] != nil || upd["disabled"] != true || upd["limit_reset"] != "monthly" {
		t.Errorf("update_key: %v", upd)
	}
	inList := func(args map[string]any) bool {
		for _, k := range call("list_keys", args)["keys"].([]any) {
			if k.(map[string]any)["hash"] == hash {
				return true
			}
		}
		return false
	}
	if inList(map[string]any{}) || !inList(map[string]any{"include_disabled": true}) {
		t.Error("a disabled key must be listed only with include_disabled")
	}
	if del := call("delete_key", map[string]any{"hash": hash}); del["deleted"] != true {
		t.Errorf("delete_key: %v", del)
	}
	if _, text, isErr, err := s.call(ctx, "get_key", map[string]any{"hash": hash}); err != nil || !isErr || !strings.Contains(text, "no key with that hash") {
		t.Errorf("get_key after delete: err=%v isError=%v %s", err, isErr, text)
	}
	if cur := call("current_key", nil)["key"].(map[string]any); cur["is_management_key"] != true {
		t.Errorf("current_key: %v", cur)
	}
	return secret
}

func TestBadArgumentsOverStdioLeaveTheServerAnswering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := startMCPGo(t, ctx, "", cleanEnv(), "--sandbox")
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"get_key", map[string]any{"hash": "../../key"}},
		{"get_key", map[string]any{"hash": "%2F..%2Fkey"}},
		{"delete_key", map[string]any{"hash": 42}},
		{"create_key", map[string]any{"name": "x", "limit": -3}},
		{"create_key", map[string]any{"name": "x", "limit_reset": "hourly"}},
		{"list_keys", map[string]any{"offset": "ten"}},
		{"update_key", map[string]any{"hash": strings.Repeat("a", 64), "colour": "red"}},
	} {
		_, text, isErr, err := s.call(ctx, tc.tool, tc.args)
		if err != nil || !isErr || !strings.Contains(text, "nothing was sent") {
			t.Errorf("%s %v: err=%v isError=%v %q", tc.tool, tc.args, err, isErr, text)
		}
	}
	if _, text, isErr, err := s.call(ctx, "list_keys", nil); err != nil || isErr {
		t.Fatalf("the server stopped answering: %v %s", err, text)
	}
}

func TestWithoutAKeyTheServerStartsAndSaysWhatToSet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, stderr := startMCPGo(t, ctx, "", cleanEnv())
	if listed, err := s.listTools(ctx); err != nil || len(listed) != len(tools.Names()) {
		t.Fatalf("tools/list without a key: %v (%d tools)", err, len(listed))
	}
	for _, tool := range []string{"list_keys", "current_key"} {
		_, text, isErr, err := s.call(ctx, tool, nil)
		if err != nil || !isErr || !strings.Contains(text, "OPENROUTER_MANAGEMENT_KEY") {
			t.Errorf("%s without a key: err=%v isError=%v %q", tool, err, isErr, text)
		}
	}
	if !strings.Contains(stderr.String(), "OPENROUTER_MANAGEMENT_KEY") || strings.Contains(stderr.String(), "SANDBOX") {
		t.Errorf("stderr must warn about the missing key, and not claim a sandbox:\n%s", stderr)
	}
}

// rawServer runs the binary with plain pipes, for what a client library would hide.
type rawServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner // lines of out
	out    io.Reader      // stdout itself, for a test that reads bytes rather than lines
	stderr *lockedBuffer
}

func startRaw(t *testing.T, env []string, args ...string) *rawServer {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &rawServer{cmd: cmd, stdin: stdin, out: out, stderr: &lockedBuffer{}}
	cmd.Stderr = r.stderr
	r.stdout = bufio.NewScanner(out)
	r.stdout.Buffer(make([]byte, 1<<20), 1<<20)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r
}

func (r *rawServer) send(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(r.stdin, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// wait waits for the process to exit, failing the test rather than hanging when it does not.
func (r *rawServer) wait(t *testing.T) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not exit; stderr:\n%s", r.stderr)
		return nil
	}
}

func TestStdoutCarriesOnlyJSONRPC(t *testing.T) {
	r := startRaw(t, cleanEnv(), "--sandbox", "--log-level", "trace")
	r.send(t,
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`this line is not JSON at all`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_key","arguments":{"name":"purity"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_key","arguments":{"hash":"nope"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"no/such/method"}`,
	)
	pending := map[float64]bool{1: true, 2: true, 3: true, 4: true, 5: true}
	var secret string
	for len(pending) > 0 && r.stdout.Scan() {
		line := r.stdout.Text()
		var msg struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      any             `json:"id"`
			Result  json.RawMessage `json:"result"`
			Error   json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", line)
		}
		if id, ok := msg.ID.(float64); ok {
			delete(pending, id)
			if id == 3 {
				if m := keyShape.FindString(string(msg.Result)); m != "" {
					secret = m
				}
			}
		}
	}
	if len(pending) > 0 {
		t.Fatalf("no answer to requests %v; stderr:\n%s", pending, r.stderr)
	}
	if secret == "" {
		t.Fatal("create_key answered without a secret")
	}
	_ = r.stdin.Close()
	if err := r.wait(t); err != nil {
		t.Errorf("exit after stdin EOF: %v", err)
	}
	if strings.Contains(r.stderr.String(), secret) {
		t.Error("the new key's secret reached stderr")
	}
}

func TestSignalsEndTheServerCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			r := startRaw(t, cleanEnv(), "--sandbox", "--log-format", "json")
			r.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
			if !r.stdout.Scan() {
				t.Fatalf("no initialize answer; stderr:\n%s", r.stderr)
			}
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := r.wait(t); err != nil {
				t.Errorf("exit after %s: %v\n%s", sig, err, r.stderr)
			}
		})
	}
}

// runBinary runs the binary to completion and returns its exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}
