package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// ErrInvalidWorkspace is returned, before anything is sent, for an empty workspace id or slug.
var ErrInvalidWorkspace = errors.New("invalid workspace: want a workspace id (a UUID) or slug")

// ListWorkspaces returns one page of the account's workspaces (Limit of them, at most
// MaxWorkspacesPage; OpenRouter's default is 50) and how many there are in all. Page with Offset
// until Offset reaches TotalCount.
func (c *Client) ListWorkspaces(ctx context.Context, p ListWorkspacesParams) (*WorkspacePage, error) {
	q := url.Values{}
	if p.Offset != nil {
		q.Set("offset", strconv.Itoa(*p.Offset))
	}
	if p.Limit != nil {
		q.Set("limit", strconv.Itoa(*p.Limit))
	}
	// The workspaces name their default guardrails: one of the controls' lists, cached likewise.
	return cachedGet(ctx, c, "GET /workspaces?"+q.Encode(), func(ctx context.Context) (*WorkspacePage, error) {
		return readWorkspaces(ctx, c, q)
	}, func(p *WorkspacePage) *WorkspacePage {
		return &WorkspacePage{Workspaces: slices.Clone(p.Workspaces), TotalCount: p.TotalCount}
	})
}

// readWorkspaces is ListWorkspaces's read.
func readWorkspaces(ctx context.Context, c *Client, q url.Values) (*WorkspacePage, error) {
	var out struct {
		Data       []Workspace `json:"data"`
		TotalCount *int        `json:"total_count"`
	}
	if err := c.do(ctx, http.MethodGet, "/workspaces", q, nil, &out); err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	switch {
	case out.Data == nil:
		return nil, fmt.Errorf("list workspaces: %w", errMissing("data"))
	case out.TotalCount == nil:
		return nil, fmt.Errorf("list workspaces: %w", errMissing("total_count"))
	}
	for i := range out.Data {
		if err := validateWorkspace(&out.Data[i]); err != nil {
			return nil, fmt.Errorf("list workspaces: workspace %d of the page: %w", i+1, err)
		}
	}
	return &WorkspacePage{Workspaces: out.Data, TotalCount: *out.TotalCount}, nil
}

// GetWorkspace returns the workspace with the given id (a UUID) or slug.
func (c *Client) GetWorkspace(ctx context.Context, idOrSlug string) (*Workspace, error) {
	if idOrSlug == "" {
		return nil, fmt.Errorf("get workspace: %w", ErrInvalidWorkspace)
	}
	w, err := data[Workspace](ctx, c, http.MethodGet, "/workspaces/"+url.PathEscape(idOrSlug), nil, nil)
	if err == nil {
		err = validateWorkspace(w)
	}
	if err != nil {
		return nil, fmt.Errorf("get workspace: %w", err)
	}
	return w, nil
}

// validateWorkspace checks what a workspace cannot do without: the id that names it in other calls.
func validateWorkspace(w *Workspace) error {
	if w.ID == "" {
		return fmt.Errorf("%w: a workspace has no \"id\"", ErrMalformedResponse)
	}
	return nil
}

// GetCredits returns the credits bought and used by the account (a management key is needed).
func (c *Client) GetCredits(ctx context.Context) (*Credits, error) {
	// Pointers tell a missing figure from a zero one: a balance made up from absent fields would
	// mislead.
	var out struct {
		Data *struct {
			TotalCredits *float64 `json:"total_credits"`
			TotalUsage   *float64 `json:"total_usage"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/credits", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("get credits: %w", err)
	}
	switch {
	case out.Data == nil:
		return nil, fmt.Errorf("get credits: %w", errMissing("data"))
	case out.Data.TotalCredits == nil:
		return nil, fmt.Errorf("get credits: %w", errMissing("total_credits"))
	case out.Data.TotalUsage == nil:
		return nil, fmt.Errorf("get credits: %w", errMissing("total_usage"))
	}
	return &Credits{TotalCredits: *out.Data.TotalCredits, TotalUsage: *out.Data.TotalUsage}, nil
}

// GetActivity returns the account's activity rows (per UTC day, model and endpoint, and per
// workspace with GroupBy) for the last 30 completed UTC days, narrowed by p's filters.
func (c *Client) GetActivity(ctx context.Context, p ActivityParams) ([]ActivityRow, error) {
	if p.APIKeyHash != "" && !ValidHash(p.APIKeyHash) {
		return nil, fmt.Errorf("get activity: %w", ErrInvalidHash)
	}
	q := url.Values{}
	for name, v := range map[string]string{"date": p.Date, "api_key_hash": p.APIKeyHash, "workspace_id": p.WorkspaceID, "group_by": p.GroupBy} {
		if v != "" {
			q.Set(name, v)
		}
	}
	rows, err := data[[]ActivityRow](ctx, c, http.MethodGet, "/activity", q, nil)
	if err != nil {
		return nil, fmt.Errorf("get activity: %w", err)
	}
	for i, r := range *rows {
		if r.Date == "" || r.Model == "" {
			return nil, fmt.Errorf("get activity: row %d: %w: no \"date\" or \"model\"", i+1, ErrMalformedResponse)
		}
	}
	return *rows, nil
}
