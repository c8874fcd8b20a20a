package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Reading many keys in one call, for audit_keys, list_keys with all and whatever else reads every
// key of a selection: the pages are read concurrently, within OpenRouter's limits (openrouter.WalkPages).

// maxWalkKeys caps how many keys one call reads: 50 pages, which at 8 in flight take 7 round trips.
const maxWalkKeys = 5000

// keyListing is the listing of the keys that p selects, from p.Offset on.
func keyListing(c *openrouter.Client, p openrouter.ListKeysParams) openrouter.Listing[openrouter.Key] {
	base := 0
	if p.Offset != nil {
		base = *p.Offset
	}
	return func(ctx context.Context, offset int) ([]openrouter.Key, error) {
		q := p
		at := base + offset
		q.Offset = &at
		keys, err := c.ListKeys(ctx, q)
		if err != nil && q.WorkspaceID != "" {
			return nil, fmt.Errorf("list the keys of workspace %s: %w", q.WorkspaceID, err)
		}
		return keys, err
	}
}

// walkKeys reads the keys each of selections selects, telling the client how many have been read
// when it asked to know. Each selection's keys come back in OpenRouter's order, exactly as reading
// page after page returns them. o bounds the walk (its page size is OpenRouter's).
func walkKeys(ctx context.Context, c *openrouter.Client, o openrouter.WalkOptions, selections ...openrouter.ListKeysParams) ([]openrouter.Walked[openrouter.Key], error) {
	o.PageSize = openrouter.PageSize
	o.Progress = func(n int) { progress(ctx, n, fmt.Sprintf("read %d keys", n)) }
	listings := make([]openrouter.Listing[openrouter.Key], len(selections))
	for i, p := range selections {
		listings[i] = keyListing(c, p)
	}
	return openrouter.WalkPages(ctx, c, o, listings...)
}

// keysOf reads every key of the workspaces, disabled and expired ones included, workspace by
// workspace; more than maxWalkKeys in all is errTooManyKeys.
func keysOf(ctx context.Context, c *openrouter.Client, workspaces []string) ([]openrouter.Key, error) {
	selections := make([]openrouter.ListKeysParams, len(workspaces))
	for i, ws := range workspaces {
		selections[i] = openrouter.ListKeysParams{WorkspaceID: ws, IncludeDisabled: true, IncludeExpired: true}
	}
	walked, err := walkKeys(ctx, c, openrouter.WalkOptions{MaxItems: maxWalkKeys}, selections...)
	if errors.Is(err, openrouter.ErrTooManyItems) {
		return nil, errTooManyKeys
	}
	if err != nil {
		return nil, err
	}
	var keys []openrouter.Key
	for _, w := range walked {
		keys = append(keys, w.Items...)
	}
	return keys, nil
}
