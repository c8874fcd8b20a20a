package tools

import (
	"context"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/logsafe"
)

// LogCalls logs one line per tool call: the tool, how long it took and whether it failed, with the
// failure's message. Arguments and results are never logged: a result may hold a new key's secret.
// The line goes to the logger in the call's context when the transport put one there (it carries the
// request id over HTTP), else to fallback.
func LogCalls(fallback zerolog.Logger) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			start := time.Now()
			res, err := next(ctx, req)
			log := fallback
			if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
				log = *l
			}
			ev := log.Info()
			switch {
			case err != nil:
				ev = log.Error().Err(err)
			case res != nil && res.IsError:
				// An error result is the tool working as meant (a bad argument, a 404): not a warning.
				ev = log.Info().Bool("is_error", true).Str("error", logsafe.Clip(firstText(res)))
			}
			ev.Str("tool", logsafe.Clip(req.Params.Name)).Dur("duration_ms", time.Since(start)).Msg("tool call")
			return res, err
		}
	}
}

// firstText returns the first text block of a result; for an error result it is our own message.
func firstText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}
