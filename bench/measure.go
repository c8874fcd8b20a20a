package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stats summarises a series of durations.
type Stats struct {
	N                   int
	Min, Median         time.Duration
	P90, P99, Max, Mean time.Duration
}

// Summarize computes the order statistics of xs (nearest rank).
func Summarize(xs []time.Duration) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return Stats{N: len(s), Min: s[0], Median: rank(0.5), P90: rank(0.9), P99: rank(0.99), Max: s[len(s)-1],
		Mean: sum / time.Duration(len(s))}
}

// ColdStart is one cold start of a stdio server.
type ColdStart struct {
	Initialize time.Duration // from starting the process to the initialize reply
	ToolsList  time.Duration // from starting the process to the first tools/list reply
	Tools      int           // how many tools it listed
	RSS        int64         // resident memory after the tools/list reply
}

// MeasureColdStart starts a stdio server, initializes it and lists its tools, timing both from the
// moment the process is started, then ends it.
func MeasureColdStart(bin string, args, env []string, dir string) (ColdStart, error) {
	var cs ColdStart
	t0 := time.Now()
	c, err := SpawnStdio(bin, args, env, dir)
	if err != nil {
		return cs, err
	}
	defer c.Close()
	if err := c.Initialize(); err != nil {
		return cs, err
	}
	cs.Initialize = time.Since(t0)
	if cs.Tools, err = c.ListTools(); err != nil {
		return cs, err
	}
	cs.ToolsList = time.Since(t0)
	m, err := c.Proc.Memory()
	if err != nil {
		return cs, err
	}
	cs.RSS = m.RSS
	return cs, nil
}

// Series is a named sequence of round trips: each call is timed from the request's first byte out
// to the reply's last byte in. The CPU time the server, the sandbox and this process (the client)
// spend on the calls is added up too.
type Series struct {
	Server          string // the server called (GoBuild, Release, Bare, PeerName), or "" for a direct call
	Name            string
	call            func() error
	server, sandbox *Proc
	lat             []time.Duration
	cpu             [3]time.Duration // server, sandbox, client
}

// NewSeries names a call of a server (named by serverName) to time; server and sandbox (either may be
// nil) are the processes whose CPU time it costs.
func NewSeries(serverName, name string, server, sandbox *Proc, call func() error) *Series {
	return &Series{Server: serverName, Name: name, call: call, server: server, sandbox: sandbox}
}

// run makes n calls, timing each.
func (s *Series) run(n int) error {
	before := [3]time.Duration{procCPU(s.server), procCPU(s.sandbox), selfCPUTime()}
	for range n {
		t0 := time.Now()
		if err := s.call(); err != nil {
			return fmt.Errorf("%s %s: %w", s.Server, s.Name, err)
		}
		s.lat = append(s.lat, time.Since(t0))
	}
	after := [3]time.Duration{procCPU(s.server), procCPU(s.sandbox), selfCPUTime()}
	for i := range s.cpu {
		s.cpu[i] += after[i] - before[i]
	}
	return nil
}

// Stats summarises the calls timed so far.
func (s *Series) Stats() Stats { return Summarize(s.lat) }

// CPUPerCall is the CPU time per call of the server (0 when there is none), the sandbox (0 when
// none) and this process.
func (s *Series) CPUPerCall() (server, sandbox, client time.Duration) {
	n := time.Duration(max(1, len(s.lat)))
	if s.server != nil {
		server = s.cpu[0] / n
	}
	if s.sandbox != nil {
		sandbox = s.cpu[1] / n
	}
	return server, sandbox, s.cpu[2] / n
}

// RunInterleaved warms each series up, then runs them in turn, n calls each per round, so that a change
// in the machine's load (the sandbox's, another process's) falls on all of them alike.
func RunInterleaved(series []*Series, warmup, rounds, n int) error {
	for _, s := range series {
		if err := s.run(warmup); err != nil {
			return err
		}
		s.lat, s.cpu = s.lat[:0], [3]time.Duration{}
	}
	for range rounds {
		for _, s := range series {
			if err := s.run(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadResult is what a throughput run measured.
type LoadResult struct {
	Clients  int
	Duration time.Duration // the measured part (after the warm-up)
	Calls    int64         // calls completed in the measured part
	Total    int64         // calls completed in the whole run, warm-up included
	Errors   int64         // failed calls in the whole run, warm-up included
	FirstErr string
	Latency  Stats
	samples  []time.Duration // the measured calls' latencies, for add
}

// add merges another run of the same load into r (the rounds of an interleaved load).
func (r *LoadResult) add(o LoadResult) {
	r.Clients = o.Clients
	r.Duration += o.Duration
	r.Calls += o.Calls
	r.Total += o.Total
	r.Errors += o.Errors
	if r.FirstErr == "" {
		r.FirstErr = o.FirstErr
	}
	r.samples = append(r.samples, o.samples...)
	r.Latency = Summarize(r.samples)
}

// PerSecond is the throughput.
func (r LoadResult) PerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Duration.Seconds()
}

// Load runs clients concurrent callers, each on a connection of its own (newCaller makes them), for
// warmup and then for d, each making one call after another; only calls that end within the measured
// part count toward throughput and latency.
func Load(ctx context.Context, clients int, warmup, d time.Duration, newCaller func() (call func() error, done func())) LoadResult {
	res := LoadResult{Clients: clients}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		calls    atomic.Int64
		total    atomic.Int64
		errs     atomic.Int64
		firstErr atomic.Pointer[string]
		lat      []time.Duration
	)
	begin := time.Now()
	measureFrom := begin.Add(warmup)
	end := measureFrom.Add(d)
	for range clients {
		call, done := newCaller()
		wg.Go(func() {
			defer done()
			mine := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := call()
				t1 := time.Now()
				if err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					// A failing server must not be hammered in a tight loop.
					time.Sleep(time.Millisecond)
					continue
				}
				total.Add(1)
				if t0.After(measureFrom) && !t1.After(end) {
					calls.Add(1)
					mine = append(mine, t1.Sub(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Duration = d
	res.Calls = calls.Load()
	res.Total = total.Load()
	res.Errors = errs.Load()
	if p := firstErr.Load(); p != nil {
		res.FirstErr = *p
	}
	res.samples = lat
	res.Latency = Summarize(lat)
	return res
}
