package tools

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// A cleanup plan is what plan_cleanup proposes and apply_plan carries out exactly as reviewed, or not at
// all. It travels as a token the model hands back: signed with the confirmation key (confirm.go's
// sign), so that every replica sharing the confirmation secret can apply it; bound to each action and
// to the state of its key as read (keyState); good for planTTL. What an apply has done is remembered
// by the process, per plan, until the token expires: that is what makes a token count once and lets a
// second apply after a partial failure do only the rest. Another replica does not know what this one
// did; there, every key this one changed no longer matches its planned state, so such an apply changes
// nothing and says to plan again.

// The actions a plan may hold.
//
// There is no set_expiry: OpenRouter's PATCH /keys/{hash} cannot change expires_at (an expiry is set
// only when a key is created), so such an action could only replace the key with a new one, handing
// whatever uses it a new secret: not a change to make in bulk (docs/safety.md).
const (
	actionDelete          = "delete"
	actionDisable         = "disable"
	actionSetLimit        = "set_limit"
	actionAssignGuardrail = "assign_guardrail"
)

// keyNow is a key of a plan as read: the key (nil: it no longer exists) and the id of the guardrail
// assigned to the key itself ("": none), read only for an action that depends on it.
type keyNow struct {
	key       *openrouter.Key
	guardrail string
}

// cleanupAction is what one kind of action does to a key, and how to tell it is done.
type cleanupAction struct {
	verb string // the past tense, for reports: "disabled"
	// reached reports whether the key is already as the action leaves it.
	reached func(k keyNow, a plannedAction) bool
	// change is the update the action makes, held to update_key's policy at plan and apply time; nil
	// for an action that is not an update (run does it).
	change func(a plannedAction) updateKeyArgs
	// run carries out an action that is not an update.
	run func(ctx context.Context, c *openrouter.Client, a plannedAction) error
	// admit holds an action that is not an update to the policy beyond the managed prefix; nil: nothing more.
	admit func(p Policy, a plannedAction) error
	// readsGuardrail is true for an action that depends on the guardrail assigned to the key: the plan
	// binds that assignment as well as the key.
	readsGuardrail bool
}

// cleanupActions are the actions, strongest first: a key that two of plan_cleanup's arguments select
// gets the first. Adding one is an entry here, its name in the list and its arguments in
// planCleanupArgs and plannedAction.
var cleanupActions = map[string]cleanupAction{
	actionDelete: {
		verb:    "deleted",
		reached: func(k keyNow, _ plannedAction) bool { return k.key == nil },
		run: func(ctx context.Context, c *openrouter.Client, a plannedAction) error {
			return c.DeleteKey(ctx, a.Hash)
		},
	},
	actionDisable: {
		verb:    "disabled",
		reached: func(k keyNow, _ plannedAction) bool { return k.key != nil && k.key.Disabled },
		change: func(a plannedAction) updateKeyArgs {
			return updateKeyArgs{hashArgs: hashArgs{a.Hash}, UpdateKeyRequest: openrouter.UpdateKeyRequest{Disabled: openrouter.Some(true)}}
		},
	},
	actionSetLimit: {
		verb: "limited",
		reached: func(k keyNow, a plannedAction) bool {
			return k.key != nil && k.key.Limit != nil && a.Limit != nil && *k.key.Limit == *a.Limit &&
				(a.Reset == "" || a.Reset == resetOf(k.key))
		},
		change: func(a plannedAction) updateKeyArgs {
			u := updateKeyArgs{hashArgs: hashArgs{a.Hash}}
			if a.Limit != nil {
				u.Limit = openrouter.Value(*a.Limit)
			}
			if a.Reset != "" {
				u.LimitReset = openrouter.Value(openrouter.LimitReset(a.Reset))
			}
			return u
		},
	},
	actionAssignGuardrail: {
		verb:    "assigned it",
		reached: func(k keyNow, a plannedAction) bool { return k.key != nil && k.guardrail == a.Guardrail },
		run: func(ctx context.Context, c *openrouter.Client, a plannedAction) error {
			_, err := c.AssignKeys(ctx, a.Guardrail, []string{a.Hash})
			return err
		},
		admit: func(p Policy, a plannedAction) error {
			return assignGuardrail.admit(p, &assignGuardrailArgs{GuardrailID: a.Guardrail}, time.Time{})
		},
		readsGuardrail: true,
	},
}

// resetOf is how k's limit resets, "never" when it does not.
func resetOf(k *openrouter.Key) string {
	if k.LimitReset == nil {
		return neverReset
	}
	return *k.LimitReset
}

// actionNames lists the actions in the order of cleanupActions' precedence.
var actionNames = []string{actionDelete, actionDisable, actionSetLimit, actionAssignGuardrail}

// plannedAction is one action of a plan, as its token carries it (short field names: the model copies
// the token).
type plannedAction struct {
	Hash      string   `json:"h"`
	State     string   `json:"s"` // stateOf the key when planned
	Action    string   `json:"a"`
	Limit     *float64 `json:"l,omitempty"` // set_limit's limit
	Reset     string   `json:"r,omitempty"` // set_limit's reset ("never" stops it); "" leaves it
	Guardrail string   `json:"g,omitempty"` // assign_guardrail's guardrail
}

// stateOf is what the plan binds of k for this action: the key's keyState and, for an action that
// depends on it, the guardrail assigned to the key, so that an assignment changed since the plan
// stops it as a renamed key does.
func (a plannedAction) stateOf(k keyNow) string {
	s := keyState(k.key)
	if !cleanupActions[a.Action].readsGuardrail {
		return s
	}
	sum := sha256.Sum256([]byte(s + "\x00" + k.guardrail))
	return hex.EncodeToString(sum[:8])
}

// admit holds the action on k to the policy: the managed prefix for every action, update_key's rules
// for an update, judged on the key as the update leaves it, and the action's own rules for another.
func (a plannedAction) admit(p Policy, k *openrouter.Key) error {
	if err := p.checkTarget(k); err != nil {
		return err
	}
	if admit := cleanupActions[a.Action].admit; admit != nil {
		return admit(p, a)
	}
	if change := cleanupActions[a.Action].change; change != nil {
		u := change(a)
		if err := updateKey.admit(p, &u, time.Time{}); err != nil {
			return err
		}
		return updateKey.admitTarget(p, u, k)
	}
	return nil
}

// apply carries the action out.
func (a plannedAction) apply(ctx context.Context, c *openrouter.Client) error {
	kind := cleanupActions[a.Action]
	if kind.change == nil {
		return kind.run(ctx, c, a)
	}
	_, err := c.UpdateKey(ctx, a.Hash, kind.change(a).request())
	return err
}

// detail says what the action does beyond its name: set_limit's limit and reset.
func (a plannedAction) detail() string {
	if a.Action != actionSetLimit || a.Limit == nil {
		return ""
	}
	s := "limit " + formatUSD(*a.Limit) + " USD"
	if a.Reset != "" {
		s += ", reset " + a.Reset
	}
	return s
}

// planTTL is how long a plan may be applied after it was made.
const planTTL = 10 * time.Minute

// planTokenDomain is the first part of a plan token's signature, so that no other signed value
// (a confirmation state) can pass for one.
const planTokenDomain = "openrouter-keys-mcp plan token"

// maxPlanBytes bounds a token's payload once inflated; it is read only after its signature checked.
const maxPlanBytes = 1 << 20

// plan is a token's payload.
type plan struct {
	ID      string          `json:"id"`
	Expires int64           `json:"exp"`           // Unix seconds
	Who     string          `json:"who,omitempty"` // whom it was made for (Options.Principal): only they apply it
	Actions []plannedAction `json:"acts"`
}

// newPlanID names a plan in results, questions and the audit log.
func newPlanID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sealPlan encodes p as a token: the payload deflated (hashes are hex, and field names repeat), then
// its signature, each in URL-safe base64.
func (c *confirmer) sealPlan(p plan) (string, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode plan: %w", err)
	}
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression) // only an invalid level fails
	_, _ = w.Write(raw)                                // writes to a bytes.Buffer do not fail
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("compress plan: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(b.Bytes()) + "." + enc.EncodeToString(c.sign([]byte(planTokenDomain), b.Bytes())), nil
}

// Why a plan token is refused; nothing is applied in each case.
var (
	errPlanForged = toolError("The plan_token was not issued by this server, or it was altered (copy it exactly as " +
		"plan_cleanup gave it); nothing was applied. Call plan_cleanup again for a new plan.")
	errPlanApplied = toolError("This plan was already applied in full, and a plan is applied once; nothing was " +
		"changed. Call plan_cleanup again to plan what remains.")
	errPlanMoved = toolError("Another call applied part of this plan while this one was reading its keys; nothing " +
		"was done by this one. Apply the same plan_token again to do what is left.")
	errPlanOthers = toolError("This plan was made by another person, and a plan is applied only by whoever " +
		"reviewed it; nothing was applied. Call plan_cleanup for a plan of your own.")
	errPlanBusy = toolError("This plan is being applied by another call right now; nothing was done by this one. " +
		"Wait for that call's result, then apply the plan again only if it reports actions left to do.")
)

// openPlan checks a token's signature, that it was made for who, and its expiry, and returns its plan.
func (c *confirmer) openPlan(token, who string, now time.Time) (*plan, error) {
	enc := base64.RawURLEncoding
	payload, sig, ok := strings.Cut(token, ".")
	body, err1 := enc.DecodeString(payload)
	mac, err2 := enc.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, c.sign([]byte(planTokenDomain), body)) {
		return nil, errPlanForged
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxPlanBytes))
	var p plan
	if err != nil || json.Unmarshal(raw, &p) != nil || len(p.Actions) == 0 {
		return nil, errPlanForged // signed, so ours: a bug, refused the same way
	}
	for _, a := range p.Actions {
		if _, known := cleanupActions[a.Action]; !known {
			return nil, errPlanForged
		}
	}
	if p.Who != who {
		return nil, errPlanOthers
	}
	if expires := time.Unix(p.Expires, 0); now.After(expires) {
		return nil, toolError(fmt.Sprintf("The plan expired at %s (a plan is good for %s); nothing was applied. "+
			"Call plan_cleanup again to plan on the keys as they are now.", expires.UTC().Format(time.RFC3339), planTTL))
	}
	return &p, nil
}

// actionStatus is how far this process got with one action of a plan.
type actionStatus int

const (
	pending   actionStatus = iota // not sent
	attempted                     // sent, with no answer that it was done: it may have been
	done                          // done
)

// planRuns remembers, per plan, what this process did of it, until the plan expires.
type planRuns struct {
	mu   sync.Mutex
	runs map[string]*planRun
}

// planRun is what this process did of one plan.
type planRun struct {
	expires time.Time
	busy    bool           // an apply of it is under way
	status  []actionStatus // per action
	names   []string       // per action: the key's name when it was applied, for later reports
}

func newPlanRuns() *planRuns { return &planRuns{runs: map[string]*planRun{}} }

// statuses returns how far this process got with each action of p.
func (r *planRuns) statuses(p *plan) []actionStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run := r.runs[p.ID]; run != nil {
		return slices.Clone(run.status)
	}
	return make([]actionStatus, len(p.Actions))
}

// claim starts an apply of p: refused while another is under way, once every action is done, or when
// another apply got further since seen (what the caller read before it checked the keys).
func (r *planRuns) claim(p *plan, now time.Time, seen []actionStatus) (*planRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, run := range r.runs {
		if now.After(run.expires) && !run.busy {
			delete(r.runs, id)
		}
	}
	run := r.runs[p.ID]
	if run == nil {
		run = &planRun{expires: time.Unix(p.Expires, 0), status: make([]actionStatus, len(p.Actions)), names: make([]string, len(p.Actions))}
		r.runs[p.ID] = run
	}
	switch {
	case run.busy:
		return nil, errPlanBusy
	case !slices.Contains(run.status, pending) && !slices.Contains(run.status, attempted):
		return nil, errPlanApplied
	case !slices.Equal(run.status, seen):
		return nil, errPlanMoved
	}
	run.busy = true
	return run, nil
}

// set records how far an action got, and the name of its key.
func (r *planRuns) set(run *planRun, i int, s actionStatus, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run.status[i], run.names[i] = s, name
}

// name is the name recorded for an action done earlier.
func (r *planRuns) name(run *planRun, i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return run.names[i]
}

// release ends an apply.
func (r *planRuns) release(run *planRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run.busy = false
}
