// Command baremcp is the yardstick of the benchmarks in bench/: a bare mcp-go server with one trivial
// tool (echo), built the same way as openrouter-keys-mcp (go build, same Go and mcp-go), so that the
// difference in start-up time, memory and per-call cost is what openrouter-keys-mcp adds to mcp-go.
//
//	baremcp                      serve MCP over stdin/stdout
//	baremcp http --addr ADDR     serve stateless streamable HTTP at /mcp; prints "listening on http://HOST:PORT/mcp" on stderr
//
// It is not shipped and does nothing useful.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := server.NewMCPServer("baremcp", "1.0.0", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo",
		mcp.WithDescription("Returns its text."),
		mcp.WithString("text", mcp.Required(), mcp.Description("what to return")),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("text", "")), nil
	})

	if len(os.Args) > 1 && os.Args[1] == "http" {
		fs := flag.NewFlagSet("baremcp http", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		_ = fs.Parse(os.Args[2:])
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "baremcp:", err)
			os.Exit(1)
		}
		mux := http.NewServeMux()
		mux.Handle("/mcp", server.NewStreamableHTTPServer(s, server.WithStateLess(true)))
		srv := &http.Server{Handler: mux}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		fmt.Fprintf(os.Stderr, "listening on http://%s/mcp\n", ln.Addr())
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "baremcp:", err)
			os.Exit(1)
		}
		return
	}
	if err := server.NewStdioServer(s).Listen(ctx, os.Stdin, os.Stdout); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "baremcp:", err)
		os.Exit(1)
	}
}
