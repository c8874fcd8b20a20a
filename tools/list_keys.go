package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// maxAllKeys caps how many keys all: true gathers, so one call cannot flood the model's context.
const maxAllKeys = 1000

// listKeysArgs are GET /keys's query parameters plus two conveniences for agents, done here because
// OpenRouter offers neither: a name filter and following the pages.
type listKeysArgs struct {
	openrouter.ListKeysParams
	Name string `json:"name,omitempty" jsonschema:"only keys whose name contains this text, ignoring case; it filters the keys fetched, so use all: true to search every key"`
	All  bool   `json:"all,omitempty" jsonschema:"follow the pages from offset on and return every key, up to 1000 (more gives next_offset); progress is reported when the client asks for it"`
}

// listKeysResult is list_keys' structuredContent.
type listKeysResult struct {
	Keys       []openrouter.Key `json:"keys" jsonschema:"the keys, newest first"`
	NextOffset *int             `json:"next_offset" jsonschema:"pass as offset to continue where this result stopped; null when there are no more keys"`
}

var listKeys = spec[listKeysArgs, listKeysResult]{
	name:  "list_keys",
	title: "List API keys",
	description: "List the OpenRouter API keys of the account, newest first, 100 per page (all: true follows the " +
		"pages, up to 1000 keys; name filters by name). Use it to find a key's hash (needed by get_key, " +
		"update_key and delete_key), or to review names, spending limits and usage. Disabled keys are left out " +
		"unless include_disabled is true. When next_offset is not null, call again with offset set to it. Money " +
		"is in USD; limits reset at midnight UTC. Results never contain secret keys, only masked labels. Needs a " +
		"management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "offset").Minimum = jsonschema.Ptr(0.0)
		property(s, "workspace_id").Pattern = uuidPattern
	},
	constrainOutput: func(s *jsonschema.Schema) {
		keys := property(s, "keys")
		keys.Types, keys.Type = nil, "array" // never null: an empty page is []
	},
	call: func(ctx context.Context, e *env, in listKeysArgs) (listKeysResult, error) {
		offset := 0
		if in.Offset != nil {
			offset = *in.Offset
		}
		res := listKeysResult{Keys: []openrouter.Key{}}
		for fetched := 0; ; {
			p := in.ListKeysParams
			p.Offset = &offset
			page, err := e.client.ListKeys(ctx, p)
			if err != nil {
				return listKeysResult{}, err
			}
			fetched += len(page)
			offset += len(page)
			res.Keys = append(res.Keys, matching(page, in.Name)...)
			full := len(page) == openrouter.PageSize
			if full && (!in.All || fetched >= maxAllKeys) {
				res.NextOffset = &offset
			}
			if !in.All || !full || fetched >= maxAllKeys {
				return res, nil
			}
			progress(ctx, fetched, fmt.Sprintf("listed %d keys", fetched))
		}
	},
	text: func(in listKeysArgs, out listKeysResult) string {
		var b strings.Builder
		switch {
		case out.NextOffset != nil:
			fmt.Fprintf(&b, "%d keys; more remain (next_offset %d).", len(out.Keys), *out.NextOffset)
		default:
			fmt.Fprintf(&b, "%d keys; no more.", len(out.Keys))
		}
		if in.Name != "" {
			fmt.Fprintf(&b, " Filtered by name %q.", in.Name)
		}
		b.WriteString(" Columns: name | hash | label | state | limit USD (remaining, reset) | usage USD month/total | expires\n")
		for _, k := range out.Keys {
			b.WriteString(keyRow(k))
			b.WriteByte('\n')
		}
		b.WriteString("Every field of every key is in the structured content.")
		return b.String()
	},
}

// matching keeps the keys whose name contains sub, ignoring case.
func matching(keys []openrouter.Key, sub string) []openrouter.Key {
	if sub == "" {
		return keys
	}
	sub = strings.ToLower(sub)
	var out []openrouter.Key
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k.Name), sub) {
			out = append(out, k)
		}
	}
	return out
}

// keyRow is one compact line of the text table: what an agent needs to pick a key, cheaply.
func keyRow(k openrouter.Key) string {
	state := "enabled"
	if k.Disabled {
		state = "disabled"
	}
	limit := "none"
	if k.Limit != nil {
		limit = fmt.Sprintf("%g", *k.Limit)
		if k.LimitRemaining != nil {
			limit += fmt.Sprintf(" (%.2f left", *k.LimitRemaining)
			if k.LimitReset != nil {
				limit += ", " + *k.LimitReset
			}
			limit += ")"
		}
	}
	expires := "never"
	if k.ExpiresAt != nil {
		expires = *k.ExpiresAt
	}
	return fmt.Sprintf("%s | %s | %s | %s | %s | %.2f/%.2f | %s", k.Name, k.Hash, k.Label, state, limit,
		k.UsageMonthly, k.Usage, expires)
}
