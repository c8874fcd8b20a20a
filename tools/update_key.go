package tools

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// updateKeyResult is update_key's structuredContent.
type updateKeyResult struct {
	Key      openrouter.Key `json:"key"`
	Declined bool           `json:"declined,omitempty" jsonschema:"true when the user was asked to confirm and said no; key is then as it was"`
}

func (r updateKeyResult) auditKey() (string, string) { return r.Key.Hash, r.Key.Name }

// updateKeyArgs names a key and what to change; fields left out stay as they are.
type updateKeyArgs struct {
	hashArgs
	openrouter.UpdateKeyRequest
}

var updateKey = spec[updateKeyArgs, updateKeyResult]{
	name:  "update_key",
	title: "Update an API key",
	description: "Change an OpenRouter API key: rename it, disable or re-enable it, set or remove its spending " +
		"limit in USD (limit: null removes it), change how the limit resets (daily, weekly or monthly at midnight " +
		"UTC; limit_reset: null stops resets), or whether BYOK usage counts. Only the fields given change. " +
		"Disabling a key makes every request made with it fail until it is enabled again; the user may be asked " +
		"to confirm that. Returns the key as it is afterwards. Needs a management key.",
	hints:   mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	subject: func(in updateKeyArgs) (string, string) { return in.Hash, "" },
	confirm: &confirmation[updateKeyArgs, updateKeyResult]{
		// Only disabling breaks running applications; renames and limits do not need a human.
		when: func(in updateKeyArgs) bool { return in.Disabled.Set && in.Disabled.Value },
		message: func(k *openrouter.Key, _ updateKeyArgs) string {
			return fmt.Sprintf("Disable the OpenRouter API key %q (%s)? Every request made with it will fail until "+
				"it is enabled again.", k.Name, k.Label)
		},
		declined: func(k *openrouter.Key, _ updateKeyArgs) updateKeyResult {
			return updateKeyResult{Key: *k, Declined: true}
		},
	},
	constrainInput: func(s *jsonschema.Schema) {
		requireHash(s)
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
	},
	refuse: func(in updateKeyArgs) error {
		if in.Empty() {
			return errNothingToUpdate
		}
		return nil
	},
	call: func(ctx context.Context, d *deps, in updateKeyArgs) (updateKeyResult, error) {
		k, err := d.client.UpdateKey(ctx, in.Hash, in.UpdateKeyRequest)
		if err != nil {
			return updateKeyResult{}, err
		}
		return updateKeyResult{Key: *k}, nil
	},
	summary: func(_ updateKeyArgs, out updateKeyResult) string {
		if out.Declined {
			return fmt.Sprintf("Nothing was changed: the user declined to disable key %q (%s).", out.Key.Name, out.Key.Label)
		}
		return fmt.Sprintf("Updated key %q (%s).", out.Key.Name, out.Key.Label)
	},
}
