package tools_test

import (
	"strings"
	"testing"
)

// TestListGuardrailsSaysWhatBindsWhom: each guardrail's budget and rules in a line, with the keys and
// members it is assigned to; guardrail_id shows one in full.
func TestListGuardrailsSaysWhatBindsWhom(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "list_guardrails", `{}`)
	sc := e.checked(t, "list_guardrails", res)
	gs := sc["guardrails"].([]any)
	if len(gs) != 2 {
		t.Fatalf("%d guardrails, want the sample's 2", len(gs))
	}
	prod, def := gs[0].(map[string]any), gs[1].(map[string]any)
	if prod["name"] != "Production policy" || !strings.HasPrefix(prod["rules"].(string), "budget 300 USD monthly; models ") ||
		prod["workspace_default"] != nil || prod["detail"] != nil {
		t.Errorf("production guardrail: %v", prod)
	}
	if keys := prod["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["name"] != "Production chatbot" {
		t.Errorf("production guardrail's keys: %v", keys)
	}
	if m := prod["members"].([]any); len(m) != 1 || m[0].(map[string]any)["name"] != "Sam Lee" {
		t.Errorf("production guardrail's members: %v", m)
	}
	if def["workspace_default"] != true || !strings.HasPrefix(def["rules"].(string), "no budget") {
		t.Errorf("default guardrail: %v", def)
	}
	for _, want := range []string{`"Production policy" `, `Keys: "Production chatbot" `, "Members: Sam Lee.", "the workspace's default: binds every key"} {
		if !strings.Contains(text(res), want) {
			t.Errorf("text lacks %q:\n%s", want, text(res))
		}
	}

	one := e.checked(t, "list_guardrails", e.call(t, "list_guardrails", `{"guardrail_id":"`+prod["id"].(string)+`"}`))["guardrails"].([]any)
	if len(one) != 1 || one[0].(map[string]any)["detail"].(map[string]any)["limit_usd"] != 300.0 {
		t.Errorf("one guardrail in full: %v", one)
	}
	res = e.call(t, "list_guardrails", `{"guardrail_id":"00000000-0000-4000-8000-000000000000"}`)
	if !res.IsError || !strings.Contains(text(res), "without guardrail_id") {
		t.Errorf("an unknown guardrail: %s", text(res))
	}
}
