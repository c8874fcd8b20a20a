package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// deleteKeyResult is delete_key's structuredContent.
type deleteKeyResult struct {
	Deleted  bool   `json:"deleted" jsonschema:"true when the key was deleted; false only when the user declined"`
	Hash     string `json:"hash" jsonschema:"the hash of the key"`
	Declined bool   `json:"declined,omitempty" jsonschema:"true when the user was asked to confirm and said no; nothing was changed"`
}

func (r deleteKeyResult) auditKey() (string, string) { return r.Hash, "" }

var deleteKey = spec[hashArgs, deleteKeyResult]{
	name:  "delete_key",
	title: "Delete an API key",
	description: "Permanently delete an API key by its hash. Every application using that key stops " +
		"working at once, and this cannot be undone. To stop a key temporarily, use update_key with disabled: " +
		"true instead. Confirm the hash with get_key or list_keys first; the user may be asked to confirm.",
	hints:          mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: requireHash,
	subject:        func(in hashArgs) (string, string) { return in.Hash, "" },
	confirm: &confirmation[hashArgs, deleteKeyResult]{
		when: func(*openrouter.Key, hashArgs) bool { return true },
		message: func(k *openrouter.Key, _ hashArgs) string {
			return fmt.Sprintf("Delete the OpenRouter API key %q (%s) for good? Everything using it stops working "+
				"at once, and this cannot be undone.", k.Name, k.Label)
		},
		declined: func(_ *openrouter.Key, in hashArgs) deleteKeyResult {
			return deleteKeyResult{Hash: in.Hash, Declined: true}
		},
	},
	call: func(ctx context.Context, d *deps, in hashArgs) (deleteKeyResult, error) {
		if err := d.client.DeleteKey(ctx, in.Hash); err != nil {
			return deleteKeyResult{}, err
		}
		return deleteKeyResult{Deleted: true, Hash: in.Hash}, nil
	},
	summary: func(in hashArgs, out deleteKeyResult) string {
		if out.Declined {
			return fmt.Sprintf("Nothing was changed: the user declined to delete key %s.", in.Hash)
		}
		return fmt.Sprintf("Deleted key %s.", in.Hash)
	},
}
