package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeysWithTheirControls is issue #20's done-when, through the binary on the sandbox over stdio and
// HTTP: which guardrail binds each key and who made it; the unbounded and orphaned keys in one audit;
// a departed member's keys; 90 days of spend by key; a guardrail assigned to keys, directly and by a
// reviewed plan (issue #21); and the guarded production key rotated into a successor with the same
// guardrail, as the data team's notebook is into one with the same BYOK access.
func TestKeysWithTheirControls(t *testing.T) {
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

			// Which guardrail binds each key, and who made it.
			keys := map[string]map[string]any{}
			for _, k := range call("list_keys", map[string]any{"include_disabled": true, "include_expired": true})["keys"].([]any) {
				keys[asObject(k)["name"].(string)] = asObject(k)
			}
			prod := keys["Production chatbot"]
			if g := asObject(prod["guardrail"]); g["name"] != "Production policy" || g["via"] != "key" {
				t.Errorf("the production key's guardrail: %v", g)
			}
			if c := asObject(prod["creator"]); c["name"] != "Alex Morgan" {
				t.Errorf("the production key's creator: %v", c)
			}

			// The unbounded and orphaned keys, in one audit.
			found := map[string][]string{}
			for _, f := range call("audit_keys", map[string]any{"kinds": []string{"unbounded", "orphaned"}})["findings"].([]any) {
				f := asObject(f)
				found[f["name"].(string)] = append(found[f["name"].(string)], f["kind"].(string))
			}
			if strings.Join(found["Legacy batch job"], ",") != "unbounded,orphaned" || strings.Join(found["Data team notebook"], ",") != "unbounded" {
				t.Errorf("audit_keys: %v", found)
			}

			// A departed member's keys.
			var departed string
			for _, m := range call("list_members", nil)["members"].([]any) {
				if asObject(m)["left"] == true {
					departed = asObject(m)["id"].(string)
				}
			}
			theirs := call("list_members", map[string]any{"member": departed})["keys"].([]any)
			if len(theirs) != 1 || asObject(theirs[0])["name"] != "Legacy batch job" {
				t.Errorf("the departed member's keys: %v", theirs)
			}

			// 90 days of spend by key.
			spend := call("query_spend", map[string]any{"days": 90, "group_by": "key"})
			rows := spend["rows"].([]any)
			if len(rows) == 0 || asObject(rows[0])["name"] != "Production chatbot" || spend["usage"].(float64) < 150 {
				t.Errorf("query_spend: %v USD, top %v", spend["usage"], rows[:min(1, len(rows))])
			}

			// A guardrail assigned to keys.
			guard := asObject(prod["guardrail"])["id"].(string)
			ci := keys["CI pipeline"]["hash"].(string)
			if got := call("assign_guardrail", map[string]any{"guardrail_id": guard, "hashes": []string{ci}}); got["count"] != 1.0 {
				t.Errorf("assign_guardrail: %v", got)
			}
			listed := asObject(call("list_guardrails", map[string]any{"guardrail_id": guard})["guardrails"].([]any)[0])
			if !strings.Contains(joinHashes(listed["keys"]), ci) {
				t.Errorf("list_guardrails: the CI key is not among %v", listed["keys"])
			}

			// The same guardrail for the unbounded keys, in one reviewed plan (issue #21's assign_guardrail).
			plan := call("plan_cleanup", map[string]any{"assign_guardrail": []string{"unbounded"}, "guardrail_id": guard})
			if n := len(plan["actions"].([]any)); n != 2 {
				t.Fatalf("a plan to guard the unbounded keys: %d actions, want 2: %v", n, plan)
			}
			if applied := call("apply_plan", map[string]any{"plan_token": plan["plan_token"]}); applied["complete"] != true {
				t.Errorf("apply_plan: %v", applied)
			}
			listed = asObject(call("list_guardrails", map[string]any{"guardrail_id": guard})["guardrails"].([]any)[0])
			for _, name := range []string{"Legacy batch job", "Data team notebook"} {
				if !strings.Contains(joinHashes(listed["keys"]), keys[name]["hash"].(string)) {
					t.Errorf("after the plan, %q is not among the guardrail's keys %v", name, listed["keys"])
				}
			}

			// The guarded production key, rotated: the successor has its guardrail before the old key goes.
			rotated := call("rotate_key", map[string]any{"hash": prod["hash"], "retire": "delete"})
			successor := asObject(asObject(rotated["new"])["key"])["hash"].(string)
			if asObject(rotated["old"])["retired"] != "deleted" || len(asObject(rotated["controls"])["lacks"].([]any)) != 0 {
				t.Errorf("rotate_key: %v, controls %v", rotated["old"], rotated["controls"])
			}
			if g := asObject(asObject(call("get_key", map[string]any{"hash": successor})["key"])["guardrail"]); g["id"] != guard || g["via"] != "key" {
				t.Errorf("the successor's guardrail: %v", g)
			}
			// The notebook, which alone may use the data team's BYOK credential: its successor may too.
			rotated = call("rotate_key", map[string]any{"hash": keys["Data team notebook"]["hash"], "retire": "delete"})
			// (and, since the plan, the guardrail).
			kept := map[string]string{}
			for _, c := range asObject(rotated["controls"])["has"].([]any) {
				kept[asObject(c)["kind"].(string)] = asObject(c)["name"].(string)
			}
			if len(kept) != 2 || kept["byok"] != "Data team Gemini" || kept["guardrail"] != "Production policy" {
				t.Errorf("the notebook's successor's controls: %v", rotated["controls"])
			}
		})
	}
}

// joinHashes lists the hashes of a list of {hash, name} objects.
func joinHashes(v any) string {
	var out []string
	for _, k := range v.([]any) {
		out = append(out, asObject(k)["hash"].(string))
	}
	return strings.Join(out, " ")
}
