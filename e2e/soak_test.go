package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// soakFaults is the fault mix of the soak: about 11% of upstream requests fail, in every way the
// sandbox can fail, before and after the change.
const soakFaults = "500:2%,502:1%,503:1%,504:0.5%,429:1%,html:0.5%,reset:1%,reset+after:1%,cut:1%," +
	"malformed:0.5%,oversize:0.2%,delay=200ms:1%,seed=5"

// TestSoak drives the server (what `http --sandbox --sandbox-faults ...` serves, run in this process so
// that its goroutines and heap can be counted without exposing anything) with SOAK_CALLS (10,000) tool calls
// from 8 concurrent MCP clients over HTTP, and checks: no panic, every call answered (a result or an
// error result, never a transport or protocol error), goroutines back to their level before the soak
// once the clients have gone, heap bounded. It runs only with SOAK=1; CI runs
//
//	SOAK=1 go test -race -run '^TestSoak$' -v -timeout 15m ./e2e/
func TestSoak(t *testing.T) {
	if os.Getenv("SOAK") == "" {
		t.Skip("set SOAK=1 to run the soak test (CI does: SOAK=1 go test -race -run '^TestSoak$' -v ./e2e/)")
	}
	calls := 10000
	if v := os.Getenv("SOAK_CALLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOAK_CALLS=%q: want a positive number", v)
		}
		calls = n
	}
	const clients = 8

	// The server, in process, so that its goroutines and heap can be counted.
	serverCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	logs := &soakLog{}
	var retries atomic.Int64
	url, exited := startSoakServer(t, serverCtx, logs, &retries)

	// Warm up with the same concurrency, then take the baseline with the warm-up clients gone.
	warm := make([]*soakClient, clients)
	for i := range warm {
		warm[i] = connectSoakClient(t, url)
	}
	var wg sync.WaitGroup
	for _, c := range warm {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tool := range []string{"current_key", "list_keys", "current_key"} {
				_, _, _, _ = c.call(context.Background(), tool, nil)
			}
		}()
	}
	wg.Wait()
	for _, c := range warm {
		c.close()
	}
	before := settleGoroutines(0, 3*time.Second)

	// The soak.
	var peakHeap, peakSys atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), ms.HeapAlloc))
			peakSys.Store(max(peakSys.Load(), ms.Sys))
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	peakGoroutines := atomic.Int64{}
	var next atomic.Int64
	var mu sync.Mutex
	kinds := map[string]int{}
	var examples []string
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := connectSoakClient(t, url)
			defer c.close()
			var hash string
			for step := 0; ; step++ {
				if next.Add(1) > int64(calls) {
					return
				}
				tool, args := soakStep(step, w, hash)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				structured, text, isErr, err := c.call(ctx, tool, args)
				cancel()
				kind := classifySoak(tool, text, isErr, err)
				if tool == "create_key" && kind == "ok" {
					if k, ok := structured["key"].(map[string]any); ok {
						hash, _ = k["hash"].(string)
					}
				}
				if tool == "delete_key" {
					hash = ""
				}
				peakGoroutines.Store(max(peakGoroutines.Load(), int64(runtime.NumGoroutine())))
				mu.Lock()
				kinds[kind]++
				if (kind == "transport error" || strings.HasPrefix(kind, "other")) && len(examples) < 5 {
					examples = append(examples, fmt.Sprintf("%s: %v %s", tool, err, text))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	// Afterwards: the clients are gone; the server's goroutines go back to where they were.
	after := settleGoroutines(before+clients, 20*time.Second)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	stopServer()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the server did not stop")
	}

	total := 0
	var lines []string
	for k, n := range kinds {
		total += n
		lines = append(lines, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(lines)
	t.Logf("soak: %d tool calls from %d clients in %s (%.0f calls/s); faults %s", total, clients, elapsed.Round(time.Millisecond),
		float64(total)/elapsed.Seconds(), soakFaults)
	t.Logf("soak: outcomes: %s", strings.Join(lines, " "))
	t.Logf("soak: server: %d upstream retries logged, %d panics logged, %d log lines", retries.Load(), logs.count("panic"), logs.lines.Load())
	t.Logf("soak: goroutines (server + test): %d before, peak %d, %d after the clients left", before, peakGoroutines.Load(), after)
	t.Logf("soak: heap: peak %.1f MiB allocated, %.1f MiB from the OS at peak, %.1f MiB in use after GC; peak RSS %s (race detector on: %v)",
		mib(peakHeap.Load()), mib(peakSys.Load()), mib(ms.HeapInuse), peakRSS(), raceEnabled)

	if total != calls {
		t.Errorf("%d calls made, want %d", total, calls)
	}
	if n := kinds["transport error"]; n > 0 {
		t.Errorf("%d calls got no answer (a transport or protocol error), e.g. %q", n, examples)
	}
	for k, n := range kinds {
		if strings.HasPrefix(k, "other") {
			t.Errorf("%d results of an unexpected kind %q, e.g. %q", n, k, examples)
		}
	}
	if logs.count("panic") > 0 {
		t.Errorf("the server logged %d panics", logs.count("panic"))
	}
	// Beside the clients' connections, the server may keep idle keep-alive connections to the upstream
	// that its parallel page reads opened: up to openrouter.MaxPagesInFlight, two goroutines each.
	if after > before+clients+2*openrouter.MaxPagesInFlight {
		t.Errorf("%d goroutines after the soak, %d before: a leak", after, before)
	}
	if limit := uint64(512 << 20); peakHeap.Load() > limit {
		t.Errorf("peak heap %.0f MiB, over %.0f MiB", mib(peakHeap.Load()), mib(limit))
	}
	if limit := uint64(64 << 20); ms.HeapInuse > limit {
		t.Errorf("%.0f MiB of heap in use after the soak, over %.0f MiB", mib(ms.HeapInuse), mib(limit))
	}
}

// soakStep is a client's step-th call: create, read, update, list, delete and check the current key,
// in turn, on the key it made last.
func soakStep(step, worker int, hash string) (string, map[string]any) {
	switch step % 6 {
	case 0:
		return "create_key", map[string]any{"name": fmt.Sprintf("soak-%d-%d", worker, step), "limit": 5}
	case 1:
		if hash != "" {
			return "get_key", map[string]any{"hash": hash}
		}
	case 2:
		if hash != "" {
			return "update_key", map[string]any{"hash": hash, "name": "soak-renamed", "limit_reset": "daily"}
		}
	case 4:
		if hash != "" {
			return "delete_key", map[string]any{"hash": hash}
		}
	case 5:
		return "current_key", nil
	}
	return "list_keys", nil
}

// classifySoak names the outcome of a call, from the text the model would read.
func classifySoak(tool, text string, isErr bool, err error) string {
	switch {
	case err != nil:
		return "transport error"
	case !isErr:
		return "ok"
	case strings.Contains(text, "may have been created"):
		return "create_may_exist"
	case strings.Contains(text, "rate limiting"):
		return "rate_limited"
	case strings.Contains(text, "server error"):
		return "server_error"
	case strings.Contains(text, "Could not complete the call"):
		return "unreadable_answer"
	case strings.Contains(text, "has no key with that hash"):
		return "not_found" // a key whose create came back "may exist" was never known, so never looked up
	}
	return "other: " + tool + ": " + text[:min(len(text), 80)]
}

// soakClient is an MCP client over HTTP whose connections can be closed when it is done.
type soakClient struct {
	session
	c  *mcpclient.Client
	hc *http.Client
}

func connectSoakClient(t *testing.T, url string) *soakClient {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tr, err := mcptransport.NewStreamableHTTP(url, mcptransport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	c := mcpclient.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "soak", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return &soakClient{session: mcpGoSession{c}, c: c, hc: hc}
}

func (s *soakClient) close() {
	_ = s.c.Close()
	s.hc.CloseIdleConnections()
}

// settleGoroutines waits up to d for the goroutine count to fall to target or below (0: to stop
// falling), and returns it.
func settleGoroutines(target int, d time.Duration) int {
	deadline := time.Now().Add(d)
	last := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		n := runtime.NumGoroutine()
		if (target > 0 && n <= target) || (target == 0 && n == last) {
			return n
		}
		last = n
	}
	return last
}

// startSoakServer serves what `http --sandbox --sandbox-faults soakFaults` serves, built from the
// same packages, in this process: the server of mcpserver.New over the HTTP transport, on a client of
// the emulator. It returns the MCP URL and a channel that gets the server's error when ctx ends.
func startSoakServer(t *testing.T, ctx context.Context, logs *soakLog, retries *atomic.Int64) (string, <-chan error) {
	t.Helper()
	logger := zerolog.New(logs).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	faults, err := sandbox.ParseFaults(soakFaults)
	if err != nil {
		t.Fatal(err)
	}
	emu := sandbox.New(sandbox.Options{Faults: faults})
	upstream := httptest.NewServer(emu)
	t.Cleanup(upstream.Close)
	opts := openrouter.Options{BaseURL: upstream.URL + "/api/v1", APIKey: openrouter.Secret(emu.ManagementKey())}
	opts.Retry.OnRetry = func(context.Context, openrouter.RetryEvent) { retries.Add(1) }
	client, err := openrouter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mcpserver.New(client, mcpserver.Options{Sandbox: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	handler, closeSessions := transport.NewHTTPHandler(s.MCPServer, transport.HTTPOptions{
		ToolNames: tools.Names(), MaxInFlight: 64, Loopback: true, Logger: logger,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- transport.ServeHTTP(ctx, ln, handler, logger, closeSessions) }()
	return "http://" + ln.Addr().String() + "/mcp", exited
}

// soakLog reads the server's JSON log lines, and counts them.
type soakLog struct {
	mu     sync.Mutex
	buf    []byte
	lines  atomic.Int64
	counts map[string]int
}

func (l *soakLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := l.buf[:i]
		l.lines.Add(1)
		if l.counts == nil {
			l.counts = map[string]int{}
		}
		lower := strings.ToLower(string(line))
		if strings.Contains(lower, "panic") {
			l.counts["panic"]++
		}
		l.buf = l.buf[i+1:]
	}
}

func (l *soakLog) count(word string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[word]
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// peakRSS is the process's peak resident set (VmHWM), on Linux.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
