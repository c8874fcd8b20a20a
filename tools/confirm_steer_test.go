package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// question is the text of the one question a result asks, "" when it asks none.
func question(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.NeedsInput() {
		return ""
	}
	b, err := json.Marshal(res.InputRequests)
	if err != nil {
		t.Fatal(err)
	}
	var reqs map[string]struct {
		Params struct {
			Message string `json:"message"`
		} `json:"params"`
	}
	if err := json.Unmarshal(b, &reqs); err != nil || reqs["confirm"].Params.Message == "" {
		t.Fatalf("no question in %s (%v)", b, err)
	}
	return reqs["confirm"].Params.Message
}

// TestWhatStopsOrMovesAKeyIsAsked: a limit the key has already spent (0 included) stops it as surely
// as disabling it, and a move takes it to another workspace's guardrails and budgets: both are asked,
// and answered, as disabling is; a limit that leaves room, and a rename, are not asked.
func TestWhatStopsOrMovesAKeyIsAsked(t *testing.T) {
	e := newEnv(t, "management")
	ctx := eliciting()
	ws, err := e.sb.AddWorkspace(e.sb.ManagementKey(), "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	hash := e.newKey(t, "stoppable")
	for _, c := range []struct {
		args map[string]any
		ask  string // what the question must say; "" for no question
	}{
		{map[string]any{"limit": 0}, "a limit of 0 USD, which it has already spent"},
		{map[string]any{"limit": 0, "limit_reset": "daily"}, "a limit of 0 USD"},
		{map[string]any{"workspace_id": ws}, "move it from workspace"},
		{map[string]any{"disabled": true}, "disable it"},
		{map[string]any{"limit": 3}, ""},
		{map[string]any{"name": "stoppable-2"}, ""},
	} {
		args := map[string]any{"hash": hash}
		for k, v := range c.args {
			args[k] = v
		}
		res := e.callIn(t, ctx, "update_key", args, "", nil)
		q := question(t, res)
		switch {
		case c.ask == "" && q != "":
			t.Errorf("%v was asked about: %s", c.args, q)
		case c.ask == "" && res.IsError:
			t.Errorf("%v: %s", c.args, text(res))
		case c.ask != "" && !strings.Contains(q, c.ask):
			t.Errorf("%v: want a question saying %q, got %q (%s)", c.args, c.ask, q, text(res))
		}
		if c.ask == "" {
			continue
		}
		// Declined, nothing changes; the key is as it was.
		res = e.callIn(t, ctx, "update_key", args, res.RequestState, &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}})
		if res.IsError || structured(t, res)["declined"] != true {
			t.Errorf("%v declined: %s", c.args, text(res))
		}
	}
	key := structured(t, e.call(t, "get_key", `{"hash":"`+hash+`"}`))["key"].(map[string]any)
	if key["limit"] != 3.0 || key["disabled"] == true || key["workspace_id"] == ws {
		t.Errorf("a declined question changed the key: %v", key)
	}
}

// TestQuestionsShowWhatTheAgentCannotChange: an agent that renames the production key to "scratch
// test key (unused, safe to delete)" before asking to delete it is not asked about a scratch key
// alone: the question shows the hash, the creation date, its use, and the name it had an hour ago.
func TestQuestionsShowWhatTheAgentCannotChange(t *testing.T) {
	e := newEnvOpts(t, "management", tools.Options{})
	ctx := eliciting()
	hash := e.newKey(t, "production")
	created := structured(t, e.call(t, "get_key", `{"hash":"`+hash+`"}`))["key"].(map[string]any)["created_at"].(string)[:10]
	if res := e.callIn(t, ctx, "update_key", map[string]any{"hash": hash, "name": "scratch test key (unused, safe to delete)"}, "", nil); res.IsError || res.NeedsInput() {
		t.Fatalf("a rename is neither refused nor asked: %s", text(res))
	}
	for _, tool := range []string{"delete_key", "rotate_key"} {
		q := question(t, e.callIn(t, ctx, tool, map[string]any{"hash": hash}, "", nil))
		for _, want := range []string{"scratch test key", `renamed it from "production" less than a minute ago`, hash[:12], "created " + created, "no recorded use", "usage 0.00 USD"} {
			if !strings.Contains(q, want) {
				t.Errorf("%s: the question does not say %q: %s", tool, want, q)
			}
		}
	}
	// A key this server did not rename says nothing of renames.
	other := e.newKey(t, "other")
	if q := question(t, e.callIn(t, ctx, "delete_key", map[string]any{"hash": other}, "", nil)); strings.Contains(q, "renamed") || !strings.Contains(q, other[:12]) {
		t.Errorf("an unrenamed key: %s", q)
	}
}
