package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	Delete       []string                     `json:"delete,omitempty" jsonschema:"audit kinds and/or hashes to delete"`
	Disable      []string                     `json:"disable,omitempty" jsonschema:"audit kinds and/or hashes to disable"`
	SetLimit     []string                     `json:"set_limit,omitempty" jsonschema:"audit kinds and/or hashes to give limit"`
	Limit        openrouter.Optional[float64] `json:"limit,omitzero" jsonschema:"set_limit's limit in USD"`
	LimitReset   string                       `json:"limit_reset,omitempty" jsonschema:"set_limit's reset; default unchanged"`
	WorkspaceIDs []string                     `json:"workspace_ids,omitempty" jsonschema:"only these workspaces; default all"`
	auditThresholds
}

// selections are the arguments' choices, strongest action first (cleanupActions' precedence).
func (in planCleanupArgs) selections() map[string][]string {
	return map[string][]string{actionDelete: in.Delete, actionDisable: in.Disable, actionSetLimit: in.SetLimit}
}

// planned is an action for the given set_limit arguments (none for other actions).
func (in planCleanupArgs) planned(action, hash, state string) plannedAction {
	a := plannedAction{Hash: hash, State: state, Action: action}
	if action == actionSetLimit {
		a.Limit, a.Reset = &in.Limit.Value, in.LimitReset
	}
	return a
}

// planAction is one action of a plan, as plan_cleanup shows it.
type planAction struct {
	Hash     string        `json:"hash" jsonschema:"the key's hash"`
	Name     string        `json:"name" jsonschema:"the key's name"`
	Action   string        `json:"action" jsonschema:"delete, disable or set_limit"`
	Detail   string        `json:"detail" jsonschema:"why the key was chosen, and set_limit's limit"`
	KeyState planKeyState  `json:"key_state" jsonschema:"the key as read; apply_plan refuses the plan if it changed"`
	planned  plannedAction // what the token carries
}

// planKeyState is the part of a key a plan is bound to.
type planKeyState struct {
	UpdatedAt  *string  `json:"updated_at"`
	Disabled   bool     `json:"disabled"`
	Limit      *float64 `json:"limit"`
	LimitReset *string  `json:"limit_reset"`
}

// skippedKey is a key the arguments chose that the plan leaves alone.
type skippedKey struct {
	Hash   string `json:"hash" jsonschema:"the key's hash"`
	Reason string `json:"reason" jsonschema:"why it is left alone"`
}

// planCleanupResult is plan_cleanup's structuredContent.
type planCleanupResult struct {
	PlanID    string       `json:"plan_id,omitempty" jsonschema:"names the plan in apply_plan's result and the audit log; absent when there is nothing to do"`
	Actions   []planAction `json:"actions" jsonschema:"what apply_plan would do, in order"`
	Skipped   []skippedKey `json:"skipped" jsonschema:"keys chosen but left alone, and why"`
	More      bool         `json:"more,omitempty" jsonschema:"true when more keys need an action than the plan holds: apply it, then plan again"`
	MoreCount int          `json:"more_count,omitempty" jsonschema:"how many actions did not fit"`
	ExpiresAt string       `json:"expires_at,omitempty" jsonschema:"when plan_token stops being accepted"`
	PlanToken string       `json:"plan_token,omitempty" jsonschema:"pass it unchanged to apply_plan, once"`
}

// maxChosen bounds each action's list of kinds and hashes (checked in refuse: the schema stays short).
const maxChosen = 100

// maxTextSkipped is how many skipped keys the text names; the structured content has them all.
const maxTextSkipped = 10

var planCleanup = spec[planCleanupArgs, planCleanupResult]{
	name:  "plan_cleanup",
	title: "Plan a clean-up of API keys",
	description: "Plan a clean-up of many keys; changes nothing. delete, disable and set_limit take audit_keys kinds " +
		"and/or hashes; a key chosen twice gets the first. Returns the actions, skipped keys and why, and a " +
		"plan_token for apply_plan (10 minutes). Show the plan to the user first.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		constrainAudited(s)
		// The model has read the thresholds in audit_keys' definition: shorter here.
		property(s, "unused_days").Description = "unused: days (default 30)"
		property(s, "near_limit_pct").Description = "near_limit: percent used (default 90)"
		property(s, "expiring_days").Description = "expiring_soon: days (default 7)"
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
		property(s, "limit_reset").Enum = append(limitResets(), neverReset)
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
			return invalidArgs("say which keys to change: give delete, disable or set_limit, each a list of audit_keys " +
				"kinds and/or key hashes")
		case len(in.SetLimit) > 0 && !in.Limit.Set:
			return invalidArgs("set_limit needs limit, the limit in USD")
		case len(in.SetLimit) == 0 && (in.Limit.Set || in.LimitReset != ""):
			return invalidArgs("limit and limit_reset go with set_limit, which says which keys get them")
		}
		return nil
	},
	admit: func(p Policy, in *planCleanupArgs, now time.Time) error {
		if len(in.SetLimit) == 0 {
			return nil
		}
		u := cleanupActions[actionSetLimit].change(in.planned(actionSetLimit, "", ""))
		return updateKey.admit(p, &u, now)
	},
	call: func(ctx context.Context, d *deps, in planCleanupArgs) (planCleanupResult, error) {
		keys, _, err := auditedKeys(ctx, d.client, in.WorkspaceIDs)
		if err != nil {
			return planCleanupResult{}, err
		}
		out := selectCleanup(in, keys, d.opts.Policy, time.Now())
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
					fmt.Fprintf(&b, "\n%s:", a.Action)
				}
				fmt.Fprintf(&b, "\n- %q %s", a.Name, a.Detail)
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

// selectCleanup chooses the plan's actions among keys, in the order of the actions' precedence and
// then by name, up to the policy's batch; a key is planned once, by the first action that chooses it.
func selectCleanup(in planCleanupArgs, keys []openrouter.Key, p Policy, now time.Time) planCleanupResult {
	out := planCleanupResult{Actions: []planAction{}, Skipped: []skippedKey{}}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b openrouter.Key) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Hash, b.Hash)) })
	rules := in.rules(now)
	found := map[string]bool{}
	chosen := map[string]bool{}
	for _, action := range actionNames {
		items := in.selections()[action]
		for i := range keys {
			k := &keys[i]
			found[k.Hash] = true
			why := ""
			if slices.Contains(items, k.Hash) {
				why = "chosen by hash"
			} else {
				for _, f := range rules.check(*k) {
					if slices.Contains(items, f.Kind) {
						why = f.Detail
						break
					}
				}
			}
			if why == "" || chosen[k.Hash] {
				continue
			}
			chosen[k.Hash] = true
			a := in.planned(action, k.Hash, keyState(k))
			if cleanupActions[action].reached(k, a) {
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
			out.Actions = append(out.Actions, planAction{Hash: k.Hash, Name: k.Name, Action: action, Detail: why, planned: a,
				KeyState: planKeyState{UpdatedAt: k.UpdatedAt, Disabled: k.Disabled, Limit: k.Limit, LimitReset: k.LimitReset}})
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
