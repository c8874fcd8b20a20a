package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// keyResult is get_key's structuredContent.
type keyResult struct {
	Key  keyView `json:"key"`
	Note string  `json:"note,omitempty" jsonschema:"why the guardrail or creator is not shown, when it is not"`
}

var getKey = spec[hashArgs, keyResult]{
	name:  "get_key",
	title: "Get an API key",
	description: "Get one API key by its hash: name, disabled state, spending limit and what remains of " +
		"it, usage today, this week, this month and in total, expiry, guardrail and creator. " +
		"Money is in USD; limits reset at midnight UTC.",
	hints:          mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: requireHash,
	call: func(ctx context.Context, d *deps, in hashArgs) (keyResult, error) {
		k, err := d.client.GetKey(ctx, in.Hash)
		if err != nil {
			return keyResult{}, err
		}
		views, note := viewsOf(ctx, d.client, []openrouter.Key{*k})
		return keyResult{Key: views[0], Note: note}, nil
	},
	summary: func(_ hashArgs, out keyResult) string {
		s := fmt.Sprintf("Key %q (%s); guardrail %s; created by %s.", out.Key.Name, out.Key.Label,
			guardrailText(out.Key.Guardrail), creatorText(out.Key.Creator))
		if out.Note != "" {
			s += " Note: " + out.Note
		}
		return s
	},
}
