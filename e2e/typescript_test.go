package e2e

import (
	"slices"
	"testing"
)

// TestToolFlowWithTheTypeScriptSDK runs testdata/ts-client/flow.mjs, the tool flow on the official
// MCP TypeScript SDK client (pinned in testdata/ts-client/package.json and its lock file), against the
// binary over stdio and over streamable HTTP. The script checks every schema as JSON Schema 2020-12 and
// every structuredContent against its outputSchema, and prints a one-line JSON summary.
func TestToolFlowWithTheTypeScriptSDK(t *testing.T) {
	t.Parallel()
	node := lookTool(t, "node", installNode)
	if nodeMajor(t, node) < 20 {
		missingTool(t, "Node.js >= 20", installNode)
	}
	flow := npmScript(t, "ts-client", "flow.mjs")

	cases := []struct {
		name        string
		args        func(t *testing.T) []string
		elicitation int // confirmations asked (disable and delete), or -1: not checked
	}{
		{"stdio", func(*testing.T) []string { return []string{"--stdio", binary, "--sandbox", "--log-level", "warn"} }, 2},
		{"http-stateless", func(t *testing.T) []string { return []string{"--url", startHTTP(t, cleanEnv(), "--sandbox").url} }, -1},
		{"http-stateful", func(t *testing.T) []string {
			return []string{"--url", startHTTP(t, cleanEnv(), "--sandbox", "--stateful").url}
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sum struct {
				Transport       string   `json:"transport"`
				ProtocolVersion string   `json:"protocolVersion"`
				Tools           []string `json:"tools"`
				SchemasCompiled int      `json:"schemasCompiled"`
				Steps           []struct {
					Step string `json:"step"`
					OK   bool   `json:"ok"`
				} `json:"steps"`
				Elicitations int `json:"elicitations"`
			}
			runScript(t, node, &sum, flow, tc.args(t)...)
			want := []string{"apply_plan", "assign_guardrail", "audit_keys", "create_key", "current_key", "delete_key", "get_activity", "get_credits", "get_key", "list_guardrails", "list_keys", "list_members", "list_workspaces", "plan_cleanup", "query_spend", "rotate_key", "update_key"}
			if !slices.Equal(sum.Tools, want) || sum.SchemasCompiled != 34 {
				t.Errorf("tools %v with %d schemas compiled; want %v and 34", sum.Tools, sum.SchemasCompiled, want)
			}
			if len(sum.Steps) != 8 {
				t.Errorf("%d steps ran, want 8", len(sum.Steps))
			}
			if sum.ProtocolVersion != "2025-11-25" {
				t.Errorf("negotiated %q, want 2025-11-25 (the SDK's newest)", sum.ProtocolVersion)
			}
			if tc.elicitation >= 0 && sum.Elicitations != tc.elicitation {
				t.Errorf("the server asked %d confirmations, want %d (disable and delete)", sum.Elicitations, tc.elicitation)
			}
		})
	}
}
