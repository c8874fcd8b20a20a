package tools

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
	Note       string           `json:"note,omitempty" jsonschema:"why the result stopped early, when it did"`
}

var listKeys = spec[listKeysArgs, listKeysResult]{
	name:  "list_keys",
	title: "List API keys",
	description: "List the OpenRouter API keys of the account, newest first, 100 per page (all: true follows the " +
		"pages, up to 1000 keys; name filters by name). Use it to find a key's hash (needed by get_key, " +
		"update_key and delete_key), or to review names, spending limits, usage and last use. Disabled and expired " +
		"keys are left out unless include_disabled or include_expired is true. When next_offset is not null, call again with offset set to it. Money " +
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
	call: func(ctx context.Context, d *deps, in listKeysArgs) (listKeysResult, error) {
		offset := 0
		if in.Offset != nil {
			offset = *in.Offset
		}
		var res listKeysResult
		for fetched := 0; ; {
			p := in.ListKeysParams
			p.Offset = &offset
			page, err := d.client.ListKeys(ctx, p)
			if err != nil && fetched > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// The pages already read are worth having: say where to go on from.
				res.NextOffset = &offset
				res.Note = fmt.Sprintf("stopped after %d keys: the call ran out of time; call again with offset %d for the rest", fetched, offset)
				return res, nil
			}
			if err != nil {
				return listKeysResult{}, err
			}
			fetched += len(page)
			offset += len(page)
			if res.Keys == nil {
				res.Keys = matching(page, in.Name) // the page itself when not filtered: no copy
			} else {
				res.Keys = append(res.Keys, matching(page, in.Name)...)
			}
			full := len(page) == openrouter.PageSize
			if full && (!in.All || fetched >= maxAllKeys) {
				res.NextOffset = &offset
			}
			if !in.All || !full || fetched >= maxAllKeys {
				if res.Keys == nil {
					res.Keys = []openrouter.Key{} // an empty page is [], never null
				}
				return res, nil
			}
			progress(ctx, fetched, fmt.Sprintf("listed %d keys", fetched))
		}
	},
	text: func(in listKeysArgs, out listKeysResult) string {
		var b strings.Builder           // its String does not copy the table
		b.Grow(256 + 208*len(out.Keys)) // a row is 160 to 230 bytes
		b.WriteString(count(len(out.Keys), "key"))
		if out.NextOffset != nil {
			b.WriteString("; more remain (next_offset " + strconv.Itoa(*out.NextOffset) + ").")
		} else {
			b.WriteString("; no more.")
		}
		// audit_keys counts every key: say what this list leaves out, so the two counts can be told apart.
		switch {
		case !in.IncludeDisabled && !in.IncludeExpired:
			b.WriteString(" Disabled and expired keys are left out (include_disabled, include_expired: true lists them).")
		case !in.IncludeDisabled:
			b.WriteString(" Disabled keys are left out (include_disabled: true lists them).")
		case !in.IncludeExpired:
			b.WriteString(" Expired keys are left out (include_expired: true lists them).")
		}
		if in.Name != "" {
			b.WriteString(" Filtered by name " + strconv.Quote(in.Name) + ".")
		}
		if out.Note != "" {
			b.WriteString(" Note: " + out.Note + ".")
		}
		b.WriteString(" Columns: name | hash | label | state | limit USD (remaining, reset) | usage USD month/total | expires | last used (UTC days)\n")
		row := make([]byte, 0, 256)
		for _, k := range out.Keys {
			row = append(appendKeyRow(row[:0], k), '\n')
			b.Write(row)
		}
		b.WriteString("Every field of every key is in the structured content.")
		return b.String()
	},
}

// dateOf is the date of an ISO 8601 time, or the time as it is when it has no date to cut.
func dateOf(t string) string {
	if len(t) > len("2006-01-02") && t[len("2006-01-02")] == 'T' {
		return t[:len("2006-01-02")]
	}
	return t
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

// appendKeyRow appends one compact line of the text table: what an agent needs to pick a key, cheaply.
// It is written with strconv rather than fmt: with 100 keys a page, fmt was the larger part of
// building a list_keys result.
func appendKeyRow(b []byte, k openrouter.Key) []byte {
	sep := func(b []byte) []byte { return append(b, " | "...) }
	b = strconv.AppendQuote(b, k.Name) // quoted: a name is OpenRouter's text, not ours
	b = append(sep(b), k.Hash...)
	b = append(sep(b), k.Label...)
	b = sep(b)
	if k.Disabled {
		b = append(b, "disabled"...)
	} else {
		b = append(b, "enabled"...)
	}
	b = sep(b)
	if k.Limit == nil {
		b = append(b, "none"...)
	} else {
		b = strconv.AppendFloat(b, *k.Limit, 'g', -1, 64)
		if k.LimitRemaining != nil {
			b = strconv.AppendFloat(append(b, " ("...), *k.LimitRemaining, 'f', 2, 64)
			b = append(b, " left"...)
			if k.LimitReset != nil {
				b = append(append(b, ", "...), *k.LimitReset...)
			}
			b = append(b, ')')
		}
	}
	b = strconv.AppendFloat(sep(b), k.UsageMonthly, 'f', 2, 64)
	b = strconv.AppendFloat(append(b, '/'), k.Usage, 'f', 2, 64)
	b = sep(b)
	if k.ExpiresAt == nil {
		b = append(b, "never"...)
	} else {
		b = append(b, dateOf(*k.ExpiresAt)...) // a day, as last used is: one format in the table
	}
	b = sep(b)
	if k.LastUsedAt == nil {
		b = append(b, "never"...)
	} else {
		b = append(b, dateOf(*k.LastUsedAt)...) // the day is enough to tell a live key from an idle one
	}
	return b
}
