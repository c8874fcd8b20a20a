package bench

import (
	"fmt"
	"strings"
	"time"
)

// Target is one of the performance targets of issues #6, #12 and #18, as measured by a run.
type Target struct {
	What   string
	Figure string
	Goal   string
	Met    bool
	// Unmeasured is set when the run could not measure the figure (the Node peer could not run);
	// Figure says why.
	Unmeasured bool
}

// verdict is the last column of the targets table.
func (t Target) verdict() string {
	switch {
	case t.Unmeasured:
		return "not measured"
	case t.Met:
		return "met"
	}
	return "**missed**"
}

// notMeasured is what the Node peer's figures say when it could not run.
func (rep *Report) notMeasured() string { return "not measured: " + rep.PeerErr }

// Targets evaluates the run against the targets: issue #18's for the release build against the Node
// peer, and those of #6 and #12 that still apply.
func (rep *Report) Targets() []Target {
	var ts []Target
	server, bare := rep.Cold[GoBuild], rep.Cold[Bare]
	if bare.Initialize.Median > 0 {
		r := ratio(server.Initialize.Median, bare.Initialize.Median)
		ts = append(ts, Target{What: "stdio cold start to initialize, go build vs baremcp (both go build)", Figure: fmt.Sprintf("%.2f× (%s vs %s)", r,
			ms(server.Initialize.Median), ms(bare.Initialize.Median)), Goal: "≤ 1.3×", Met: r <= 1.3})
		r = ratio(server.ToolsList.Median, bare.ToolsList.Median)
		ts = append(ts, Target{What: "stdio cold start to first tools/list, go build vs baremcp", Figure: fmt.Sprintf("%.2f× (%s vs %s)", r,
			ms(server.ToolsList.Median), ms(bare.ToolsList.Median)), Goal: "≤ 1.3×", Met: r <= 1.3})
	}
	if len(rep.Latency) > 0 {
		for _, name := range []string{StdioList, HTTPList} {
			t := Target{What: "MCP overhead per list_keys call, " + strings.Fields(name)[0] + ", release vs Node peer (median − direct call)",
				Goal: "≤ 1/5 of the peer's"}
			ours, peer := rep.overhead(Release, name), rep.overhead(PeerName, name)
			if rep.Peer == nil {
				t.Figure, t.Unmeasured = fmt.Sprintf("%s vs %s", us(ours), rep.notMeasured()), true
			} else {
				t.Figure = fmt.Sprintf("%s vs %s (1/%.1f)", us(ours), us(peer), ratio(peer, ours))
				t.Met = ours*5 <= peer
			}
			ts = append(ts, t)
		}
	}
	if l := rep.load(Release, 16); l != nil {
		t := Target{What: "HTTP throughput, list_keys, 16 clients, release vs Node peer", Goal: "≥ 5× the peer's"}
		if p := rep.load(PeerName, 16); p != nil && p.PerSecond() > 0 {
			r := l.PerSecond() / p.PerSecond()
			t.Figure, t.Met = fmt.Sprintf("%.1f× (%.0f vs %.0f calls/s)", r, l.PerSecond(), p.PerSecond()), r >= 5
		} else {
			t.Figure, t.Unmeasured = fmt.Sprintf("%.0f calls/s vs %s", l.PerSecond(), rep.notMeasured()), true
		}
		ts = append(ts, t)
		ts = append(ts, Target{What: "server CPU per list_keys call, release, HTTP with 16 clients", Figure: us(l.ServerCPU),
			Goal: "≤ 300 µs", Met: l.ServerCPU <= 300*time.Microsecond})
	}
	if l := rep.load(Release, 64); l != nil {
		ts = append(ts, Target{What: "errors with 64 clients, release", Figure: fmt.Sprintf("%d of %d", l.Errors, l.Calls+l.Errors), Goal: "0", Met: l.Errors == 0})
		ts = append(ts, Target{What: "peak RSS under the 64-client run, release", Figure: mb(l.End.Peak), Goal: "≤ 40 MB", Met: l.End.Peak <= 40<<20})
	}
	ts = append(ts, rep.Toolbox.targets()...)
	ts = append(ts, rep.Scale.targets()...)
	if m, ok := rep.Memory[Release+" stdio"]; ok {
		ts = append(ts, Target{What: "RSS after start, stdio, release (after the first tools/list)", Figure: mb(m.RSS), Goal: "≤ 15 MB", Met: m.RSS <= 15<<20})
	}
	if m, ok := rep.Memory[Release+" http"]; ok {
		ts = append(ts, Target{What: "RSS after start, HTTP, release (after the first initialize)", Figure: mb(m.RSS), Goal: "≤ 15 MB", Met: m.RSS <= 15<<20})
	}
	return ts
}

// cpuUS shows a CPU time per call, or a dash for a process not involved.
func cpuUS(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return us(d)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// Markdown renders the report as the figures section of BENCHMARKS.md.
func (rep *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := rep.Config
	p("Run of %s, %s, %d CPUs (%s); took %s; the report itself ran on %s.\n", rep.Started.UTC().Format("2006-01-02 15:04 MST"),
		runtimeOS(), rep.CPUs, rep.Machine, rep.Took.Round(time.Second), rep.Go)
	p("Servers: ")
	for _, name := range []string{GoBuild, Release, Bare} {
		if bi, ok := rep.Builds[name]; ok {
			how := map[string]string{GoBuild: "openrouter-keys-mcp, plain `go build`", Release: "openrouter-keys-mcp as the release builds it: " + ReleaseBuild,
				Bare: "bench/baremcp, plain `go build`"}[name]
			p("**%s** (%s) %s, mcp-go %s; ", name, how, bi.Go, bi.MCPGo)
		}
	}
	if rep.Peer != nil {
		p("**%s** (bench/nodepeer) Node.js %s, @modelcontextprotocol/sdk %s.\n", PeerName, rep.Peer.Version, rep.Peer.SDK)
	} else {
		p("**%s** %s.\n", PeerName, rep.notMeasured())
	}
	p("Sandbox with %d keys; %d cold starts each; latency: %d rounds × %d calls per series after %d warm-up calls; "+
		"load: %d rounds, each a %s warm-up + %s measured per server, the servers of a client count interleaved.\n\n",
		c.Keys, c.ColdStarts, c.Rounds, c.CallsPerRun, c.Warmup, max(1, c.LoadRounds), c.LoadWarmup, c.LoadTime/time.Duration(max(1, c.LoadRounds)))

	p("### Against the targets\n\n| what | figure | target | |\n|---|---|---|---|\n")
	for _, t := range rep.Targets() {
		p("| %s | %s | %s | %s |\n", t.What, t.Figure, t.Goal, t.verdict())
	}

	if len(rep.Cold) > 0 {
		p("\n### Cold start over stdio (process start to reply; %d each, interleaved)\n\n", c.ColdStarts)
		p("| server | tools | to initialize: median | p90 | to first tools/list: median | p90 | RSS then |\n|---|---|---|---|---|---|---|\n")
		for _, name := range []string{GoBuild, Release, Bare, PeerName} {
			if s, ok := rep.Cold[name]; ok {
				p("| %s | %d | %s | %s | %s | %s | %s |\n", name, s.Tools, ms(s.Initialize.Median), ms(s.Initialize.P90),
					ms(s.ToolsList.Median), ms(s.ToolsList.P90), mb(s.RSS))
			} else if name == PeerName {
				p("| %s | – | %s | | | | |\n", name, rep.notMeasured())
			}
		}
	}
	if len(rep.Latency) > 0 {
		rep.latencyMarkdown(p)
	}
	if len(rep.Loads) > 0 {
		rep.loadMarkdown(p)
	}
	rep.memoryMarkdown(p)
	return b.String()
}

func (rep *Report) latencyMarkdown(p func(string, ...any)) {
	p("\n### Round trip of one tools/call (one client, one call at a time; the series interleaved in rounds)\n\n")
	p("| server | series | median | p90 | p99 | n | CPU per call: server | sandbox | client |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Latency {
		st := s.Stats()
		server, sandbox, client := s.CPUPerCall()
		name := s.Server
		if name == "" {
			name = "–"
		}
		p("| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", name, s.Name, us(st.Median), us(st.P90), us(st.P99), st.N,
			cpuUS(server), cpuUS(sandbox), cpuUS(client))
	}
	if rep.Peer == nil {
		p("| %s | list_keys, get_key over stdio and HTTP | %s | | | | | | |\n", PeerName, rep.notMeasured())
	}
	p("\nMCP overhead (median of the call minus median of the direct call):\n\n")
	p("| server | list_keys stdio | list_keys HTTP | get_key stdio | get_key HTTP |\n|---|---|---|---|---|\n")
	for _, name := range []string{GoBuild, Release, PeerName} {
		if name == PeerName && rep.Peer == nil {
			p("| %s | %s | | | |\n", name, rep.notMeasured())
			continue
		}
		p("| %s | %s | %s | %s | %s |\n", name, us(rep.overhead(name, StdioList)), us(rep.overhead(name, HTTPList)),
			us(rep.overhead(name, StdioGet)), us(rep.overhead(name, HTTPGet)))
	}
}

func (rep *Report) loadMarkdown(p func(string, ...any)) {
	p("\n### HTTP throughput (stateless; each client on its own keep-alive connection, one call at a time)\n\n")
	p("| run | calls/s | errors | latency median | p90 | p99 | CPU per call: server | sandbox | load clients | server RSS before | peak RSS | peak heap (GCs) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range rep.Loads {
		mem := "| – | – | –"
		if l.Server != "" {
			heap := "–" // none for the Node peer, which has no gctrace
			if l.GCs > 0 {
				heap = fmt.Sprintf("%s (%d)", mb(l.PeakHeap), l.GCs)
			}
			mem = fmt.Sprintf("| %s | %s | %s", mb(l.Start.RSS), mb(l.End.Peak), heap)
		}
		p("| %s | %.0f | %d | %s | %s | %s | %s | %s | %s %s |\n", l.Name, l.PerSecond(), l.Errors, us(l.Latency.Median), us(l.Latency.P90),
			us(l.Latency.P99), cpuUS(l.ServerCPU), cpuUS(l.SandboxCPU), cpuUS(l.ClientCPU), mem)
	}
	if rep.Peer == nil {
		p("| %s: list_keys, %d clients | %s | | | | | | | | | | |\n", PeerName, rep.Config.Clients[0], rep.notMeasured())
	}
	for _, l := range rep.Loads {
		if l.FirstErr != "" {
			p("\nFirst error of %q: `%.200s`\n", l.Name, l.FirstErr)
		}
	}
}

func (rep *Report) memoryMarkdown(p func(string, ...any)) {
	p("\n### Memory after start (resident set)\n\n| server | stdio (after the first tools/list) | HTTP (after the first initialize) |\n|---|---|---|\n")
	for _, name := range []string{GoBuild, Release, Bare, PeerName} {
		rss := func(transport string) string {
			if m, ok := rep.Memory[name+" "+transport]; ok {
				return mb(m.RSS)
			}
			return "–"
		}
		if name == PeerName && rep.Peer == nil {
			p("| %s | %s | |\n", name, rep.notMeasured())
			continue
		}
		p("| %s | %s | %s |\n", name, rss("stdio"), rss("http"))
	}

	if len(rep.Allocs) > 0 {
		p("\n### Allocations per call (in process, the sandbox in its own process)\n\n")
		p("| benchmark | ns/op | allocs/op | B/op |\n|---|---|---|---|\n")
		for _, a := range rep.Allocs {
			p("| %s | %d | %d | %d |\n", a.Name, a.NsPerOp, a.AllocsPerOp, a.BytesPerOp)
		}
	}
	if len(rep.Profiles) > 0 {
		p("\nProfiles: %s\n", strings.Join(rep.Profiles, ", "))
	}
}
