package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeyHygieneToolbox is issue #12's done-when, through the binary on the sandbox with two
// independent clients: one audit finds the sample data's expired, never-used and near-limit keys;
// credits, one key's activity and the workspaces are read; a key is rotated, the successor has the
// same settings and the old key is disabled.
func TestKeyHygieneToolbox(t *testing.T) {
	connect := map[string]func(t *testing.T, ctx context.Context) session{
		"mcp-go stdio": func(t *testing.T, ctx context.Context) session {
			s, _ := startMCPGo(t, ctx, "", cleanEnv(), "--sandbox")
			return s
		},
		"go-sdk http 2025-06-18": func(t *testing.T, ctx context.Context) session {
			return goSDKHTTP(t, ctx, startHTTP(t, cleanEnv(), "--sandbox").url, "2025-06-18", nil)
		},
	}
	for name, start := range connect {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			call := checkedCaller(t, ctx, start(t, ctx))

			audit := call("audit_keys", nil)
			kinds := map[string][]string{} // key name -> kinds found
			hashes := map[string]string{}
			for _, f := range audit["findings"].([]any) {
				f := asObject(f)
				kinds[f["name"].(string)] = append(kinds[f["name"].(string)], f["kind"].(string))
				hashes[f["name"].(string)] = f["hash"].(string)
			}
			for key, kind := range map[string]string{"Contractor access": "expired", "Unused test key": "never_used", "Production chatbot": "near_limit"} {
				if !strings.Contains(strings.Join(kinds[key], ","), kind) {
					t.Errorf("audit_keys: %q has %v, want %s", key, kinds[key], kind)
				}
			}
			if audit["workspaces_checked"] != 2.0 {
				t.Errorf("audit_keys checked %v workspaces, want both", audit["workspaces_checked"])
			}

			if ws := call("list_workspaces", nil)["workspaces"].([]any); len(ws) != 2 {
				t.Errorf("list_workspaces: %d workspaces, want 2", len(ws))
			}
			credits := call("get_credits", nil)
			if credits["remaining"].(float64) <= 0 || credits["total_credits"].(float64) < credits["total_usage"].(float64) {
				t.Errorf("get_credits: %v", credits)
			}
			activity := call("get_activity", map[string]any{"hash": hashes["Production chatbot"]})
			if rows := activity["rows"].([]any); len(rows) == 0 || asObject(activity["totals"])["usage"].(float64) <= 0 {
				t.Errorf("get_activity for one key: %d rows, totals %v", len(rows), activity["totals"])
			}

			old := asObject(call("create_key", map[string]any{"name": "to rotate", "limit": 7, "limit_reset": "weekly"})["key"])
			rotated := call("rotate_key", map[string]any{"hash": old["hash"]})
			successor := asObject(asObject(rotated["new"])["key"])
			for _, field := range []string{"name", "limit", "limit_reset", "workspace_id"} {
				if successor[field] != old[field] {
					t.Errorf("rotate_key: the successor's %s is %v, the old key's %v", field, successor[field], old[field])
				}
			}
			if !keyShape.MatchString(rotated["secret"].(string)) || asObject(rotated["old"])["retired"] != "disabled" {
				t.Errorf("rotate_key: %v", rotated["old"])
			}
			if got := asObject(call("get_key", map[string]any{"hash": old["hash"]})["key"]); got["disabled"] != true {
				t.Error("rotate_key: the old key is still enabled")
			}
		})
	}
}
