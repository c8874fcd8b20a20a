package tools

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// applyPlanName is apply_plan's name, which the audit log records for each action of a plan.
const applyPlanName = "apply_plan"

// applyConcurrency is how many actions (and, before them, key reads) are under way at once: enough to
// hide OpenRouter's latency, gentle on its rate limit.
const applyConcurrency = 4

// applyPlanArgs is the plan's token, and what lookUp read for the call.
type applyPlanArgs struct {
	PlanToken string `json:"plan_token" jsonschema:"plan_cleanup's plan_token, unchanged"`
	prepared  *preparedPlan
}

// preparedPlan is a plan whose keys were read again and found as planned.
type preparedPlan struct {
	plan   *plan
	keys   []*openrouter.Key // per action, as read now; nil for one done earlier
	status []actionStatus    // per action, how far this process got before this call, as found on reading
	seen   []actionStatus    // per action, how far this process got, as remembered when the reading began
	// renames are this server's recent renames, told in the question
	renames *renames
}

// Outcomes of an action in apply_plan's result.
const (
	outcomeDone         = "done"          // done by this call
	outcomeDoneBefore   = "done_before"   // done by an earlier apply of the same plan
	outcomeFailed       = "failed"        // tried, and OpenRouter refused or did not answer
	outcomeNotAttempted = "not_attempted" // not tried: an earlier action failed, time ran out, or the user declined
)

// actionOutcome is what became of one action.
type actionOutcome struct {
	Hash    string `json:"hash" jsonschema:"the key's hash"`
	Name    string `json:"name" jsonschema:"the key's name"`
	Action  string `json:"action" jsonschema:"delete, disable, set_limit or assign_guardrail"`
	Outcome string `json:"outcome" jsonschema:"done, done_before (by an earlier apply), failed or not_attempted"`
	Error   string `json:"error,omitempty" jsonschema:"why it failed"`
}

// applyPlanResult is apply_plan's structuredContent.
type applyPlanResult struct {
	PlanID   string          `json:"plan_id" jsonschema:"the plan applied"`
	Actions  []actionOutcome `json:"actions" jsonschema:"every action of the plan and its outcome"`
	Complete bool            `json:"complete" jsonschema:"true when every action is done; otherwise apply the same plan_token again for the rest"`
	Declined bool            `json:"declined,omitempty" jsonschema:"true when the user was asked and said no; nothing was changed"`
}

// counts tallies the outcomes.
func (r applyPlanResult) counts() map[string]int {
	n := map[string]int{}
	for _, a := range r.Actions {
		n[a.Outcome]++
	}
	return n
}

var applyPlan = spec[applyPlanArgs, applyPlanResult]{
	name:  applyPlanName,
	title: "Apply a clean-up plan",
	description: "Apply plan_cleanup's plan to the keys as reviewed, or nothing if a key changed since (plan again). The " +
		"user may be asked once. Reports each action's outcome; after a partial failure the same plan_token again " +
		"does only the rest.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	lookUp: func(ctx context.Context, d *deps, in *applyPlanArgs) error {
		p, err := d.confirm.openPlan(in.PlanToken, d.opts.principal(ctx), time.Now())
		if err != nil {
			return err
		}
		prep, err := prepare(ctx, d, p)
		in.prepared = prep
		return err
	},
	confirm: &confirmation[applyPlanArgs, applyPlanResult]{
		when:    func(*openrouter.Key, applyPlanArgs) bool { return true },
		message: func(_ *openrouter.Key, in applyPlanArgs) string { return in.prepared.question(time.Now()) },
		declined: func(_ *openrouter.Key, in applyPlanArgs) applyPlanResult {
			out := in.prepared.result()
			out.Declined = true
			return out
		},
	},
	call: func(ctx context.Context, d *deps, in applyPlanArgs) (applyPlanResult, error) {
		run, err := d.plans.claim(in.prepared.plan, time.Now(), in.prepared.seen)
		if err != nil {
			return applyPlanResult{}, err
		}
		defer d.plans.release(run)
		return in.prepared.apply(ctx, d, run), nil
	},
	text: func(_ applyPlanArgs, out applyPlanResult) string {
		n := out.counts()
		var b strings.Builder
		switch {
		case out.Declined:
			fmt.Fprintf(&b, "Nothing was changed: the user declined plan %s.", out.PlanID)
		case out.Complete:
			fmt.Fprintf(&b, "Plan %s applied in full: %d done now", out.PlanID, n[outcomeDone])
			if n[outcomeDoneBefore] > 0 {
				fmt.Fprintf(&b, ", %d done before", n[outcomeDoneBefore])
			}
			b.WriteString(".")
		default:
			fmt.Fprintf(&b, "Plan %s partly applied: %d done now, %d done before, %d failed, %d not attempted. Apply the "+
				"same plan_token again to do the %d left; what was done is not done again.", out.PlanID, n[outcomeDone],
				n[outcomeDoneBefore], n[outcomeFailed], n[outcomeNotAttempted], n[outcomeFailed]+n[outcomeNotAttempted])
		}
		for _, a := range out.Actions {
			fmt.Fprintf(&b, "\n- %s %q %.12s…: %s", a.Action, a.Name, a.Hash, a.Outcome)
			if a.Error != "" {
				b.WriteString(" (" + a.Error + ")")
			}
		}
		return b.String()
	},
}

// prepare reads again every key of p that this process has not acted on, and refuses the plan, with
// nothing applied, when one is no longer as planned or the policy no longer allows its action. A key
// whose change was sent without an answer (an earlier apply that failed on it) and which is now as
// the action leaves it was changed by that apply: its action counts as done.
func prepare(ctx context.Context, d *deps, p *plan) (*preparedPlan, error) {
	seen := d.plans.statuses(p)
	prep := &preparedPlan{plan: p, keys: make([]*openrouter.Key, len(p.Actions)), status: slices.Clone(seen), seen: seen, renames: d.renames}
	if !slices.Contains(prep.status, pending) && !slices.Contains(prep.status, attempted) {
		return nil, errPlanApplied
	}
	errs := make([]error, len(p.Actions)+1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, applyConcurrency)
	// The guardrails assigned to keys, read once, beside the keys, for the actions bound to them: fresh,
	// since the cache would hide a change made elsewhere (another replica, the dashboard) for its ttl.
	readsGuardrails := false
	for i, a := range p.Actions {
		readsGuardrails = readsGuardrails || prep.status[i] != done && cleanupActions[a.Action].readsGuardrail
	}
	assigned := map[string]string{}
	if readsGuardrails {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			all, err := readAll(openrouter.Fresh(ctx), d.client.ListKeyAssignments)
			for _, x := range all {
				assigned[x.KeyHash] = x.GuardrailID
			}
			if err != nil {
				errs[len(p.Actions)] = fmt.Errorf("read the guardrails assigned to keys: %w", err)
			}
		})
	}
	for i, a := range p.Actions {
		if prep.status[i] == done {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			k, err := d.client.GetKey(ctx, a.Hash)
			var apiErr *openrouter.APIError
			if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
				k, err = nil, nil // gone: changed, unless deleting it was this plan's doing
			}
			prep.keys[i], errs[i] = k, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read the plan's keys again: %w", err)
	}
	var changed, refused []string
	var firstRefusal error // the policy's first refusal, which the metrics count
	for i, a := range p.Actions {
		k := prep.keys[i]
		read := keyNow{key: k, guardrail: assigned[a.Hash]}
		switch {
		case prep.status[i] == done:
		case k != nil && a.stateOf(read) == a.State:
			if err := a.admit(d.opts.Policy, k); err != nil {
				refused = append(refused, fmt.Sprintf("%s %q: %s", a.Action, k.Name, skipReason(err)))
				if firstRefusal == nil {
					firstRefusal = err
				}
			}
		case prep.status[i] == attempted && cleanupActions[a.Action].reached(read, a):
			prep.status[i] = done
		case k == nil:
			changed = append(changed, fmt.Sprintf("%.12s… no longer exists", a.Hash))
		default:
			changed = append(changed, fmt.Sprintf("%q (%.12s…)", k.Name, a.Hash))
		}
	}
	if len(changed) > 0 {
		return nil, toolError(fmt.Sprintf("Nothing was applied: %d of the plan's keys changed since it was made: %s. "+
			"Call plan_cleanup again to plan on the keys as they are now.", len(changed), strings.Join(changed, ", ")))
	}
	if len(refused) > 0 {
		return nil, refusedPlan{toolError(fmt.Sprintf("Nothing was applied: the server's policy does not allow %d of the plan's actions: %s. "+
			"Call plan_cleanup again: it leaves out what the policy does not allow.", len(refused), strings.Join(refused, "; "))), firstRefusal}
	}
	return prep, nil
}

// refusedPlan is a plan that the policy no longer allows all of: the model reads msg, and the call
// counts as refused by the policy (Options.OnPolicyRefusal) for the first action refused.
type refusedPlan struct {
	msg   toolError
	first error
}

func (e refusedPlan) Error() string   { return e.msg.Error() }
func (e refusedPlan) Unwrap() []error { return []error{e.msg, e.first} }

// question asks once for the whole plan: the counts and the keys by name, with the hash's start and
// any rename this server made (so that renaming a key first does not steer the answer).
func (prep *preparedPlan) question(now time.Time) string {
	byAction := map[string][]string{}
	for i, a := range prep.plan.Actions {
		if k := prep.keys[i]; k != nil && prep.status[i] != done {
			s := fmt.Sprintf("%q (%.12s…)", k.Name, k.Hash)
			if r, ok := prep.renames.recent(k.Hash, now); ok {
				s += fmt.Sprintf(", renamed by this server from %q", r.from)
			}
			byAction[a.Action] = append(byAction[a.Action], s)
		}
	}
	var parts []string
	for _, name := range actionNames {
		if keys := byAction[name]; len(keys) > 0 {
			parts = append(parts, fmt.Sprintf("%s%s %d: %s", name, prep.guardrailOf(name), len(keys), strings.Join(keys, ", ")))
		}
	}
	var warnings []string
	for _, name := range actionNames {
		if len(byAction[name]) > 0 {
			warnings = append(warnings, consequences[name])
		}
	}
	return fmt.Sprintf("Apply clean-up plan %s? %s. %s", prep.plan.ID, strings.Join(parts, "; "), strings.Join(warnings, " "))
}

// consequences says what each kind of action means for whatever uses the key, for the one question an
// apply asks: a plan that only assigns a guardrail should not warn of keys that stop working.
var consequences = map[string]string{
	actionDelete:          "Whatever uses a deleted key stops working, and deleting cannot be undone.",
	actionDisable:         "Whatever uses a disabled key stops working until it is enabled again.",
	actionSetLimit:        "A key's calls fail once it reaches its new limit.",
	actionAssignGuardrail: "The guardrail's budget and rules bind the keys at once.",
}

// guardrailOf names the guardrail that the plan's actions of this kind assign, if they assign one.
func (prep *preparedPlan) guardrailOf(action string) string {
	for _, a := range prep.plan.Actions {
		if a.Action == action && a.Guardrail != "" {
			return " guardrail " + a.Guardrail
		}
	}
	return ""
}

// result is the plan's outcomes before anything is applied: what was done earlier, the rest not.
func (prep *preparedPlan) result() applyPlanResult {
	out := applyPlanResult{PlanID: prep.plan.ID, Actions: make([]actionOutcome, len(prep.plan.Actions))}
	for i, a := range prep.plan.Actions {
		out.Actions[i] = actionOutcome{Hash: a.Hash, Action: a.Action, Outcome: outcomeNotAttempted}
		if k := prep.keys[i]; k != nil {
			out.Actions[i].Name = k.Name
		}
		if prep.status[i] == done {
			out.Actions[i].Outcome = outcomeDoneBefore
		}
	}
	return out
}

// apply carries out the actions not done yet, in the plan's order, a few at a time; once one fails, or
// the call's time is up, no more are started. Each is audited with the plan's id, and recorded in run
// as it goes, so that applying the plan again does only the rest.
func (prep *preparedPlan) apply(ctx context.Context, d *deps, run *planRun) applyPlanResult {
	out := prep.result()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var finished atomic.Int32
	sem := make(chan struct{}, applyConcurrency)
	for i, a := range prep.plan.Actions {
		if prep.status[i] == done {
			out.Actions[i].Name = d.plans.name(run, i)
			d.plans.set(run, i, done, out.Actions[i].Name) // an answer lost earlier, found done on reading
			continue
		}
		sem <- struct{}{} // in order: an action starts only once a slot is free
		if stop.Load() || ctx.Err() != nil {
			<-sem
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			name := prep.keys[i].Name
			if err := prep.applyOne(ctx, d, run, a, i, name); err != nil {
				stop.Store(true)
				out.Actions[i].Outcome, out.Actions[i].Error = outcomeFailed, explain(err)
				return
			}
			out.Actions[i].Outcome = outcomeDone
			n := finished.Add(1)
			progress(ctx, int(n), fmt.Sprintf("applied %d of %d", n, len(prep.plan.Actions)))
		})
	}
	wg.Wait()
	out.Complete = true
	for _, a := range out.Actions {
		out.Complete = out.Complete && (a.Outcome == outcomeDone || a.Outcome == outcomeDoneBefore)
	}
	return out
}

// applyOne carries out one action: recorded before it is sent (fail closed) and after.
func (prep *preparedPlan) applyOne(ctx context.Context, d *deps, run *planRun, a plannedAction, i int, name string) error {
	var record *auditRecord
	if d.opts.Audit != nil {
		var err error
		if record, err = d.opts.Audit.planned(ctx, prep.plan.ID, a, name); err != nil {
			return toolError(auditRefusal(err))
		}
	}
	d.plans.set(run, i, attempted, name)
	err := a.apply(ctx, d.client)
	if record != nil {
		d.opts.Audit.outcome(ctx, record, auditOutcome{hash: a.Hash, name: name, err: err})
	}
	if err == nil {
		d.plans.set(run, i, done, name)
	}
	return err
}
