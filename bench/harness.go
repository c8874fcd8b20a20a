// Package bench measures openrouter-keys-mcp as its users feel it: how fast a stdio server starts, what
// one tool call costs over stdio and over HTTP beyond the upstream call it makes, how many calls per
// second the HTTP server carries with many clients, and how much memory it takes. BENCHMARKS.md says
// how to run it and gives the figures of the last run.
//
// Everything runs as in production: the server is the built binary in its own process (built twice:
// with a plain go build, and as the release builds it), and its upstream is `openrouter-keys-mcp
// sandbox` in another process on loopback, holding 20 keys, so every figure includes a real upstream
// HTTP hop. The yardsticks are a bare mcp-go server with one trivial tool (bench/baremcp), the
// OpenRouter client calling the same sandbox directly (openrouter.Client: MCP overhead is the
// difference between a tool call and that direct call), and the Node peer (bench/nodepeer: the same
// two tools on the official TypeScript SDK, against the same sandbox). The clients here speak raw
// JSON-RPC, so their own cost is small and the same for every server.
//
// The machine is small and shared by the load, the sandbox and the server: compare figures taken in
// one run (as ratios), never absolute times across runs, and never assert times in a test.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Module is the import path of the server's main package.
const Module = "github.com/orkeys/openrouter-keys-mcp"

// Binaries are the programs a run measures.
type Binaries struct {
	Root    string // the module's directory
	Server  string // openrouter-keys-mcp, built as a user's go install builds it
	Release string // openrouter-keys-mcp, built as the release builds it (ReleaseBuild)
	Bare    string // bench/baremcp, built as Server is
	// Profiling is openrouter-keys-mcp built as the release is, but with its symbols and with -tags
	// benchprofile (net/http/pprof on $ORKM_PPROF_ADDR); empty unless asked for.
	Profiling string
}

// ReleaseBuild describes how the release builds the server besides its toolchain (see
// .goreleaser.yaml): static, without paths, stripped.
const ReleaseBuild = `CGO_ENABLED=0, -trimpath, -ldflags "-s -w"`

// Build compiles the binaries into dir with the go command found on PATH: the server and baremcp with
// a plain go build, as a user's go install would, and the server again as the release does, with
// GOTOOLCHAIN set to ReleaseToolchain (the go command fetches that toolchain once, like a module). It
// must run inside the module.
func Build(ctx context.Context, dir string, profiling bool) (Binaries, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 || string(bytes.TrimSpace(out)) == os.DevNull {
		return Binaries{}, fmt.Errorf("build: not inside the module (go env GOMOD: %q, %v)", out, err)
	}
	b := Binaries{
		Root:    filepath.Dir(string(bytes.TrimSpace(out))),
		Server:  filepath.Join(dir, "openrouter-keys-mcp"),
		Release: filepath.Join(dir, "openrouter-keys-mcp-release"),
		Bare:    filepath.Join(dir, "baremcp"),
	}
	toolchain, err := ReleaseToolchain(b.Root)
	if err != nil {
		return b, err
	}
	release := []string{"GOTOOLCHAIN=" + toolchain, "CGO_ENABLED=0"}
	builds := []struct{ env, args []string }{
		{nil, []string{"-o", b.Server, Module}},
		{nil, []string{"-o", b.Bare, Module + "/bench/baremcp"}},
		{release, []string{"-trimpath", "-ldflags", "-s -w", "-o", b.Release, Module}},
	}
	if profiling {
		b.Profiling = filepath.Join(dir, "openrouter-keys-mcp-pprof")
		builds = append(builds, struct{ env, args []string }{release, []string{"-trimpath", "-tags", "benchprofile", "-o", b.Profiling, Module}})
	}
	for _, bd := range builds {
		cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, bd.args...)...)
		cmd.Env = append(os.Environ(), bd.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("%s go build %s: %v\n%s", strings.Join(bd.env, " "), strings.Join(bd.args, " "), err, out)
		}
	}
	return b, nil
}

// Proc is a process started by the harness; its stderr goes to a file, read afterwards (for the
// address it listens on, and for GODEBUG=gctrace lines), so that reading it costs the run nothing.
type Proc struct {
	Cmd        *exec.Cmd
	StderrPath string
	done       chan struct{}
}

// start runs bin with args and env (added to this process's environment), its stderr into a file in
// dir. stdin and stdout are the caller's to set up before.
func start(cmd *exec.Cmd, dir string, env []string) (*Proc, error) {
	f, err := os.CreateTemp(dir, filepath.Base(cmd.Path)+"-*.stderr")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, StderrPath: f.Name(), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Stop asks the process to end (SIGTERM), and kills it after 5 s.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Stderr returns what the process wrote on stderr so far.
func (p *Proc) Stderr() string {
	b, _ := os.ReadFile(p.StderrPath)
	return string(b)
}

// waitLog waits for a JSON log line whose message is msg and returns the value of its field.
func (p *Proc) waitLog(msg, field string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.Stderr(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["message"] == msg {
				if v, ok := rec[field].(string); ok {
					return v, nil
				}
			}
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("%s exited before logging %q: %s", filepath.Base(p.Cmd.Path), msg, tail(p.Stderr()))
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not log %q within %s: %s", filepath.Base(p.Cmd.Path), msg, timeout, tail(p.Stderr()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// Memory is what /proc/PID/status says of a process's resident memory.
type Memory struct {
	RSS  int64 // VmRSS: resident now, bytes
	Peak int64 // VmHWM: the most resident at any time since the process started, bytes
}

// Memory reads the process's resident set size now and at its peak.
func (p *Proc) Memory() (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc status %s: %q", name, value)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
	}
	return m, nil
}

// CPUTime returns the CPU time (user and system) the process has used so far, to the clock tick
// (10 ms).
func (p *Proc) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (in parentheses, which may hold spaces): utime and stime
	// are the 14th and 15th fields of the line, the 12th and 13th after the name.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %q", b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: %q", b)
	}
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// selfCPUTime is the CPU time this process has used so far.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcLine matches a GODEBUG=gctrace=1 line's heap figures: heap at the start of the GC, at its end, and
// live, in MB ("12->13->4 MB").
var gcLine = regexp.MustCompile(`^gc \d+ .* (\d+)->(\d+)->(\d+) MB`)

// PeakHeap returns the largest heap (in-use, at the start or the end of a GC) reported by the
// gctrace lines on stderr after byte offset from, in bytes, and how many GCs ran. It needs the
// process started with GODEBUG=gctrace=1. Go reports whole MB.
func (p *Proc) PeakHeap(from int) (peak int64, gcs int) {
	s := p.Stderr()
	if from > len(s) {
		from = len(s)
	}
	for _, line := range strings.Split(s[from:], "\n") {
		m := gcLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		gcs++
		for _, v := range m[1:3] {
			if n, _ := strconv.ParseInt(v, 10, 64); n<<20 > peak {
				peak = n << 20
			}
		}
	}
	return peak, gcs
}

// Upstream is the sandbox in its own process, with its client for the direct-call yardstick.
type Upstream struct {
	Proc    *Proc
	BaseURL string
	Key     string             // the management key
	Client  *openrouter.Client // calls the sandbox directly
	Hash    string             // the hash of one key, for get_key
}

// StartUpstream starts `openrouter-keys-mcp sandbox` on a free loopback port and fills its account so
// that list_keys returns exactly keys keys.
func StartUpstream(ctx context.Context, server, dir string, keys int) (*Upstream, error) {
	key := newManagementKey()
	cmd := exec.Command(server, "sandbox", "--addr", "127.0.0.1:0")
	p, err := start(cmd, dir, []string{"OPENROUTER_MANAGEMENT_KEY=" + key})
	if err != nil {
		return nil, err
	}
	base, err := p.waitLog("serving the OpenRouter emulator", "base_url", 10*time.Second)
	if err != nil {
		p.Stop()
		return nil, err
	}
	// As the server makes it (serve.go), so that the tools called in process cost what they cost there.
	client, err := openrouter.New(openrouter.Options{BaseURL: base, APIKey: openrouter.Secret(key), ControlsTTL: openrouter.DefaultControlsTTL})
	if err != nil {
		p.Stop()
		return nil, err
	}
	up := &Upstream{Proc: p, BaseURL: base, Key: key, Client: client}
	if err := up.fill(ctx, keys); err != nil {
		p.Stop()
		return nil, err
	}
	return up, nil
}

func newManagementKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "sk-or-v1-" + hex.EncodeToString(b[:])
}

// fill creates keys until the first page of list_keys holds n of them.
func (u *Upstream) fill(ctx context.Context, n int) error {
	page, err := u.Client.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil {
		return fmt.Errorf("list the sandbox's keys: %w", err)
	}
	if len(page) > n {
		return fmt.Errorf("the sandbox starts with %d keys, more than the %d wanted", len(page), n)
	}
	for i := len(page); i < n; i++ {
		limit := float64(10 * (i + 1)) // a limit, so each key's row shows its remaining amount
		_, err := u.Client.CreateKey(ctx, openrouter.CreateKeyRequest{
			Name:  fmt.Sprintf("bench key %02d", i),
			Limit: &limit,
		})
		if err != nil {
			return fmt.Errorf("create key %d: %w", i, err)
		}
	}
	page, err = u.Client.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil {
		return err
	}
	if len(page) != n {
		return fmt.Errorf("the sandbox lists %d keys, want %d", len(page), n)
	}
	u.Hash = page[len(page)/2].Hash
	return nil
}

// Stop ends the sandbox.
func (u *Upstream) Stop() { u.Proc.Stop() }

// Call is one tools/call, its params encoded once.
type Call struct {
	Tool   string
	params []byte
}

// NewCall prepares a tools/call of tool with args.
func NewCall(tool string, args map[string]any) Call {
	params, _ := json.Marshal(map[string]any{"name": tool, "arguments": args})
	return Call{Tool: tool, params: params}
}

// request is the JSON-RPC request with the given id.
func request(id int, method string, params []byte) []byte {
	b := make([]byte, 0, 64+len(params))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"method":"`...)
	b = append(b, method...)
	b = append(b, '"')
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, '}')
}

const protocolVersion = "2025-11-25"

var initializeParams = []byte(`{"protocolVersion":"` + protocolVersion + `","capabilities":{},"clientInfo":{"name":"orkm-bench","version":"1.0.0"}}`)

var initializedNote = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// checkReply is the cheap check of a reply made on every call: the id is the one sent, and it is a
// result, not a JSON-RPC error, nor a tool error. FullCheck parses.
func checkReply(body []byte, id int) error {
	var idField [32]byte
	want := strconv.AppendInt(append(idField[:0], `"id":`...), int64(id), 10)
	switch {
	case !bytes.Contains(body, want):
		return fmt.Errorf("reply without %s: %.300s", want, body)
	case !bytes.Contains(body, []byte(`"result":`)):
		return fmt.Errorf("not a result: %.300s", body)
	case bytes.Contains(body, []byte(`"isError":true`)):
		return fmt.Errorf("tool error: %.300s", body)
	}
	return nil
}

// ToolResult is the part of a tools/call result the harness checks.
type ToolResult struct {
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Content           []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// parseReply decodes a JSON-RPC reply fully.
func parseReply(body []byte) (json.RawMessage, error) {
	var m struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("reply is not JSON: %v: %.300s", err, body)
	}
	if m.Error != nil {
		return nil, fmt.Errorf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)
	}
	return m.Result, nil
}

// StdioConn is a stdio server process and a raw JSON-RPC client of it. It sends one request at a
// time.
type StdioConn struct {
	Proc *Proc
	in   io.WriteCloser
	out  *bufio.Reader
	id   int
}

// SpawnStdio starts a stdio server. Its stderr goes to a file in dir.
func SpawnStdio(bin string, args, env []string, dir string) (*StdioConn, error) {
	cmd := exec.Command(bin, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := start(cmd, dir, env)
	if err != nil {
		return nil, err
	}
	return &StdioConn{Proc: p, in: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

// send writes one message.
func (c *StdioConn) send(msg []byte) error {
	_, err := c.in.Write(append(msg, '\n'))
	return err
}

// roundTrip sends a request and returns its reply's line, skipping notifications and other replies.
func (c *StdioConn) roundTrip(method string, params []byte) ([]byte, int, error) {
	c.id++
	if err := c.send(request(c.id, method, params)); err != nil {
		return nil, c.id, fmt.Errorf("write to the server: %w", err)
	}
	var idField [32]byte
	want := strconv.AppendInt(append(idField[:0], `"id":`...), int64(c.id), 10)
	for {
		line, err := c.out.ReadBytes('\n')
		if err != nil {
			return nil, c.id, fmt.Errorf("read from the server: %w (stderr: %s)", err, tail(c.Proc.Stderr()))
		}
		// A notification has no id; another id cannot come, as requests go one at a time.
		if bytes.Contains(line, want) {
			return line, c.id, nil
		}
	}
}

// Initialize runs the initialize handshake.
func (c *StdioConn) Initialize() error {
	line, _, err := c.roundTrip("initialize", initializeParams)
	if err != nil {
		return err
	}
	if _, err := parseReply(line); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	return c.send(initializedNote)
}

// ListTools calls tools/list and returns how many tools it offers.
func (c *StdioConn) ListTools() (int, error) {
	line, _, err := c.roundTrip("tools/list", nil)
	if err != nil {
		return 0, err
	}
	res, err := parseReply(line)
	if err != nil {
		return 0, fmt.Errorf("tools/list: %w", err)
	}
	var list struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(res, &list); err != nil {
		return 0, fmt.Errorf("tools/list: %w", err)
	}
	return len(list.Tools), nil
}

// Call makes one tools/call and checks its reply cheaply.
func (c *StdioConn) Call(call Call) error {
	line, id, err := c.roundTrip("tools/call", call.params)
	if err != nil {
		return err
	}
	return checkReply(line, id)
}

// CallResult makes one tools/call and returns its parsed result.
func (c *StdioConn) CallResult(call Call) (ToolResult, error) {
	line, _, err := c.roundTrip("tools/call", call.params)
	if err != nil {
		return ToolResult{}, err
	}
	return toolResult(line)
}

func toolResult(body []byte) (ToolResult, error) {
	raw, err := parseReply(body)
	if err != nil {
		return ToolResult{}, err
	}
	var r ToolResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, err
	}
	if r.IsError {
		return r, fmt.Errorf("tool error: %+v", r.Content)
	}
	return r, nil
}

// Close closes the server's stdin (its signal to end) and waits for it, killing it after 5 s.
func (c *StdioConn) Close() {
	_ = c.in.Close()
	select {
	case <-c.Proc.done:
	case <-time.After(5 * time.Second):
		c.Proc.Stop()
	}
}

// HTTPServer is an MCP server over HTTP in its own process.
type HTTPServer struct {
	Proc *Proc
	URL  string // the /mcp endpoint
}

// StartHTTP starts `openrouter-keys-mcp http` on a free loopback port, stateless, in server key mode
// against up, with extra args and env, and waits until it answers /healthz.
func StartHTTP(bin string, up *Upstream, dir string, args, env []string) (*HTTPServer, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	all := append([]string{"http", "--addr", addr, "--base-url", up.BaseURL}, args...)
	p, err := start(exec.Command(bin, all...), dir, append([]string{"OPENROUTER_MANAGEMENT_KEY=" + up.Key}, env...))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &HTTPServer{Proc: p, URL: "http://" + addr + "/mcp"}, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("the http server exited: %s", tail(p.Stderr()))
		default:
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("the http server did not answer /healthz within 10 s: %s", tail(p.Stderr()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartBareHTTP starts bench/baremcp over HTTP.
func StartBareHTTP(bin, dir string) (*HTTPServer, error) {
	return startListening(exec.Command(bin, "http", "--addr", "127.0.0.1:0"), dir, nil)
}

// startListening starts an HTTP server that prints "listening on URL" on stderr once it serves (as
// baremcp and the Node peer do), and returns it at that URL.
func startListening(cmd *exec.Cmd, dir string, env []string) (*HTTPServer, error) {
	p, err := start(cmd, dir, env)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(cmd.Path)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, u, ok := strings.Cut(p.Stderr(), "listening on "); ok {
			u, _, _ = strings.Cut(u, "\n")
			return &HTTPServer{Proc: p, URL: strings.TrimSpace(u)}, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s %s exited before serving: %s", name, strings.Join(cmd.Args[1:], " "), tail(p.Stderr()))
		default:
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, errors.New(name + " did not start within 10 s: " + tail(p.Stderr()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stop ends the server.
func (h *HTTPServer) Stop() { h.Proc.Stop() }

// HTTPClient is one MCP client on one keep-alive connection of its own, sending one request at a time.
type HTTPClient struct {
	url  string
	http *http.Client
	id   int
	buf  bytes.Buffer
}

// NewHTTPClient returns a client with a connection of its own.
func NewHTTPClient(url string) *HTTPClient {
	return &HTTPClient{url: url, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
		},
	}}
}

// Close drops the client's connection.
func (c *HTTPClient) Close() { c.http.CloseIdleConnections() }

// roundTrip POSTs one request and returns the reply's body; it reads JSON and event-stream answers.
func (c *HTTPClient) roundTrip(method string, params []byte) ([]byte, int, error) {
	c.id++
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(request(c.id, method, params)))
	if err != nil {
		return nil, c.id, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", protocolVersion)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.id, err
	}
	defer resp.Body.Close()
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(resp.Body); err != nil {
		return nil, c.id, err
	}
	body := c.buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		return nil, c.id, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body = sseData(body)
	}
	return body, c.id, nil
}

// sseData returns the data of the last event of an event stream (the reply comes last).
func sseData(stream []byte) []byte {
	var data []byte
	for _, line := range bytes.Split(stream, []byte("\n")) {
		if d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:")); ok {
			data = bytes.TrimPrefix(d, []byte(" "))
		}
	}
	return data
}

// Initialize sends initialize (a stateless server needs nothing else before a call).
func (c *HTTPClient) Initialize() error {
	body, _, err := c.roundTrip("initialize", initializeParams)
	if err != nil {
		return err
	}
	_, err = parseReply(body)
	return err
}

// Call makes one tools/call and checks its reply cheaply.
func (c *HTTPClient) Call(call Call) error {
	body, id, err := c.roundTrip("tools/call", call.params)
	if err != nil {
		return err
	}
	return checkReply(body, id)
}

// CallResult makes one tools/call and returns its parsed result.
func (c *HTTPClient) CallResult(call Call) (ToolResult, error) {
	body, _, err := c.roundTrip("tools/call", call.params)
	if err != nil {
		return ToolResult{}, err
	}
	return toolResult(body)
}
