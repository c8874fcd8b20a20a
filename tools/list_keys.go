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

// listKeysArgs are GET /keys's query parameters plus two conveniences for agents, done here because
// OpenRouter offers neither: a name filter and following the pages; and the paging of the result.
type listKeysArgs struct {
	openrouter.ListKeysParams
	Name string `json:"name,omitempty" jsonschema:"only keys whose name contains this text, ignoring case; with all: true, of every key"`
	All  bool   `json:"all,omitempty" jsonschema:"follow the pages from offset on, up to 5000 keys"`
	pageArgs
}

// listKeysResult is list_keys' structuredContent.
type listKeysResult struct {
	Keys       []openrouter.Key `json:"keys" jsonschema:"the keys, newest first; as many as fit in about 24 KB (or page_size), from cursor on"`
	NextCursor *string          `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next keys of this listing; null when this result shows its last"`
	NextOffset *int             `json:"next_offset" jsonschema:"pass as offset (without cursor) to go on where OpenRouter's listing stopped; null when there are no more keys, or while next_cursor goes on"`
	Note       string           `json:"note,omitempty" jsonschema:"why the result stopped early, when it did"`
	// offset is where the listing started, for the window's next_offset.
	offset int
}

var listKeys = spec[listKeysArgs, listKeysResult]{
	name:  "list_keys",
	title: "List API keys",
	description: "List the OpenRouter API keys of the account, newest first, a page of 100 at a time. Use it to find " +
		"a key's hash (needed by get_key, update_key and delete_key), or to review names, spending limits, usage and " +
		"last use. For more, pass next_cursor as cursor, else next_offset as offset. Money " +
		"is in USD; limits reset at midnight UTC. Results never contain secret keys, only masked labels. Needs a " +
		"management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "offset").Minimum = jsonschema.Ptr(0.0)
		property(s, "workspace_id").Pattern = uuidPattern
		constrainPaging(s)
	},
	constrainOutput: func(s *jsonschema.Schema) {
		keys := property(s, "keys")
		keys.Types, keys.Type = nil, "array" // never null: an empty page is []
	},
	call: func(ctx context.Context, d *deps, in listKeysArgs) (listKeysResult, error) {
		var res listKeysResult
		if in.Offset != nil {
			res.offset = *in.Offset
		}
		pages := 1
		if in.All {
			pages = maxWalkKeys / openrouter.PageSize
		}
		walked, err := walkKeys(ctx, d.client, openrouter.WalkOptions{MaxPages: pages}, in.ListKeysParams)
		if err != nil && (len(walked) == 0 || len(walked[0].Items) == 0 || !errors.Is(ctx.Err(), context.DeadlineExceeded)) {
			return listKeysResult{}, err
		}
		read := walked[0].Items
		if walked[0].More {
			next := res.offset + len(read)
			res.NextOffset = &next
		}
		if err != nil {
			// The pages already read are worth having: say where to go on from.
			res.Note = fmt.Sprintf("stopped after %d keys: the call ran out of time; call again with offset %d for the rest", len(read), *res.NextOffset)
		}
		res.Keys = matching(read, in.Name)
		if res.Keys == nil {
			res.Keys = []openrouter.Key{} // an empty page is [], never null
		}
		return res, nil
	},
	items: func(out listKeysResult) int { return len(out.Keys) },
	window: func(in listKeysArgs, out listKeysResult, from, to int, next *string) listKeysResult {
		cut := to < len(out.Keys)
		out.Keys, out.NextCursor = out.Keys[from:to], next
		if cut {
			// The listing goes on inside this result: by offset too when the keys are the listing's own.
			out.NextOffset = nil
			if in.Name == "" {
				at := out.offset + to
				out.NextOffset = &at
			}
		}
		return out
	},
	text: func(in listKeysArgs, out listKeysResult) string {
		var b strings.Builder           // its String does not copy the table
		b.Grow(256 + 208*len(out.Keys)) // a row is 160 to 230 bytes
		b.WriteString(strconv.Itoa(len(out.Keys)))
		switch {
		case out.NextCursor != nil:
			b.WriteString(" keys; more remain: call again with the same arguments and cursor " + strconv.Quote(*out.NextCursor) + ".")
		case out.NextOffset != nil:
			b.WriteString(" keys; more remain (next_offset " + strconv.Itoa(*out.NextOffset) + ").")
		default:
			b.WriteString(" keys; no more.")
		}
		if out.Note != "" {
			b.WriteString(" Note: " + out.Note + ".")
		}
		if in.Name != "" {
			b.WriteString(" Filtered by name " + strconv.Quote(in.Name) + ".")
		}
		b.WriteString(" Columns: name | hash | label | state | limit USD (remaining, reset) | usage USD month/total | expires | last used\n")
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
		b = append(b, *k.ExpiresAt...)
	}
	b = sep(b)
	if k.LastUsedAt == nil {
		b = append(b, "never"...)
	} else {
		b = append(b, dateOf(*k.LastUsedAt)...) // the day is enough to tell a live key from an idle one
	}
	return b
}
