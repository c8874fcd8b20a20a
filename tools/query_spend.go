package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

const (
	defaultSpendDays = 30
	maxSpendDays     = 366 // OpenRouter's widest range
	spendTextRows    = 15  // rows the text shows; all are in structuredContent
)

// querySpendArgs are the range and the grouping of a spend query.
type querySpendArgs struct {
	Start   string `json:"start,omitempty" jsonschema:"first UTC day"`
	End     string `json:"end,omitempty" jsonschema:"last UTC day; default yesterday"`
	Days    int    `json:"days,omitempty" jsonschema:"days up to end, without start; default 30"`
	GroupBy string `json:"group_by,omitempty" jsonschema:"default key"`
	Hash    string `json:"hash,omitempty" jsonschema:"only this key"`
	pageArgs
}

// spendRow is one group's spend.
type spendRow struct {
	Group    string  `json:"group" jsonschema:"the key's hash, the model, or the period's first day"`
	Name     string  `json:"name,omitempty" jsonschema:"the key's name, when grouped by key and the key still exists"`
	Usage    float64 `json:"usage" jsonschema:"USD of credits spent"`
	Requests int     `json:"requests" jsonschema:"requests made"`
}

// querySpendResult is query_spend's structuredContent.
type querySpendResult struct {
	Start      string     `json:"start" jsonschema:"the first day counted"`
	End        string     `json:"end" jsonschema:"the last day counted"`
	GroupBy    string     `json:"group_by" jsonschema:"how the rows are grouped"`
	Rows       []spendRow `json:"rows" jsonschema:"the groups: by spend, largest first, or by period; as many as fit in about 24 KB (or page_size), from cursor on"`
	Usage      float64    `json:"usage" jsonschema:"USD spent over the range"`
	Requests   int        `json:"requests" jsonschema:"requests over the range"`
	Truncated  bool       `json:"truncated,omitempty" jsonschema:"true when OpenRouter returned only part of the rows"`
	NextCursor *string    `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next rows; null when this result lists the last"`
	// total is how many rows there are, in this result or others.
	total int
}

var querySpend = spec[querySpendArgs, querySpendResult]{
	name:        "query_spend",
	title:       "Query spend",
	description: "Spend (USD) and requests over up to 366 completed UTC days, by key, model, day, week or month.",
	hints:       mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "start").Pattern = datePattern
		property(s, "end").Pattern = datePattern
		days := property(s, "days")
		days.Minimum, days.Maximum = jsonschema.Ptr(1.0), jsonschema.Ptr(float64(maxSpendDays))
		property(s, "group_by").Enum = []any{"key", "model", "day", "week", "month"}
		property(s, "hash").Pattern = openrouter.HashPattern
	},
	call: func(ctx context.Context, d *deps, in querySpendArgs) (querySpendResult, error) {
		start, end, err := in.dateRange(time.Now())
		if err != nil {
			return querySpendResult{}, err
		}
		group := cmp.Or(in.GroupBy, "key")
		q := openrouter.AnalyticsQuery{
			Metrics:   []string{openrouter.MetricTotalUsage, openrouter.MetricRequestCount},
			TimeRange: &openrouter.TimeRange{Start: start, End: end.AddDate(0, 0, 1)},
		}
		column := map[string]string{"key": openrouter.DimensionAPIKey, "model": openrouter.DimensionModel}[group]
		if column != "" {
			q.Dimensions = []string{column}
		} else {
			q.Granularity = group
			column = "date__" + group
		}
		if in.Hash != "" {
			q.Filters = []openrouter.AnalyticsFilter{{Field: openrouter.DimensionAPIKey, Operator: "eq", Value: in.Hash}}
		}
		res, err := d.client.QueryAnalytics(ctx, q)
		if err != nil {
			return querySpendResult{}, err
		}
		out := querySpendResult{Start: day(start), End: day(end), GroupBy: group, Rows: []spendRow{}, Truncated: res.Truncated}
		for _, r := range res.Rows {
			row := spendRow{Group: fmt.Sprint(r[column]), Usage: number(r[openrouter.MetricTotalUsage]), Requests: int(number(r[openrouter.MetricRequestCount]))}
			row.Group = dateOf(row.Group)
			out.Rows = append(out.Rows, row)
			out.Usage += row.Usage
			out.Requests += row.Requests
		}
		out.Usage = roundUSD(out.Usage)
		if column == openrouter.DimensionAPIKey || column == openrouter.DimensionModel {
			slices.SortStableFunc(out.Rows, func(a, b spendRow) int { return cmp.Compare(b.Usage, a.Usage) })
		} else {
			slices.SortStableFunc(out.Rows, func(a, b spendRow) int { return cmp.Compare(a.Group, b.Group) })
		}
		if group == "key" {
			// Names make the table readable; a key deleted since has none.
			keys, _, err := auditedKeys(ctx, d.client, nil)
			if err != nil {
				return querySpendResult{}, err
			}
			names := map[string]string{}
			for _, k := range keys {
				names[k.Hash] = k.Name
			}
			for i := range out.Rows {
				out.Rows[i].Name = names[out.Rows[i].Group]
			}
		}
		out.total = len(out.Rows)
		return out, nil
	},
	items: func(out querySpendResult) int { return len(out.Rows) },
	window: func(_ querySpendArgs, out querySpendResult, from, to int, next *string) querySpendResult {
		out.Rows, out.NextCursor = out.Rows[from:to], next
		return out
	},
	text: func(_ querySpendArgs, out querySpendResult) string {
		var b strings.Builder
		fmt.Fprintf(&b, "Spend from %s to %s (UTC days) by %s: %s USD over %d requests.", out.Start, out.End, out.GroupBy,
			strconv.FormatFloat(out.Usage, 'f', 2, 64), out.Requests)
		if out.Truncated {
			b.WriteString(" OpenRouter returned only part of the rows; narrow the range.")
		}
		fmt.Fprintf(&b, " Columns: %s | USD | requests", out.GroupBy)
		for i, r := range out.Rows {
			if i == spendTextRows {
				fmt.Fprintf(&b, "\nand %d more rows (in the structured content)", len(out.Rows)-spendTextRows)
				break
			}
			group := r.Group
			if out.GroupBy == "key" {
				name := "(deleted)"
				if r.Name != "" {
					name = strconv.Quote(r.Name)
				}
				group = name + " " + r.Group
			}
			fmt.Fprintf(&b, "\n%s | %.2f | %d", group, r.Usage, r.Requests)
		}
		b.WriteString(moreText(len(out.Rows), out.total, out.NextCursor, "start, end, days or hash"))
		return b.String()
	},
}

// dateRange is the first and last day of the query (midnight UTC), checked against OpenRouter's range.
func (in querySpendArgs) dateRange(now time.Time) (start, end time.Time, err error) {
	end = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	if in.End != "" {
		if end, err = time.Parse(time.DateOnly, in.End); err != nil {
			return start, end, invalidArgs("`end` must be a date such as 2026-11-30")
		}
	}
	start = end.AddDate(0, 0, 1-cmp.Or(in.Days, defaultSpendDays))
	if in.Start != "" {
		if start, err = time.Parse(time.DateOnly, in.Start); err != nil {
			return start, end, invalidArgs("`start` must be a date such as 2026-09-01")
		}
	}
	if end.Before(start) || end.Sub(start) >= maxSpendDays*24*time.Hour {
		return start, end, invalidArgs(fmt.Sprintf("the range from %s to %s must run forward and cover at most %d days",
			day(start), day(end), maxSpendDays))
	}
	return start, end, nil
}

// number reads a figure of an analytics row; anything but a number is 0.
func number(v any) float64 {
	f, _ := v.(float64)
	return f
}
