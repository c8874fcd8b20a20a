package tools_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// TestAssignGuardrailAssignsAndRemoves: a guardrail assigned to keys binds them, the call is audited,
// and remove takes it off again.
func TestAssignGuardrailAssignsAndRemoves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e := newEnvOpts(t, "management", tools.Options{Audit: openAudit(t, path)})
	guard := sampleGuardrail(t, mustClient(t, e))
	notebook, ci := mustKey(t, e, "Data team notebook"), mustKey(t, e, "CI pipeline")
	args := `{"guardrail_id":"` + guard + `","hashes":["` + notebook + `","` + ci + `"]}`
	res := e.call(t, "assign_guardrail", args)
	sc := e.checked(t, "assign_guardrail", res)
	if sc["count"] != 2.0 || len(sc["replaced"].([]any)) != 0 || !strings.Contains(text(res), "Assigned guardrail "+guard+" to 2 keys.") {
		t.Errorf("assign: %s", text(res))
	}
	if g := e.keyNamed(t, "CI pipeline")["guardrail"].(map[string]any); g["id"] != guard || g["via"] != "key" {
		t.Errorf("after assigning: %v", g)
	}
	sc = e.checked(t, "assign_guardrail", e.call(t, "assign_guardrail", strings.Replace(args, "}", `,"remove":true}`, 1)))
	if sc["count"] != 2.0 || sc["removed"] != true || e.keyNamed(t, "CI pipeline")["guardrail"].(map[string]any)["via"] != "workspace" {
		t.Errorf("remove: %v", sc)
	}
	var records int
	for _, r := range readAudit(t, path) {
		if r["tool"] == "assign_guardrail" && strings.Contains(r["name"].(string), notebook) {
			records++
		}
	}
	if records != 4 {
		t.Errorf("%d audit records naming the keys, want an attempt and an outcome for each call", records)
	}

	// OpenRouter refuses a hash that is not the account's; nothing is assigned.
	res = e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+strings.Repeat("ab", 32)+`"]}`)
	if !res.IsError || !strings.Contains(text(res), "No key was changed") {
		t.Errorf("an unknown hash: %s", text(res))
	}
	if res := e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":[]}`); !res.IsError {
		t.Error("no hashes must be refused")
	}
}

// TestAssignGuardrailNamesWhatItReplaced: a key that had another guardrail is named in the result.
func TestAssignGuardrailNamesWhatItReplaced(t *testing.T) {
	const other = "11111111-2222-4333-8444-555555555555"
	var notebook atomic.Value // set once the sandbox is up; read by its handler
	notebook.Store("")
	e := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			// The notebook holds another guardrail, which the sample data has none of.
			if r.Method == http.MethodGet && r.URL.Path == "/api/v1/guardrails/assignments/keys" && notebook.Load() != "" {
				_, _ = w.Write([]byte(`{"data":[{"id":"a1","key_hash":"` + notebook.Load().(string) + `","guardrail_id":"` + other +
					`","key_name":"Data team notebook","key_label":"sk-or-v1-abc...def","assigned_by":null,"created_at":"2026-01-01T00:00:00Z"}],"total_count":1}`))
				return
			}
			sb.ServeHTTP(w, r)
		}
	})
	guard := sampleGuardrail(t, mustClient(t, e))
	notebook.Store(mustKey(t, e, "Data team notebook"))
	res := e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+notebook.Load().(string)+`"]}`)
	sc := e.checked(t, "assign_guardrail", res)
	if r := sc["replaced"].([]any); len(r) != 1 || r[0].(map[string]any)["guardrail_id"] != other ||
		!strings.Contains(text(res), `It replaced another guardrail on "Data team notebook" (had `+other+`).`) {
		t.Errorf("replaced: %s", text(res))
	}
}

// TestAssignGuardrailHoldsToTheManagedPrefix: a key outside the prefix is not changed, nor any other.
func TestAssignGuardrailHoldsToTheManagedPrefix(t *testing.T) {
	e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{ManagedPrefix: "Data "}})
	guard := sampleGuardrail(t, mustClient(t, e))
	res := e.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+mustKey(t, e, "Data team notebook")+`","`+mustKey(t, e, "CI pipeline")+`"]}`)
	if !res.IsError || !strings.Contains(text(res), `the key "CI pipeline" is not one this server manages`) {
		t.Errorf("assign outside the prefix: %s", text(res))
	}
	if e.keyNamed(t, "Data team notebook")["guardrail"].(map[string]any)["via"] != "workspace" {
		t.Error("no key may be changed when one is refused")
	}
}
