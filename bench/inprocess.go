package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// NewInProcessServer builds the server that ships, with its default options, for the allocation
// benchmarks, which must run in this process.
func NewInProcessServer(client *openrouter.Client, logger zerolog.Logger) (*mcpserver.Server, error) {
	return mcpserver.New(client, mcpserver.Options{Version: "bench", Logger: logger})
}

// JSONLogger is the server's default logger (JSON, info level) writing to w.
func JSONLogger(w io.Writer) zerolog.Logger {
	return zerolog.New(w).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// ToolCall is one tools/call through the in-process server as stdio serves it: the JSON-RPC message
// handled by mcp-go, our handler calling the sandbox, and the reply encoded as the stdio transport
// encodes it.
func ToolCall(s *mcpserver.Server, logger zerolog.Logger, call Call) func() error {
	ctx := logger.WithContext(context.Background())
	msg := request(1, "tools/call", call.params)
	return func() error {
		out, err := json.Marshal(s.HandleMessage(ctx, msg))
		if err != nil {
			return err
		}
		return checkReply(out, 1)
	}
}

// PerOp runs op for about a second (after a warm-up) and reports its time and allocations per run, as
// a benchmark with -benchmem would, without the testing package in the report's binary.
func PerOp(name string, op func() error) (AllocRow, error) {
	for range 10 {
		if err := op(); err != nil {
			return AllocRow{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start, n := time.Now(), int64(0)
	for ; time.Since(start) < time.Second; n++ {
		if err := op(); err != nil {
			return AllocRow{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return AllocRow{Name: name, NsPerOp: elapsed.Nanoseconds() / n,
		AllocsPerOp: int64(after.Mallocs-before.Mallocs) / n, BytesPerOp: int64(after.TotalAlloc-before.TotalAlloc) / n}, nil
}
