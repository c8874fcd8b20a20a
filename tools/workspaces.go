package tools

import (
	"context"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Reading every workspace of the account, for list_workspaces and audit_keys.

// maxWorkspaces caps how many workspaces list_workspaces gathers (five full pages), so one call cannot
// flood the model's context.
const maxWorkspaces = 500

// readWorkspaces follows the pages of the account's workspaces up to maxWorkspaces, and returns them
// ([] when there are none) with OpenRouter's count of them all.
func readWorkspaces(ctx context.Context, c *openrouter.Client) ([]openrouter.Workspace, int, error) {
	ws := []openrouter.Workspace{}
	limit := openrouter.MaxWorkspacesPage
	for {
		offset := len(ws)
		page, err := c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{Offset: &offset, Limit: &limit})
		if err != nil {
			return nil, 0, err
		}
		ws = append(ws, page.Workspaces...)
		// An empty page ends the loop too, should total_count promise more than there is.
		if len(page.Workspaces) == 0 || len(ws) >= page.TotalCount || len(ws) >= maxWorkspaces {
			return ws, page.TotalCount, nil
		}
	}
}
