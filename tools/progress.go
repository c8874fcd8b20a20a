package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type progressKey struct{}

// withProgress remembers the call's progress token, when the client sent one, for progress.
func withProgress(ctx context.Context, req mcp.CallToolRequest) context.Context {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, req.Params.Meta.ProgressToken)
}

// progress tells the client how far a long call has got, when it asked to know. The total is not
// known in advance (OpenRouter gives no count), so none is sent.
func progress(ctx context.Context, done int, message string) {
	token, ok := ctx.Value(progressKey{}).(mcp.ProgressToken)
	s := server.ServerFromContext(ctx)
	if !ok || s == nil {
		return
	}
	_ = s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
		"progressToken": token, "progress": done, "message": message,
	})
}
