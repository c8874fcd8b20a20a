// Package transport carries MCP messages between clients and the MCP server: over stdin/stdout, and
// over HTTP. It knows nothing of what the tools do or of OpenRouter keys' business.
package transport

import (
	"context"
	"errors"
	"io"
	"log"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"
)

// ServeStdio serves s over in and out until ctx is done or in reaches EOF; both are a clean end and
// return nil. out carries protocol messages only: everything else goes to the logger.
func ServeStdio(ctx context.Context, s *server.MCPServer, in io.Reader, out io.Writer, logger zerolog.Logger) error {
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(newStdLogger(logger.With().Str("component", "stdio").Logger()))
	stdio.SetContextFunc(func(ctx context.Context) context.Context { return logger.WithContext(ctx) })
	err := stdio.Listen(ctx, in, out)
	if errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// newStdLogger adapts a zerolog logger to the *log.Logger that net/http and mcp-go's stdio server take.
func newStdLogger(logger zerolog.Logger) *log.Logger {
	return log.New(logger, "", 0)
}
