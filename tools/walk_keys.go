package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

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
	return walkKeysTelling(ctx, c, o, newReadCount(ctx).walk(), selections...)
}

// walkKeysTelling is walkKeys telling told how many keys it has read.
func walkKeysTelling(ctx context.Context, c *openrouter.Client, o openrouter.WalkOptions, told func(int), selections ...openrouter.ListKeysParams) ([]openrouter.Walked[openrouter.Key], error) {
	o.PageSize = openrouter.PageSize
	o.Progress = told
	listings := make([]openrouter.Listing[openrouter.Key], len(selections))
	for i, p := range selections {
		listings[i] = keyListing(c, p)
	}
	return openrouter.WalkPages(ctx, c, o, listings...)
}

// readCount tells the client how many keys the walks of one call have read together, always more
// than it told before.
type readCount struct {
	ctx  context.Context
	mu   sync.Mutex
	read []int // by walk
	told int
}

func newReadCount(ctx context.Context) *readCount { return &readCount{ctx: ctx} }

// walk returns the Progress of one more walk.
func (r *readCount) walk() func(int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.read)
	r.read = append(r.read, 0)
	return func(n int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.read[i] = n
		sum := 0
		for _, n := range r.read {
			sum += n
		}
		if sum > r.told {
			r.told = sum
			progress(r.ctx, sum, fmt.Sprintf("read %d keys", sum))
		}
	}
}

// defaultKeys is a walk of the default workspace's keys (GET /keys without workspace_id) started before
// the account's workspaces are known, so that its first pages go out beside the read of them: reading
// every workspace's keys then takes one round trip less. Which workspace it reads is told by its keys.
type defaultKeys struct {
	cancel    context.CancelFunc
	workspace chan string // the default workspace's id, from the first page's keys; "" when it tells none
	done      chan struct{}
	walked    []openrouter.Walked[openrouter.Key]
	err       error
}

// startDefaultKeys starts walking the default workspace's keys, disabled and expired ones included.
func startDefaultKeys(ctx context.Context, c *openrouter.Client, count *readCount) *defaultKeys {
	ctx, cancel := context.WithCancel(ctx)
	d := &defaultKeys{cancel: cancel, workspace: make(chan string, 1), done: make(chan struct{})}
	var once sync.Once
	tell := func(id string) { once.Do(func() { d.workspace <- id }) }
	read := keyListing(c, openrouter.ListKeysParams{IncludeDisabled: true, IncludeExpired: true})
	listing := func(ctx context.Context, offset int) ([]openrouter.Key, error) {
		keys, err := read(ctx, offset)
		if offset == 0 && err == nil {
			id := ""
			if len(keys) > 0 {
				id = keys[0].WorkspaceID
			}
			tell(id)
		}
		return keys, err
	}
	go func() {
		defer close(d.done)
		defer tell("") // the first page never came
		d.walked, d.err = openrouter.WalkPages(ctx, c, openrouter.WalkOptions{PageSize: openrouter.PageSize,
			MaxItems: maxWalkKeys, Progress: count.walk()}, listing)
	}()
	return d
}

// stop ends the walk, unless it has ended.
func (d *defaultKeys) stop() {
	d.cancel()
	<-d.done
}

// keysOf reads every key of the workspaces, disabled and expired ones included, workspace by
// workspace; more than maxWalkKeys in all is errTooManyKeys. def, when not nil, is a walk of the
// default workspace's keys already under way: it reads that workspace's keys, if it is one of these,
// and is stopped otherwise.
func keysOf(ctx context.Context, c *openrouter.Client, workspaces []string, def *defaultKeys, count *readCount) ([]openrouter.Key, error) {
	at := -1 // the index of the default workspace in workspaces, when def reads it
	if def != nil {
		select {
		case id := <-def.workspace:
			at = slices.Index(workspaces, id)
		case <-ctx.Done():
		}
		if at < 0 {
			def.stop()
		}
		defer def.stop()
	}
	var selections []openrouter.ListKeysParams
	for i, ws := range workspaces {
		if i != at {
			selections = append(selections, openrouter.ListKeysParams{WorkspaceID: ws, IncludeDisabled: true, IncludeExpired: true})
		}
	}
	walked, err := walkKeysTelling(ctx, c, openrouter.WalkOptions{MaxItems: maxWalkKeys}, count.walk(), selections...)
	if at >= 0 {
		<-def.done
		err = cmp.Or(err, def.err)
		if err == nil && !allIn(def.walked, workspaces[at]) {
			// OpenRouter documents GET /keys without workspace_id as the default workspace's keys; a
			// listing that holds another's is not trusted to be it, and the workspace is read by its id.
			def.walked, err = walkKeysTelling(ctx, c, openrouter.WalkOptions{MaxItems: maxWalkKeys}, count.walk(),
				openrouter.ListKeysParams{WorkspaceID: workspaces[at], IncludeDisabled: true, IncludeExpired: true})
		}
	}
	if errors.Is(err, openrouter.ErrTooManyItems) {
		return nil, errTooManyKeys
	}
	if err != nil {
		return nil, err
	}
	if at >= 0 {
		walked = slices.Insert(walked, at, def.walked...)
	}
	var keys []openrouter.Key
	for _, w := range walked {
		keys = append(keys, w.Items...)
	}
	if len(keys) > maxWalkKeys {
		return nil, errTooManyKeys
	}
	return keys, nil
}

// allIn reports whether every key walked is of the workspace.
func allIn(walked []openrouter.Walked[openrouter.Key], workspace string) bool {
	for _, w := range walked {
		for _, k := range w.Items {
			if k.WorkspaceID != workspace {
				return false
			}
		}
	}
	return true
}

// stopIf stops d, if there is one.
func (d *defaultKeys) stopIf() {
	if d != nil {
		d.stop()
	}
}
