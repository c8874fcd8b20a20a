package tools

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// declared is a tool declaration, whatever its argument and result types.
type declared interface {
	toolName() string
	annotations() mcp.ToolAnnotation
	build(*deps) (server.ServerTool, error)
	validator(secret func(string) bool) (*argValidator, error)
	encodeSchemas() (in, out json.RawMessage, err error)
}

// declarations lists every tool, in the order tools/list shows them.
var declarations = []declared{listKeys, getKey, createKey, updateKey, deleteKey, currentKey, listWorkspaces,
	getCredits, getActivity, auditKeys, rotateKey, listGuardrails, assignGuardrail, listMembers, querySpend,
	planCleanup, applyPlan}

// Names returns the names of all tools.
func Names() []string {
	out := make([]string, len(declarations))
	for i, d := range declarations {
		out[i] = d.toolName()
	}
	return out
}

// Tier is how much a tool may do, by its annotation hints: what a permission to use tools grants.
type Tier string

// The tiers, from the hints, so that there is no second list to keep in step.
const (
	TierRead  Tier = "read"  // the tool changes nothing (readOnlyHint)
	TierWrite Tier = "write" // the tool changes keys, but destroys nothing
	TierAdmin Tier = "admin" // the tool may destroy or stop a key (destructiveHint): delete, rotate, disable
)

// Tiers returns the tier of every tool, by name.
func Tiers() map[string]Tier {
	out := make(map[string]Tier, len(declarations))
	for _, d := range declarations {
		a := d.annotations()
		switch {
		case a.ReadOnlyHint != nil && *a.ReadOnlyHint:
			out[d.toolName()] = TierRead
		case a.DestructiveHint == nil || *a.DestructiveHint:
			out[d.toolName()] = TierAdmin
		default:
			out[d.toolName()] = TierWrite
		}
	}
	return out
}

// All returns every tool, bound to c, with its schemas. An error here is a
// programming error in a tool declaration; the server must not start with it.
func All(c *openrouter.Client, opts Options) ([]server.ServerTool, error) {
	e := &deps{client: c, opts: opts, confirm: newConfirmer(opts.ConfirmWait, opts.ConfirmSecret), renames: newRenames(), plans: newPlanRuns()}
	e.confirm.onStep = opts.OnConfirm
	out := make([]server.ServerTool, 0, len(declarations))
	for _, d := range declarations {
		t, err := d.build(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Selection chooses which tools a server offers. The zero value offers them all.
type Selection struct {
	ReadOnly bool     // only the tools whose readOnlyHint is true
	Include  []string // only these tools, when not empty
	Exclude  []string // not these tools
}

// Select returns the tools the selection keeps, or an error naming any unknown tool and the valid
// ones, so that a typo in a configuration fails loudly instead of silently offering something else.
func Select(all []server.ServerTool, sel Selection) ([]server.ServerTool, error) {
	if err := sel.Check(); err != nil {
		return nil, err
	}
	var out []server.ServerTool
	for _, t := range all {
		if Allowed(t.Tool, sel.ReadOnly, sel.Include) && !slices.Contains(sel.Exclude, t.Tool.Name) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Check fails for a selection that names an unknown tool, listing the valid ones.
func (sel Selection) Check() error {
	valid := Names()
	for _, n := range slices.Concat(sel.Include, sel.Exclude) {
		if !slices.Contains(valid, n) {
			return fmt.Errorf("unknown tool %q: valid tools are %s", n, strings.Join(valid, ", "))
		}
	}
	return nil
}

// Allowed reports whether a tool passes a read-only flag and an include list (empty: all). Read-only
// is decided by the tool's own readOnlyHint, so there is no second list to keep in step.
func Allowed(t mcp.Tool, readOnly bool, include []string) bool {
	if readOnly && (t.Annotations.ReadOnlyHint == nil || !*t.Annotations.ReadOnlyHint) {
		return false
	}
	return len(include) == 0 || slices.Contains(include, t.Name)
}

// Narrow keeps the tools a request's own narrowing allows (readOnly, and names when not empty); it can
// only take tools away from list.
func Narrow(list []mcp.Tool, readOnly bool, names []string) []mcp.Tool {
	if !readOnly && len(names) == 0 {
		return list
	}
	var kept []mcp.Tool
	for _, t := range list {
		if Allowed(t, readOnly, names) {
			kept = append(kept, t)
		}
	}
	return kept
}
