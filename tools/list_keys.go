package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// listKeysArgs are GET /keys's query parameters plus two conveniences for agents, done here because
// OpenRouter offers neither: a name filter and following the pages; and the paging of the result.
type listKeysArgs struct {
	openrouter.ListKeysParams
	Name string `json:"name,omitempty" jsonschema:"only names containing this (any case); all: true searches every key"`
	All  bool   `json:"all,omitempty" jsonschema:"every page from offset on, up to 5000 keys"`
	pageArgs
}

// listKeysResult is list_keys' structuredContent.
type listKeysResult struct {
	Keys       []keyView `json:"keys" jsonschema:"the keys, newest first; as many as fit in about 24 KB (or page_size), from cursor on"`
	NextCursor *string   `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next keys of this listing; null when this result shows its last"`
	NextOffset *int      `json:"next_offset" jsonschema:"pass as offset (without cursor) to go on where OpenRouter's listing stopped; null when there are no more keys, or while next_cursor goes on"`
	Note       string    `json:"note,omitempty" jsonschema:"why the result stopped early, or lacks guardrails and creators, when it does"`
	// offset is where the listing started, for the window's next_offset.
	offset int
}

var listKeys = spec[listKeysArgs, listKeysResult]{
	name:  "list_keys",
	title: "List API keys",
	description: "List the account's keys, newest first, 100 a page (or all, up to 5000). Use it to find a key's " +
		"hash for the other tools, or to review limits, usage, last use, guardrail and creator. Money is in USD; " +
		"limits reset at midnight UTC. Shows masked labels, never secrets.",
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
		// The controls of the keys' workspace are read while its keys are: a listing takes the round
		// trips of its pages alone.
		var (
			ctl    *controls
			ctlErr error
			wg     sync.WaitGroup
		)
		ctlCtx, stopControls := context.WithCancel(ctx)
		defer stopControls()
		wg.Go(func() { ctl, ctlErr = readControls(ctlCtx, d.client, []string{in.WorkspaceID}) })
		keys, res, err := listPages(ctx, d, in)
		if err != nil {
			stopControls()
		}
		wg.Wait()
		if err != nil {
			return listKeysResult{}, err
		}
		var note string
		res.Keys, note = viewsWith(ctl, ctlErr, keys)
		res.Note = strings.Join(slices.DeleteFunc([]string{res.Note, note}, func(s string) bool { return s == "" }), "; ")
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
		b.Grow(256 + 256*len(out.Keys)) // a row is 190 to 290 bytes, with the guardrail and creator
		b.WriteString(count(len(out.Keys), "key"))
		switch {
		case out.NextCursor != nil:
			b.WriteString("; more remain: call again with the same arguments and cursor " + strconv.Quote(*out.NextCursor) + ".")
		case out.NextOffset != nil:
			b.WriteString("; more remain (next_offset " + strconv.Itoa(*out.NextOffset) + ").")
		default:
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
		if out.Note != "" {
			b.WriteString(" Note: " + out.Note + ".")
		}
		if in.Name != "" {
			b.WriteString(" Filtered by name " + strconv.Quote(in.Name) + ".")
		}
		b.WriteString(" Columns: " + keyColumns + "\n")
		row := make([]byte, 0, 256)
		for _, k := range out.Keys {
			row = append(appendViewRow(row[:0], k), '\n')
			b.Write(row)
		}
		b.WriteString("Every field of every key is in the structured content.")
		return b.String()
	},
}

// listPages reads the page asked for, or with all every page from offset on (concurrently, through
// walkKeys), and the keys matching the name; the result holds where the listing started, where to go
// on and why it stopped early.
func listPages(ctx context.Context, d *deps, in listKeysArgs) ([]openrouter.Key, listKeysResult, error) {
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
		return nil, listKeysResult{}, err
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
	return matching(read, in.Name), res, nil
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

// keyColumns names the columns of appendViewRow.
const keyColumns = "name | hash | label | state | limit USD (remaining, reset) | usage USD month/total | expires | last used (UTC days) | guardrail | created by"

// appendViewRow appends one compact line of the text table, with the key's guardrail and creator.
func appendViewRow(b []byte, k keyView) []byte {
	b = append(appendKeyRow(b, k.Key), " | "...)
	return appendCreatorText(append(appendGuardrailText(b, k.Guardrail), " | "...), k.Creator)
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
