package tools

import (
	"context"
	"fmt"
	"time"

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

// updateKeyArgs names a key and what to change; fields left out (or null) stay as they are. Clearing
// is explicit: remove_limit, and limit_reset "never".
type updateKeyArgs struct {
	hashArgs
	openrouter.UpdateKeyRequest
	RemoveLimit bool `json:"remove_limit,omitempty" jsonschema:"true removes the key's spending limit (leave limit out)"`
}

// neverReset is the limit_reset value that stops resets; OpenRouter takes it as null.
const neverReset = "never"

// request is the PATCH body: the explicit clearing arguments become OpenRouter's nulls.
func (in updateKeyArgs) request() openrouter.UpdateKeyRequest {
	r := in.UpdateKeyRequest
	if in.RemoveLimit {
		r.Limit = openrouter.Null[float64]()
	}
	if r.LimitReset.Set && r.LimitReset.Value == neverReset {
		r.LimitReset = openrouter.Null[openrouter.LimitReset]()
	}
	return r
}

var updateKey = spec[updateKeyArgs, updateKeyResult]{
	name:  "update_key",
	title: "Update an API key",
	description: "Change an OpenRouter API key: rename it, disable or re-enable it, set its spending limit in " +
		"USD (remove_limit: true removes it), change how the limit resets (daily, weekly or monthly at midnight " +
		"UTC; \"never\" stops resets), or whether BYOK usage counts. Only the arguments given change; null or " +
		"left out means unchanged. " +
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
		limit := property(s, "limit")
		limit.Minimum = jsonschema.Ptr(0.0)
		limit.Description = "a new spending limit in USD; to remove the limit use remove_limit instead"
		property(s, "workspace_id").Pattern = uuidPattern
		reset := property(s, "limit_reset")
		reset.Enum = append(reset.Enum, neverReset)
		reset.Description = "daily, weekly or monthly (at midnight UTC); never stops resetting"
	},
	refuse: func(in updateKeyArgs) error {
		if in.RemoveLimit && in.Limit.Set {
			return invalidArgs("give either limit or remove_limit, not both")
		}
		if in.Empty() && !in.RemoveLimit {
			return errNothingToUpdate
		}
		return nil
	},
	admit: func(p Policy, in *updateKeyArgs, _ time.Time) error {
		if in.Name.Set {
			if err := p.checkName(in.Name.Value); err != nil {
				return err
			}
		}
		switch {
		case in.RemoveLimit:
			return p.checkLimit(nil)
		case in.Limit.Set:
			return p.checkLimit(&in.Limit.Value)
		}
		return nil
	},
	call: func(ctx context.Context, d *deps, in updateKeyArgs) (updateKeyResult, error) {
		k, err := d.client.UpdateKey(ctx, in.Hash, in.request())
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
