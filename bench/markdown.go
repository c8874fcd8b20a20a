package bench

import (
	"fmt"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"strings"
	"time"
)

// Target is one of the performance targets of issue #6, as measured by a run.
type Target struct {
	What   string
	Figure string
	Goal   string
	Met    bool
}

// Targets evaluates the run against the targets.
func (rep *Report) Targets() []Target {
	var ts []Target
	server, bare := rep.Cold["server"], rep.Cold["bare"]
	if bare.Initialize.Median > 0 {
		r := ratio(server.Initialize.Median, bare.Initialize.Median)
		ts = append(ts, Target{"stdio cold start to initialize, vs baremcp", fmt.Sprintf("%.2f× (%s vs %s)", r,
			ms(server.Initialize.Median), ms(bare.Initialize.Median)), "≤ 1.3×", r <= 1.3})
		r = ratio(server.ToolsList.Median, bare.ToolsList.Median)
		ts = append(ts, Target{"stdio cold start to first tools/list, vs baremcp", fmt.Sprintf("%.2f× (%s vs %s)", r,
			ms(server.ToolsList.Median), ms(bare.ToolsList.Median)), "≤ 1.3×", r <= 1.3})
	}
	if d := rep.series(DirectList).Median; d > 0 && len(rep.Latency) > 0 {
		o := rep.series(StdioList).Median - d
		ts = append(ts, Target{"MCP overhead per list_keys call, stdio (median)", us(o), "≤ 150 µs", o <= 150*time.Microsecond})
		o = rep.series(HTTPList).Median - d
		ts = append(ts, Target{"MCP overhead per list_keys call, HTTP (median)", us(o), "≤ 400 µs", o <= 400*time.Microsecond})
	}
	for _, l := range rep.Loads {
		if l.Server != "openrouter-keys-mcp" || strings.Contains(l.Name, "--log-level") {
			continue
		}
		switch l.Clients {
		case 16:
			ts = append(ts, Target{"HTTP throughput, list_keys, 16 clients", fmt.Sprintf("%.0f calls/s", l.PerSecond()),
				"≥ 2,000 calls/s", l.PerSecond() >= 2000})
		case 64:
			ts = append(ts, Target{"errors with 64 clients", fmt.Sprintf("%d of %d", l.Errors, l.Calls+l.Errors), "0", l.Errors == 0})
			ts = append(ts, Target{"peak RSS under the 64-client run", mb(l.End.Peak), "≤ 40 MB", l.End.Peak <= 40<<20})
		}
	}
	ts = append(ts, rep.Toolbox.targets()...)
	if m, ok := rep.Memory["stdio"]; ok {
		ts = append(ts, Target{"RSS after start, stdio (after the first tools/list)", mb(m.RSS), "≤ 15 MB", m.RSS <= 15<<20})
	}
	if m, ok := rep.Memory["http"]; ok {
		ts = append(ts, Target{"RSS after start, HTTP (after the first initialize)", mb(m.RSS), "≤ 15 MB", m.RSS <= 15<<20})
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
	p("Run of %s, %s, %s, %d CPUs (%s); took %s.\n", rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Go,
		runtimeOS(), rep.CPUs, rep.Machine, rep.Took.Round(time.Second))
	p("Sandbox with %d keys; %d cold starts each; latency: %d rounds × %d calls per series after %d warm-up calls; "+
		"load: %s warm-up + %s measured per run.\n\n", c.Keys, c.ColdStarts, c.Rounds, c.CallsPerRun, c.Warmup, c.LoadWarmup, c.LoadTime)

	p("### Against the targets\n\n| what | figure | target | |\n|---|---|---|---|\n")
	for _, t := range rep.Targets() {
		verdict := "met"
		if !t.Met {
			verdict = "**missed**"
		}
		p("| %s | %s | %s | %s |\n", t.What, t.Figure, t.Goal, verdict)
	}

	if len(rep.Cold) > 0 {
		p("\n### Cold start over stdio (process start to reply; %d each, interleaved)\n\n", c.ColdStarts)
		p("| server | to initialize: median | p90 | to first tools/list: median | p90 | RSS then |\n|---|---|---|---|---|---|\n")
		for _, k := range []string{"server", "bare"} {
			s := rep.Cold[k]
			name := map[string]string{"server": fmt.Sprintf("openrouter-keys-mcp (%d tools)", len(tools.Names())), "bare": "baremcp (1 tool)"}[k]
			p("| %s | %s | %s | %s | %s | %s |\n", name, ms(s.Initialize.Median), ms(s.Initialize.P90),
				ms(s.ToolsList.Median), ms(s.ToolsList.P90), mb(s.RSS))
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
	p("\n### Round trip of one tools/call (one client, one call at a time)\n\n")
	p("| series | median | p90 | p99 | n | CPU per call: server | sandbox | client |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Latency {
		st := s.Stats()
		server, sandbox, client := s.CPUPerCall()
		p("| %s | %s | %s | %s | %d | %s | %s | %s |\n", s.Name, us(st.Median), us(st.P90), us(st.P99), st.N,
			cpuUS(server), cpuUS(sandbox), cpuUS(client))
	}
	p("\nMCP overhead (median of the call minus median of the direct call): ")
	p("list_keys stdio %s, HTTP %s; get_key stdio %s, HTTP %s.\n",
		us(rep.series(StdioList).Median-rep.series(DirectList).Median), us(rep.series(HTTPList).Median-rep.series(DirectList).Median),
		us(rep.series(StdioGet).Median-rep.series(DirectGet).Median), us(rep.series(HTTPGet).Median-rep.series(DirectGet).Median))
}

func (rep *Report) loadMarkdown(p func(string, ...any)) {
	p("\n### HTTP throughput (stateless; each client on its own keep-alive connection, one call at a time)\n\n")
	p("| run | calls/s | errors | latency median | p90 | p99 | CPU per call: server | sandbox | load clients | server RSS before | peak RSS | peak heap (GCs) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range rep.Loads {
		mem := "| – | – | –"
		if l.Server != "" {
			heap := "–"
			if l.GCs > 0 {
				heap = fmt.Sprintf("%s (%d)", mb(l.PeakHeap), l.GCs)
			}
			mem = fmt.Sprintf("| %s | %s | %s", mb(l.Start.RSS), mb(l.End.Peak), heap)
		}
		p("| %s | %.0f | %d | %s | %s | %s | %s | %s | %s %s |\n", l.Name, l.PerSecond(), l.Errors, us(l.Latency.Median), us(l.Latency.P90),
			us(l.Latency.P99), cpuUS(l.ServerCPU), cpuUS(l.SandboxCPU), cpuUS(l.ClientCPU), mem)
	}
	for _, l := range rep.Loads {
		if l.FirstErr != "" {
			p("\nFirst error of %q: `%.200s`\n", l.Name, l.FirstErr)
		}
	}
}

func (rep *Report) memoryMarkdown(p func(string, ...any)) {

	p("\n### Memory after start (resident set)\n\n| server | RSS |\n|---|---|\n")
	for _, k := range []string{"stdio", "bare stdio", "http", "bare http"} {
		if m, ok := rep.Memory[k]; ok {
			name := map[string]string{"stdio": "openrouter-keys-mcp stdio", "bare stdio": "baremcp stdio",
				"http": "openrouter-keys-mcp http", "bare http": "baremcp http"}[k]
			p("| %s | %s |\n", name, mb(m.RSS))
		}
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
