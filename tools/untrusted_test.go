package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// hiddenClasses are the kinds of characters that text from OpenRouter must not bring to the model
// unseen, each with examples to plant and a test of whether a rune belongs to the class. The tests
// are written out here, apart from the code under test, so that a narrower sanitizer fails them.
var hiddenClasses = []struct {
	name    string
	plant   string
	belongs func(r rune) bool
}{
	{"control", "\x07\n\x1b[31m\u0085\r", func(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 }},
	{"bidi", "\u202e\u2066\u200f\u061c", func(r rune) bool {
		return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
	}},
	{"zero-width", "\u200b\u200d\ufeff\u2060\u00ad", func(r rune) bool {
		return r >= 0x200b && r <= 0x200d || r == 0xfeff || r >= 0x2060 && r <= 0x2064 || r == 0x00ad
	}},
	{"tag", "\U000E0001\U000E0041\U000E0042\U000E007F", func(r rune) bool { return r >= 0xe0000 && r <= 0xe007f }},
	{"variation selector and filler", "\ufe0f\U000E0100\u3164", func(r rune) bool {
		return r >= 0xfe00 && r <= 0xfe0f || r >= 0xe0100 && r <= 0xe01ef || r == 0x3164
	}},
}

// hostile is a name holding every class of hidden character, read as "prod" by a person.
func hostile(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix + "prod")
	for _, c := range hiddenClasses {
		b.WriteString(c.plant + "x")
	}
	return b.String()
}

// checkShown fails for any hidden character anywhere in a result: its text, its structuredContent,
// and any question it asks, decoded from the JSON a client would read.
func checkShown(t *testing.T, what string, res *mcp.CallToolResult) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			for _, r := range v {
				for _, c := range hiddenClasses {
					// The text block's own line breaks are ours; a name's were escaped.
					if c.belongs(r) && r != '\n' {
						t.Errorf("%s: a %s character U+%04X reaches the client in %q", what, c.name, r, v)
					}
				}
			}
		case map[string]any:
			for k, x := range v {
				walk(k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

// TestTextFromOpenRouterIsShownNotHidden plants names holding control, bidirectional, zero-width, tag
// and other invisible characters in the sandbox (keys and a workspace, made straight through the
// client and the sandbox, as a person would in OpenRouter's dashboard) and checks every tool's result,
// a policy refusal and a confirmation question that quote them.
func TestTextFromOpenRouterIsShownNotHidden(t *testing.T) {
	e := newEnvOpts(t, "management", tools.Options{})
	c := mustClient(t, e)
	ctx := context.Background()
	ws, err := e.sb.AddWorkspace(e.sb.ManagementKey(), hostile("ws-"))
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, n := range []string{"get", "update", "delete", "rotate", "ask", "plan"} {
		k, err := c.CreateKey(ctx, openrouter.CreateKeyRequest{Name: hostile(n + "-"), WorkspaceID: ws})
		if err != nil {
			t.Fatal(err)
		}
		hashes[n] = k.Key.Hash
	}
	if _, err := c.CreateKey(ctx, openrouter.CreateKeyRequest{Name: hostile("default-")}); err != nil {
		t.Fatal(err)
	}
	// The sandbox's guardrail, assigned to a key with a hidden name, for list_guardrails to quote.
	guards, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
	if err != nil || len(guards.Items) == 0 {
		t.Fatalf("guardrails: %v", err)
	}
	guard := guards.Items[0].ID
	if _, err := c.AssignKeys(ctx, guard, []string{hashes["get"]}); err != nil {
		t.Fatal(err)
	}
	calls := map[string]string{
		"list_guardrails":  `{}`,
		"assign_guardrail": `{"guardrail_id":"` + guard + `","hashes":["` + hashes["update"] + `"]}`,
		"list_members":     `{}`,
		"query_spend":      `{}`,
		"list_keys":        `{"workspace_id":"` + ws + `"}`,
		"get_key":          `{"hash":"` + hashes["get"] + `"}`,
		"create_key":       `{"name":` + jsonString(t, hostile("new-")) + `}`,
		"update_key":       `{"hash":"` + hashes["update"] + `","limit":3}`,
		"delete_key":       `{"hash":"` + hashes["delete"] + `"}`,
		"current_key":      `{}`,
		"list_workspaces":  `{}`,
		"get_credits":      `{}`,
		"get_activity":     `{}`,
		"audit_keys":       `{}`,
		"rotate_key":       `{"hash":"` + hashes["rotate"] + `","retire":"keep"}`,
		"plan_cleanup":     `{"disable":["` + hashes["plan"] + `"]}`,
		"apply_plan":       `{"plan_token":"PLAN_TOKEN"}`,
	}
	e.callEvery(t, calls, func(name, _ string, res *mcp.CallToolResult) { checkShown(t, name, res) })
	listed := text(e.call(t, "list_keys", `{"workspace_id":"`+ws+`"}`))
	if !strings.Contains(listed, `"get-prod[U+0007][U+000A][U+001B][31m`) || !strings.Contains(listed, "[U+202E]") || !strings.Contains(listed, "[U+E0041]") {
		t.Errorf("list_keys does not show the hidden characters escaped in a quoted name:\n%s", listed)
	}
	if w := text(e.call(t, "list_workspaces", `{}`)); !strings.Contains(w, `"ws-prod[U+0007]`) {
		t.Errorf("list_workspaces does not quote the name and escape it:\n%s", w)
	}

	t.Run("policy refusal", func(t *testing.T) {
		p := newEnvWith(t, e.sb, c, tools.Options{Policy: tools.Policy{ManagedPrefix: "agent-"}})
		res := p.call(t, "update_key", `{"hash":"`+hashes["ask"]+`","limit":1}`)
		if !res.IsError || !strings.Contains(text(res), "ask-prod") {
			t.Fatalf("want a refusal naming the key: %s", text(res))
		}
		checkShown(t, "a refusal", res)
	})
	t.Run("confirmation question", func(t *testing.T) {
		q := e.callIn(t, eliciting(), "delete_key", map[string]any{"hash": hashes["ask"]}, "", nil)
		if !q.NeedsInput() {
			t.Fatalf("delete_key did not ask: %s", text(q))
		}
		b, _ := json.Marshal(q)
		if !strings.Contains(string(b), "ask-prod") {
			t.Fatalf("the question does not name the key: %s", b)
		}
		checkShown(t, "the question", q)
	})
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
