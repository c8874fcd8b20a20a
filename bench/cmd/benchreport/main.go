// Command benchreport runs the benchmarks of bench/ and prints their figures as Markdown, with the
// targets of issues #6, #12 and #18 (see BENCHMARKS.md): openrouter-keys-mcp as go build and as the
// release build it, beside baremcp and the Node peer (bench/nodepeer; its rows say "not measured" and
// why when Node.js >= 20 or npm is missing). Run it from the repository:
//
//	go run ./bench/cmd/benchreport              # the full run (about four minutes)
//	go run ./bench/cmd/benchreport -short       # a quick check that every measurement works
//	go run ./bench/cmd/benchreport -profile -dir /tmp/orkm-bench   # also CPU/alloc profiles of the HTTP server under load
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/bench"
)

func main() {
	short := flag.Bool("short", false, "a quick run: checks that everything works; the figures mean little")
	dir := flag.String("dir", "", "keep binaries, logs and profiles here (default: a temporary directory, removed)")
	profile := flag.Bool("profile", false, "also profile the HTTP server under load (needs -dir to keep the profiles)")
	loadTime := flag.Duration("load", 0, "measured time of each throughput run (default 5s, short 300ms)")
	quiet := flag.Bool("q", false, "no progress on stderr")
	skip := flag.String("skip", "", "comma-separated parts not to run: cold, latency, load, allocs, toolbox, scale")
	coldStarts := flag.Int("cold", 0, "cold starts of each server (default 40, short 2)")
	flag.Parse()

	cfg := bench.Full()
	if *short {
		cfg = bench.Short()
	}
	cfg.Dir, cfg.Profile = *dir, *profile
	if *skip != "" {
		cfg.Skip = strings.Split(*skip, ",")
		cfg.Allocs = cfg.Allocs && !slices.Contains(cfg.Skip, "allocs")
	}
	if *coldStarts > 0 {
		cfg.ColdStarts = *coldStarts
	}
	if *loadTime > 0 {
		cfg.LoadTime = *loadTime
	}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
	if !*quiet {
		start := time.Now()
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	fmt.Print(rep.Markdown())
}
