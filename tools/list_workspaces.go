package tools

import (
	"context"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// listWorkspacesArgs page the result.
type listWorkspacesArgs struct {
	pageArgs
}

// listWorkspacesResult is list_workspaces' structuredContent. Each workspace is whole, as OpenRouter
// returns it (DESIGN §3); the text block is the compact view.
type listWorkspacesResult struct {
	Workspaces []openrouter.Workspace `json:"workspaces"`
	// TotalCount is OpenRouter's own figure: more than len(Workspaces) only past the cap.
	TotalCount int `json:"total_count" jsonschema:"how many workspaces the account has"`
	// NextCursor goes on past the workspaces that fit in one result.
	NextCursor *string `json:"next_cursor" jsonschema:"pass as cursor for the next workspaces; null when this result lists the last"`
}

var listWorkspaces = spec[listWorkspacesArgs, listWorkspacesResult]{
	name:  "list_workspaces",
	title: "List workspaces",
	description: "List the account's workspaces (up to 500): id, name, slug, description and settings. Pass an " +
		"id as workspace_id to list_keys, create_key or get_activity.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainOutput: func(s *jsonschema.Schema) {
		ws := property(s, "workspaces")
		ws.Types, ws.Type = nil, "array" // never null: no workspaces is []
	},
	call: func(ctx context.Context, d *deps, _ listWorkspacesArgs) (listWorkspacesResult, error) {
		ws, total, err := readWorkspaces(ctx, d.client)
		return listWorkspacesResult{Workspaces: ws, TotalCount: total}, err
	},
	text: func(_ listWorkspacesArgs, out listWorkspacesResult) string {
		var b strings.Builder
		b.WriteString(count(len(out.Workspaces), "workspace"))
		if out.TotalCount > len(out.Workspaces) {
			b.WriteString(" of " + strconv.Itoa(out.TotalCount))
		}
		if out.TotalCount > maxWorkspaces {
			b.WriteString(" (only the first 500 can be listed)")
		}
		b.WriteString(". Columns: name | slug | id | description\n")
		for _, w := range out.Workspaces {
			description := "-"
			if w.Description != nil && strings.TrimSpace(*w.Description) != "" {
				// One line, so that a description cannot break the table.
				description = clip(strings.Join(strings.Fields(*w.Description), " "), 80)
			}
			b.WriteString(strconv.Quote(w.Name) + " | " + w.Slug + " | " + w.ID + " | " + description + "\n")
		}
		b.WriteString("Every field of every workspace is in the structured content.")
		b.WriteString(moreText(len(out.Workspaces), out.TotalCount, out.NextCursor, ""))
		return b.String()
	},
	items: func(out listWorkspacesResult) int { return len(out.Workspaces) },
	window: func(_ listWorkspacesArgs, out listWorkspacesResult, from, to int, next *string) listWorkspacesResult {
		out.Workspaces, out.NextCursor = out.Workspaces[from:to], next
		return out
	},
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
