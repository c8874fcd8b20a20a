package tools

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Reading the controls OpenRouter keeps beside the keys, by hash and by member: which guardrail binds a
// key and who made it, for get_key, list_keys, audit_keys, list_guardrails, list_members and rotate_key.

// maxControlItems caps how many items of one list beside the keys (assignments, members, guardrails) a
// call reads, so that one call cannot run away on a huge organization.
const maxControlItems = 5000

// Ways a guardrail binds a key, most specific first.
const (
	viaKey       = "key"       // assigned to the key itself
	viaMember    = "member"    // assigned to the member who created the key
	viaWorkspace = "workspace" // the default guardrail of the key's workspace
)

// guardrailRef names the guardrail that binds a key.
type guardrailRef struct {
	ID            string   `json:"id" jsonschema:"the guardrail's id"`
	Name          string   `json:"name" jsonschema:"the guardrail's name"`
	Via           string   `json:"via" jsonschema:"how it binds the key: key (assigned to it), member (assigned to its creator) or workspace (its workspace's default)"`
	LimitUSD      *float64 `json:"limit_usd" jsonschema:"the guardrail's budget in USD; null when it sets none"`
	ResetInterval *string  `json:"reset_interval" jsonschema:"daily, weekly or monthly; null when the budget never resets"`
}

// creatorRef names the member who created a key.
type creatorRef struct {
	ID    string `json:"id" jsonschema:"the member's user id (creator_user_id)"`
	Name  string `json:"name,omitempty" jsonschema:"the member's name, when known"`
	Email string `json:"email,omitempty" jsonschema:"the member's email, when they are still a member"`
	Left  bool   `json:"left,omitempty" jsonschema:"true when the creator is no longer a member of the organization"`
}

// keyView is a key as the tools show it: OpenRouter's fields, and its guardrail and creator.
type keyView struct {
	openrouter.Key
	Guardrail *guardrailRef `json:"guardrail,omitempty" jsonschema:"the guardrail that binds the key (its own, else its creator's, else its workspace's default); absent when none binds it or the controls could not be read"`
	Creator   *creatorRef   `json:"creator,omitempty" jsonschema:"who created the key; absent when OpenRouter does not say or the members could not be read"`
}

// controls are the guardrails, assignments and members of an account, as read at one time. Once built
// (wait) they are never changed: readControls shares them, through the client's cache, with every call
// within its TTL, and the views point into them (refs, creators).
type controls struct {
	guardrails       map[string]openrouter.Guardrail // by id
	keyGuardrail     map[string]string               // key hash → the id of the guardrail assigned to it
	memberGuardrail  map[string]string               // user id → the id of the guardrail assigned to them
	workspaceDefault map[string]string               // workspace id → the id of its default guardrail
	members          map[string]openrouter.Member    // by user id
	keyAssignments   []openrouter.KeyAssignment      // as OpenRouter listed them
	userAssignments  []openrouter.MemberAssignment   // as OpenRouter listed them
	listed           []openrouter.Guardrail          // the workspaces' guardrails, as OpenRouter listed them
	refs             map[boundBy]*guardrailRef       // how each guardrail binds, as the views show it
	creators         map[string]*creatorRef          // each member as the views show them as a key's creator
}

// boundBy is a guardrail (its id) binding a key in one way (via).
type boundBy struct{ id, via string }

// readAll follows the pages of a list beside the keys, up to maxControlItems.
func readAll[T any](ctx context.Context, list func(context.Context, openrouter.PageParams) (*openrouter.Page[T], error)) ([]T, error) {
	var out []T
	limit := openrouter.MaxPage
	for {
		offset := len(out)
		page, err := list(ctx, openrouter.PageParams{Offset: &offset, Limit: &limit})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		// An empty page ends the loop too, should total_count promise more than there is.
		if len(page.Items) == 0 || len(out) >= page.TotalCount {
			return out, nil
		}
		if len(out) >= maxControlItems {
			return nil, toolError(fmt.Sprintf("The organization has more than %d items in one of the lists beside the "+
				"keys (guardrail assignments or members), more than one call reads.", maxControlItems))
		}
	}
}

// readControls reads the guardrails, their assignments and the members that bear on the keys of the
// given workspaces, each named once (the default workspace by ""), all at once.
// They are built once for all the calls within the client's cache TTL that ask about the same
// workspaces (through the same key), and shared: the caller must not change them.
func readControls(ctx context.Context, c *openrouter.Client, workspaces []string) (*controls, error) {
	return openrouter.Derived(ctx, c, "controls of "+strings.Join(workspaces, "\x00"), func(ctx context.Context) (*controls, error) {
		r := startControls(ctx, c)
		r.guardrailsOf(workspaces)
		return r.wait()
	})
}

// controlsRead is a read of the controls under way. Each list is read within the key's budget of
// requests in flight (the client reads them in its lane), beside a walk of the keys.
type controlsRead struct {
	ctx        context.Context
	c          *openrouter.Client
	ctl        *controls
	mu         sync.Mutex
	wg         sync.WaitGroup
	errs       []error
	keyAssign  []openrouter.KeyAssignment
	userAssign []openrouter.MemberAssignment
	members    []openrouter.Member
	spaces     []openrouter.Workspace
}

// startControls starts reading the controls that do not depend on which workspaces are asked about:
// the assignments, the members and the workspaces (their default guardrails). An audit starts them
// while it lists the workspaces, whose read they share when the client caches.
func startControls(ctx context.Context, c *openrouter.Client) *controlsRead {
	r := &controlsRead{ctx: ctx, c: c, ctl: &controls{guardrails: map[string]openrouter.Guardrail{}, keyGuardrail: map[string]string{},
		memberGuardrail: map[string]string{}, workspaceDefault: map[string]string{}, members: map[string]openrouter.Member{}}}
	r.run("read key assignments", func() (err error) { r.keyAssign, err = readAll(ctx, c.ListKeyAssignments); return })
	r.run("read member assignments", func() (err error) { r.userAssign, err = readAll(ctx, c.ListMemberAssignments); return })
	r.run("read members", func() (err error) { r.members, err = readAll(ctx, c.ListMembers); return })
	r.run("read workspaces", func() (err error) { r.spaces, _, err = readWorkspaces(ctx, c); return })
	return r
}

// guardrailsOf starts reading the guardrails of the workspaces, each named once (the default one by "").
func (r *controlsRead) guardrailsOf(workspaces []string) {
	for _, ws := range workspaces {
		r.run("read guardrails", func() error {
			gs, err := readAll(r.ctx, func(ctx context.Context, p openrouter.PageParams) (*openrouter.Page[openrouter.Guardrail], error) {
				return r.c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{PageParams: p, WorkspaceID: ws})
			})
			r.mu.Lock()
			for _, g := range gs {
				r.ctl.guardrails[g.ID] = g
			}
			r.ctl.listed = append(r.ctl.listed, gs...)
			r.mu.Unlock()
			return err
		})
	}
}

func (r *controlsRead) run(what string, f func() error) {
	r.wg.Go(func() {
		if err := f(); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Errorf("%s: %w", what, err))
			r.mu.Unlock()
		}
	})
}

// wait waits for the lists, then reads the guardrails of other workspaces that are assigned here.
func (r *controlsRead) wait() (*controls, error) {
	r.wg.Wait()
	if len(r.errs) > 0 {
		return nil, r.errs[0]
	}
	ctl := r.ctl
	ctl.keyAssignments, ctl.userAssignments = r.keyAssign, r.userAssign
	for _, a := range r.keyAssign {
		ctl.keyGuardrail[a.KeyHash] = a.GuardrailID
	}
	for _, a := range r.userAssign {
		ctl.memberGuardrail[a.UserID] = a.GuardrailID
	}
	for _, m := range r.members {
		ctl.members[m.ID] = m
	}
	for _, w := range r.spaces {
		ctl.workspaceDefault[w.ID] = w.DefaultGuardrailID
	}
	// Guardrails of other workspaces that are assigned here, read one by one.
	missing := slices.Concat(slices.Collect(maps.Values(ctl.keyGuardrail)), slices.Collect(maps.Values(ctl.memberGuardrail)))
	missing = slices.DeleteFunc(missing, func(id string) bool { _, ok := ctl.guardrails[id]; return ok })
	for _, id := range slices.Compact(slices.Sorted(slices.Values(missing))) {
		g, err := r.c.GetGuardrail(r.ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read guardrail %s: %w", id, err)
		}
		ctl.guardrails[id] = *g
	}
	ctl.index()
	return ctl, nil
}

// index builds, once, what the views of many keys share: each guardrail as it binds a key each way,
// and each member as a key's creator.
func (ctl *controls) index() {
	ctl.refs = make(map[boundBy]*guardrailRef, 3*len(ctl.guardrails))
	for id, g := range ctl.guardrails {
		for _, via := range []string{viaKey, viaMember, viaWorkspace} {
			ctl.refs[boundBy{id, via}] = &guardrailRef{ID: g.ID, Name: g.Name, Via: via, LimitUSD: g.LimitUSD, ResetInterval: g.ResetInterval}
		}
	}
	ctl.creators = make(map[string]*creatorRef, len(ctl.members))
	for id, m := range ctl.members {
		ctl.creators[id] = &creatorRef{ID: m.ID, Name: memberName(m), Email: m.Email}
	}
}

// binding is the guardrail that binds k: its own, else its creator's, else its workspace's default
// (once configured); nil when none does. It is shared with the other views: not to be changed.
func (ctl *controls) binding(k *openrouter.Key) *guardrailRef {
	for _, b := range ctl.boundBy(k) {
		if ref := ctl.refs[b]; ref != nil {
			return ref
		}
	}
	return nil
}

// bindings are every guardrail that binds k, most specific first.
func (ctl *controls) bindings(k *openrouter.Key) []guardrailRef {
	var out []guardrailRef
	for _, b := range ctl.boundBy(k) {
		if ref := ctl.refs[b]; ref != nil {
			out = append(out, *ref)
		}
	}
	return out
}

// boundBy are the ways a guardrail may bind k, most specific first; a guardrail not read (or none, "")
// has no ref and binds nothing.
func (ctl *controls) boundBy(k *openrouter.Key) [3]boundBy {
	member := ""
	if k.CreatorUserID != nil {
		member = ctl.memberGuardrail[*k.CreatorUserID]
	}
	return [3]boundBy{{ctl.keyGuardrail[k.Hash], viaKey}, {member, viaMember}, {ctl.workspaceDefault[k.WorkspaceID], viaWorkspace}}
}

// creator names the member who created k; nil when OpenRouter does not say.
func (ctl *controls) creator(k *openrouter.Key) *creatorRef {
	if k.CreatorUserID == nil || *k.CreatorUserID == "" {
		return nil
	}
	if ref, ok := ctl.creators[*k.CreatorUserID]; ok {
		return ref // shared with the other views: not to be changed
	}
	return &creatorRef{ID: *k.CreatorUserID, Left: true}
}

// view is k with its guardrail and creator; ctl nil shows k alone.
func (ctl *controls) view(k openrouter.Key) keyView {
	if ctl == nil {
		return keyView{Key: k}
	}
	return keyView{Key: k, Guardrail: ctl.binding(&k), Creator: ctl.creator(&k)}
}

// memberName is a member's first and last name, "" when OpenRouter has neither.
func memberName(m openrouter.Member) string {
	var parts []string
	for _, p := range []*string{m.FirstName, m.LastName} {
		if p != nil && *p != "" {
			parts = append(parts, *p)
		}
	}
	return strings.Join(parts, " ")
}

// viewsOf shows keys with their guardrail and creator. When the controls cannot be read the keys are
// shown alone, and the note says why, so that a fault beside the keys does not hide the keys.
func viewsOf(ctx context.Context, c *openrouter.Client, keys []openrouter.Key) ([]keyView, string) {
	if len(keys) == 0 {
		return []keyView{}, ""
	}
	ctl, err := readControls(ctx, c, workspacesOf(keys))
	return viewsWith(ctl, err, keys)
}

// viewsWith shows keys with the controls read (ctl, or err when they could not be read).
func viewsWith(ctl *controls, err error, keys []openrouter.Key) ([]keyView, string) {
	note := ""
	if err != nil && len(keys) > 0 { // no keys: nothing is missing
		ctl, note = nil, "guardrails and creators are not shown: "+explain(err)
	}
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i] = ctl.view(k)
	}
	return out, note
}

// guardrailText names a key's guardrail in a table cell or a sentence: its name quoted (names are
// OpenRouter's text), how it binds when not by assignment to the key, "none" when none binds it.
func guardrailText(g *guardrailRef) string { return string(appendGuardrailText(nil, g)) }

// appendGuardrailText appends guardrailText(g) to b: a list's rows are written into one buffer.
func appendGuardrailText(b []byte, g *guardrailRef) []byte {
	switch {
	case g == nil:
		return append(b, "none"...)
	case g.Via == viaWorkspace:
		return append(b, "workspace default"...) // its name only repeats the workspace's id
	case g.Via == viaMember:
		return append(strconv.AppendQuote(b, g.Name), " via creator"...)
	}
	return strconv.AppendQuote(b, g.Name)
}

// creatorText names a key's creator: by name, else email; one who left, by id.
func creatorText(c *creatorRef) string { return string(appendCreatorText(nil, c)) }

// appendCreatorText appends creatorText(c) to b.
func appendCreatorText(b []byte, c *creatorRef) []byte {
	switch {
	case c == nil:
		return append(b, "unknown"...)
	case c.Left:
		return append(append(b, c.ID...), " (left)"...)
	case c.Name != "":
		return strconv.AppendQuote(b, c.Name)
	case c.Email != "":
		return append(b, c.Email...)
	}
	return append(b, c.ID...)
}
