package tools

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// activityArgs are the filters of GET /activity that an agent needs. api_key_hash is offered as hash,
// the name every other tool gives a key's hash; user_id and group_by are left out (openapi_test says why).
type activityArgs struct {
	Hash        string `json:"hash,omitempty" jsonschema:"only this key (its hash, from list_keys)"`
	Date        string `json:"date,omitempty" jsonschema:"only this UTC day, YYYY-MM-DD"`
	WorkspaceID string `json:"workspace_id,omitempty" jsonschema:"only this workspace (a UUID)"`
	pageArgs
}

// activityTotals adds up the rows.
type activityTotals struct {
	Usage            float64 `json:"usage" jsonschema:"USD spent"`
	Requests         int64   `json:"requests"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
}

// add counts one row in t.
func (t *activityTotals) add(r openrouter.ActivityRow) {
	t.Usage += r.Usage
	t.Requests += r.Requests
	t.PromptTokens += r.PromptTokens
	t.CompletionTokens += r.CompletionTokens
}

// activityResult is get_activity's structuredContent.
type activityResult struct {
	Rows       []openrouter.ActivityRow `json:"rows" jsonschema:"one row per UTC day, model and provider endpoint; as many as fit in about 24 KB (or page_size), from cursor on"`
	Totals     activityTotals           `json:"totals" jsonschema:"the sums of all the rows, those of other results included"`
	NextCursor *string                  `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next rows; null when this result lists the last"`
	// all is every row, which the text sums up whichever rows the result lists.
	all []openrouter.ActivityRow
}

var getActivity = spec[activityArgs, activityResult]{
	name:  "get_activity",
	title: "Show spending activity",
	description: "Show the account's spend in USD, with requests and tokens, per day and model over the last 30 " +
		"completed UTC days; optionally for one key, day or workspace.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		requireHash(s)
		property(s, "date").Pattern = datePattern
		property(s, "workspace_id").Pattern = uuidPattern
	},
	constrainOutput: func(s *jsonschema.Schema) {
		rows := property(s, "rows")
		rows.Types, rows.Type = nil, "array" // never null: no activity is []
	},
	refuse: func(in activityArgs) error {
		if in.Date == "" {
			return nil
		}
		// The pattern lets 2026-02-30 through; OpenRouter would refuse it after a round trip.
		if _, err := time.Parse(time.DateOnly, in.Date); err != nil {
			return invalidArgs("`date` is not a day of the calendar; give YYYY-MM-DD, one of the last 30 completed UTC days")
		}
		return nil
	},
	call: func(ctx context.Context, d *deps, in activityArgs) (activityResult, error) {
		rows, err := d.client.GetActivity(ctx, openrouter.ActivityParams{Date: in.Date, APIKeyHash: in.Hash, WorkspaceID: in.WorkspaceID})
		if err != nil {
			return activityResult{}, err
		}
		res := activityResult{Rows: rows, all: rows}
		for _, r := range rows {
			res.Totals.add(r)
		}
		res.Totals.Usage = roundUSD(res.Totals.Usage)
		return res, nil
	},
	text:  activityText,
	items: func(out activityResult) int { return len(out.Rows) },
	window: func(_ activityArgs, out activityResult, from, to int, next *string) activityResult {
		out.Rows, out.NextCursor = out.Rows[from:to], next
		return out
	},
}

// activityText sums the rows up by model (the top five by spend) and by day: what an agent asks of
// its spend, in a few hundred bytes, where the rows could run to tens of kilobytes.
func activityText(in activityArgs, out activityResult) string {
	var b strings.Builder
	b.WriteString("Spend over the last 30 completed UTC days")
	if in.Hash != "" {
		b.WriteString(", one key")
	}
	if in.Date != "" {
		b.WriteString(", on " + in.Date)
	}
	if in.WorkspaceID != "" {
		b.WriteString(", workspace " + in.WorkspaceID)
	}
	t := out.Totals
	b.WriteString(": $" + usd(t.Usage) + ", " + strconv.FormatInt(t.Requests, 10) + " requests, " +
		strconv.FormatInt(t.PromptTokens, 10) + " prompt and " + strconv.FormatInt(t.CompletionTokens, 10) +
		" completion tokens, in " + count(len(out.all), "row") + ".")
	if len(out.all) == 0 {
		return b.String()
	}

	models := groupRows(out.all, func(r openrouter.ActivityRow) string { return r.Model })
	slices.SortStableFunc(models, func(x, y rowGroup) int { return cmp.Compare(y.Usage, x.Usage) })
	b.WriteString("\nTop models, USD (requests): ")
	for i, m := range models[:min(5, len(models))] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.name + " " + usd(m.Usage) + " (" + strconv.FormatInt(m.Requests, 10) + ")")
	}
	if rest := len(models) - 5; rest > 0 {
		b.WriteString("; " + strconv.Itoa(rest) + " more")
	}

	days := groupRows(out.all, func(r openrouter.ActivityRow) string { return r.Date })
	slices.SortFunc(days, func(x, y rowGroup) int { return strings.Compare(x.name, y.name) })
	b.WriteString("\nBy day, USD (requests): ")
	for i, d := range days {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.name + " " + usd(d.Usage) + " (" + strconv.FormatInt(d.Requests, 10) + ")")
	}
	b.WriteString("\nThe rows are in the structured content.")
	b.WriteString(moreText(len(out.Rows), len(out.all), out.NextCursor, "date, hash or workspace_id"))
	return b.String()
}

// rowGroup is the totals of the rows that share a model or a day.
type rowGroup struct {
	name string
	activityTotals
}

// groupRows totals the rows by key, in the order each key first appears.
func groupRows(rows []openrouter.ActivityRow, key func(openrouter.ActivityRow) string) []rowGroup {
	var groups []rowGroup
	index := map[string]int{}
	for _, r := range rows {
		k := key(r)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, rowGroup{name: k})
		}
		groups[i].add(r)
	}
	return groups
}

// usd formats an amount of dollars to the cent.
func usd(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
