package tools

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// What rotate_key carries from the old key to its successor besides its settings: OpenRouter binds
// guardrails and BYOK allow-lists to a key's hash, so a new key inherits neither.

// Kinds of control a successor carries.
const (
	controlGuardrail = "guardrail"
	controlBYOK      = "byok"
)

// carriedControl is one control of the old key, and whether the successor has it.
type carriedControl struct {
	Kind  string `json:"kind" jsonschema:"guardrail, or byok (a BYOK credential whose allow-list named the old key)"`
	ID    string `json:"id" jsonschema:"the guardrail's or the credential's id"`
	Name  string `json:"name" jsonschema:"its name"`
	Error string `json:"error,omitempty" jsonschema:"why the successor lacks it"`
}

// successorControls says which of the old key's controls the successor has and which it lacks.
type successorControls struct {
	Has   []carriedControl `json:"has" jsonschema:"controls the successor has, as the old key had them"`
	Lacks []carriedControl `json:"lacks" jsonschema:"controls the successor lacks; while any does, the old key is not retired"`
}

// oldControls are the controls a key has that a successor must be given.
type oldControls struct {
	guardrail *guardrailRef               // its own guardrail, or its creator's (which binds only its creator's keys)
	byok      []openrouter.BYOKCredential // the credentials whose allow-lists name it
}

// controlsOf reads what binds old: its guardrail and the BYOK credentials of its workspace whose
// allow-lists name it. A workspace's default guardrail binds the successor by itself. It reads them
// fresh, never from the client's cache: a successor given controls a few seconds old could escape one.
func controlsOf(ctx context.Context, c *openrouter.Client, old *openrouter.Key) (oldControls, error) {
	ctx = openrouter.Fresh(ctx)
	ctl, err := readControls(ctx, c, []string{old.WorkspaceID})
	if err != nil {
		return oldControls{}, fmt.Errorf("read the key's guardrail: %w", err)
	}
	var out oldControls
	if b := ctl.bindings(old); len(b) > 0 && b[0].Via != viaWorkspace {
		out.guardrail = &b[0]
	}
	creds, err := readAll(ctx, func(ctx context.Context, p openrouter.PageParams) (*openrouter.Page[openrouter.BYOKCredential], error) {
		return c.ListBYOK(ctx, openrouter.ListBYOKParams{PageParams: p, WorkspaceID: old.WorkspaceID})
	})
	if err != nil {
		return oldControls{}, fmt.Errorf("read the BYOK credentials: %w", err)
	}
	for _, cr := range creds {
		if slices.Contains(cr.AllowedAPIKeyHashes, old.Hash) {
			out.byok = append(out.byok, cr)
		}
	}
	return out, nil
}

// giveControls gives the successor (hash, made by creator) the old key's controls, each on its own:
// one that fails is told in Lacks, and the others are still tried. The policy's guardrail, when set,
// was assigned already (guard).
func giveControls(ctx context.Context, c *openrouter.Client, old *openrouter.Key, ctl oldControls, hash string, creator *string, policy string) successorControls {
	out := successorControls{Has: []carriedControl{}, Lacks: []carriedControl{}}
	if g := ctl.guardrail; g != nil {
		cc := carriedControl{Kind: controlGuardrail, ID: g.ID, Name: g.Name}
		sameCreator := creator != nil && old.CreatorUserID != nil && *creator == *old.CreatorUserID
		// A creator's guardrail binds the successor too when the same member made it; else it is
		// assigned to the successor itself, so that the rotation does not free it.
		if g.ID != policy && (g.Via == viaKey || !sameCreator) {
			if _, err := c.AssignKeys(ctx, g.ID, []string{hash}); err != nil {
				cc.Error = explain(err)
			}
		}
		out.add(cc)
	}
	for _, cr := range ctl.byok {
		cc := carriedControl{Kind: controlBYOK, ID: cr.ID, Name: credentialName(cr)}
		allowed := append(slices.Clone(cr.AllowedAPIKeyHashes), hash)
		if _, err := c.UpdateBYOKAllowLists(ctx, cr.ID, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value(allowed)}); err != nil {
			cc.Error = explain(err)
		}
		out.add(cc)
	}
	return out
}

func (s *successorControls) add(c carriedControl) {
	if c.Error == "" {
		s.Has = append(s.Has, c)
	} else {
		s.Lacks = append(s.Lacks, c)
	}
}

// String says what the successor has and lacks, for the summary line; "" when the old key had none.
func (s successorControls) String() string {
	name := func(c carriedControl) string { return c.Kind + " " + strconv.Quote(c.Name) }
	var b strings.Builder
	if len(s.Has) > 0 {
		b.WriteString("The successor has the old key's " + joinNames(s.Has, name) + ". ")
	}
	if len(s.Lacks) > 0 {
		b.WriteString("It LACKS " + joinNames(s.Lacks, func(c carriedControl) string { return name(c) + " (" + c.Error + ")" }) +
			", so the old key was not retired. Give the successor what it lacks (assign_guardrail for a guardrail; a " +
			"BYOK allow-list in OpenRouter's settings), then retire the old key with update_key or delete_key. ")
	}
	return b.String()
}

// credentialName is a BYOK credential's name, or its provider when it has none.
func credentialName(c openrouter.BYOKCredential) string {
	if c.Name != nil && *c.Name != "" {
		return *c.Name
	}
	return c.Provider
}
