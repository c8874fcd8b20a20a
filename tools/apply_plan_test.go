package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// sharedSecret is a confirmation secret two replicas share.
var sharedSecret = []byte("a confirmation secret two replicas share")

// keysToDisable makes n keys and returns their hashes, in the order a plan by hash lists them (by name).
func (e *env) keysToDisable(t *testing.T, prefix string, n int) []string {
	t.Helper()
	var hashes []string
	for i := range n {
		hashes = append(hashes, e.newKey(t, fmt.Sprintf("%s-%02d", prefix, i)))
	}
	return hashes
}

// planOf plans disabling hashes and returns the token.
func (e *env) planOf(t *testing.T, action string, hashes []string) string {
	t.Helper()
	b, _ := json.Marshal(hashes)
	sc := e.plan(t, `{"`+action+`":`+string(b)+`}`)
	if n := len(sc["actions"].([]any)); n != len(hashes) {
		t.Fatalf("a plan of %d actions, want %d: %v", n, len(hashes), sc)
	}
	return sc["plan_token"].(string)
}

// apply calls apply_plan with token.
func (e *env) apply(t *testing.T, token string) (map[string]any, string, bool) {
	t.Helper()
	res := e.call(t, "apply_plan", `{"plan_token":"`+token+`"}`)
	if res.IsError {
		return nil, text(res), false
	}
	return e.checked(t, "apply_plan", res), text(res), true
}

// tryingOnce is e with a client that sends each request once, never retrying.
func (e *env) tryingOnce(t *testing.T) *env {
	t.Helper()
	once, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(e.sb.ManagementKey()),
		Retry: openrouter.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, e.sb, once, tools.Options{})
}

// outcomes counts a result's actions by outcome.
func outcomes(sc map[string]any) map[string]int {
	n := map[string]int{}
	for _, a := range sc["actions"].([]any) {
		n[a.(map[string]any)["outcome"].(string)]++
	}
	return n
}

func TestApplyPlanAppliesThePlanOnceAndAuditsEachAction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, changes := mutationsEnv(t, tools.Options{Audit: openAudit(t, path)}, nil)
	fresh := e.newKey(t, "fresh")
	sc := e.plan(t, `{"delete":["expired"],"disable":["never_used"]}`)
	token, id := sc["plan_token"].(string), sc["plan_id"].(string)
	planned := len(sc["actions"].([]any))

	out, txt, ok := e.apply(t, token)
	if !ok || out["complete"] != true || outcomes(out)["done"] != planned || !strings.Contains(txt, "applied in full") {
		t.Fatalf("apply: %s", txt)
	}
	if !e.disabled(t, fresh) {
		t.Error("the never-used key was not disabled")
	}
	before := changes.all()
	if _, txt, ok := e.apply(t, token); ok || !strings.Contains(txt, "already applied") || changes.all() != before {
		t.Errorf("a replayed token: %s (%d changes)", txt, changes.all()-before)
	}

	// Each action has its attempt and its outcome, with the plan's id.
	per := map[string]int{}
	for _, r := range readAudit(t, path) {
		if r["plan_id"] == id && r["tool"] == "apply_plan" && r["hash"] != nil {
			per[r["event"].(string)]++
		}
	}
	if per["attempt"] != planned || per["outcome"] != planned {
		t.Errorf("audit records per action: %v, want %d attempts and outcomes", per, planned)
	}
}

func TestABadTokenAppliesNothing(t *testing.T) {
	e, changes := mutationsEnv(t, tools.Options{ConfirmSecret: sharedSecret}, nil)
	hashes := e.keysToDisable(t, "bad", 2)
	token := e.planOf(t, "disable", hashes)
	elsewhere := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{ConfirmSecret: []byte("another server's secret, long enough")})
	payload, sig, _ := strings.Cut(token, ".")
	flip := func(s string) string {
		b := []byte(s)
		b[len(b)/2] ^= 1
		return string(b)
	}
	before := changes.all()
	for name, c := range map[string]struct {
		env   *env
		token string
	}{
		"tampered payload":   {e, flip(payload) + "." + sig},
		"tampered signature": {e, payload + "." + flip(sig)},
		"no signature":       {e, payload},
		"other server":       {elsewhere, token},
	} {
		if _, txt, ok := c.env.apply(t, c.token); ok || !strings.Contains(txt, "not issued by this server") {
			t.Errorf("%s: %s", name, txt)
		}
	}
	if changes.all() != before || e.disabled(t, hashes[0]) {
		t.Error("a bad token changed a key")
	}
	// A replica with the same secret applies it; once.
	replica := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{ConfirmSecret: sharedSecret})
	if out, txt, ok := replica.apply(t, token); !ok || out["complete"] != true {
		t.Fatalf("the replica sharing the secret: %s", txt)
	}
	if _, txt, ok := replica.apply(t, token); ok || !strings.Contains(txt, "already applied") {
		t.Errorf("replayed on the replica that applied it: %s", txt)
	}
	// The other replica does not know it was applied; the keys' states stop it.
	if _, txt, ok := e.apply(t, token); ok || !strings.Contains(txt, "changed since") {
		t.Errorf("replayed on the other replica: %s", txt)
	}
}

func TestAKeyChangedSinceThePlanStopsTheWholePlan(t *testing.T) {
	e, changes := mutationsEnv(t, tools.Options{}, nil)
	for change, args := range map[string]string{
		"renamed":     `"name":"renamed-meanwhile"`,
		"disabled":    `"disabled":true`,
		"limit moved": `"limit":3`,
	} {
		t.Run(change, func(t *testing.T) {
			hashes := e.keysToDisable(t, strings.ReplaceAll(change, " ", "-"), 3)
			token := e.planOf(t, "delete", hashes)
			if res := e.call(t, "update_key", `{"hash":"`+hashes[1]+`",`+args+`}`); res.IsError {
				t.Fatal(text(res))
			}
			before := changes.all()
			_, txt, ok := e.apply(t, token)
			if ok || !strings.Contains(txt, "Nothing was applied") || !strings.Contains(txt, hashes[1][:12]) || !strings.Contains(txt, "plan_cleanup again") {
				t.Errorf("want nothing applied and the changed key named: %s", txt)
			}
			if changes.all() != before {
				t.Errorf("%d changes were sent", changes.all()-before)
			}
		})
	}
}

// TestAPartialFailureIsReportedAndTheRestAppliedOnce: a 5xx on the 7th of 20 actions stops the
// apply: 6 done and reported (and those of the next 3 already under way, with actions run 4 at a
// time), none started after it, and applying the same token again does only the rest, never an action
// twice (the sandbox's changes are counted per key). The client does not retry, and every other change
// takes a little while, so the failure is known before a slot frees for another action. It holds for
// an update (disable) and for an assignment (assign_guardrail), which OpenRouter makes by guardrail.
func TestAPartialFailureIsReportedAndTheRestAppliedOnce(t *testing.T) {
	for _, action := range []string{"disable", "assign_guardrail"} {
		t.Run(action, func(t *testing.T) {
			var failing atomic.Value
			failing.Store("")
			e, changes := mutationsEnv(t, tools.Options{}, func(r *http.Request) bool {
				if r.Method == http.MethodGet {
					return false
				}
				if h := failing.Load().(string); h != "" && (strings.HasSuffix(r.URL.Path, "/"+h) || strings.Contains(bodyOf(r), h)) {
					return true
				}
				time.Sleep(20 * time.Millisecond)
				return false
			})
			guard := sampleGuardrail(t, mustClient(t, e))
			e = e.tryingOnce(t)
			hashes := e.keysToDisable(t, "partial", 20)
			args, isDone := e.cleanup(t, action, guard, hashes)
			sc := e.plan(t, args)
			if n := len(sc["actions"].([]any)); n != 20 {
				t.Fatalf("a plan of %d actions, want 20: %v", n, sc)
			}
			token := sc["plan_token"].(string)

			failing.Store(hashes[6])
			out, txt, ok := e.apply(t, token)
			if !ok || out["complete"] != false || !strings.Contains(txt, "partly applied") {
				t.Fatalf("want a partial result: %s", txt)
			}
			var done []string
			for i, a := range out["actions"].([]any) {
				m := a.(map[string]any)
				want := map[bool]string{true: "done", false: "not_attempted"}[i < 6]
				switch {
				case i == 6:
					want = "failed"
				case i > 6 && i < 6+4 && m["outcome"] == "done":
					want = "done" // started, a few at a time, before the 7th failed
				}
				if m["outcome"] != want {
					t.Errorf("action %d: %v, want %s", i+1, m, want)
				}
				if m["outcome"] == "done" {
					done = append(done, m["hash"].(string))
				}
			}
			failing.Store("")
			out, txt, ok = e.apply(t, token)
			if !ok || out["complete"] != true {
				t.Fatalf("re-apply: %s", txt)
			}
			if n := outcomes(out); n["done_before"] != len(done) || n["done"] != 20-len(done) {
				t.Errorf("re-apply: %v, want %d done before and %d done now", n, len(done), 20-len(done))
			}
			for i, h := range hashes {
				if got := changes.of(h); got != 1 {
					t.Errorf("key %d was changed %d times, want once", i+1, got)
				}
				if !isDone(h) {
					t.Errorf("key %d: the %s is not done", i+1, action)
				}
			}
		})
	}
}

// TestAChangeWhoseAnswerWasLostIsNotMadeAgain: the change reached OpenRouter but its answer did not
// (a 500 after the fact); applying again finds the key as the action leaves it and counts the action
// done, without sending it again.
func TestAChangeWhoseAnswerWasLostIsNotMadeAgain(t *testing.T) {
	for action, method := range map[string]string{"disable": http.MethodPatch, "assign_guardrail": http.MethodPost} {
		t.Run(action, func(t *testing.T) {
			e, changes := mutationsEnv(t, tools.Options{}, nil)
			guard := sampleGuardrail(t, mustClient(t, e))
			e = e.tryingOnce(t)
			hashes := e.keysToDisable(t, "lost", 3)
			args, isDone := e.cleanup(t, action, guard, hashes)
			token := e.plan(t, args)["plan_token"].(string)
			e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultInternal, After: true, Method: method})
			if out, txt, ok := e.apply(t, token); !ok || out["complete"] != false || !isDone(hashes[0]) {
				t.Fatalf("want the first action failed, and made: %s", txt)
			}
			out, txt, ok := e.apply(t, token)
			if n := outcomes(out); !ok || out["complete"] != true || n["done_before"]+n["done"] != 3 || out["actions"].([]any)[0].(map[string]any)["outcome"] != "done_before" {
				t.Fatalf("re-apply: %s", txt)
			}
			for i, h := range hashes {
				if got := changes.of(h); got != 1 {
					t.Errorf("key %d was changed %d times, want once", i+1, got)
				}
			}
		})
	}
}

func TestApplyPlanAsksOnceAndHoldsThePolicyAtApplyTime(t *testing.T) {
	var told confirmSteps
	e, changes := mutationsEnv(t, tools.Options{ConfirmSecret: sharedSecret, OnConfirm: told.record}, nil)
	hashes := e.keysToDisable(t, "ask", 3)
	token := e.planOf(t, "delete", hashes)
	args := map[string]any{"plan_token": token}
	created := changes.all()

	q := e.callIn(t, eliciting(), "apply_plan", args, "", nil)
	if !q.NeedsInput() {
		t.Fatalf("apply_plan did not ask: %s", text(q))
	}
	b, _ := json.Marshal(q)
	if !strings.Contains(string(b), "delete 3") || !strings.Contains(string(b), `ask-02`) {
		t.Errorf("the question does not give the counts and names: %s", b)
	}
	if !strings.Contains(string(b), "cannot be undone") {
		t.Errorf("the question does not warn that deleting cannot be undone: %s", b)
	}
	res := e.callIn(t, eliciting(), "apply_plan", args, q.RequestState, accept(false))
	if sc := e.checked(t, "apply_plan", res); sc["declined"] != true || changes.all() != created {
		t.Errorf("declined: %v, %d changes", sc, changes.all()-created)
	}

	// The policy at apply time binds a plan made without it.
	strict := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{ConfirmSecret: sharedSecret, Policy: tools.Policy{ManagedPrefix: "agent-"}})
	if _, txt, ok := strict.apply(t, token); ok || !strings.Contains(txt, "--managed-prefix") || changes.all() != created {
		t.Errorf("the policy at apply time: %s", txt)
	}

	q = e.callIn(t, eliciting(), "apply_plan", args, "", nil)
	res = e.callIn(t, eliciting(), "apply_plan", args, q.RequestState, accept(true))
	if sc := e.checked(t, "apply_plan", res); sc["complete"] != true || changes.all() != created+3 {
		t.Errorf("accepted: %v, %d changes", sc, changes.all()-created)
	}
	// One question for the whole plan each time, not one a key.
	told.check(t, "apply_plan asked", "apply_plan declined", "apply_plan asked", "apply_plan accepted")
}

func TestReadOnlyKeepsThePlanAndHidesItsApply(t *testing.T) {
	e := newEnv(t, "management")
	list, err := tools.All(mustClient(t, e), tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for readOnly, want := range map[bool][]bool{false: {true, true}, true: {true, false}} {
		kept, err := tools.Select(list, tools.Selection{ReadOnly: readOnly})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range kept {
			names = append(names, tool.Tool.Name)
		}
		if slices.Contains(names, "plan_cleanup") != want[0] || slices.Contains(names, "apply_plan") != want[1] {
			t.Errorf("read-only %v offers %v", readOnly, names)
		}
	}
}

// BenchmarkApplyPlan applies a plan of 25 actions against the sandbox on a loopback socket (issue 21:
// under 2 s). Planning is outside the timer.
func BenchmarkApplyPlan(b *testing.B) {
	e := newEnvOpts(b, "management", tools.Options{})
	for range b.N {
		b.StopTimer()
		var hashes []string
		for i := range 25 {
			res := e.call(b, "create_key", fmt.Sprintf(`{"name":"bench-%02d"}`, i))
			hashes = append(hashes, structured(b, res)["key"].(map[string]any)["hash"].(string))
		}
		list, _ := json.Marshal(hashes)
		token := structured(b, e.call(b, "plan_cleanup", `{"delete":`+string(list)+`}`))["plan_token"].(string)
		b.StartTimer()
		if res := e.call(b, "apply_plan", `{"plan_token":"`+token+`"}`); res.IsError {
			b.Fatal(text(res))
		}
	}
}

// A plan made by one person cannot be applied by another, even on a replica sharing the secret; the
// person who made it can.
func TestAPlanMadeByOnePersonIsNotAppliedByAnother(t *testing.T) {
	who := tools.Options{ConfirmSecret: sharedSecret, Principal: func(ctx context.Context) string {
		p, _ := ctx.Value(whoKey{}).(string)
		return p
	}}
	e, changes := mutationsEnv(t, who, nil)
	hashes := e.keysToDisable(t, "theirs", 2)
	b, _ := json.Marshal(hashes)
	alice := context.WithValue(context.Background(), whoKey{}, "person:alice")
	bob := context.WithValue(context.Background(), whoKey{}, "person:bob")
	planned := e.callIn(t, alice, "plan_cleanup", map[string]any{"disable": json.RawMessage(b)}, "", nil)
	token, _ := e.checked(t, "plan_cleanup", planned)["plan_token"].(string)
	if token == "" {
		t.Fatalf("no plan: %s", text(planned))
	}
	before := changes.all()
	if res := e.callIn(t, bob, "apply_plan", map[string]any{"plan_token": token}, "", nil); !res.IsError || !strings.Contains(text(res), "made by another person") {
		t.Errorf("bob applying alice's plan: %s", text(res))
	}
	if changes.all() != before || e.disabled(t, hashes[0]) {
		t.Fatal("another person's plan changed a key")
	}
	if res := e.callIn(t, alice, "apply_plan", map[string]any{"plan_token": token}, "", nil); res.IsError {
		t.Errorf("alice applying her own plan: %s", text(res))
	}
}

// guardrailOf is the id of the guardrail assigned to the key itself, "" when none is.
func (e *env) guardrailOf(t *testing.T, hash string) string {
	t.Helper()
	res := e.call(t, "get_key", `{"hash":"`+hash+`"}`)
	if res.IsError {
		t.Fatalf("get_key: %s", text(res))
	}
	g, _ := structured(t, res)["key"].(map[string]any)["guardrail"].(map[string]any)
	if g == nil || g["via"] != "key" {
		return ""
	}
	return g["id"].(string)
}

// TestAPlanAssignsAGuardrailBoundToTheAssignmentAsRead: assign_guardrail plans the keys that do not
// hold the guardrail, skips one that does, and binds each key's assignment as read: one assigned
// meanwhile stops the whole plan, though assigning moves nothing of the key itself.
func TestAPlanAssignsAGuardrailBoundToTheAssignmentAsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, changes := mutationsEnv(t, tools.Options{Audit: openAudit(t, path)}, nil)
	guard := sampleGuardrail(t, mustClient(t, e))
	hashes := e.keysToDisable(t, "guard", 3)
	prod := mustKey(t, e, "Production chatbot")
	args := assignPlan(guard, append(slices.Clone(hashes), prod)...)
	before := changes.all()
	res := e.call(t, "plan_cleanup", args)
	sc := e.checked(t, "plan_cleanup", res)
	if got := actionsOf(sc); !slices.Equal(got, []string{"assign_guardrail guard-00", "assign_guardrail guard-01", "assign_guardrail guard-02"}) {
		t.Errorf("actions %v, want the three new keys", got)
	}
	if s := sc["skipped"].([]any); len(s) != 1 || s[0].(map[string]any)["hash"] != prod || !strings.Contains(s[0].(map[string]any)["reason"].(string), "already assigned") {
		t.Errorf("skipped %v, want the production key, which holds the guardrail already", s)
	}
	if want := `assign_guardrail: guardrail "Production policy" (` + guard + `)`; !strings.Contains(text(res), want) {
		t.Errorf("the plan's text does not name the guardrail (%s):\n%s", want, text(res))
	}
	if changes.all() != before {
		t.Fatal("planning changed the sandbox")
	}

	// Assigned meanwhile, by another call: the plan is refused, nothing applied.
	if res := e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+hashes[1]+`"]}`); res.IsError {
		t.Fatal(text(res))
	}
	before = changes.all()
	if _, txt, ok := e.apply(t, sc["plan_token"].(string)); ok || !strings.Contains(txt, "changed since") || !strings.Contains(txt, hashes[1][:12]) {
		t.Errorf("want nothing applied and the key assigned meanwhile named: %s", txt)
	}
	if changes.all() != before || e.guardrailOf(t, hashes[0]) != "" {
		t.Fatal("a refused plan assigned a guardrail")
	}

	// Planned again, it leaves that key out and assigns the others, each once, audited with the guardrail.
	sc = e.plan(t, args)
	out, txt, ok := e.apply(t, sc["plan_token"].(string))
	if !ok || out["complete"] != true || outcomes(out)["done"] != 2 {
		t.Fatalf("apply: %s", txt)
	}
	for _, h := range []string{hashes[0], hashes[2]} {
		if e.guardrailOf(t, h) != guard || changes.of(h) != 1 {
			t.Errorf("%.12s: guardrail %q after %d changes, want %s after one", h, e.guardrailOf(t, h), changes.of(h), guard)
		}
	}
	audited := 0
	for _, r := range readAudit(t, path) {
		if r["tool"] == "apply_plan" && r["action"] == "assign_guardrail" && r["guardrail_id"] == guard {
			audited++
		}
	}
	if audited != 4 {
		t.Errorf("%d audit records of the assignments with the guardrail, want an attempt and an outcome for each", audited)
	}
}

// TestAPlannedAssignmentHoldsToTheGuardrailPolicy: with --guardrail, a plan may assign that guardrail
// only, at plan time and at apply time; a guardrail that does not exist, or a workspace's default,
// which cannot be assigned, is refused before anything is planned.
func TestAPlannedAssignmentHoldsToTheGuardrailPolicy(t *testing.T) {
	const other = "11111111-2222-4333-8444-555555555555"
	e, changes := mutationsEnv(t, tools.Options{ConfirmSecret: sharedSecret}, nil)
	c := mustClient(t, e)
	guard := sampleGuardrail(t, c)
	hashes := e.keysToDisable(t, "policy", 2)
	args := assignPlan(guard, hashes...)
	token := e.plan(t, args)["plan_token"].(string)

	strict := newEnvWith(t, e.sb, c, tools.Options{ConfirmSecret: sharedSecret, Policy: tools.Policy{Guardrail: other}})
	if res := strict.call(t, "plan_cleanup", args); !res.IsError || !strings.Contains(text(res), "--guardrail") {
		t.Errorf("another guardrail than the policy's, at plan time: %s", text(res))
	}
	before := changes.all()
	if _, txt, ok := strict.apply(t, token); ok || !strings.Contains(txt, "--guardrail") || changes.all() != before {
		t.Errorf("another guardrail than the policy's, at apply time: %s", txt)
	}

	page, err := c.ListGuardrails(context.Background(), openrouter.ListGuardrailsParams{})
	if err != nil {
		t.Fatal(err)
	}
	var def string
	for _, g := range page.Items {
		if strings.HasSuffix(g.Name, " Default") {
			def = g.ID
		}
	}
	for args, want := range map[string]string{
		`{"assign_guardrail":["no_limit"]}`:                                "needs guardrail_id",
		`{"disable":["expired"],"guardrail_id":"` + guard + `"}`:           "goes with assign_guardrail",
		`{"assign_guardrail":["no_limit"],"guardrail_id":"` + other + `"}`: "There is no guardrail " + other,
		`{"assign_guardrail":["no_limit"],"guardrail_id":"` + def + `"}`:   "default guardrail of workspace",
	} {
		if res := e.call(t, "plan_cleanup", args); !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("%s: want a refusal saying %q, got %s", args, want, text(res))
		}
	}
}

// TestAPlanFindsKeysByTheKindsTheControlsTell: unbounded needs the guardrails beside the keys; a plan
// reads them to find such keys, as audit_keys does.
func TestAPlanFindsKeysByTheKindsTheControlsTell(t *testing.T) {
	e := newEnv(t, "management")
	guard := sampleGuardrail(t, mustClient(t, e))
	fresh := e.newKey(t, "fresh-unbounded")
	sc := e.plan(t, `{"assign_guardrail":["unbounded"],"guardrail_id":"`+guard+`"}`)
	if got := actionsOf(sc); !slices.Contains(got, "assign_guardrail fresh-unbounded") {
		t.Errorf("the plan %v does not assign the unbounded key %.12s", got, fresh)
	}
	for _, a := range sc["actions"].([]any) {
		if m := a.(map[string]any); m["name"] == "Production chatbot" {
			t.Errorf("a key its guardrail bounds was chosen as unbounded: %v", m)
		}
	}
}

// A plan that only assigns a guardrail is asked about as what it is: no key stops working.
func TestTheApplyQuestionWarnsOfWhatThePlanDoes(t *testing.T) {
	e, _ := mutationsEnv(t, tools.Options{ConfirmSecret: sharedSecret}, nil)
	guard := sampleGuardrail(t, mustClient(t, e))
	token := e.plan(t, assignPlan(guard, e.keysToDisable(t, "guard", 2)...))["plan_token"].(string)
	q := e.callIn(t, eliciting(), "apply_plan", map[string]any{"plan_token": token}, "", nil)
	if !q.NeedsInput() {
		t.Fatalf("apply_plan did not ask: %s", text(q))
	}
	b, _ := json.Marshal(q)
	if strings.Contains(string(b), "stops working") || !strings.Contains(string(b), "guardrail's budget and rules") {
		t.Errorf("the question for a plan that assigns a guardrail: %s", b)
	}
}

// TestAPlannedAssignmentSeesAChangeMadeElsewhere: apply_plan reads the guardrails assigned to the
// plan's keys fresh, not from the controls cache: an assignment made through another path (another
// replica, OpenRouter's dashboard), which does not clear this server's cache, still stops the plan.
func TestAPlannedAssignmentSeesAChangeMadeElsewhere(t *testing.T) {
	e, elsewhere, guard, hashes := cachingBesideAnother(t, "elsewhere")
	sc := e.plan(t, assignPlan(guard, hashes...))
	elsewhere.assign(t, guard, hashes[1])
	if _, txt, ok := e.apply(t, sc["plan_token"].(string)); ok || !strings.Contains(txt, "changed since") || !strings.Contains(txt, hashes[1][:12]) {
		t.Errorf("want nothing applied and the key assigned elsewhere named: %s", txt)
	}
	if g := elsewhere.guardrailOf(t, hashes[0]); g != "" {
		t.Errorf("a plan whose key changed elsewhere assigned %s to another key", g)
	}
}

// TestAPlanThePolicyRefusesAtApplyIsAPolicyRefusal: apply_plan refused because the policy no longer
// allows an action of the plan is told to OnPolicyRefusal (the metrics' refusals for the policy), as
// every other call the policy refuses.
func TestAPlanThePolicyRefusesAtApplyIsAPolicyRefusal(t *testing.T) {
	e, _ := mutationsEnv(t, tools.Options{ConfirmSecret: sharedSecret}, nil)
	c := mustClient(t, e)
	guard := sampleGuardrail(t, c)
	hashes := e.keysToDisable(t, "policy", 1)
	token := e.plan(t, assignPlan(guard, hashes[0]))["plan_token"].(string)
	var refused []string
	strict := newEnvWith(t, e.sb, c, tools.Options{ConfirmSecret: sharedSecret, Policy: tools.Policy{Guardrail: "11111111-2222-4333-8444-555555555555"},
		OnPolicyRefusal: func(tool string) { refused = append(refused, tool) }})
	if _, txt, ok := strict.apply(t, token); ok || !strings.Contains(txt, "--guardrail") {
		t.Fatalf("apply under a policy that allows another guardrail: %s", txt)
	}
	if !slices.Equal(refused, []string{"apply_plan"}) {
		t.Errorf("OnPolicyRefusal was told of %q; want apply_plan", refused)
	}
}

// TestAPlanToAssignReadsTheAssignmentsFresh: a plan that assigns a guardrail binds each key's assignment
// as read, so it reads them from OpenRouter, not from the controls cache: a key assigned elsewhere a
// moment ago is skipped as already assigned, not planned (and the plan then refused at apply).
func TestAPlanToAssignReadsTheAssignmentsFresh(t *testing.T) {
	e, elsewhere, guard, hashes := cachingBesideAnother(t, "fresh")
	if res := e.call(t, "list_keys", `{}`); res.IsError { // the cache now holds the assignments
		t.Fatal(text(res))
	}
	elsewhere.assign(t, guard, hashes[1])
	sc := e.plan(t, assignPlan(guard, hashes...))
	if acts := sc["actions"].([]any); len(acts) != 1 || acts[0].(map[string]any)["hash"] != hashes[0] {
		t.Errorf("want only the key not yet assigned planned: %v", sc)
	}
}

// assignPlan is plan_cleanup's arguments to assign the guardrail to the keys.
func assignPlan(guard string, hashes ...string) string {
	list, _ := json.Marshal(hashes)
	return `{"assign_guardrail":` + string(list) + `,"guardrail_id":"` + guard + `"}`
}

// cleanup is plan_cleanup's arguments to disable the keys, or to assign them the guardrail, and how to
// tell that the action is done on a key.
func (e *env) cleanup(t *testing.T, action, guard string, hashes []string) (args string, isDone func(hash string) bool) {
	if action == "assign_guardrail" {
		return assignPlan(guard, hashes...), func(h string) bool { return e.guardrailOf(t, h) == guard }
	}
	list, _ := json.Marshal(hashes)
	return `{"disable":` + string(list) + `}`, func(h string) bool { return e.disabled(t, h) }
}

// cachingBesideAnother is an env whose client caches the controls, beside another env on the same
// sandbox that changes them without its knowledge (as another replica or the dashboard would), the
// sample guardrail that may be assigned, and two keys named with prefix.
func cachingBesideAnother(t *testing.T, prefix string) (e, elsewhere *env, guard string, hashes []string) {
	t.Helper()
	elsewhere = newEnv(t, "management")
	e = elsewhere.caching(t)
	return e, elsewhere, sampleGuardrail(t, mustClient(t, e)), e.keysToDisable(t, prefix, 2)
}

// assign assigns the guardrail to the key through assign_guardrail.
func (e *env) assign(t *testing.T, guard, hash string) {
	t.Helper()
	if res := e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+hash+`"]}`); res.IsError {
		t.Fatal(text(res))
	}
}
