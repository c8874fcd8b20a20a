package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// noArgs is the input of a tool that takes no arguments.
type noArgs struct{}

// currentKeyResult is current_key's structuredContent.
type currentKeyResult struct {
	Key openrouter.CurrentKey `json:"key"`
}

var currentKey = spec[noArgs, currentKeyResult]{
	name:  "current_key",
	title: "Show the key in use",
	description: "Describe the OpenRouter API key this server is using: its masked label, whether it is a " +
		"management key (is_management_key; the other tools need one), its spending limit and usage in USD, and " +
		"its expiry. Works with any valid key. Use it first when other tools fail with 401 or 403.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	call: func(ctx context.Context, d *deps, _ noArgs) (currentKeyResult, error) {
		k, err := d.client.CurrentKey(ctx)
		if err != nil {
			return currentKeyResult{}, err
		}
		return currentKeyResult{Key: *k}, nil
	},
	summary: func(_ noArgs, out currentKeyResult) string {
		if out.Key.IsManagementKey {
			return "The server uses management key " + out.Key.Label + "; it can manage keys."
		}
		return "The server uses key " + out.Key.Label + ", which is NOT a management key: the other tools will fail with 403."
	},
}
