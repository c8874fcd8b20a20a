package bench

import (
	"context"
	"debug/buildinfo"
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
	LoadRounds  int           // rounds of the throughput runs, each a share of LoadTime per server
	Allocs      bool          // run the in-process allocation benchmarks
	AuditKeys   int           // keys audit_keys reads in the toolbox measurements; none when zero
	AuditRuns   int           // timed audits
	ScaleKeys   int           // keys of the big account whose reads and results are measured (#26); none when zero
	ScaleDelay  time.Duration // what the sandbox adds to every GET for those reads
	Profile     bool          // also profile the HTTP server under load (a -tags benchprofile build)
	Skip        []string      // parts not to run: "cold", "latency", "load", "toolbox", "scale"
	Logf        func(format string, args ...any)
}

// Full is the configuration of the figures in BENCHMARKS.md (about two minutes).
func Full() Config {
	return Config{Keys: 20, ColdStarts: 40, Rounds: 10, CallsPerRun: 300, Warmup: 200,
		LoadWarmup: time.Second, LoadTime: 6 * time.Second, LoadRounds: 3, Clients: []int{16, 64}, Allocs: true, AuditKeys: 1000, AuditRuns: 5,
		ScaleKeys: 5000, ScaleDelay: 300 * time.Millisecond}
}

// Short checks that every measurement works, in a few seconds; its figures mean little.
func Short() Config {
	return Config{Keys: 20, ColdStarts: 2, Rounds: 2, CallsPerRun: 10, Warmup: 5,
		LoadWarmup: 100 * time.Millisecond, LoadTime: 300 * time.Millisecond, LoadRounds: 1, Clients: []int{16, 64}, AuditKeys: 50, AuditRuns: 1,
		ScaleKeys: 300, ScaleDelay: 50 * time.Millisecond}
}

// Report holds the figures of one run.
type Report struct {
	Config  Config
	Started time.Time
	Took    time.Duration
	Go      string // the Go running the report (and the in-process measurements)
	CPUs    int
	Machine string
	// Builds describes each binary measured, by server name (GoBuild, Release, Bare): its Go and mcp-go.
	Builds  map[string]BuildInfo
	Peer    *NodePeer // nil when the Node peer could not run; PeerErr says why
	PeerErr string
	Cold    map[string]ColdSummary // by server name
	Latency []*Series
	Loads   []LoadRow
	// Memory is the resident memory after start, by server name and transport ("release stdio",
	// "baremcp http").
	Memory   map[string]Memory
	Allocs   []AllocRow
	Toolbox  Toolbox
	Scale    Scale
	Profiles []string // files written
}

// BuildInfo is what a binary's build information says of it.
type BuildInfo struct {
	Go    string // "go1.27.3"
	MCPGo string // the version of mark3labs/mcp-go in it
}

// readBuildInfo reads a binary's Go and mcp-go versions.
func readBuildInfo(bin string) BuildInfo {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return BuildInfo{Go: "unknown (" + err.Error() + ")"}
	}
	info := BuildInfo{Go: bi.GoVersion}
	for _, d := range bi.Deps {
		if d.Path == "github.com/mark3labs/mcp-go" {
			info.MCPGo = d.Version
		}
	}
	return info
}

// The servers a run measures side by side, as the report names them.
const (
	GoBuild = "go build" // openrouter-keys-mcp, built with go build
	Release = "release"  // openrouter-keys-mcp, built as the release is
	Bare    = "baremcp"  // bench/baremcp
)

// subject is an MCP server measured side by side with the others: a build of openrouter-keys-mcp, or
// the Node peer.
type subject struct {
	name      string
	bin       string   // what runs its stdio server
	args, env []string // the stdio server's arguments and environment
	tools     int      // how many tools it offers
	// startHTTP starts its HTTP server, stateless, against the sandbox; args and env are added to the
	// defaults (openrouter-keys-mcp only).
	startHTTP func(args, env []string) (*HTTPServer, error)
}

// subjects are the two builds of openrouter-keys-mcp, and the Node peer when it can run.
func subjects(bins Binaries, up *Upstream, peer *NodePeer, dir string) []subject {
	args, env := stdioArgs(up)
	var ss []subject
	for _, b := range []struct{ name, bin string }{{GoBuild, bins.Server}, {Release, bins.Release}} {
		ss = append(ss, subject{name: b.name, bin: b.bin, args: args, env: env, tools: len(tools.Names()),
			startHTTP: func(a, e []string) (*HTTPServer, error) { return StartHTTP(b.bin, up, dir, a, e) }})
	}
	if peer != nil {
		ss = append(ss, subject{name: PeerName, bin: peer.Node, args: peer.stdioArgs(up), env: env, tools: 2,
			startHTTP: func(_, _ []string) (*HTTPServer, error) { return peer.StartHTTP(up, dir) }})
	}
	return ss
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
	Server   string   // GoBuild, Release, Bare, PeerName, or "" when no MCP server is involved
	Args     []string // the server's arguments beyond the defaults
	Start    Memory   // server's memory before the load
	End      Memory   // after (End.Peak is the peak over the whole run)
	PeakHeap int64    // largest heap a GC saw during the run (whole MB)
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

// spent is the CPU time the server, the sandbox and this process used since start (0 for a process
// not involved).
func (m *cpuMeter) spent() [3]time.Duration {
	return [3]time.Duration{procCPU(m.server) - m.s, procCPU(m.sandbox) - m.u, selfCPUTime() - m.c}
}

// setCPU sets the row's CPU time per call from the time spent over calls calls (the whole run, warm-up
// included).
func (row *LoadRow) setCPU(spent [3]time.Duration, calls int64) {
	if calls <= 0 {
		return
	}
	n := time.Duration(calls)
	row.ServerCPU, row.SandboxCPU, row.ClientCPU = spent[0]/n, spent[1]/n, spent[2]/n
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
		Builds: map[string]BuildInfo{}, Cold: map[string]ColdSummary{}, Memory: map[string]Memory{}}
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
	for name, bin := range map[string]string{GoBuild: bins.Server, Release: bins.Release, Bare: bins.Bare} {
		rep.Builds[name] = readBuildInfo(bin)
	}
	if rep.Peer, err = FindNodePeer(bins.Root, cfg.Dir); err != nil {
		rep.PeerErr = err.Error()
		cfg.logf("the Node peer is not measured: %v", err)
	}
	up, err := StartUpstream(ctx, bins.Server, cfg.Dir, cfg.Keys)
	if err != nil {
		return nil, err
	}
	defer up.Stop()
	cfg.logf("sandbox at %s with %d keys", up.BaseURL, cfg.Keys)
	subs := subjects(bins, up, rep.Peer, cfg.Dir)

	if !slices.Contains(cfg.Skip, "cold") {
		if err := rep.coldStarts(cfg, subs, bins); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(cfg.Skip, "latency") {
		if err := rep.latency(ctx, cfg, subs, bins, up); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(cfg.Skip, "load") {
		if err := rep.loads(ctx, cfg, subs, bins, up); err != nil {
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
	if cfg.ScaleKeys > 0 && !slices.Contains(cfg.Skip, "scale") {
		if rep.Scale, err = measureScale(ctx, cfg.ScaleKeys, cfg.ScaleDelay); err != nil {
			return nil, fmt.Errorf("scale: %w", err)
		}
		cfg.logf("scale: %+v", rep.Scale.Reads)
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

func (rep *Report) coldStarts(cfg Config, subs []subject, bins Binaries) error {
	all := append(slices.Clip(subs), subject{name: Bare, bin: bins.Bare, tools: 1})
	starts := make([][]ColdStart, len(all))
	// Interleaved, so that the machine's ups and downs fall on every server alike.
	for i := range cfg.ColdStarts {
		for j, s := range all {
			c, err := MeasureColdStart(s.bin, s.args, s.env, cfg.Dir)
			if err != nil {
				return fmt.Errorf("cold start %d of %s: %w", i, s.name, err)
			}
			starts[j] = append(starts[j], c)
		}
	}
	for j, s := range all {
		sum := summarizeCold(starts[j])
		if sum.Tools != s.tools {
			return fmt.Errorf("%s lists %d tools, want %d", s.name, sum.Tools, s.tools)
		}
		rep.Cold[s.name] = sum
		rep.Memory[s.name+" stdio"] = Memory{RSS: sum.RSS}
		cfg.logf("cold start: %s %v", s.name, sum.Initialize.Median)
	}
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
	BareStdio  = "stdio echo"
	BareHTTP   = "HTTP echo"
)

// startStdio starts a stdio server, initialized.
func startStdio(bin string, args, env []string, dir string) (*StdioConn, error) {
	stdio, err := SpawnStdio(bin, args, env, dir)
	if err != nil {
		return nil, err
	}
	if err := stdio.Initialize(); err != nil {
		stdio.Close()
		return nil, err
	}
	return stdio, nil
}

// caller is one client of a server in the latency rounds.
type caller interface {
	Call(Call) error
	CallResult(Call) (ToolResult, error)
}

func (rep *Report) latency(ctx context.Context, cfg Config, subs []subject, bins Binaries, up *Upstream) error {
	list := NewCall("list_keys", map[string]any{})
	get := NewCall("get_key", map[string]any{"hash": up.Hash})
	echo := NewCall("echo", map[string]any{"text": "hello"})

	// Per tool, the direct call, then each server over stdio, then each over HTTP, so that a round
	// runs every server's series of a kind back to back.
	listSeries := []*Series{NewSeries("", DirectList, nil, up.Proc, func() error {
		_, err := up.Client.ListKeys(ctx, openrouter.ListKeysParams{})
		return err
	})}
	getSeries := []*Series{NewSeries("", DirectGet, nil, up.Proc, func() error { _, err := up.Client.GetKey(ctx, up.Hash); return err })}
	var httpList, httpGet []*Series
	for _, s := range subs {
		stdio, err := startStdio(s.bin, s.args, s.env, cfg.Dir)
		if err != nil {
			return fmt.Errorf("%s over stdio: %w", s.name, err)
		}
		defer stdio.Close()
		srv, err := s.startHTTP(nil, nil)
		if err != nil {
			return fmt.Errorf("%s over HTTP: %w", s.name, err)
		}
		defer srv.Stop()
		httpc := NewHTTPClient(srv.URL)
		defer httpc.Close()
		if err := httpc.Initialize(); err != nil {
			return fmt.Errorf("%s over HTTP: %w", s.name, err)
		}
		if m, err := srv.Proc.Memory(); err == nil {
			rep.Memory[s.name+" http"] = m
		}
		// Check the results once, in full: the page holds every key.
		for _, c := range []caller{stdio, httpc} {
			r, err := c.CallResult(list)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if n := strings.Count(string(r.StructuredContent), `"hash":`); n != cfg.Keys {
				return fmt.Errorf("%s: list_keys returned %d keys, want %d", s.name, n, cfg.Keys)
			}
		}
		listSeries = append(listSeries, NewSeries(s.name, StdioList, stdio.Proc, up.Proc, func() error { return stdio.Call(list) }))
		httpList = append(httpList, NewSeries(s.name, HTTPList, srv.Proc, up.Proc, func() error { return httpc.Call(list) }))
		getSeries = append(getSeries, NewSeries(s.name, StdioGet, stdio.Proc, up.Proc, func() error { return stdio.Call(get) }))
		httpGet = append(httpGet, NewSeries(s.name, HTTPGet, srv.Proc, up.Proc, func() error { return httpc.Call(get) }))
	}

	bare, err := startStdio(bins.Bare, nil, nil, cfg.Dir)
	if err != nil {
		return fmt.Errorf("baremcp over stdio: %w", err)
	}
	defer bare.Close()
	bareSrv, err := StartBareHTTP(bins.Bare, cfg.Dir)
	if err != nil {
		return err
	}
	defer bareSrv.Stop()
	barec := NewHTTPClient(bareSrv.URL)
	defer barec.Close()
	if err := barec.Initialize(); err != nil {
		return fmt.Errorf("baremcp over HTTP: %w", err)
	}
	if m, err := bareSrv.Proc.Memory(); err == nil {
		rep.Memory[Bare+" http"] = m
	}

	rep.Latency = slices.Concat(listSeries, httpList, getSeries, httpGet, []*Series{
		NewSeries(Bare, BareStdio, bare.Proc, nil, func() error { return bare.Call(echo) }),
		NewSeries(Bare, BareHTTP, bareSrv.Proc, nil, func() error { return barec.Call(echo) }),
	})
	if err := RunInterleaved(rep.Latency, cfg.Warmup, cfg.Rounds, cfg.CallsPerRun); err != nil {
		return err
	}
	for _, s := range subs {
		cfg.logf("latency: %s: MCP overhead of list_keys: stdio %s, HTTP %s", s.name,
			us(rep.overhead(s.name, StdioList)), us(rep.overhead(s.name, HTTPList)))
	}
	return nil
}

// series returns the figures of a server's series; zero when it was not measured.
func (rep *Report) series(server, name string) Stats {
	for _, s := range rep.Latency {
		if s.Server == server && s.Name == name {
			return s.Stats()
		}
	}
	return Stats{}
}

// overhead is what MCP adds to the direct call in a server's series (list_keys or get_key, over
// stdio or HTTP): the difference of the medians; zero when it was not measured.
func (rep *Report) overhead(server, name string) time.Duration {
	direct := DirectList
	if name == StdioGet || name == HTTPGet {
		direct = DirectGet
	}
	call := rep.series(server, name).Median
	if call == 0 {
		return 0
	}
	return call - rep.series("", direct).Median
}

// httpCaller makes HTTP clients for Load, each with a connection of its own.
func httpCaller(url string, call Call) func() (func() error, func()) {
	return func() (func() error, func()) {
		c := NewHTTPClient(url)
		return func() error { return c.Call(call) }, c.Close
	}
}

func (rep *Report) loads(ctx context.Context, cfg Config, subs []subject, bins Binaries, up *Upstream) error {
	list := NewCall("list_keys", map[string]any{})
	for i, n := range cfg.Clients {
		loaded := subs
		if i > 0 && subs[len(subs)-1].name == PeerName {
			loaded = subs[:len(subs)-1] // the peer's goal is set at the first client count only
		}
		rows, err := loadServers(ctx, cfg, loaded, up, nil, n, list)
		if err != nil {
			return err
		}
		rep.Loads = append(rep.Loads, rows...)
	}
	// What logging costs: the release with the per-request lines off.
	rows, err := loadServers(ctx, cfg, subs[1:2], up, []string{"--log-level", "warn"}, cfg.Clients[0], list)
	if err != nil {
		return err
	}
	rep.Loads = append(rep.Loads, rows...)

	// The bounds: the sandbox answering the client directly, and mcp-go with no upstream at all.
	direct := LoadRow{Name: fmt.Sprintf("direct ListKeys, %d clients (the sandbox's bound)", cfg.Clients[0])}
	meter := startCPU(nil, up.Proc)
	direct.LoadResult = Load(ctx, cfg.Clients[0], cfg.LoadWarmup, cfg.LoadTime, func() (func() error, func()) {
		c, _ := openrouter.New(openrouter.Options{BaseURL: up.BaseURL, APIKey: openrouter.Secret(up.Key)})
		return func() error { _, err := c.ListKeys(ctx, openrouter.ListKeysParams{}); return err }, func() {}
	})
	direct.setCPU(meter.spent(), direct.Total)
	rep.Loads = append(rep.Loads, direct)
	cfg.logf("load: %s: %.0f/s", direct.Name, direct.PerSecond())

	bare, err := StartBareHTTP(bins.Bare, cfg.Dir)
	if err != nil {
		return err
	}
	defer bare.Stop()
	brow := LoadRow{Name: fmt.Sprintf("baremcp: echo, %d clients (mcp-go's bound, no upstream)", cfg.Clients[0]), Server: Bare}
	brow.Start, _ = bare.Proc.Memory()
	meter = startCPU(bare.Proc, nil)
	brow.LoadResult = Load(ctx, cfg.Clients[0], cfg.LoadWarmup, cfg.LoadTime, httpCaller(bare.URL, NewCall("echo", map[string]any{"text": "hello"})))
	brow.setCPU(meter.spent(), brow.Total)
	brow.End, _ = bare.Proc.Memory()
	rep.Loads = append(rep.Loads, brow)
	cfg.logf("load: %s: %.0f/s", brow.Name, brow.PerSecond())
	return nil
}

// load returns a server's throughput run with clients clients and no extra arguments; nil when there
// was none.
func (rep *Report) load(server string, clients int) *LoadRow {
	for i, l := range rep.Loads {
		if l.Server == server && l.Clients == clients && len(l.Args) == 0 {
			return &rep.Loads[i]
		}
	}
	return nil
}

// loadServers starts a fresh HTTP server of each subject (so that its peak memory is this run's),
// loads each with clients callers, and reads their memory before and after. The load runs in
// cfg.LoadRounds rounds, each giving every server in turn its warm-up and its share of the measured
// time, so that a change in the machine's load falls on all of them alike.
func loadServers(ctx context.Context, cfg Config, subs []subject, up *Upstream, args []string, clients int, call Call) ([]LoadRow, error) {
	rows := make([]LoadRow, len(subs))
	srvs := make([]*HTTPServer, len(subs))
	from := make([]int, len(subs))
	for i, s := range subs {
		name := fmt.Sprintf("%s: %s, %d clients", s.name, call.Tool, clients)
		if len(args) > 0 {
			name += ", " + strings.Join(args, " ")
		}
		rows[i] = LoadRow{Name: name, Server: s.name, Args: args}
		srv, err := s.startHTTP(args, []string{"GODEBUG=gctrace=1"})
		if err != nil {
			return nil, fmt.Errorf("%s over HTTP: %w", s.name, err)
		}
		defer srv.Stop()
		c := NewHTTPClient(srv.URL)
		err = c.Initialize()
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("%s over HTTP: %w", s.name, err)
		}
		srvs[i], from[i] = srv, len(srv.Proc.Stderr())
		rows[i].Start, _ = srv.Proc.Memory()
	}
	rounds := max(1, cfg.LoadRounds)
	spent := make([][3]time.Duration, len(subs))
	for range rounds {
		for i, srv := range srvs {
			meter := startCPU(srv.Proc, up.Proc)
			rows[i].add(Load(ctx, clients, cfg.LoadWarmup, cfg.LoadTime/time.Duration(rounds), httpCaller(srv.URL, call)))
			for k, d := range meter.spent() {
				spent[i][k] += d
			}
		}
	}
	for i, srv := range srvs {
		row := &rows[i]
		row.setCPU(spent[i], row.Total)
		row.End, _ = srv.Proc.Memory()
		row.PeakHeap, row.GCs = srv.Proc.PeakHeap(from[i])
		cfg.logf("load: %s: %.0f/s, %d errors, peak RSS %s, CPU per call: server %s, sandbox %s, clients %s", row.Name, row.PerSecond(),
			row.Errors, mb(row.End.Peak), us(row.ServerCPU), us(row.SandboxCPU), us(row.ClientCPU))
	}
	return rows, nil
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
	args, env := stdioArgs(up)
	stdio, err := startStdio(bins.Release, args, env, cfg.Dir)
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
	c, err := startStdio(bins.Profiling, args, append(env, "ORKM_PPROF_ADDR="+pprofAddr), cfg.Dir)
	if err != nil {
		return err
	}
	defer c.Close()
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
