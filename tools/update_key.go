package tools

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// updateKeyArgs names a key and what to change; fields left out stay as they are.
type updateKeyArgs struct {
	Hash string `json:"hash" jsonschema:"the key's hash: 64 lowercase hex characters, as list_keys returns it (not the secret key, and not its label)"`
	openrouter.UpdateKeyRequest
}

var updateKey = spec[updateKeyArgs, keyResult]{
	name:  "update_key",
	title: "Update an API key",
	description: "Change an OpenRouter API key: rename it, disable or re-enable it, set or remove its spending " +
		"limit in USD (limit: null removes it), change how the limit resets (daily, weekly or monthly at midnight " +
		"UTC; limit_reset: null stops resets), or whether BYOK usage counts. Only the fields given change. " +
		"Disabling a key makes every request made with it fail until it is enabled again. Returns the key as it " +
		"is afterwards. Needs a management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		requireHash(s)
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
	},
	call: func(ctx context.Context, c *openrouter.Client, in updateKeyArgs) (keyResult, error) {
		if in.Empty() {
			return keyResult{}, errNothingToUpdate
		}
		k, err := c.UpdateKey(ctx, in.Hash, in.UpdateKeyRequest)
		if err != nil {
			return keyResult{}, err
		}
		return keyResult{Key: *k}, nil
	},
	summary: func(_ updateKeyArgs, out keyResult) string {
		return fmt.Sprintf("Updated key %q (%s).", out.Key.Name, out.Key.Label)
	},
}
