package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// Config sizes a run.
type Config struct {
	Dir         string        // for binaries, logs and profiles; a temporary directory when empty
	Keys        int           // keys in the sandbox: list_keys returns them all, in one page
	ColdStarts  int           // cold starts of each stdio server
	Rounds      int           // rounds of the interleaved latency series
	CallsPerRun int           // calls of each latency series per round
	Warmup      int           // untimed calls before each latency series
	LoadWarmup  time.Duration // untimed part of each throughput run
	LoadTime    time.Duration // timed part of each throughput run
	Clients     []int         // concurrent HTTP clients of the throughput runs
	Allocs      bool          // run the in-process allocation benchmarks
	AuditKeys   int           // keys audit_keys reads in the toolbox measurements; none when zero
	AuditRuns   int           // timed audits
	Profile     bool          // also profile the HTTP server under load (a -tags benchprofile build)
	Skip        []string      // parts not to run: "cold", "latency", "load", "toolbox"
	Logf        func(format string, args ...any)
}

// Full is the configuration of the figures in BENCHMARKS.md (about two minutes).
func Full() Config {
	return Config{Keys: 20, ColdStarts: 40, Rounds: 10, CallsPerRun: 300, Warmup: 200,
		LoadWarmup: time.Second, LoadTime: 5 * time.Second, Clients: []int{16, 64}, Allocs: true, AuditKeys: 1000, AuditRuns: 5}
}

// Short checks that every measurement works, in a few seconds; its figures mean little.
func Short() Config {
	return Config{Keys: 20, ColdStarts: 2, Rounds: 2, CallsPerRun: 10, Warmup: 5,
		LoadWarmup: 100 * time.Millisecond, LoadTime: 300 * time.Millisecond, Clients: []int{16, 64}, AuditKeys: 50, AuditRuns: 1}
}

// Report holds the figures of one run.
type Report struct {
	Config   Config
	Started  time.Time
	Took     time.Duration
	Go       string
	CPUs     int
	Machine  string
	Cold     map[string]ColdSummary // "server", "bare"
	Latency  []*Series
	Loads    []LoadRow
	Memory   map[string]Memory // resident memory after start: "stdio", "http", "bare stdio", "bare http"
	Allocs   []AllocRow
	Toolbox  Toolbox
	Profiles []string // files written
}

// ColdSummary summarises the cold starts of one server.
type ColdSummary struct {
	Initialize, ToolsList Stats
	Tools                 int
	RSS                   int64 // median
}

// LoadRow is one throughput run and what the server's memory did during it.
type LoadRow struct {
	Name string
	LoadResult
	Server   string // "openrouter-keys-mcp", "baremcp", or "" when no MCP server is involved
	Start    Memory // server's memory before the load
	End      Memory // after (End.Peak is the peak over the whole run)
	PeakHeap int64  // largest heap a GC saw during the run (whole MB)
	GCs      int
	// CPU time per completed call, warm-up included, of the server, the sandbox and this process
	// (the load's clients): where the machine's two cores went.
	ServerCPU, SandboxCPU, ClientCPU time.Duration
}

// cpuMeter reads the CPU time of the processes a load involves.
type cpuMeter struct {
	server, sandbox *Proc
	s, u, c         time.Duration
}

func startCPU(server, sandbox *Proc) *cpuMeter {
	m := &cpuMeter{server: server, sandbox: sandbox}
	m.s, m.u, m.c = procCPU(server), procCPU(sandbox), selfCPUTime()
	return m
}

func procCPU(p *Proc) time.Duration {
	if p == nil {
		return 0
	}
	t, _ := p.CPUTime()
	return t
}

// stop records the CPU time per call since start; calls counts the whole run, warm-up included.
func (m *cpuMeter) stop(row *LoadRow, calls int64) {
	if calls <= 0 {
		return
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(calls) }
	if m.server != nil {
		row.ServerCPU = per(procCPU(m.server) - m.s)
	}
	if m.sandbox != nil {
		row.SandboxCPU = per(procCPU(m.sandbox) - m.u)
	}
	row.ClientCPU = per(selfCPUTime() - m.c)
}

// AllocRow is one in-process benchmark.
type AllocRow struct {
	Name        string
	NsPerOp     int64
	AllocsPerOp int64
	BytesPerOp  int64
}

func (c Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Run measures everything and returns the figures; it fails on any error a call returns, except
// errors under load, which are counted.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	rep = &Report{Config: cfg, Started: time.Now(), Go: runtime.Version(), CPUs: runtime.NumCPU(), Machine: cpuModel(),
		Cold: map[string]ColdSummary{}, Memory: map[string]Memory{}}
	defer func() {
		if rep != nil {
			rep.Took = time.Since(rep.Started)
		}
	}()
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "orkm-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	cfg.logf("building in %s", cfg.Dir)
	bins, err := Build(ctx, cfg.Dir, cfg.Profile)
	if err != nil {
		return nil, err
	}
	up, err := StartUpstream(ctx, bins.Server, cfg.Dir, cfg.Keys)
	if err != nil {
		return nil, err
	}
	defer up.Stop()
	cfg.logf("sandbox at %s with %d keys", up.BaseURL, cfg.Keys)

	if !slices.Contains(cfg.Skip, "cold") {
		if err := rep.coldStarts(cfg, bins, up); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(cfg.Skip, "latency") {
		if err := rep.latency(ctx, cfg, bins, up); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(cfg.Skip, "load") {
		if err := rep.loads(ctx, cfg, bins, up); err != nil {
			return nil, err
		}
	}
	if cfg.Allocs {
		if err := rep.allocs(up); err != nil {
			return nil, err
		}
	}
	if cfg.AuditKeys > 0 && !slices.Contains(cfg.Skip, "toolbox") {
		if err := rep.toolbox(ctx, cfg, bins, up); err != nil {
			return nil, err
		}
	}
	if cfg.Profile {
		if err := rep.profile(ctx, cfg, bins, up); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// stdioArgs start the server on stdio against the sandbox, as a desktop host would (default log level).
func stdioArgs(up *Upstream) ([]string, []string) {
	return []string{"--base-url", up.BaseURL}, []string{"OPENROUTER_MANAGEMENT_KEY=" + up.Key}
}

func (rep *Report) coldStarts(cfg Config, bins Binaries, up *Upstream) error {
	args, env := stdioArgs(up)
	var server, bare []ColdStart
	// Interleaved, so that the machine's ups and downs fall on both alike.
	for i := range cfg.ColdStarts {
		s, err := MeasureColdStart(bins.Server, args, env, cfg.Dir)
		if err != nil {
			return fmt.Errorf("cold start %d of openrouter-keys-mcp: %w", i, err)
		}
		b, err := MeasureColdStart(bins.Bare, nil, nil, cfg.Dir)
		if err != nil {
			return fmt.Errorf("cold start %d of baremcp: %w", i, err)
		}
		server, bare = append(server, s), append(bare, b)
	}
	rep.Cold["server"], rep.Cold["bare"] = summarizeCold(server), summarizeCold(bare)
	rep.Memory["stdio"] = Memory{RSS: rep.Cold["server"].RSS}
	rep.Memory["bare stdio"] = Memory{RSS: rep.Cold["bare"].RSS}
	if n, want := rep.Cold["server"].Tools, len(tools.Names()); n != want {
		return fmt.Errorf("openrouter-keys-mcp lists %d tools, want %d", n, want)
	}
	cfg.logf("cold start: server %v, bare %v", rep.Cold["server"].Initialize.Median, rep.Cold["bare"].Initialize.Median)
	return nil
}

func summarizeCold(cs []ColdStart) ColdSummary {
	var init, list, rss []time.Duration
	for _, c := range cs {
		init, list, rss = append(init, c.Initialize), append(list, c.ToolsList), append(rss, time.Duration(c.RSS))
	}
	return ColdSummary{Initialize: Summarize(init), ToolsList: Summarize(list), Tools: cs[0].Tools,
		RSS: int64(Summarize(rss).Median)}
}

// Series names, in the order the report shows them.
const (
	DirectList = "direct ListKeys (no MCP)"
	StdioList  = "stdio list_keys"
	HTTPList   = "HTTP list_keys"
	DirectGet  = "direct GetKey (no MCP)"
	StdioGet   = "stdio get_key"
	HTTPGet    = "HTTP get_key"
	BareStdio  = "baremcp stdio echo"
	BareHTTP   = "baremcp HTTP echo"
)

// startStdio starts the server on stdio against up, initialized.
func startStdio(bins Binaries, up *Upstream, dir string) (*StdioConn, error) {
	args, env := stdioArgs(up)
	stdio, err := SpawnStdio(bins.Server, args, env, dir)
	if err != nil {
		return nil, err
	}
	if err := stdio.Initialize(); err != nil {
		stdio.Close()
		return nil, err
	}
	return stdio, nil
}

func (rep *Report) latency(ctx context.Context, cfg Config, bins Binaries, up *Upstream) error {
	stdio, err := startStdio(bins, up, cfg.Dir)
	if err != nil {
		return err
	}
	defer stdio.Close()
	bare, err := SpawnStdio(bins.Bare, nil, nil, cfg.Dir)
	if err != nil {
		return err
	}
	defer bare.Close()
	if err := bare.Initialize(); err != nil {
		return err
	}
	srv, err := StartHTTP(bins.Server, up, cfg.Dir, nil, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	httpc := NewHTTPClient(srv.URL)
	defer httpc.Close()
	if err := httpc.Initialize(); err != nil {
		return err
	}
	if m, err := srv.Proc.Memory(); err == nil {
		rep.Memory["http"] = m
	}
	bareSrv, err := StartBareHTTP(bins.Bare, cfg.Dir)
	if err != nil {
		return err
	}
	defer bareSrv.Stop()
	barec := NewHTTPClient(bareSrv.URL)
	defer barec.Close()
	if err := barec.Initialize(); err != nil {
		return err
	}
	if m, err := bareSrv.Proc.Memory(); err == nil {
		rep.Memory["bare http"] = m
	}

	list := NewCall("list_keys", map[string]any{})
	get := NewCall("get_key", map[string]any{"hash": up.Hash})
	echo := NewCall("echo", map[string]any{"text": "hello"})
	// Check the results once, in full: the page holds every key.
	for _, c := range []interface {
		CallResult(Call) (ToolResult, error)
	}{stdio, httpc} {
		r, err := c.CallResult(list)
		if err != nil {
			return err
		}
		if n := strings.Count(string(r.StructuredContent), `"hash":`); n != cfg.Keys {
			return fmt.Errorf("list_keys returned %d keys, want %d", n, cfg.Keys)
		}
	}
	rep.Latency = []*Series{
		NewSeries(DirectList, nil, up.Proc, func() error { _, err := up.Client.ListKeys(ctx, openrouter.ListKeysParams{}); return err }),
		NewSeries(StdioList, stdio.Proc, up.Proc, func() error { return stdio.Call(list) }),
		NewSeries(HTTPList, srv.Proc, up.Proc, func() error { return httpc.Call(list) }),
		NewSeries(DirectGet, nil, up.Proc, func() error { _, err := up.Client.GetKey(ctx, up.Hash); return err }),
		NewSeries(StdioGet, stdio.Proc, up.Proc, func() error { return stdio.Call(get) }),
		NewSeries(HTTPGet, srv.Proc, up.Proc, func() error { return httpc.Call(get) }),
		NewSeries(BareStdio, bare.Proc, nil, func() error { return bare.Call(echo) }),
		NewSeries(BareHTTP, bareSrv.Proc, nil, func() error { return barec.Call(echo) }),
	}
	if err := RunInterleaved(rep.Latency, cfg.Warmup, cfg.Rounds, cfg.CallsPerRun); err != nil {
		return err
	}
	cfg.logf("latency: stdio list_keys %v, direct %v", rep.series(StdioList).Median, rep.series(DirectList).Median)
	return nil
}

func (rep *Report) series(name string) Stats {
	for _, s := range rep.Latency {
		if s.Name == name {
			return s.Stats()
		}
	}
	return Stats{}
}

// httpCaller makes HTTP clients for Load, each with a connection of its own.
func httpCaller(url string, call Call) func() (func() error, func()) {
	return func() (func() error, func()) {
		c := NewHTTPClient(url)
		return func() error { return c.Call(call) }, c.Close
	}
}

func (rep *Report) loads(ctx context.Context, cfg Config, bins Binaries, up *Upstream) error {
	list := NewCall("list_keys", map[string]any{})
	for _, n := range cfg.Clients {
		row, err := loadServer(ctx, cfg, bins.Server, up, nil, fmt.Sprintf("list_keys, %d clients", n), n, list)
		if err != nil {
			return err
		}
		rep.Loads = append(rep.Loads, row)
	}
	// What logging costs: the same load with the per-request lines off.
	row, err := loadServer(ctx, cfg, bins.Server, up, []string{"--log-level", "warn"},
		fmt.Sprintf("list_keys, %d clients, --log-level warn", cfg.Clients[0]), cfg.Clients[0], list)
	if err != nil {
		return err
	}
	rep.Loads = append(rep.Loads, row)

	// The bounds: the sandbox answering the client directly, and mcp-go with no upstream at all.
	direct := LoadRow{Name: fmt.Sprintf("direct ListKeys, %d clients (the sandbox's bound)", cfg.Clients[0])}
	meter := startCPU(nil, up.Proc)
	direct.LoadResult = Load(ctx, cfg.Clients[0], cfg.LoadWarmup, cfg.LoadTime, func() (func() error, func()) {
		c, _ := openrouter.New(openrouter.Options{BaseURL: up.BaseURL, APIKey: openrouter.Secret(up.Key)})
		return func() error { _, err := c.ListKeys(ctx, openrouter.ListKeysParams{}); return err }, func() {}
	})
	meter.stop(&direct, direct.Total)
	rep.Loads = append(rep.Loads, direct)
	cfg.logf("load: %s: %.0f/s", direct.Name, direct.PerSecond())

	bare, err := StartBareHTTP(bins.Bare, cfg.Dir)
	if err != nil {
		return err
	}
	defer bare.Stop()
	brow := LoadRow{Name: fmt.Sprintf("baremcp echo, %d clients (mcp-go's bound, no upstream)", cfg.Clients[0]), Server: "baremcp"}
	brow.Start, _ = bare.Proc.Memory()
	meter = startCPU(bare.Proc, nil)
	brow.LoadResult = Load(ctx, cfg.Clients[0], cfg.LoadWarmup, cfg.LoadTime, httpCaller(bare.URL, NewCall("echo", map[string]any{"text": "hello"})))
	meter.stop(&brow, brow.Total)
	brow.End, _ = bare.Proc.Memory()
	rep.Loads = append(rep.Loads, brow)
	cfg.logf("load: %s: %.0f/s", brow.Name, brow.PerSecond())
	return nil
}

// loadServer starts a fresh HTTP server (so that its peak memory is this run's), loads it with
// clients callers for the configured time, and reads its memory before and after.
func loadServer(ctx context.Context, cfg Config, bin string, up *Upstream, args []string, name string, clients int, call Call) (LoadRow, error) {
	row := LoadRow{Name: name, Server: "openrouter-keys-mcp"}
	srv, err := StartHTTP(bin, up, cfg.Dir, args, []string{"GODEBUG=gctrace=1"})
	if err != nil {
		return row, err
	}
	defer srv.Stop()
	c := NewHTTPClient(srv.URL)
	err = c.Initialize()
	c.Close()
	if err != nil {
		return row, err
	}
	row.Start, _ = srv.Proc.Memory()
	from := len(srv.Proc.Stderr())
	meter := startCPU(srv.Proc, up.Proc)
	row.LoadResult = Load(ctx, clients, cfg.LoadWarmup, cfg.LoadTime, httpCaller(srv.URL, call))
	meter.stop(&row, row.Total)
	row.End, _ = srv.Proc.Memory()
	row.PeakHeap, row.GCs = srv.Proc.PeakHeap(from)
	cfg.logf("load: %s: %.0f/s, %d errors, peak RSS %s, CPU per call: server %s, sandbox %s, clients %s", name, row.PerSecond(),
		row.Errors, mb(row.End.Peak), us(row.ServerCPU), us(row.SandboxCPU), us(row.ClientCPU))
	return row, nil
}

// toolbox measures #12's budgets in process, then the peak RSS of a stdio server auditing
// cfg.AuditKeys more keys, added to the sandbox's second workspace (list_keys, measured before, reads
// the first).
func (rep *Report) toolbox(ctx context.Context, cfg Config, bins Binaries, up *Upstream) error {
	tb, err := measureToolbox(ctx, cfg.AuditKeys, 5, cfg.AuditRuns)
	if err != nil {
		return fmt.Errorf("toolbox: %w", err)
	}
	page, err := up.Client.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		return fmt.Errorf("toolbox: the sandbox's workspaces: %w", err)
	}
	if len(page.Workspaces) < 2 {
		return fmt.Errorf("toolbox: the sandbox has %d workspaces, want 2", len(page.Workspaces))
	}
	for i := range cfg.AuditKeys {
		if _, err := up.Client.CreateKey(ctx, openrouter.CreateKeyRequest{Name: fmt.Sprintf("audited %04d", i),
			WorkspaceID: page.Workspaces[1].ID}); err != nil {
			return fmt.Errorf("toolbox: create key %d: %w", i, err)
		}
	}
	stdio, err := startStdio(bins, up, cfg.Dir)
	if err != nil {
		return err
	}
	defer stdio.Close()
	res, err := stdio.CallResult(NewCall("audit_keys", map[string]any{}))
	if err != nil || res.IsError {
		return fmt.Errorf("toolbox: audit_keys over stdio: %v %v", err, res.Content)
	}
	var audited struct {
		KeysChecked int `json:"keys_checked"`
	}
	if err := json.Unmarshal(res.StructuredContent, &audited); err != nil {
		return fmt.Errorf("toolbox: audit_keys' result: %w", err)
	}
	m, err := stdio.Proc.Memory()
	if err != nil {
		return err
	}
	tb.StdioAuditKeys, tb.StdioAuditPeakRSS = audited.KeysChecked, m.Peak
	rep.Toolbox = tb
	cfg.logf("toolbox: tools/list %d B a tool, list_keys %d B a key, audit of %d keys %s, stdio peak RSS %s auditing %d keys",
		tb.ToolsListPerTool, tb.ListKeysTextPerKey, tb.AuditKeys, ms(tb.AuditTime.Median), mb(m.Peak), tb.StdioAuditKeys)
	return nil
}

func (rep *Report) allocs(up *Upstream) error {
	s, err := NewInProcessServer(up.Client, JSONLogger(io.Discard))
	if err != nil {
		return err
	}
	defer s.Close()
	logger := JSONLogger(io.Discard)
	ops := []struct {
		name string
		op   func() error
	}{
		{"tools/call list_keys (20 keys), in process", ToolCall(s, logger, NewCall("list_keys", map[string]any{}))},
		{"direct ListKeys (20 keys)", func() error {
			_, err := up.Client.ListKeys(context.Background(), openrouter.ListKeysParams{})
			return err
		}},
		{"tools/call get_key, in process", ToolCall(s, logger, NewCall("get_key", map[string]any{"hash": up.Hash}))},
		{"direct GetKey", func() error { _, err := up.Client.GetKey(context.Background(), up.Hash); return err }},
	}
	for _, o := range ops {
		row, err := PerOp(o.name, o.op)
		if err != nil {
			return err
		}
		rep.Allocs = append(rep.Allocs, row)
	}
	return nil
}

// profile loads a -tags benchprofile build of the HTTP server with the first client count and saves
// its CPU, allocation, mutex and block profiles, for go tool pprof; then it profiles the stdio
// server through a series of list_keys calls, one at a time.
func (rep *Report) profile(ctx context.Context, cfg Config, bins Binaries, up *Upstream) error {
	secs := max(1, int(cfg.LoadTime.Seconds()))
	list := NewCall("list_keys", map[string]any{})

	pprofAddr, err := freePort()
	if err != nil {
		return err
	}
	srv, err := StartHTTP(bins.Profiling, up, cfg.Dir, nil, []string{"ORKM_PPROF_ADDR=" + pprofAddr})
	if err != nil {
		return err
	}
	defer srv.Stop()
	errc := make(chan error, 1)
	go func() {
		time.Sleep(cfg.LoadWarmup)
		errc <- fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), filepath.Join(cfg.Dir, "http-cpu.pprof"))
	}()
	res := Load(ctx, cfg.Clients[0], cfg.LoadWarmup, time.Duration(secs)*time.Second+500*time.Millisecond, httpCaller(srv.URL, list))
	if err := <-errc; err != nil {
		return err
	}
	for _, p := range []string{"allocs", "mutex", "block"} {
		if err := fetch(fmt.Sprintf("http://%s/debug/pprof/%s", pprofAddr, p), filepath.Join(cfg.Dir, "http-"+p+".pprof")); err != nil {
			return err
		}
	}
	for _, p := range []string{"cpu", "allocs", "mutex", "block"} {
		rep.Profiles = append(rep.Profiles, filepath.Join(cfg.Dir, "http-"+p+".pprof"))
	}
	cfg.logf("profiled HTTP at %.0f calls/s", res.PerSecond())

	// stdio: one call at a time, as a desktop host makes them.
	if pprofAddr, err = freePort(); err != nil {
		return err
	}
	args, env := stdioArgs(up)
	c, err := SpawnStdio(bins.Profiling, args, append(env, "ORKM_PPROF_ADDR="+pprofAddr), cfg.Dir)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Initialize(); err != nil {
		return err
	}
	go func() {
		errc <- fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), filepath.Join(cfg.Dir, "stdio-cpu.pprof"))
	}()
	calls := 0
	for deadline := time.Now().Add(time.Duration(secs)*time.Second + 500*time.Millisecond); time.Now().Before(deadline); calls++ {
		if err := c.Call(list); err != nil {
			return err
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	if err := fetch(fmt.Sprintf("http://%s/debug/pprof/allocs", pprofAddr), filepath.Join(cfg.Dir, "stdio-allocs.pprof")); err != nil {
		return err
	}
	rep.Profiles = append(rep.Profiles, filepath.Join(cfg.Dir, "stdio-cpu.pprof"), filepath.Join(cfg.Dir, "stdio-allocs.pprof"))
	cfg.logf("profiled stdio: %d calls; profiles in %s (binary %s)", calls, cfg.Dir, bins.Profiling)
	return nil
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
