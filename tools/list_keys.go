package tools

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// listKeysResult is list_keys' structuredContent.
type listKeysResult struct {
	Keys       []openrouter.Key `json:"keys" jsonschema:"the keys on this page, newest first"`
	NextOffset *int             `json:"next_offset" jsonschema:"pass as offset to get the next page; null when this is the last page"`
}

var listKeys = spec[openrouter.ListKeysParams, listKeysResult]{
	name:  "list_keys",
	title: "List API keys",
	description: "List the OpenRouter API keys of the account, newest first, up to 100 per call. Use it to find a " +
		"key's hash (needed by get_key, update_key and delete_key), or to review names, spending limits and usage. " +
		"Disabled keys are left out unless include_disabled is true. When next_offset is not null, call again " +
		"with offset set to it for the next page. Money is in USD; limits reset at midnight UTC. Results never " +
		"contain secret keys, only masked labels. Needs a management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "offset").Minimum = jsonschema.Ptr(0.0)
		property(s, "workspace_id").Pattern = uuidPattern
	},
	constrainOutput: func(s *jsonschema.Schema) {
		keys := property(s, "keys")
		keys.Types, keys.Type = nil, "array" // never null: an empty page is []
	},
	call: func(ctx context.Context, e *env, in openrouter.ListKeysParams) (listKeysResult, error) {
		keys, err := e.client.ListKeys(ctx, in)
		if err != nil {
			return listKeysResult{}, err
		}
		res := listKeysResult{Keys: keys}
		if len(keys) == openrouter.PageSize {
			next := len(keys)
			if in.Offset != nil {
				next += *in.Offset
			}
			res.NextOffset = &next
		}
		return res, nil
	},
	summary: func(_ openrouter.ListKeysParams, out listKeysResult) string {
		if out.NextOffset != nil {
			return fmt.Sprintf("%d keys on this page; more remain (next_offset %d).", len(out.Keys), *out.NextOffset)
		}
		return fmt.Sprintf("%d keys; this is the last page.", len(out.Keys))
	},
}
