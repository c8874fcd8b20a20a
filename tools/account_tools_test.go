package tools_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

func TestGetCredits(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "get_credits", `{}`)
	sc := e.succeeded(t, "get_credits", res)
	credits, usage, remaining := sc["total_credits"].(float64), sc["total_usage"].(float64), sc["remaining"].(float64)
	if credits <= 0 || math.Abs(remaining-(credits-usage)) > 1e-6 {
		t.Errorf("get_credits: %v", sc)
	}
	if want := fmt.Sprintf("$%.2f of $%.2f", remaining, credits); !strings.HasPrefix(text(res), want) {
		t.Errorf("summary %q does not start with %q", text(res), want)
	}
}

// activity calls get_activity and checks that its totals are the sums of its rows.
func (e *env) activity(t *testing.T, args string) (rows []map[string]any, totals map[string]any, res string) {
	t.Helper()
	got := e.all(t, "get_activity", args, "rows")
	sc := got.last
	totals = sc["totals"].(map[string]any)
	sums := map[string]float64{}
	for _, row := range got.items {
		rows = append(rows, row.(map[string]any))
		for _, f := range []string{"usage", "requests", "prompt_tokens", "completion_tokens"} {
			sums[f] += row.(map[string]any)[f].(float64)
		}
	}
	for f, sum := range sums {
		if math.Abs(totals[f].(float64)-sum) > 1e-6 {
			t.Errorf("get_activity(%s): totals.%s = %v, the rows sum to %v", args, f, totals[f], sum)
		}
	}
	return rows, totals, got.text
}

func TestGetActivity(t *testing.T) {
	e := newEnv(t, "management")
	all, totals, txt := e.activity(t, `{}`)
	if len(all) == 0 {
		t.Fatal("the sandbox's sample keys have no activity")
	}

	// The text sums up: shorter than the rows, naming the model spent most on and each day.
	byModel := map[string]float64{}
	top := ""
	for _, r := range all {
		m := r["model"].(string)
		byModel[m] += r["usage"].(float64)
		if top == "" || byModel[m] > byModel[top] {
			top = m
		}
		if !strings.Contains(txt, r["date"].(string)+" ") {
			t.Errorf("the text lacks the day %s", r["date"])
		}
	}
	rowsJSON, _ := json.Marshal(all)
	if len(txt) >= len(rowsJSON) || strings.Contains(txt, `"endpoint_id"`) {
		t.Errorf("the text (%d bytes) is not a summary of the rows (%d bytes of JSON)", len(txt), len(rowsJSON))
	}
	if !strings.Contains(txt, "Top models") || !strings.Contains(txt, top+" ") {
		t.Errorf("the text does not name the top model %s: %s", top, txt)
	}
	if want := "$" + strconv.FormatFloat(totals["usage"].(float64), 'f', 2, 64); !strings.Contains(txt, want) {
		t.Errorf("the text does not say the total %s: %s", want, txt)
	}

	// One key's activity: the sample key that spent most (of those listed) has some, and less than all.
	keys := structured(t, e.call(t, "list_keys", `{"include_disabled":true,"include_expired":true}`))["keys"].([]any)
	var spender map[string]any
	for _, k := range keys {
		if k := k.(map[string]any); spender == nil || k["usage"].(float64) > spender["usage"].(float64) {
			spender = k
		}
	}
	rows, keyTotals, _ := e.activity(t, `{"hash":"`+spender["hash"].(string)+`"}`)
	if len(rows) == 0 || keyTotals["usage"].(float64) >= totals["usage"].(float64) {
		t.Errorf("activity of key %s: %d rows, $%v of $%v", spender["name"], len(rows), keyTotals["usage"], totals["usage"])
	}
	none, _, txt := e.activity(t, `{"hash":"`+strings.Repeat("0", 64)+`"}`)
	if len(none) != 0 || !strings.Contains(txt, "$0.00") {
		t.Errorf("an unknown key's activity: %d rows, %q", len(none), txt)
	}

	// One day: the rows of that day, and only those.
	day := all[0]["date"].(string)
	rows, _, _ = e.activity(t, `{"date":"`+day+`"}`)
	want := 0
	for _, r := range all {
		if r["date"] == day {
			want++
		}
	}
	if len(rows) != want {
		t.Errorf("activity on %s: %d rows, want %d", day, len(rows), want)
	}

	// One workspace: staging's keys spent some, less than all.
	rows, wsTotals, _ := e.activity(t, `{"workspace_id":"`+e.workspaceID(t, "staging")+`"}`)
	if len(rows) == 0 || wsTotals["usage"].(float64) >= totals["usage"].(float64) {
		t.Errorf("staging's activity: %d rows, $%v of $%v", len(rows), wsTotals["usage"], totals["usage"])
	}
}

// workspaceID returns the id of the sandbox's workspace with the given slug, as list_workspaces shows it.
func (e *env) workspaceID(t *testing.T, slug string) string {
	t.Helper()
	res := e.call(t, "list_workspaces", `{}`)
	sc := e.succeeded(t, "list_workspaces", res)
	for _, w := range sc["workspaces"].([]any) {
		if w := w.(map[string]any); w["slug"] == slug {
			if !strings.Contains(text(res), " | "+slug+" | "+w["id"].(string)+" | ") {
				t.Errorf("list_workspaces: the text table lacks %s: %s", slug, text(res))
			}
			return w["id"].(string)
		}
	}
	t.Fatalf("no workspace %s", slug)
	return ""
}

func TestListWorkspacesFollowsThePagesUpToACap(t *testing.T) {
	sandbox := newEnv(t, "management")
	if n := len(structured(t, sandbox.call(t, "list_workspaces", `{}`))["workspaces"].([]any)); n != 2 {
		t.Errorf("the sandbox has 2 workspaces, list_workspaces gave %d", n)
	}
	for _, tc := range []struct {
		total, want int
		requests    int64
	}{{0, 0, 1}, {230, 230, 3}, {750, 500, 5}} {
		t.Run(strconv.Itoa(tc.total), func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
				limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
				page := []openrouter.Workspace{}
				for i := offset; i < min(offset+limit, tc.total); i++ {
					page = append(page, openrouter.Workspace{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: "w", Slug: "w" + strconv.Itoa(i)})
				}
				_ = json.NewEncoder(w).Encode(map[string]any{"data": page, "total_count": tc.total})
			}))
			t.Cleanup(srv.Close)
			c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL, APIKey: openrouter.Secret("sk-or-v1-" + strings.Repeat("cd", 32))})
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvWith(t, sandbox.sb, c, tools.Options{})
			first := e.call(t, "list_workspaces", `{}`)
			if requests.Load() != tc.requests {
				t.Errorf("%d requests for one result, want %d", requests.Load(), tc.requests)
			}
			got := e.all(t, "list_workspaces", `{}`, "workspaces")
			if n := len(got.items); n != tc.want || got.last["total_count"] != float64(tc.total) {
				t.Errorf("%d workspaces of %v, want %d", n, got.last["total_count"], tc.want)
			}
			if capped := tc.total > tc.want; capped != strings.Contains(text(first), "only the first 500") {
				t.Errorf("the text does not say whether the list was capped: %s", text(first)[:min(200, len(text(first)))])
			}
		})
	}
}

func TestCurrentKeySaysWhichBudgetBindsFirst(t *testing.T) {
	e := newEnv(t, "management")
	staging := e.workspaceID(t, "staging")
	for _, tc := range []struct {
		name, args string
		want       []string
	}{
		// A zero limit is spent before the first request.
		{"spent", `{"name":"spent","limit":0}`, []string{"Of 1 budget layer, key_limit binds first", "Exhausted: key_limit", "refused (403)"}},
		// Staging's $20 a month is tighter than the key's own $100.
		{"staging", `{"name":"stage","limit":100,"workspace_id":"` + staging + `"}`, []string{"Of 2 budget layers, workspace binds first", ", resets ", "none is exhausted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created := e.succeeded(t, "create_key", e.call(t, "create_key", tc.args))
			k := e.withKey(t, created["secret"].(string))
			res := k.call(t, "current_key", `{}`)
			key := k.succeeded(t, "current_key", res)["key"].(map[string]any)
			if key["budgets"] == nil || key["effective_budget"] == nil {
				t.Errorf("current_key lacks budgets or effective_budget: %v", key)
			}
			summary, _, _ := strings.Cut(text(res), "\n")
			for _, w := range tc.want {
				if !strings.Contains(summary, w) {
					t.Errorf("summary %q does not contain %q", summary, w)
				}
			}
		})
	}
	// The management key has no layers: OpenRouter's budgets: [] is kept, and said.
	res := e.call(t, "current_key", `{}`)
	key := e.succeeded(t, "current_key", res)["key"].(map[string]any)
	if b, ok := key["budgets"].([]any); !ok || len(b) != 0 || !strings.Contains(text(res), "No budget layer applies to it") {
		t.Errorf("budgets: [] must stay an empty list: %v\n%s", key["budgets"], text(res))
	}
	// An answer without budgets (older OpenRouter) says nothing of them, and has no budgets field.
	old := newEnvWith(t, e.sb, stubClient(t, 200, `{"data":{"label":"sk-or-v1-abc...def","limit":null,"usage":0,"is_management_key":true}}`, nil), tools.Options{})
	res = old.call(t, "current_key", `{}`)
	key = old.succeeded(t, "current_key", res)["key"].(map[string]any)
	if summary, _, _ := strings.Cut(text(res), "\n"); strings.Contains(summary, "budget") || key["budgets"] != nil {
		t.Errorf("budgets not reported: %q, %v", summary, key["budgets"])
	}
}
