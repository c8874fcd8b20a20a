package sandbox_test

import (
	"math"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// sampleHashes maps the sample keys' names to their hashes.
func (e *env) sampleHashes(t *testing.T) map[string]string {
	t.Helper()
	ws := e.sb.Workspaces(e.mgmt)
	out := map[string]string{}
	for _, w := range ws {
		for _, k := range e.list(t, e.mgmt, "?include_disabled=true&include_expired=true&workspace_id="+w) {
			out[k["name"].(string)] = k["hash"].(string)
		}
	}
	return out
}

// data returns the data of a 200 answer.
func (e *env) data(t *testing.T, method, path string, body any) any {
	t.Helper()
	r := e.do(t, method, path, e.mgmt, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
	}
	return r.body["data"]
}

func (e *env) items(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range e.data(t, "GET", path, nil).([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// TestControlsMatchOpenAPI checks every answer of the controls' endpoints
// against OpenRouter's schema, with the sample data and after changes.
func TestControlsMatchOpenAPI(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	ws := e.sb.Workspaces(e.mgmt)
	h := e.sampleHashes(t)
	guard := e.items(t, "/api/v1/guardrails")[0]["id"].(string)
	byok := e.items(t, "/api/v1/byok")[0]["id"].(string)
	today := e.clock.Now().UTC().Truncate(24 * time.Hour)

	tests := []struct {
		name, method, path string
		body               any
		schema             string
	}{
		{"guardrails", "GET", "/api/v1/guardrails", nil, "ListGuardrailsResponse"},
		{"guardrails, paged", "GET", "/api/v1/guardrails?offset=1&limit=1&workspace_id=" + ws[0], nil, "ListGuardrailsResponse"},
		{"guardrail", "GET", "/api/v1/guardrails/" + guard, nil, "GetGuardrailResponse"},
		{"default guardrail", "GET", "/api/v1/guardrails/" + e.items(t, "/api/v1/guardrails")[1]["id"].(string), nil, "GetGuardrailResponse"},
		{"assign", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys", map[string]any{"key_hashes": []string{h["CI pipeline"], h["Staging agent"]}}, "BulkAssignKeysResponse"},
		{"all key assignments", "GET", "/api/v1/guardrails/assignments/keys", nil, "ListKeyAssignmentsResponse"},
		{"a guardrail's key assignments", "GET", "/api/v1/guardrails/" + guard + "/assignments/keys?limit=2", nil, "ListKeyAssignmentsResponse"},
		{"remove", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys/remove", map[string]any{"key_hashes": []string{h["CI pipeline"]}}, "BulkUnassignKeysResponse"},
		{"all member assignments", "GET", "/api/v1/guardrails/assignments/members", nil, "ListMemberAssignmentsResponse"},
		{"a guardrail's member assignments", "GET", "/api/v1/guardrails/" + guard + "/assignments/members", nil, "ListMemberAssignmentsResponse"},
		{"byok", "GET", "/api/v1/byok", nil, "ListBYOKKeysResponse"},
		{"byok of a provider", "GET", "/api/v1/byok?provider=anthropic&workspace_id=" + ws[0], nil, "ListBYOKKeysResponse"},
		{"byok credential", "GET", "/api/v1/byok/" + byok, nil, "GetBYOKKeyResponse"},
		{"byok allow-lists", "PATCH", "/api/v1/byok/" + byok, map[string]any{
			"allowed_api_key_hashes": []string{h["Data team notebook"], h["CI pipeline"]}, "allowed_models": []string{"google/gemini-2.5-flash"}, "allowed_user_ids": nil,
		}, "UpdateBYOKKeyResponse"},
		{"members", "GET", "/api/v1/organization/members", nil, "ListOrganizationMembersResponse"},
		{"members, paged", "GET", "/api/v1/organization/members?offset=1&limit=1", nil, "ListOrganizationMembersResponse"},
		{"analytics meta", "GET", "/api/v1/analytics/meta", nil, "AnalyticsMetaResponse"},
		{"analytics by key and day", "POST", "/api/v1/analytics/query", map[string]any{
			"metrics": []string{"total_usage", "request_count"}, "dimensions": []string{"api_key_id"}, "granularity": "day",
			"time_range": map[string]any{"start": today.AddDate(0, 0, -90).Format(time.RFC3339), "end": today.Format(time.RFC3339)},
		}, "AnalyticsQueryResponse"},
		{"analytics with filters and order", "POST", "/api/v1/analytics/query", map[string]any{
			"metrics": []string{"total_usage"}, "dimensions": []string{"model", "workspace"}, "granularity": "month",
			"filters":  []any{map[string]any{"field": "api_key_id", "operator": "in", "value": []string{h["Production chatbot"], hashOf("gone")}}},
			"order_by": map[string]any{"field": "total_usage", "direction": "desc"}, "limit": 3,
		}, "AnalyticsQueryResponse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, e.mgmt, tt.body)
			checkSuccess(t, r, http.StatusOK, tt.schema)
			if d, ok := r.body["data"].([]any); ok && len(d) == 0 {
				t.Errorf("empty list: nothing was validated")
			}
		})
	}
}

// TestControlErrorsMatchOpenAPI: the controls' refusals carry OpenRouter's
// error body and a message that says what to send instead.
func TestControlErrorsMatchOpenAPI(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	_, inferenceHash, err := e.sb.CreateInferenceKey(e.mgmt, "inference")
	if err != nil {
		t.Fatal(err)
	}
	inference, _, _ := e.sb.CreateInferenceKey(e.mgmt, "other")
	guards := e.items(t, "/api/v1/guardrails")
	guard, def := guards[0]["id"].(string), guards[1]["id"].(string)
	byok := "/api/v1/byok/" + e.items(t, "/api/v1/byok")[0]["id"].(string)
	unknown := hashOf("nobody")
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		message                 string
	}{
		{"guardrail not found", "GET", "/api/v1/guardrails/" + hashOf("x")[:36], e.mgmt, nil, 404, "Resource not found"},
		{"guardrails limit", "GET", "/api/v1/guardrails?limit=101", e.mgmt, nil, 400, "limit must be an integer from 1 to 100"},
		{"guardrails workspace", "GET", "/api/v1/guardrails?workspace_id=nope", e.mgmt, nil, 400, "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11"},
		{"assign nothing", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{}}, 400, "key_hashes must be a non-empty array of key hashes (64 lowercase hex characters)"},
		{"assign a secret", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{inference}}, 400, "key_hashes must be a non-empty array of key hashes (64 lowercase hex characters)"},
		{"assign unknown", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{inferenceHash, unknown}}, 400, "key_hashes must name keys of this account; at least one does not"},
		{"assign the default", "POST", "/api/v1/guardrails/" + def + "/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{inferenceHash}}, 400, "a workspace's default guardrail applies to every key of the workspace and cannot be assigned to keys"},
		{"assign, inference key", "POST", "/api/v1/guardrails/" + guard + "/assignments/keys", inference, map[string]any{"key_hashes": []string{inferenceHash}}, 403, "Only management keys can perform this operation"},
		{"byok unknown hash", "PATCH", byok, e.mgmt, map[string]any{"allowed_api_key_hashes": []string{unknown}}, 400, "allowed_api_key_hashes must name keys of this account; at least one does not"},
		{"byok empty allow-list", "PATCH", byok, e.mgmt, map[string]any{"allowed_api_key_hashes": []string{}}, 400, "allowed_api_key_hashes must be null or an array of 1 to 100 key hashes (64 lowercase hex characters)"},
		{"byok not found", "GET", "/api/v1/byok/" + hashOf("x")[:36], e.mgmt, nil, 404, "Resource not found"},
		{"members, inference key", "GET", "/api/v1/organization/members", inference, nil, 403, "Only management keys can perform this operation"},
		{"analytics without metrics", "POST", "/api/v1/analytics/query", e.mgmt, map[string]any{"metrics": []string{}}, 400, "metrics must be a non-empty array of metric names from GET /analytics/meta"},
		{"analytics by hour", "POST", "/api/v1/analytics/query", e.mgmt, map[string]any{"metrics": []string{"total_usage"}, "granularity": "hour"}, 400, "granularity must be one of day, week, month"},
		{"analytics range backwards", "POST", "/api/v1/analytics/query", e.mgmt, map[string]any{"metrics": []string{"total_usage"},
			"time_range": map[string]any{"start": "2026-03-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}}, 400,
			"time_range must be an object with start and end, ISO 8601 date-times with start before end, at most 366 days apart"},
		{"analytics, wrong method", "GET", "/api/v1/analytics/query", e.mgmt, nil, 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, e.do(t, tt.method, tt.path, tt.key, tt.body), tt.status, tt.message)
		})
	}
	if n := len(e.items(t, "/api/v1/guardrails/"+guard+"/assignments/keys")); n != 1 {
		t.Errorf("after refused assignments the guardrail has %d keys, want the production key alone", n)
	}
}

// TestSampleControls: the sample data is worth auditing, as issue 20 asks:
// a guardrail on the production key, a workspace default, a BYOK
// credential restricted to one key, and four creators of whom one left.
func TestSampleControls(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	h := e.sampleHashes(t)
	guards := e.items(t, "/api/v1/guardrails")
	if len(guards) != 2 {
		t.Fatalf("%d guardrails in the default workspace, want 2", len(guards))
	}
	ws := e.data(t, "GET", "/api/v1/workspaces/default", nil).(map[string]any)
	if guards[1]["id"] != ws["default_guardrail_id"] || guards[0]["limit_usd"] == nil {
		t.Errorf("want a guardrail with a budget, then the workspace's default (%v): %v", ws["default_guardrail_id"], guards)
	}
	assigned := e.items(t, "/api/v1/guardrails/assignments/keys")
	if len(assigned) != 1 || assigned[0]["key_hash"] != h["Production chatbot"] || assigned[0]["guardrail_id"] != guards[0]["id"] ||
		assigned[0]["key_name"] != "Production chatbot" {
		t.Errorf("key assignments = %v, want the production key's to %v", assigned, guards[0]["id"])
	}
	byok := e.items(t, "/api/v1/byok")
	if len(byok) != 2 || !slices.Equal(byok[0]["allowed_api_key_hashes"].([]any), []any{h["Data team notebook"]}) || byok[1]["allowed_api_key_hashes"] != nil {
		t.Errorf("byok = %v, want one credential for the data team's notebook alone and one for all", byok)
	}
	members := map[string]bool{}
	for _, m := range e.items(t, "/api/v1/organization/members") {
		members[m["id"].(string)] = true
	}
	creators := map[string]bool{}
	var orphans []string
	for name, hash := range h {
		c := e.data(t, "GET", "/api/v1/keys/"+hash, nil).(map[string]any)["creator_user_id"].(string)
		creators[c] = true
		if !members[c] {
			orphans = append(orphans, name)
		}
	}
	if len(members) != 3 || len(creators) != 4 || !slices.Equal(orphans, []string{"Legacy batch job"}) {
		t.Errorf("%d members, %d creators, keys of departed creators %v; want 3, 4 and [Legacy batch job]", len(members), len(creators), orphans)
	}
	massigned := e.items(t, "/api/v1/guardrails/assignments/members")
	if len(massigned) != 1 || !members[massigned[0]["user_id"].(string)] {
		t.Errorf("member assignments = %v, want one, to a member", massigned)
	}
}

// TestSampleDataIsDeterministic is issue 25's first item: every sandbox
// starts with the same sample hashes, labels and ids, whatever its
// management key, while keys created later are random.
func TestSampleDataIsDeterministic(t *testing.T) {
	a, b := newEnv(t, sandbox.Options{}), newEnv(t, sandbox.Options{})
	if a.mgmt == b.mgmt {
		t.Fatal("the two sandboxes share a management key")
	}
	snapshot := func(e *env) []any {
		var out []any
		for _, path := range []string{"/api/v1/keys?include_disabled=true&include_expired=true", "/api/v1/workspaces",
			"/api/v1/guardrails", "/api/v1/guardrails/assignments/keys", "/api/v1/byok", "/api/v1/organization/members"} {
			out = append(out, e.data(t, "GET", path, nil))
		}
		return out
	}
	sa, sb := snapshot(a), snapshot(b)
	for i := range sa {
		if !reflect.DeepEqual(sa[i], sb[i]) {
			t.Errorf("answer %d differs between two sandboxes:\n%v\n%v", i, sa[i], sb[i])
		}
	}
	if h := a.sampleHashes(t)["Production chatbot"]; h != b.sampleHashes(t)["Production chatbot"] || h == "" {
		t.Errorf("the production key's hash differs: %s", h)
	}
	_, ka := a.createKey(t, map[string]any{"name": "mine"})
	_, kb := b.createKey(t, map[string]any{"name": "mine"})
	if ka["hash"] == kb["hash"] {
		t.Error("two keys created by users have the same hash")
	}
}

// TestAssignmentsFollowTheKeys: a key holds at most one guardrail, so
// assigning replaces; removing takes only this guardrail's keys; a deleted
// key leaves its assignment and every BYOK allow-list, which stays an
// allow-list (empty), never widening to all keys.
func TestAssignmentsFollowTheKeys(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	h := e.sampleHashes(t)
	prod := e.items(t, "/api/v1/guardrails")[0]["id"].(string)
	other := e.sb.AddGuardrail(e.mgmt, "Tighter", 50)
	assign := func(guard string, hashes ...string) map[string]any {
		r := e.do(t, "POST", "/api/v1/guardrails/"+guard+"/assignments/keys", e.mgmt, map[string]any{"key_hashes": hashes})
		if r.status != 200 {
			t.Fatalf("assign: %d %s", r.status, r.raw)
		}
		return r.body
	}
	if got := assign(other, h["Production chatbot"], h["CI pipeline"], h["CI pipeline"]); got["assigned_count"] != 2.0 {
		t.Errorf("assigned_count = %v, want 2 (a repeated hash counts once)", got["assigned_count"])
	}
	guardOf := map[string]string{}
	for _, a := range e.items(t, "/api/v1/guardrails/assignments/keys") {
		if guardOf[a["key_hash"].(string)] != "" {
			t.Errorf("key %v holds two guardrails", a["key_name"])
		}
		guardOf[a["key_hash"].(string)] = a["guardrail_id"].(string)
	}
	if guardOf[h["Production chatbot"]] != other || guardOf[h["CI pipeline"]] != other || len(e.items(t, "/api/v1/guardrails/"+prod+"/assignments/keys")) != 0 {
		t.Errorf("assignments %v: want both keys on the new guardrail, none left on the old", guardOf)
	}
	r := e.do(t, "POST", "/api/v1/guardrails/"+prod+"/assignments/keys/remove", e.mgmt, map[string]any{"key_hashes": []string{h["CI pipeline"]}})
	if r.status != 200 || r.body["unassigned_count"] != 0.0 {
		t.Errorf("removing a key from a guardrail it is not on: %d %s, want 0 removed", r.status, r.raw)
	}

	byok := "/api/v1/byok/" + e.items(t, "/api/v1/byok")[0]["id"].(string)
	e.data(t, "PATCH", byok, map[string]any{"allowed_api_key_hashes": []string{h["Data team notebook"], h["CI pipeline"]}})
	for _, name := range []string{"CI pipeline", "Data team notebook"} {
		if r := e.do(t, "DELETE", "/api/v1/keys/"+h[name], e.mgmt, nil); r.status != 200 {
			t.Fatalf("delete %s: %d", name, r.status)
		}
	}
	for _, a := range e.items(t, "/api/v1/guardrails/assignments/keys") {
		if a["key_hash"] == h["CI pipeline"] {
			t.Error("the deleted key is still assigned")
		}
	}
	if got := e.data(t, "GET", byok, nil).(map[string]any)["allowed_api_key_hashes"]; got == nil || len(got.([]any)) != 0 {
		t.Errorf("allow-list after deleting every key it named = %v, want [] (nobody), not null (anybody)", got)
	}
	if got := e.data(t, "PATCH", byok, map[string]any{"allowed_api_key_hashes": nil, "key": "AIzaSyD-not-a-real-provider-key-1234"}).(map[string]any); got["allowed_api_key_hashes"] != nil ||
		got["label"] != "AIz...1234" {
		t.Errorf("after clearing the allow-list and replacing the provider key: %v", got)
	}
}

// TestAnalyticsAgreeWithActivity: POST /analytics/query sums the same
// records as GET /activity over its 30 days, reaches 90 days back, and
// never exceeds a key's lifetime usage.
func TestAnalyticsAgreeWithActivity(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	today := e.clock.Now().UTC().Truncate(24 * time.Hour)
	query := func(days int, dims []string, granularity string) []map[string]any {
		body := map[string]any{"metrics": []string{"total_usage", "request_count"}, "dimensions": dims,
			"time_range": map[string]any{"start": today.AddDate(0, 0, -days).Format(time.RFC3339), "end": today.Format(time.RFC3339)}}
		if granularity != "" {
			body["granularity"] = granularity
		}
		var rows []map[string]any
		for _, r := range e.data(t, "POST", "/api/v1/analytics/query", body).(map[string]any)["data"].([]any) {
			rows = append(rows, r.(map[string]any))
		}
		return rows
	}
	for name, hash := range e.sampleHashes(t) {
		activity, requests := 0.0, 0.0
		for _, r := range e.items(t, "/api/v1/activity?api_key_hash="+hash) {
			activity += r["usage"].(float64)
			requests += r["requests"].(float64)
		}
		var analytics, analyticsRequests, ninety float64
		for _, r := range query(30, []string{"api_key_id"}, "") {
			if r["api_key_id"] == hash {
				analytics, analyticsRequests = r["total_usage"].(float64), r["request_count"].(float64)
			}
		}
		for _, r := range query(90, []string{"api_key_id"}, "") {
			if r["api_key_id"] == hash {
				ninety = r["total_usage"].(float64)
			}
		}
		usage := e.data(t, "GET", "/api/v1/keys/"+hash, nil).(map[string]any)["usage"].(float64)
		if math.Abs(analytics-activity) > 1e-6 || analyticsRequests != requests || ninety < analytics || ninety > usage+1e-9 {
			t.Errorf("%s: 30 days %v (activity %v), %v requests (activity %v), 90 days %v, lifetime usage %v",
				name, analytics, activity, analyticsRequests, requests, ninety, usage)
		}
	}
	days, total := map[string]bool{}, 0.0
	for _, r := range query(90, nil, "day") {
		days[r["date__day"].(string)] = true
		total += r["total_usage"].(float64)
	}
	if _, ok := days[today.AddDate(0, 0, -85).Format("2006-01-02T15:04:05.000Z")]; !ok || len(days) < 60 {
		t.Errorf("%d days with spend in 90, none 85 days ago: the history stops at /activity's 30 days", len(days))
	}
	weeks := 0.0
	for _, r := range query(90, nil, "week") {
		weeks += r["total_usage"].(float64)
	}
	if math.Abs(weeks-total) > 1e-6 {
		t.Errorf("by week %v, by day %v: the buckets lose spend", weeks, total)
	}
}

// TestFaultsReachTheControls: the fault plan applies to the new endpoints
// as to the keys': a 503 instead, and a lost answer after an assignment
// that was made.
func TestFaultsReachTheControls(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	h := e.sampleHashes(t)
	guard := e.items(t, "/api/v1/guardrails")[0]["id"].(string)
	e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultUnavailable})
	if r := e.do(t, "GET", "/api/v1/guardrails", e.mgmt, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("GET /guardrails under a 503 fault: %d", r.status)
	}
	e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultInternal, After: true})
	if r := e.do(t, "POST", "/api/v1/guardrails/"+guard+"/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{h["CI pipeline"]}}); r.status != 500 {
		t.Errorf("assign under 500+after: %d", r.status)
	}
	if n := len(e.items(t, "/api/v1/guardrails/"+guard+"/assignments/keys")); n != 2 {
		t.Errorf("after 500+after the guardrail has %d keys, want 2: the assignment was made", n)
	}
}

// TestGuardrailBudgetOnCurrentKey: a key's guardrail with a budget is one of
// the budget layers GET /key reports (scope api_key, with its id), and goes
// when the guardrail is removed.
func TestGuardrailBudgetOnCurrentKey(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	secret, k := e.createKey(t, map[string]any{"name": "guarded"})
	guard := e.items(t, "/api/v1/guardrails")[0]["id"].(string)
	layers := func() []any {
		r := e.do(t, "GET", "/api/v1/key", secret, nil)
		checkSuccess(t, r, http.StatusOK, "CurrentKeyResponse")
		return r.body["data"].(map[string]any)["budgets"].([]any)
	}
	if n := len(layers()); n != 0 {
		t.Fatalf("%d budget layers before the assignment, want none", n)
	}
	e.do(t, "POST", "/api/v1/guardrails/"+guard+"/assignments/keys", e.mgmt, map[string]any{"key_hashes": []string{k["hash"].(string)}})
	got := layers()
	if len(got) != 1 {
		t.Fatalf("budget layers = %v, want the guardrail's", got)
	}
	b := got[0].(map[string]any)
	if b["scope"] != "api_key" || b["guardrail_id"] != guard || b["limit_usd"] != 300.0 || b["reset_interval"] != "monthly" || b["resets_at"] == nil {
		t.Errorf("guardrail layer = %v", b)
	}
	e.do(t, "POST", "/api/v1/guardrails/"+guard+"/assignments/keys/remove", e.mgmt, map[string]any{"key_hashes": []string{k["hash"].(string)}})
	if n := len(layers()); n != 0 {
		t.Errorf("%d budget layers after the guardrail was removed, want none", n)
	}
}
