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
// takes a little while, so the failure is known before a slot frees for another action.
func TestAPartialFailureIsReportedAndTheRestAppliedOnce(t *testing.T) {
	var failing atomic.Value
	failing.Store("")
	e, changes := mutationsEnv(t, tools.Options{}, func(r *http.Request) bool {
		if r.Method != http.MethodPatch {
			return false
		}
		if h := failing.Load().(string); h != "" && strings.HasSuffix(r.URL.Path, "/"+h) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
		return false
	})
	once, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(e.sb.ManagementKey()),
		Retry: openrouter.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnvWith(t, e.sb, once, tools.Options{})
	hashes := e.keysToDisable(t, "partial", 20)
	token := e.planOf(t, "disable", hashes)

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
		if !e.disabled(t, h) {
			t.Errorf("key %d is not disabled", i+1)
		}
	}
}

// TestAChangeWhoseAnswerWasLostIsNotMadeAgain: the change reached OpenRouter but its answer did not
// (a 500 after the fact); applying again finds the key as the action leaves it and counts the action
// done, without sending it again.
func TestAChangeWhoseAnswerWasLostIsNotMadeAgain(t *testing.T) {
	e, changes := mutationsEnv(t, tools.Options{}, nil)
	once, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(e.sb.ManagementKey()),
		Retry: openrouter.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	e = newEnvWith(t, e.sb, once, tools.Options{})
	hashes := e.keysToDisable(t, "lost", 3)
	token := e.planOf(t, "disable", hashes)
	e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultInternal, After: true, Method: http.MethodPatch})
	if out, txt, ok := e.apply(t, token); !ok || out["complete"] != false || !e.disabled(t, hashes[0]) {
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
