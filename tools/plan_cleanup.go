package tools

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// planCleanupArgs say which keys get which action: each action takes kinds of audit finding and key
// hashes, in the workspaces given, with audit_keys' thresholds. Flat, so that every host's strict
// mode takes it (a null argument is one not given).
type planCleanupArgs struct {
	Delete       []string                     `json:"delete,omitempty" jsonschema:"kinds/hashes to delete"`
	Disable      []string                     `json:"disable,omitempty" jsonschema:"kinds/hashes to disable"`
	SetLimit     []string                     `json:"set_limit,omitempty" jsonschema:"kinds/hashes to get limit"`
	Limit        openrouter.Optional[float64] `json:"limit,omitzero" jsonschema:"set_limit's limit in USD"`
	LimitReset   string                       `json:"limit_reset,omitempty" jsonschema:"set_limit's reset; default unchanged"`
	Assign       []string                     `json:"assign_guardrail,omitempty" jsonschema:"kinds/hashes to get guardrail_id"`
	GuardrailID  string                       `json:"guardrail_id,omitempty" jsonschema:"from list_guardrails"`
	WorkspaceIDs []string                     `json:"workspace_ids,omitempty" jsonschema:"only these workspaces; default all"`
	auditThresholds
}

// selections are the arguments' choices, strongest action first (cleanupActions' precedence).
func (in planCleanupArgs) selections() map[string][]string {
	return map[string][]string{actionDelete: in.Delete, actionDisable: in.Disable, actionSetLimit: in.SetLimit,
		actionAssignGuardrail: in.Assign}
}

// planned is an action on k with the arguments it takes (set_limit's limit and reset,
// assign_guardrail's guardrail), bound to k as read.
func (in planCleanupArgs) planned(action string, k keyNow) plannedAction {
	a := plannedAction{Action: action}
	switch action {
	case actionSetLimit:
		a.Limit, a.Reset = &in.Limit.Value, in.LimitReset
	case actionAssignGuardrail:
		a.Guardrail = in.GuardrailID
	}
	if k.key != nil {
		a.Hash, a.State = k.key.Hash, a.stateOf(k)
	}
	return a
}

// readsControls reports whether the plan needs the controls beside the keys: for assign_guardrail,
// and to find the kinds of finding that only they tell.
func (in planCleanupArgs) readsControls() bool {
	if len(in.Assign) > 0 {
		return true
	}
	for _, items := range in.selections() {
		if slices.ContainsFunc(items, func(item string) bool { return slices.Contains(controlKinds, item) }) {
			return true
		}
	}
	return false
}

// planAction is one action of a plan, as plan_cleanup shows it.
type planAction struct {
	Hash     string        `json:"hash" jsonschema:"the key's hash"`
	Name     string        `json:"name" jsonschema:"the key's name"`
	Action   string        `json:"action" jsonschema:"delete, disable, set_limit or assign_guardrail"`
	Detail   string        `json:"detail" jsonschema:"why the key was chosen, set_limit's limit, and the guardrail an assignment replaces"`
	KeyState planKeyState  `json:"key_state" jsonschema:"the key as read; apply_plan refuses the plan if it changed"`
	planned  plannedAction // what the token carries
	// short is why the key was chosen in a word (the kind, or by hash) and the guardrail an assignment
	// replaces: the text's line, whose figures are in Detail, so that a plan reads in seconds and holds
	// at most 120 bytes a key.
	short string
}

// planKeyState is the part of a key a plan is bound to.
type planKeyState struct {
	UpdatedAt  *string  `json:"updated_at"`
	Disabled   bool     `json:"disabled"`
	Limit      *float64 `json:"limit"`
	LimitReset *string  `json:"limit_reset"`
	Guardrail  string   `json:"guardrail_id,omitempty" jsonschema:"for assign_guardrail: the guardrail assigned to the key itself, if any"`
}

// skippedKey is a key the arguments chose that the plan leaves alone.
type skippedKey struct {
	Hash   string `json:"hash" jsonschema:"the key's hash"`
	Reason string `json:"reason" jsonschema:"why it is left alone"`
}

// planCleanupResult is plan_cleanup's structuredContent.
type planCleanupResult struct {
	PlanID    string         `json:"plan_id,omitempty" jsonschema:"names the plan in apply_plan's result and the audit log; absent when there is nothing to do"`
	Actions   []planAction   `json:"actions" jsonschema:"what apply_plan would do, in order"`
	Skipped   []skippedKey   `json:"skipped" jsonschema:"keys chosen but left alone, and why"`
	Guardrail *planGuardrail `json:"guardrail,omitempty" jsonschema:"the guardrail assign_guardrail assigns"`
	More      bool           `json:"more,omitempty" jsonschema:"true when more keys need an action than the plan holds: apply it, then plan again"`
	MoreCount int            `json:"more_count,omitempty" jsonschema:"how many actions did not fit"`
	ExpiresAt string         `json:"expires_at,omitempty" jsonschema:"when plan_token stops being accepted"`
	PlanToken string         `json:"plan_token,omitempty" jsonschema:"pass it unchanged to apply_plan, once"`
}

// planGuardrail is the guardrail a plan assigns.
type planGuardrail struct {
	ID   string `json:"id" jsonschema:"the guardrail's id"`
	Name string `json:"name" jsonschema:"the guardrail's name"`
}

// maxChosen bounds each action's list of kinds and hashes (checked in refuse: the schema stays short).
const maxChosen = 100

// maxTextSkipped is how many skipped keys the text names; the structured content has them all.
const maxTextSkipped = 10

var planCleanup = spec[planCleanupArgs, planCleanupResult]{
	name:  "plan_cleanup",
	title: "Plan a key clean-up",
	description: "Plan a clean-up of many keys; changes nothing. delete, disable, set_limit, assign_guardrail each " +
		"take audit_keys kinds and/or hashes; a key chosen twice gets the first. (OpenRouter cannot change an " +
		"expiry.) Returns the actions, skipped keys and a plan_token for apply_plan (10 min). Show the plan to the user.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		constrainAudited(s)
		// The model has read the thresholds in audit_keys' definition: shorter here.
		property(s, "unused_days").Description = "unused: days (default 30)"
		property(s, "near_limit_pct").Description = "near_limit: percent used (default 90)"
		property(s, "expiring_days").Description = "expiring_soon: days (default 7)"
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
		property(s, "limit_reset").Enum = append(limitResets(), neverReset)
		property(s, "guardrail_id").Pattern = uuidPattern
	},
	refuse: func(in planCleanupArgs) error {
		given := 0
		for _, name := range actionNames {
			if len(in.selections()[name]) > maxChosen {
				return invalidArgs(fmt.Sprintf("`%s` may hold at most %d items", name, maxChosen))
			}
			for i, item := range in.selections()[name] {
				if !slices.Contains(findingKinds, item) && !openrouter.ValidHash(item) {
					return invalidArgs(fmt.Sprintf("`%s[%d]` must be a kind of finding (%s) or a key's hash", name, i,
						strings.Join(findingKinds, ", ")))
				}
			}
			given += len(in.selections()[name])
		}
		switch {
		case given == 0:
			return invalidArgs("say which keys to change: give delete, disable, set_limit or assign_guardrail, each a list " +
				"of audit_keys kinds and/or key hashes")
		case len(in.SetLimit) > 0 && !in.Limit.Set:
			return invalidArgs("set_limit needs limit, the limit in USD")
		case len(in.SetLimit) == 0 && (in.Limit.Set || in.LimitReset != ""):
			return invalidArgs("limit and limit_reset go with set_limit, which says which keys get them")
		case len(in.Assign) > 0 && in.GuardrailID == "":
			return invalidArgs("assign_guardrail needs guardrail_id, the guardrail to assign (list_guardrails names them)")
		case len(in.Assign) == 0 && in.GuardrailID != "":
			return invalidArgs("guardrail_id goes with assign_guardrail, which says which keys get it")
		}
		return nil
	},
	admit: func(p Policy, in *planCleanupArgs, now time.Time) error {
		if len(in.Assign) > 0 {
			if err := assignGuardrail.admit(p, &assignGuardrailArgs{GuardrailID: in.GuardrailID}, now); err != nil {
				return err
			}
		}
		if len(in.SetLimit) == 0 {
			return nil
		}
		u := cleanupActions[actionSetLimit].change(in.planned(actionSetLimit, keyNow{}))
		return updateKey.admit(p, &u, now)
	},
	call: func(ctx context.Context, d *deps, in planCleanupArgs) (planCleanupResult, error) {
		if len(in.Assign) > 0 {
			// The plan binds each key's assignment as read: a cached one, older than a change made
			// elsewhere, would make apply_plan refuse the plan a person just reviewed.
			ctx = openrouter.Fresh(ctx)
		}
		read, err := keysBeside(ctx, d.client, in.WorkspaceIDs, besideKeys{controls: in.readsControls()})
		if err = cmp.Or(err, read.besideErr); err != nil {
			return planCleanupResult{}, err
		}
		keys, ctl := read.keys, read.ctl
		var g *planGuardrail
		if len(in.Assign) > 0 {
			if g, err = assignable(ctx, d.client, ctl, in.GuardrailID); err != nil {
				return planCleanupResult{}, err
			}
		}
		out := selectCleanup(in, keys, ctl, d.opts.Policy, time.Now())
		out.Guardrail = g
		if len(out.Actions) == 0 {
			return out, nil
		}
		p := plan{ID: newPlanID(), Expires: time.Now().Add(planTTL).Unix(), Who: d.opts.principal(ctx)}
		for _, a := range out.Actions {
			p.Actions = append(p.Actions, a.planned)
		}
		if out.PlanToken, err = d.confirm.sealPlan(p); err != nil {
			return planCleanupResult{}, err
		}
		out.PlanID, out.ExpiresAt = p.ID, time.Unix(p.Expires, 0).UTC().Format(time.RFC3339)
		return out, nil
	},
	text: func(_ planCleanupArgs, out planCleanupResult) string {
		var b strings.Builder
		if len(out.Actions) == 0 {
			b.WriteString("Nothing to do: no key chosen needs a change.")
		} else {
			counts := map[string]int{}
			for _, a := range out.Actions {
				counts[a.Action]++
			}
			var parts []string
			for _, name := range actionNames {
				if counts[name] > 0 {
					parts = append(parts, fmt.Sprintf("%s %d", name, counts[name]))
				}
			}
			fmt.Fprintf(&b, "Plan %s, nothing changed yet: %s.", out.PlanID, strings.Join(parts, ", "))
			for i, a := range out.Actions {
				if i == 0 || a.Action != out.Actions[i-1].Action {
					// What each action of the kind does is the same for all: said once.
					fmt.Fprintf(&b, "\n%s:", a.Action)
					if d := a.planned.detail(); d != "" {
						b.WriteString(" " + d)
					}
					if a.Action == actionAssignGuardrail && out.Guardrail != nil {
						fmt.Fprintf(&b, " guardrail %q (%s)", out.Guardrail.Name, out.Guardrail.ID)
					}
				}
				fmt.Fprintf(&b, "\n- %q %s", a.Name, a.short)
			}
		}
		if n := len(out.Skipped); n > 0 {
			fmt.Fprintf(&b, "\nSkipped %d:", n)
			for _, s := range out.Skipped[:min(n, maxTextSkipped)] {
				fmt.Fprintf(&b, "\n- %.12s… %s", s.Hash, s.Reason)
			}
			if n > maxTextSkipped {
				fmt.Fprintf(&b, "\n- and %d more (in the structured content)", n-maxTextSkipped)
			}
		}
		if out.More {
			fmt.Fprintf(&b, "\n%d more actions did not fit in this plan (--max-batch): apply it, then plan again with "+
				"the same arguments for the next.", out.MoreCount)
		}
		if out.PlanToken != "" {
			fmt.Fprintf(&b, "\nShow this to the user; once they agree, call apply_plan with this plan_token (until %s, once):\n%s",
				out.ExpiresAt, out.PlanToken)
		}
		return b.String()
	},
}

// assignable is the guardrail a plan assigns, once it is known to exist and to be one that can be
// assigned to keys (a workspace's default guardrail binds its keys already, and OpenRouter refuses to
// assign it): a plan that could only fail is not made.
func assignable(ctx context.Context, c *openrouter.Client, ctl *controls, id string) (*planGuardrail, error) {
	g, ok := ctl.guardrails[id]
	if !ok {
		got, err := c.GetGuardrail(ctx, id)
		if openrouter.StatusOf(err) == http.StatusNotFound {
			return nil, toolError("There is no guardrail " + id + "; nothing was planned. list_guardrails names the guardrails.")
		}
		if err != nil {
			return nil, fmt.Errorf("read guardrail %s: %w", id, err)
		}
		g = *got
	}
	for ws, def := range ctl.workspaceDefault {
		if def == id {
			return nil, toolError(fmt.Sprintf("Guardrail %q is the default guardrail of workspace %s: it binds every key "+
				"of that workspace already and cannot be assigned to keys; nothing was planned. Choose another "+
				"guardrail (list_guardrails).", g.Name, ws))
		}
	}
	return &planGuardrail{ID: g.ID, Name: g.Name}, nil
}

// selectCleanup chooses the plan's actions among keys, in the order of the actions' precedence and
// then by name, up to the policy's batch; a key is planned once, by the first action that chooses it.
// ctl, the controls beside the keys, is nil when the plan does not need them.
func selectCleanup(in planCleanupArgs, keys []openrouter.Key, ctl *controls, p Policy, now time.Time) planCleanupResult {
	out := planCleanupResult{Actions: []planAction{}, Skipped: []skippedKey{}}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b openrouter.Key) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Hash, b.Hash)) })
	rules := in.rules(now)
	rules.controls = ctl
	found := map[string]bool{}
	chosen := map[string]bool{}
	for _, action := range actionNames {
		items := in.selections()[action]
		for i := range keys {
			k := &keys[i]
			found[k.Hash] = true
			why, short := "", "" // the figures behind the choice, and the choice in a word for the text
			if slices.Contains(items, k.Hash) {
				why, short = "chosen by hash", "by hash"
			} else {
				for _, f := range rules.check(*k) {
					if slices.Contains(items, f.Kind) {
						why, short = f.Detail, f.Kind
						break
					}
				}
			}
			if why == "" || chosen[k.Hash] {
				continue
			}
			chosen[k.Hash] = true
			read := keyNow{key: k}
			if ctl != nil {
				read.guardrail = ctl.keyGuardrail[k.Hash]
			}
			a := in.planned(action, read)
			if cleanupActions[action].reached(read, a) {
				out.Skipped = append(out.Skipped, skippedKey{Hash: k.Hash, Reason: "already " + cleanupActions[action].verb})
				continue
			}
			if err := a.admit(p, k); err != nil {
				out.Skipped = append(out.Skipped, skippedKey{Hash: k.Hash, Reason: skipReason(err)})
				continue
			}
			if len(out.Actions) == p.batch() {
				out.More, out.MoreCount = true, out.MoreCount+1
				continue
			}
			if d := a.detail(); d != "" {
				why += "; " + d
			}
			state := planKeyState{UpdatedAt: k.UpdatedAt, Disabled: k.Disabled, Limit: k.Limit, LimitReset: k.LimitReset}
			if cleanupActions[action].readsGuardrail && read.guardrail != "" {
				state.Guardrail = read.guardrail
				replaces := "; replaces " + ctl.guardrailName(read.guardrail)
				why, short = why+replaces, short+replaces
			}
			out.Actions = append(out.Actions, planAction{Hash: k.Hash, Name: k.Name, Action: action, Detail: why, planned: a,
				KeyState: state, short: short})
		}
	}
	for _, action := range actionNames {
		for _, item := range in.selections()[action] {
			if openrouter.ValidHash(item) && !found[item] && !chosen[item] {
				chosen[item] = true
				out.Skipped = append(out.Skipped, skippedKey{Hash: item, Reason: "no key with this hash in the workspaces read"})
			}
		}
	}
	return out
}

// guardrailName names a guardrail in a plan: its name, quoted, else its id.
func (ctl *controls) guardrailName(id string) string {
	if g, ok := ctl.guardrails[id]; ok {
		return strconv.Quote(g.Name)
	}
	return id
}
