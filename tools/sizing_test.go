package tools_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// resultBudget is the size no result may reach by default: text and structuredContent together.
const resultBudget = 24 << 10

// sizeOf is what a result costs a model's context: its text and its structuredContent.
func sizeOf(t *testing.T, res *mcp.CallToolResult) int {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return len(text(res)) + len(b)
}

// followed is what following a paged tool's next_cursor gathered.
type followed struct {
	items   []any          // the collection, over every result
	last    map[string]any // the last result's structuredContent
	text    string         // the first result's text
	results int
}

// all calls a paged tool with args and follows next_cursor to the end, checking that every result
// fits the budget and matches the output schema.
func (e *env) all(t *testing.T, tool, args, field string) followed {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		t.Fatal(err)
	}
	var f followed
	for {
		b, _ := json.Marshal(a)
		res := e.call(t, tool, string(b))
		sc := e.succeeded(t, tool, res)
		if size := sizeOf(t, res); size >= resultBudget && a["page_size"] == nil {
			t.Errorf("%s(%s): a result of %d bytes", tool, b, size)
		}
		if f.results == 0 {
			f.text = text(res)
		}
		f.results++
		f.items = append(f.items, sc[field].([]any)...)
		f.last = sc
		next, ok := sc["next_cursor"].(string)
		if !ok {
			return f
		}
		if f.results > 1000 {
			t.Fatalf("%s: next_cursor still set after 1000 results", tool)
		}
		a["cursor"] = next
	}
}

// TestEveryResultFitsOnABigAccount: on an account of 5,000 keys, no tool's result reaches 24 KB,
// and following the cursor gives what one call with page_size gives, counts included.
func TestEveryResultFitsOnABigAccount(t *testing.T) {
	e := newEnv(t, "management")
	mgmt := e.sb.ManagementKey()
	for i := range 4990 { // with the 8 sample keys and those the calls below make, at most 5,000
		if _, _, err := e.sb.CreateInferenceKey(mgmt, fmt.Sprintf("agent key %04d for the nightly batch", i)); err != nil {
			t.Fatal(err)
		}
	}
	keys := structured(t, e.call(t, "list_keys", `{"page_size":4}`))["keys"].([]any)
	hash := func(i int) string { return keys[i].(map[string]any)["hash"].(string) }
	creator := keys[0].(map[string]any)["creator_user_id"].(string) // the account's user made the 4,990
	guardrails := structured(t, e.call(t, "list_guardrails", `{}`))["guardrails"].([]any)
	guardrail := guardrails[0].(map[string]any)["id"].(string)
	calls := map[string]string{
		"list_keys":        `{"all":true,"include_disabled":true}`,
		"get_key":          `{"hash":"` + hash(0) + `"}`,
		"create_key":       `{"name":"sized"}`,
		"update_key":       `{"hash":"` + hash(0) + `","name":"renamed"}`,
		"rotate_key":       `{"hash":"` + hash(1) + `"}`,
		"delete_key":       `{"hash":"` + hash(2) + `"}`,
		"current_key":      `{}`,
		"list_workspaces":  `{}`,
		"get_credits":      `{}`,
		"get_activity":     `{}`,
		"audit_keys":       `{}`,
		"list_guardrails":  `{}`,
		"assign_guardrail": `{"guardrail_id":"` + guardrail + `","hashes":["` + hash(3) + `"]}`,
		"list_members":     `{"member":"` + creator + `"}`, // some 5,000 keys: paged
		"query_spend":      `{}`,
		"plan_cleanup":     `{"disable":["never_used"]}`,
		"apply_plan":       `{"plan_token":"PLAN_TOKEN"}`,
	}
	e.callEvery(t, calls, func(name, args string, res *mcp.CallToolResult) {
		size := sizeOf(t, res)
		if size >= resultBudget {
			t.Errorf("%s(%s): %d bytes, want under %d", name, args, size, resultBudget)
		}
		t.Logf("%s: %d bytes", name, size)
	})

	// Followed 1,000 at a time (the default page, some 100 findings, would take 150 calls here).
	got := e.all(t, "audit_keys", `{"page_size":1000}`, "findings")
	total := 0
	for _, n := range got.last["summary"].(map[string]any) {
		total += int(n.(float64))
	}
	if len(got.items) != total || got.last["keys_checked"].(float64) < 4990 {
		t.Errorf("followed the cursor to %d findings, the summary counts %d over %v keys", len(got.items), total, got.last["keys_checked"])
	}
	mine := e.all(t, "list_members", `{"member":"`+creator+`","page_size":1000}`, "keys")
	if len(mine.items) < 4990 || mine.results < 2 || !strings.Contains(mine.text, count(len(mine.items), "key")+" created by") {
		t.Errorf("list_members' keys of the account's user: %d in %d results: %.200s", len(mine.items), mine.results, mine.text)
	}
	listed := e.all(t, "list_keys", `{"all":true,"include_disabled":true,"include_expired":true,"page_size":1000}`, "keys")
	if len(listed.items) < 4990 || listed.results != 5 || listed.last["next_offset"] != nil {
		t.Errorf("list_keys all: %d keys in %d results (next_offset %v)", len(listed.items), listed.results, listed.last["next_offset"])
	}
}

// count is n and the noun, the way the tools' texts count.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// TestACursorIsBoundToItsArguments: a cursor followed with other arguments is refused before
// anything is sent, and says how to go on.
func TestACursorIsBoundToItsArguments(t *testing.T) {
	e := newEnv(t, "management")
	sc := e.succeeded(t, "audit_keys", e.call(t, "audit_keys", `{"page_size":1}`))
	next, ok := sc["next_cursor"].(string)
	if !ok {
		t.Fatal("one finding a result: want a next_cursor")
	}
	before := e.sb.Requests()
	res := e.call(t, "audit_keys", `{"page_size":1,"kinds":["no_limit"],"cursor":"`+next+`"}`)
	if !res.IsError || e.sb.Requests() != before {
		t.Errorf("a cursor with other arguments: %s", text(res))
	}
	second := e.succeeded(t, "audit_keys", e.call(t, "audit_keys", `{"page_size":1,"cursor":"`+next+`"}`))
	if reflect.DeepEqual(second["findings"], sc["findings"]) {
		t.Error("the cursor did not move on")
	}
	// Followed a few at a time, the findings are those of one big page, in the same order.
	few, one := e.all(t, "audit_keys", `{"page_size":4}`, "findings"), e.all(t, "audit_keys", `{"page_size":1000}`, "findings")
	if few.results < 2 || !reflect.DeepEqual(few.items, one.items) {
		t.Errorf("4 at a time: %d findings in %d results; at once: %d", len(few.items), few.results, len(one.items))
	}
}
