package e2e

import (
	"slices"
	"testing"
)

// TestStrictModeHost runs testdata/agents-strict/strict.mjs (issue #13): the OpenAI Agents SDK (pinned
// in testdata/agents-strict/package.json and its lock file) lists the tools of the binary over stdio,
// converts them to strict function tools, and invokes them as a strict-mode model calls them, with
// null for every argument left alone: a create with only a name, a $5 limit, a rename that must keep
// that limit, an all-null update that must be refused, and a clean-up planned (never-used keys disabled,
// expired ones deleted) and applied with its token. No model is involved. The script checks each
// step itself and prints a one-line JSON summary, which runScript reads.
func TestStrictModeHost(t *testing.T) {
	t.Parallel()
	node := node22(t) // the SDK's openai package needs Node >= 22
	script := npmScript(t, "agents-strict", "strict.mjs")

	var sum struct {
		Tools []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Strict bool   `json:"strict"`
		} `json:"tools"`
		Steps []struct {
			Step string `json:"step"`
			OK   bool   `json:"ok"`
		} `json:"steps"`
	}
	runScript(t, node, &sum, script, binary)
	// The script checks what it finds; these make sure it found everything, so that a tool or step
	// that went missing cannot pass unnoticed.
	var strict []string
	for _, tool := range sum.Tools {
		if tool.Type == "function" && tool.Strict {
			strict = append(strict, tool.Name)
		}
	}
	if want := []string{"apply_plan", "assign_guardrail", "audit_keys", "create_key", "current_key", "delete_key", "get_activity", "get_credits", "get_key", "list_guardrails", "list_keys", "list_members", "list_workspaces", "plan_cleanup", "query_spend", "rotate_key", "update_key"}; !slices.Equal(strict, want) {
		t.Errorf("strict function tools %v, want %v", strict, want)
	}
	var steps []string
	for _, s := range sum.Steps {
		if s.OK {
			steps = append(steps, s.Step)
		}
	}
	if want := []string{"create_key name only", "update_key limit 5", "update_key rename", "update_key all null", "plan_cleanup", "apply_plan"}; !slices.Equal(steps, want) {
		t.Errorf("steps passed %v, want %v", steps, want)
	}
}
