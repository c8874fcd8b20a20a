//go:build benchprofile

// A profiling build for the benchmarks (go build -tags benchprofile; bench/ builds one when asked to
// profile): when ORKM_PPROF_ADDR is set, net/http/pprof is served there, on its own listener, apart
// from MCP. The shipped binary has none of this.
package main

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
)

func init() {
	addr := os.Getenv("ORKM_PPROF_ADDR")
	if addr == "" {
		return
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100000) // one sample per 100 µs blocked
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			fmt.Fprintln(os.Stderr, "pprof:", err)
		}
	}()
}
