package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// deleteKeyResult is delete_key's structuredContent.
type deleteKeyResult struct {
	Deleted bool   `json:"deleted" jsonschema:"always true: a key that could not be deleted gives an error instead"`
	Hash    string `json:"hash" jsonschema:"the hash of the deleted key"`
}

var deleteKey = spec[hashArgs, deleteKeyResult]{
	name:  "delete_key",
	title: "Delete an API key",
	description: "Permanently delete an OpenRouter API key by its hash. Every application using that key stops " +
		"working at once, and this cannot be undone. To stop a key temporarily, use update_key with disabled: " +
		"true instead. Confirm the hash with get_key or list_keys first. Needs a management key.",
	hints:          mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: requireHash,
	call: func(ctx context.Context, c *openrouter.Client, in hashArgs) (deleteKeyResult, error) {
		if err := c.DeleteKey(ctx, in.Hash); err != nil {
			return deleteKeyResult{}, err
		}
		return deleteKeyResult{Deleted: true, Hash: in.Hash}, nil
	},
	summary: func(in hashArgs, _ deleteKeyResult) string {
		return fmt.Sprintf("Deleted key %s.", in.Hash)
	},
}
