package sandbox_test

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// Tests of what OpenRouter's keys API gained after the 2026-08-22 spec: PATCH workspace_id and its
// refusal of an update with no field, the account endpoints' validation, and the budget layers.

func TestPatchFields(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	ws := e.sb.Workspaces(e.mgmt)
	secret, k := e.createKey(t, map[string]any{"name": "mover"})
	path := "/api/v1/keys/" + k["hash"].(string)
	for name, body := range map[string]string{
		"empty object":        `{}`,
		"only unknown fields": `{"expires_at":"2030-01-01T00:00:00Z","creator_user_id":"user_x","colour":"blue"}`,
	} {
		t.Run(name, func(t *testing.T) {
			checkError(t, e.do(t, "PATCH", path, e.mgmt, body), http.StatusBadRequest, "No update fields provided")
		})
	}
	for name, tt := range map[string]struct{ body, message string }{
		"workspace not a uuid":  {`{"workspace_id":"staging"}`, "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11"},
		"workspace null":        {`{"workspace_id":null}`, "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11"},
		"workspace of no one":   {`{"workspace_id":"6f1c2a34-0000-4000-8000-000000000000","name":"x"}`, "workspace_id does not match any workspace of this account"},
		"bad field beside good": {`{"workspace_id":"` + ws[1] + `","limit":-1}`, "limit must be a non-negative number or null"},
	} {
		t.Run(name, func(t *testing.T) {
			checkError(t, e.do(t, "PATCH", path, e.mgmt, tt.body), http.StatusBadRequest, tt.message)
		})
	}
	checkData(t, e.do(t, "GET", path, e.mgmt, nil), map[string]any{"workspace_id": ws[0], "name": "mover"})

	e.clock.Advance(time.Minute)
	moved := e.do(t, "PATCH", path, e.mgmt, map[string]any{"workspace_id": ws[1]})
	checkSuccess(t, moved, http.StatusOK, "KeyResponse")
	checkData(t, moved, map[string]any{"workspace_id": ws[1], "hash": k["hash"], "label": k["label"], "updated_at": wireTime(e.clock.Now())})
	// The same secret still works, now spending in the other workspace.
	checkData(t, e.do(t, "GET", "/api/v1/key", secret, nil), map[string]any{"workspace_id": ws[1]})
	if keys := e.list(t, e.mgmt, "?workspace_id="+ws[1]); !containsHash(keys, k["hash"].(string)) {
		t.Error("the moved key is not listed in its new workspace")
	}
}

func TestAccountEndpointValidation(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	today := e.clock.Now().UTC()
	day := func(ago int) string { return today.AddDate(0, 0, -ago).Format("2006-01-02") }
	bad := map[string]string{
		"/api/v1/workspaces?offset=-1":          "offset must be a non-negative integer",
		"/api/v1/workspaces?limit=0":            "limit must be an integer from 1 to 100",
		"/api/v1/workspaces?limit=101":          "limit must be an integer from 1 to 100",
		"/api/v1/workspaces?limit=ten":          "limit must be an integer from 1 to 100",
		"/api/v1/activity?group_by=model":       "group_by must be workspace",
		"/api/v1/activity?api_key_hash=ABC":     "api_key_hash must be a key hash: 64 lowercase hex characters",
		"/api/v1/activity?workspace_id=nowhere": "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11",
		"/api/v1/activity?date=" + day(0):       "date must be a UTC day of the last 30 completed days, as YYYY-MM-DD",
		"/api/v1/activity?date=" + day(31):      "date must be a UTC day of the last 30 completed days, as YYYY-MM-DD",
		"/api/v1/activity?date=2026-3-1":        "date must be a UTC day of the last 30 completed days, as YYYY-MM-DD",
	}
	for path, message := range bad {
		t.Run(path, func(t *testing.T) {
			checkError(t, e.do(t, "GET", path, e.mgmt, nil), http.StatusBadRequest, message)
		})
	}
	for _, path := range []string{"/api/v1/activity?date=" + day(1), "/api/v1/activity?date=" + day(30), "/api/v1/workspaces?limit=100&offset=5"} {
		if r := e.do(t, "GET", path, e.mgmt, nil); r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.status, r.raw)
		}
	}
	r := e.do(t, "POST", "/api/v1/credits", e.mgmt, `{}`)
	checkError(t, r, http.StatusMethodNotAllowed, "Method Not Allowed")
	// Another account sees its own workspaces only.
	other := e.sb.AddAccount("")
	checkError(t, e.do(t, "GET", "/api/v1/workspaces/"+e.sb.Workspaces(e.mgmt)[1], other, nil), http.StatusNotFound, "Resource not found")
	if rows := e.do(t, "GET", "/api/v1/activity", other, nil).body["data"].([]any); len(rows) != 0 {
		t.Errorf("a new account has %d activity rows, want none", len(rows))
	}
}

func TestSampleLastUsed(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	now := e.clock.Now()
	byName := map[string]map[string]any{}
	for _, ws := range e.sb.Workspaces(e.mgmt) {
		for _, k := range e.list(t, e.mgmt, "?include_disabled=true&include_expired=true&workspace_id="+ws) {
			byName[k["name"].(string)] = k
		}
	}
	ago := func(name string) time.Duration {
		s, _ := byName[name]["last_used_at"].(string)
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s: last_used_at %v: %v", name, byName[name]["last_used_at"], err)
		}
		return now.Sub(at)
	}
	if byName["Unused test key"]["last_used_at"] != nil {
		t.Errorf("Unused test key: last_used_at = %v, want null", byName["Unused test key"]["last_used_at"])
	}
	if d := ago("Legacy batch job"); d < 90*24*time.Hour {
		t.Errorf("Legacy batch job last used %s ago, want months", d)
	}
	if d := ago("Production chatbot"); d > time.Hour || d < 0 {
		t.Errorf("Production chatbot last used %s ago, want minutes", d)
	}
	exp, _ := time.Parse(time.RFC3339Nano, byName["Contractor access"]["expires_at"].(string))
	if !exp.Before(now) || now.Sub(exp) > now.Sub(now.Add(-ago("Contractor access"))) {
		t.Errorf("Contractor access: expires_at %v, last used %s ago; want expired, and used before it expired", exp, ago("Contractor access"))
	}
	if u := byName["Production chatbot"]["usage"].(float64) / byName["Production chatbot"]["limit"].(float64); u < 0.9 {
		t.Errorf("Production chatbot uses %.0f%% of its limit, want at least 90%%", u*100)
	}
}

func TestBudgetLayers(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	ws := e.sb.Workspaces(e.mgmt)
	secret, _ := e.createKey(t, map[string]any{"name": "budgeted", "limit": 40, "limit_reset": "daily", "workspace_id": ws[1]})
	r := e.do(t, "GET", "/api/v1/key", secret, nil)
	checkSuccess(t, r, http.StatusOK, "CurrentKeyResponse")
	data := r.body["data"].(map[string]any)
	budgets := data["budgets"].([]any)
	if len(budgets) != 2 {
		t.Fatalf("budgets = %v, want the key's limit and the workspace budget", budgets)
	}
	key, wsb := budgets[0].(map[string]any), budgets[1].(map[string]any)
	tomorrow := e.clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	for f, want := range map[string]any{"scope": "key_limit", "limit_usd": 40.0, "spend_usd": 0.0, "remaining_usd": 40.0,
		"reset_interval": "daily", "resets_at": wireTime(tomorrow), "include_byok": false, "guardrail_id": nil, "budget_id": nil} {
		if key[f] != want {
			t.Errorf("key_limit.%s = %#v, want %#v", f, key[f], want)
		}
	}
	monthly := 0.0
	for _, k := range e.list(t, e.mgmt, "?include_disabled=true&include_expired=true&workspace_id="+ws[1]) {
		monthly += k["usage_monthly"].(float64)
	}
	now := e.clock.Now().UTC()
	nextMonth := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	if wsb["scope"] != "workspace" || wsb["reset_interval"] != "monthly" || wsb["resets_at"] != wireTime(nextMonth) ||
		math.Abs(wsb["spend_usd"].(float64)-monthly) > 1e-9 || wsb["budget_id"] == nil || monthly <= 0 {
		t.Errorf("workspace layer = %v, want the monthly budget with spend %v resetting %v", wsb, monthly, nextMonth)
	}
	if eff := data["effective_budget"].(map[string]any); eff["scope"] != "workspace" {
		t.Errorf("effective_budget = %v, want the workspace layer, which has less left", eff)
	}
	// The default workspace has no budget, and a key without a limit has no layer at all.
	bare, _ := e.createKey(t, map[string]any{"name": "bare"})
	data = e.do(t, "GET", "/api/v1/key", bare, nil).body["data"].(map[string]any)
	if len(data["budgets"].([]any)) != 0 || data["effective_budget"] != nil {
		t.Errorf("a key without limit in a workspace without budget: budgets %v, effective %v", data["budgets"], data["effective_budget"])
	}
}

func TestIPAllowlist(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	inference, _, err := e.sb.CreateInferenceKey(e.mgmt, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SetAllowedIPs(e.mgmt, netip.MustParsePrefix("192.0.2.0/24")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{e.mgmt, inference} {
		for _, path := range []string{"/api/v1/keys", "/api/v1/key", "/api/v1/credits"} {
			r := e.do(t, "GET", path, key, nil)
			checkError(t, r, http.StatusForbidden, "Requests from this IP address are not allowed by the account's IP allowlist")
		}
	}
	// A wrong key is still a 401: the allowlist belongs to an account, which a wrong key does not name.
	checkError(t, e.do(t, "GET", "/api/v1/key", "sk-or-v1-"+strings.Repeat("7", 64), nil), http.StatusUnauthorized, "User not found.")
	if err := e.sb.SetAllowedIPs(e.mgmt, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")); err != nil {
		t.Fatal(err)
	}
	checkSuccess(t, e.do(t, "GET", "/api/v1/keys", e.mgmt, nil), http.StatusOK, "ListKeysResponse")
	if err := e.sb.SetAllowedIPs("sk-or-v1-unknown"); err == nil {
		t.Error("SetAllowedIPs for an unknown account succeeded")
	}
}
