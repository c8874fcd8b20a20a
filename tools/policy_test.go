package tools_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

func TestPolicyRefusesBeforeAnythingIsSent(t *testing.T) {
	maxLimit := 10.0
	policy := tools.Policy{MaxLimit: &maxLimit, MaxExpiry: 30 * 24 * time.Hour, ManagedPrefix: "agent-"}
	e, _ := countingEnv(t, tools.Options{Policy: policy})
	plain := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{})
	foreign := plain.newKey(t, "prod-main") // made outside the policy, by someone else

	refused := func(tool, args, rule string) {
		t.Helper()
		before := e.sb.Requests()
		res := e.call(t, tool, args)
		if !res.IsError || !strings.Contains(text(res), "Refused by the server's policy ("+rule) || !strings.Contains(text(res), "Nothing was sent") {
			t.Errorf("%s %s: want a refusal naming %s, got %s", tool, args, rule, text(res))
		}
		// Only a lookup of the key the call names may have been made.
		if got := e.sb.Requests() - before; got > 1 {
			t.Errorf("%s %s: %d requests reached OpenRouter", tool, args, got)
		}
	}
	later := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

	refused("create_key", `{"name":"agent-a"}`, "--max-limit 10")
	refused("create_key", `{"name":"agent-a","limit":20}`, "--max-limit 10")
	refused("create_key", `{"name":"ci","limit":5}`, `--managed-prefix "agent-"`)
	refused("create_key", `{"name":"agent-a","limit":5,"expires_at":"`+later(60*24*time.Hour)+`"}`, "--max-expiry 30d")

	res := e.call(t, "create_key", `{"name":"agent-a","limit":5,"limit_reset":null}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	sc := structured(t, res)
	key := sc["key"].(map[string]any)
	expires, err := time.Parse(time.RFC3339, key["expires_at"].(string))
	if err != nil || time.Until(expires) < 29*24*time.Hour || time.Until(expires) > 30*24*time.Hour {
		t.Errorf("a key created without expires_at must get the policy's: %v", key["expires_at"])
	}
	if note, _ := sc["note"].(string); !strings.Contains(note, "--max-expiry 30d") || !strings.Contains(text(res), note) {
		t.Errorf("the result must say the policy set the expiry: %v", sc["note"])
	}
	hash := key["hash"].(string)
	if res := e.call(t, "create_key", `{"name":"agent-b","limit":10,"expires_at":"`+later(24*time.Hour)+`"}`); res.IsError {
		t.Errorf("a key within the policy: %s", text(res))
	}

	refused("update_key", `{"hash":"`+hash+`","remove_limit":true}`, "--max-limit 10")
	refused("update_key", `{"hash":"`+hash+`","limit":50}`, "--max-limit 10")
	refused("update_key", `{"hash":"`+hash+`","name":"prod-b"}`, `--managed-prefix "agent-"`)
	refused("update_key", `{"hash":"`+foreign+`","disabled":true}`, `--managed-prefix "agent-"`)
	refused("delete_key", `{"hash":"`+foreign+`"}`, `--managed-prefix "agent-"`)
	if plain.disabled(t, foreign) {
		t.Error("a key outside the managed prefix was changed")
	}
	if res := e.call(t, "update_key", `{"hash":"`+hash+`","limit":8,"name":"agent-renamed"}`); res.IsError {
		t.Errorf("an update within the policy: %s", text(res))
	}
	if res := e.call(t, "get_key", `{"hash":"`+foreign+`"}`); res.IsError {
		t.Errorf("reads are not limited: %s", text(res))
	}
	if res := e.call(t, "delete_key", `{"hash":"`+hash+`"}`); res.IsError {
		t.Errorf("deleting a managed key: %s", text(res))
	}

	// The model reads the policy where it decides how to call the tools that change keys.
	for name, st := range e.tools {
		mentions := strings.Contains(st.Tool.Description, "--max-limit") && strings.Contains(st.Tool.Description, "agent-")
		if readOnly := *st.Tool.Annotations.ReadOnlyHint; mentions == readOnly {
			t.Errorf("%s (read-only %v): description mentions the policy: %v", name, readOnly, mentions)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "0.5d": 12 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := tools.ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got, _ := tools.ParseExpiry(tools.FormatExpiry(want)); got != want {
			t.Errorf("FormatExpiry(%v) does not read back", want)
		}
	}
	for _, in := range []string{"", "30", "d", "-1d", "10s", "forever"} {
		if _, err := tools.ParseExpiry(in); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", in)
		}
	}
}

// confirmSteps records what OnConfirm is told, as "tool step" lines.
type confirmSteps struct {
	mu    sync.Mutex
	steps []string
}

func (c *confirmSteps) record(tool string, step tools.ConfirmStep) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps = append(c.steps, tool+" "+string(step))
}

// check compares the steps told since the last check with want.
func (c *confirmSteps) check(t *testing.T, want ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Equal(c.steps, want) {
		t.Errorf("OnConfirm was told %q, want %q", c.steps, want)
	}
	c.steps = nil
}

func TestAConfirmationCountsOnceForTheKeyAsItWas(t *testing.T) {
	var told confirmSteps
	e, _ := countingEnv(t, tools.Options{OnConfirm: told.record})
	ctx := eliciting()
	refusedWith := func(res *mcp.CallToolResult, want string) {
		t.Helper()
		if !res.IsError || !strings.Contains(text(res), want) || !strings.Contains(text(res), "nothing was changed") {
			t.Errorf("want a refusal saying %q, got %s", want, text(res))
		}
	}

	t.Run("replayed after the key was enabled again", func(t *testing.T) {
		hash := e.newKey(t, "replay")
		args := map[string]any{"hash": hash, "disabled": true}
		q := e.callIn(t, ctx, "update_key", args, "", nil)
		if res := e.callIn(t, ctx, "update_key", args, q.RequestState, accept(true)); res.IsError || !e.disabled(t, hash) {
			t.Fatalf("confirmed disable: %s", text(res))
		}
		if res := e.call(t, "update_key", `{"hash":"`+hash+`","disabled":false}`); res.IsError {
			t.Fatal(text(res))
		}
		refusedWith(e.callIn(t, ctx, "update_key", args, q.RequestState, accept(true)), "already answered")
		if e.disabled(t, hash) {
			t.Error("a replayed confirmation disabled the key again")
		}
		told.check(t, "update_key asked", "update_key accepted", "update_key invalid")
	})
	t.Run("declined, then accepted", func(t *testing.T) {
		hash := e.newKey(t, "second-answer")
		args := map[string]any{"hash": hash}
		q := e.callIn(t, ctx, "delete_key", args, "", nil)
		if res := e.callIn(t, ctx, "delete_key", args, q.RequestState, accept(false)); res.IsError || structured(t, res)["declined"] != true {
			t.Fatalf("decline: %s", text(res))
		}
		refusedWith(e.callIn(t, ctx, "delete_key", args, q.RequestState, accept(true)), "already answered")
		if res := e.call(t, "get_key", `{"hash":"`+hash+`"}`); res.IsError {
			t.Error("a second answer deleted the key")
		}
		told.check(t, "delete_key asked", "delete_key declined", "delete_key invalid")
	})
	t.Run("answered after the key changed", func(t *testing.T) {
		hash := e.newKey(t, "changed")
		args := map[string]any{"hash": hash, "disabled": true}
		q := e.callIn(t, ctx, "update_key", args, "", nil)
		if res := e.call(t, "update_key", `{"hash":"`+hash+`","name":"changed-meanwhile"}`); res.IsError {
			t.Fatal(text(res))
		}
		refusedWith(e.callIn(t, ctx, "update_key", args, q.RequestState, accept(true)), "key changed after the user was asked")
		if e.disabled(t, hash) {
			t.Error("an answer about the key as it was disabled it as it is")
		}
		told.check(t, "update_key asked", "update_key invalid")
	})
}

// silentUser declares it can ask its user, who never answers.
type silentUser struct{}

func (silentUser) Elicit(ctx context.Context, _ mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAQuestionNobodyAnswersEndsTheCall(t *testing.T) {
	var told confirmSteps
	e, _ := countingEnv(t, tools.Options{ConfirmWait: 300 * time.Millisecond, OnConfirm: told.record})
	hash := e.newKey(t, "unanswered")
	s := server.NewMCPServer("test", "1", server.WithToolCapabilities(false), server.WithElicitation())
	for _, st := range e.tools {
		s.AddTool(st.Tool, st.Handler)
	}
	c, err := mcpclient.NewInProcessClientWithOptions(s, mcpclient.WithElicitationHandler(silentUser{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "delete_key"
	req.Params.Arguments = map[string]any{"hash": hash}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(text(res), "No answer came from the user within 300ms") || !strings.Contains(text(res), "--confirm=never") {
		t.Errorf("want the call ended with advice, got %s", text(res))
	}
	if res := e.call(t, "get_key", `{"hash":"`+hash+`"}`); res.IsError {
		t.Error("the key was deleted without an answer")
	}
	told.check(t, "delete_key asked", "delete_key unanswered") // asked within the call, as before 2026-07-28
}

// TestPolicyGuardrailBindsEveryNewKey: with --guardrail, create_key's key and rotate_key's successor
// are assigned it; a key it cannot be assigned to is deleted again; assign_guardrail cannot take it off.
func TestPolicyGuardrailBindsEveryNewKey(t *testing.T) {
	plain := newEnv(t, "management")
	guard := sampleGuardrail(t, mustClient(t, plain)) // every sandbox has the same sample ids
	e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{Guardrail: guard}})
	guardrailOf := func(hash string) any {
		return e.checked(t, "get_key", e.call(t, "get_key", `{"hash":"`+hash+`"}`))["key"].(map[string]any)["guardrail"]
	}

	made := e.checked(t, "create_key", e.call(t, "create_key", `{"name":"guarded"}`))["key"].(map[string]any)["hash"].(string)
	if g, _ := guardrailOf(made).(map[string]any); g["id"] != guard || g["via"] != "key" {
		t.Errorf("create_key's key: guardrail %v", g)
	}
	ci := mustKey(t, e, "CI pipeline") // bound by nothing but its workspace's default
	sc := e.checked(t, "rotate_key", e.call(t, "rotate_key", `{"hash":"`+ci+`"}`))
	successor := sc["new"].(map[string]any)["key"].(map[string]any)["hash"].(string)
	if g, _ := guardrailOf(successor).(map[string]any); g["id"] != guard {
		t.Errorf("rotate_key's successor: guardrail %v", g)
	}

	// The create passes, the assignment fails: the key is deleted again.
	before := e.sb.KeyCount(e.sb.ManagementKey())
	e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultNone, Method: "POST"}, sandbox.Fault{Kind: sandbox.FaultInternal, Method: "POST"})
	res := e.call(t, "create_key", `{"name":"unguarded"}`)
	if !res.IsError || !strings.Contains(text(res), "--guardrail "+guard) || !strings.Contains(text(res), "deleted again") {
		t.Errorf("a failed assignment: %s", text(res))
	}
	if after := e.sb.KeyCount(e.sb.ManagementKey()); after != before {
		t.Errorf("%d keys after a failed assignment, want %d", after, before)
	}

	for _, args := range []string{`{"guardrail_id":"` + guard + `","hashes":["` + made + `"],"remove":true}`,
		`{"guardrail_id":"00000000-0000-4000-8000-000000000000","hashes":["` + made + `"]}`} {
		if res := e.call(t, "assign_guardrail", args); !res.IsError || !strings.Contains(text(res), "Refused by the server's policy (--guardrail") {
			t.Errorf("assign_guardrail %s: %s", args, text(res))
		}
	}
	if g, _ := guardrailOf(made).(map[string]any); g["id"] != guard {
		t.Errorf("after the refusals: guardrail %v", g)
	}
}

// TestPolicyGuardrailRefusesARotationThatWouldDropAnother: a key bound by another guardrail cannot have
// a successor that holds both, so nothing is made.
func TestPolicyGuardrailRefusesARotationThatWouldDropAnother(t *testing.T) {
	e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{Guardrail: "00000000-0000-4000-8000-000000000000"}})
	before := e.sb.KeyCount(e.sb.ManagementKey())
	res := e.call(t, "rotate_key", `{"hash":"`+mustKey(t, e, "Production chatbot")+`"}`)
	if !res.IsError || !strings.Contains(text(res), `bound by guardrail "Production policy"`) || !strings.Contains(text(res), "was not changed") {
		t.Errorf("rotate_key: %s", text(res))
	}
	if after := e.sb.KeyCount(e.sb.ManagementKey()); after != before {
		t.Errorf("%d keys, want %d: nothing may be made", after, before)
	}
}
