package bench

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// NewInProcessServer builds the server that ships, with its default options, for the allocation
// benchmarks, which must run in this process.
func NewInProcessServer(client *openrouter.Client, logger zerolog.Logger) (*server.MCPServer, error) {
	return mcpserver.New(client, mcpserver.Options{Version: "bench", Logger: logger})
}

// JSONLogger is the server's default logger (JSON, info level) writing to w.
func JSONLogger(w io.Writer) zerolog.Logger {
	return zerolog.New(w).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// ToolCallBenchmark is one tools/call through the in-process server as stdio serves it: the JSON-RPC
// message handled by mcp-go, our handler calling the sandbox, and the reply encoded as the stdio
// transport encodes it. Run with -benchmem (or testing.Benchmark) for allocations per call.
func ToolCallBenchmark(s *server.MCPServer, logger zerolog.Logger, call Call) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := logger.WithContext(context.Background())
		msg := request(1, "tools/call", call.params)
		b.ReportAllocs()
		b.SetBytes(0)
		for b.Loop() {
			reply := s.HandleMessage(ctx, msg)
			out, err := json.Marshal(reply)
			if err != nil {
				b.Fatal(err)
			}
			if err := checkReply(out, 1); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// DirectBenchmark is the yardstick of ToolCallBenchmark: the client's own call to the sandbox.
func DirectBenchmark(call func(context.Context) error) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
