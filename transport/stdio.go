// Package transport carries MCP messages between clients and the MCP server: over stdin/stdout, and
// over HTTP. It knows nothing of what the tools do or of OpenRouter keys' business.
package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"
)

// MaxLineBytes caps one message over stdio, as DefaultMaxBodyBytes caps one over HTTP.
const MaxLineBytes = DefaultMaxBodyBytes

// ServeStdio serves s over in and out until ctx is done or in reaches EOF; both are a clean end and
// return nil. out carries protocol messages only: everything else goes to the logger. A line longer
// than MaxLineBytes is cut off there, so it is answered as a parse error, and the rest of it dropped.
func ServeStdio(ctx context.Context, s *server.MCPServer, in io.Reader, out io.Writer, logger zerolog.Logger) error {
	in = &lineCap{r: in, max: MaxLineBytes, logger: logger}
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

// lineCap passes lines of at most max bytes through, and ends a longer one there (with a newline
// of its own) and drops the rest of it, so that mcp-go, which reads a whole line into memory before
// parsing it, never holds more than max bytes of one.
type lineCap struct {
	r        io.Reader
	max      int
	logger   zerolog.Logger
	line     int  // bytes of the current line passed on
	skipping bool // dropping the rest of a line that was cut off
}

func (c *lineCap) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		if n = c.filter(p[:n]); n > 0 || err != nil {
			return n, err
		}
	}
}

// filter keeps, at the start of chunk, what of it is passed on, and returns its length: never more
// than chunk, since a cut-off line's own newline takes the place of a byte dropped.
func (c *lineCap) filter(chunk []byte) int {
	kept := 0
	for rest := chunk; len(rest) > 0; {
		nl := bytes.IndexByte(rest, '\n')
		if c.skipping {
			if nl < 0 {
				break
			}
			c.skipping, rest = false, rest[nl+1:]
			continue
		}
		content, end := len(rest), len(rest) // the line's bytes here, without and with its newline
		if nl >= 0 {
			content, end = nl, nl+1
		}
		if room := c.max - c.line; content > room {
			// The byte past the cap is dropped, which leaves room for the newline that ends the line.
			kept += copy(chunk[kept:], rest[:room])
			rest = rest[room+1:]
			chunk[kept] = '\n'
			kept++
			c.line, c.skipping = 0, true
			c.logger.Warn().Int("max_bytes", c.max).Msg("stdio: a message longer than the cap was cut off and " +
				"answered as a parse error; send smaller messages")
			continue
		}
		kept += copy(chunk[kept:], rest[:end])
		c.line += end
		if nl >= 0 {
			c.line = 0
		}
		rest = rest[end:]
	}
	return kept
}
