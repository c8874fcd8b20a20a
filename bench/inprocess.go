package bench

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// NewInProcessServer builds the MCP server as main's newMCPServer does for the default configuration
// (all tools, confirmation auto, no audit log, the call-logging middleware, recovery and the
// narrowing filter), for the allocation benchmarks, which must run in this process. Keep it in step
// with main.go.
func NewInProcessServer(client *openrouter.Client, logger zerolog.Logger) (*server.MCPServer, error) {
	all, err := tools.All(client, tools.Options{})
	if err != nil {
		return nil, err
	}
	s := server.NewMCPServer("openrouter-keys-mcp", "bench",
		server.WithTitle("OpenRouter keys"),
		server.WithInstructions("bench"),
		server.WithToolCapabilities(false),
		server.WithElicitation(),
		server.WithToolHandlerMiddleware(tools.LogCalls(logger)),
		server.WithRecovery(),
		server.WithToolFilter(func(ctx context.Context, list []mcp.Tool) []mcp.Tool {
			n := transport.NarrowingFrom(ctx)
			return tools.Narrow(list, n.ReadOnly, n.Tools)
		}),
	)
	s.AddTools(all...)
	return s, nil
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
