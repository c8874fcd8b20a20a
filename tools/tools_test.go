package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// env is a sandbox on a loopback socket and the tools bound to a client of it.
type env struct {
	sb    *sandbox.Sandbox
	url   string // the sandbox's API base
	tools map[string]server.ServerTool
	order []string
}

func newEnv(t *testing.T, key string) *env {
	t.Helper()
	return newEnvOpts(t, key, tools.Options{})
}

// newEnvOpts is newEnv with tool options.
func newEnvOpts(t testing.TB, key string, opts tools.Options) *env {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	if key == "management" {
		key = sb.ManagementKey()
	}
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(key)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, sb, c, opts)
	e.url = srv.URL + "/api/v1"
	return e
}

// withKey returns the tools bound to the same sandbox, calling it with another key.
func (e *env) withKey(t *testing.T, key string) *env {
	t.Helper()
	c, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(key)})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, e.sb, c, tools.Options{})
}

func newEnvWith(t testing.TB, sb *sandbox.Sandbox, c *openrouter.Client, opts tools.Options) *env {
	t.Helper()
	all, err := tools.All(c, opts)
	if err != nil {
		t.Fatalf("tools.All: %v", err)
	}
	e := &env{sb: sb, tools: map[string]server.ServerTool{}}
	for _, st := range all {
		e.tools[st.Tool.Name] = st
		e.order = append(e.order, st.Tool.Name)
	}
	return e
}

// call runs a tool's handler as mcp-go would, with arguments given as JSON.
func (e *env) call(t testing.TB, name, args string) *mcp.CallToolResult {
	t.Helper()
	st, ok := e.tools[name]
	if !ok {
		t.Fatalf("no tool %s", name)
	}
	var a any
	if args != "" {
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			t.Fatalf("bad test args %s: %v", args, err)
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = a
	res, err := st.Handler(context.Background(), req)
	if err != nil {
		t.Fatalf("%s(%s): protocol error %v", name, args, err)
	}
	return res
}

// callEvery calls every tool, in the order registered, with its arguments in calls, and hands each
// success to check. A tool calls has no arguments for fails the test: a new tool is not left out.
// PLAN_TOKEN in a tool's arguments (apply_plan's) stands for the plan_token of the last plan_cleanup.
func (e *env) callEvery(t *testing.T, calls map[string]string, check func(name, args string, res *mcp.CallToolResult)) {
	t.Helper()
	token := ""
	for _, name := range e.order {
		args, ok := calls[name]
		if !ok {
			t.Errorf("no call of %s in this test: add one", name)
			continue
		}
		args = strings.ReplaceAll(args, "PLAN_TOKEN", token)
		res := e.call(t, name, args)
		if res.IsError {
			t.Errorf("%s: %s", name, text(res))
			continue
		}
		if name == "plan_cleanup" {
			token, _ = structured(t, res)["plan_token"].(string)
		}
		check(name, args, res)
	}
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// structured returns the result's structuredContent as generic JSON.
func structured(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		t.Fatalf("structuredContent is not an object: %s", b)
	}
	return m
}

func resolve(t *testing.T, raw json.RawMessage) *jsonschema.Resolved {
	t.Helper()
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("schema does not parse: %v\n%s", err, raw)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("schema does not resolve: %v", err)
	}
	return rs
}

func TestEveryToolStatesAllFourHints(t *testing.T) {
	e := newEnv(t, "management")
	want := []string{"list_keys", "get_key", "create_key", "update_key", "delete_key", "current_key",
		"list_workspaces", "get_credits", "get_activity", "audit_keys", "rotate_key", "list_guardrails", "assign_guardrail",
		"list_members", "query_spend", "plan_cleanup", "apply_plan"}
	if !slices.Equal(e.order, want) {
		t.Fatalf("got tools %v, want %v", e.order, want)
	}
	readOnly := map[string]bool{"list_keys": true, "get_key": true, "current_key": true,
		"list_workspaces": true, "get_credits": true, "get_activity": true, "audit_keys": true, "list_guardrails": true,
		"list_members": true, "query_spend": true, "plan_cleanup": true}
	destructive := map[string]bool{"update_key": true, "delete_key": true, "rotate_key": true, "assign_guardrail": true, "apply_plan": true}
	for _, name := range e.order {
		tool := e.tools[name].Tool
		a := tool.Annotations
		for hint, v := range map[string]*bool{"readOnlyHint": a.ReadOnlyHint, "destructiveHint": a.DestructiveHint,
			"idempotentHint": a.IdempotentHint, "openWorldHint": a.OpenWorldHint} {
			if v == nil {
				t.Errorf("%s does not state %s", name, hint)
			}
		}
		if a.ReadOnlyHint != nil && *a.ReadOnlyHint != readOnly[name] {
			t.Errorf("%s: readOnlyHint = %v", name, *a.ReadOnlyHint)
		}
		if a.DestructiveHint != nil && *a.DestructiveHint != destructive[name] {
			t.Errorf("%s: destructiveHint = %v", name, *a.DestructiveHint)
		}
		if readOnly[name] && (a.IdempotentHint == nil || !*a.IdempotentHint) {
			t.Errorf("%s reads only, so it is idempotent", name)
		}
		if a.OpenWorldHint != nil && *a.OpenWorldHint {
			t.Errorf("%s: openWorldHint = true; the tools act on one account, a closed domain", name)
		}
		if a.Title == "" || tool.Title == "" || len(tool.Description) < 80 {
			t.Errorf("%s: needs a title and a description written for the model", name)
		}
		if !strings.Contains(tool.Description, "key") {
			t.Errorf("%s: description does not say what it acts on", name)
		}
	}
	// create_key's description must warn that the secret is shown once.
	if d := e.tools["create_key"].Tool.Description; !strings.Contains(d, "only this once") {
		t.Errorf("create_key description does not say the secret is shown once: %s", d)
	}
}

func TestSchemasAreValidJSONSchema(t *testing.T) {
	e := newEnv(t, "management")
	for _, name := range e.order {
		tool := e.tools[name].Tool
		for kind, raw := range map[string]json.RawMessage{"input": tool.RawInputSchema, "output": tool.RawOutputSchema} {
			rs := resolve(t, raw)
			if rs.Schema().Type != "object" {
				t.Errorf("%s %s schema: type %q, want object", name, kind, rs.Schema().Type)
			}
		}
	}
}

// someHash returns the hash of some key in the sandbox (the newest one listed).
func (e *env) someHash(t *testing.T) string {
	t.Helper()
	res := e.call(t, "list_keys", `{}`)
	keys, _ := structured(t, res)["keys"].([]any)
	if len(keys) == 0 {
		t.Fatal("sandbox has no keys")
	}
	return keys[0].(map[string]any)["hash"].(string)
}

func TestBadArgumentsAreRefusedWithoutCallingOpenRouter(t *testing.T) {
	e := newEnv(t, "management")
	hash := e.someHash(t)
	secret := "sk-or-v1-" + strings.Repeat("ab", 32)
	cases := []struct {
		tool, args string
		want       string // in the message
		schemaOK   bool   // the schema alone accepts it: refused by a check the schema cannot express
	}{
		{"list_keys", `{"offset":"10"}`, "`offset` must be an integer, not a string", false},
		{"list_keys", `{"offset":1.5}`, "`offset` must be an integer, not a number", false},
		{"list_keys", `{"offset":-1}`, "`offset` must be at least 0", false},
		{"list_keys", `{"include_disabled":"yes"}`, "`include_disabled` must be a boolean", false},
		{"list_keys", `{"workspace_id":"default"}`, "`workspace_id` has the wrong format", false},
		{"list_keys", `{"limit":10}`, "`limit` is not an argument of this tool", false},
		{"list_keys", `[1,2]`, "must be a JSON object", false},
		{"list_keys", `"x"`, "must be a JSON object", false},
		{"create_key", `{}`, "`name` is required", false},
		{"create_key", `{"name":""}`, "`name` must not be empty", false},
		{"create_key", `{"name":5}`, "`name` must be a string, not an integer", false},
		{"create_key", `{"name":"a","limit":-1}`, "`limit` must be at least 0", false},
		{"create_key", `{"name":"a","limit":"10"}`, "`limit` must be a number, not a string", false},
		{"create_key", `{"name":"a","limit_reset":"hourly"}`, "`limit_reset` must be one of daily, weekly, monthly.", false},
		{"create_key", `{"name":"a","expires_at":"2027-12-31T23:59Z"}`, "`expires_at` has the wrong format", false},
		{"create_key", `{"name":"a","expires_at":"2027-12-31T23:59:59+02:00"}`, "`expires_at` has the wrong format", false},
		{"create_key", `{"name":"a","disabled":true}`, "`disabled` is not an argument", false},
		{"create_key", `{"name":"` + secret + `"}`, "looks like an OpenRouter secret key", true},
		{"get_key", `{}`, "`hash` is required", false},
		{"get_key", `{"hash":"../../key"}`, "`hash` has the wrong format", false},
		{"get_key", `{"hash":"..%2F..%2Fkey"}`, "`hash` has the wrong format", false},
		{"get_key", `{"hash":"` + strings.Repeat("a", 63) + `/"}`, "`hash` has the wrong format", false},
		{"get_key", `{"hash":"` + strings.ToUpper(hash) + `"}`, "`hash` has the wrong format", false},
		{"get_key", `{"hash":"` + secret + `"}`, "looks like an OpenRouter secret key", false},
		{"get_key", `{"hash":null}`, "`hash` is required", false}, // null is not given
		{"delete_key", `{"hash":"` + hash + `/"}`, "`hash` has the wrong format", false},
		{"delete_key", `{"hash":"` + hash + `","force":true}`, "`force` is not an argument", false},
		{"update_key", `{"hash":"` + hash + `"}`, "nothing to change", true},
		{"update_key", `{"hash":"` + hash + `","name":null,"limit":null,"limit_reset":null,"disabled":null}`, "nothing to change", false},
		{"update_key", `{"hash":"` + hash + `","limit":5,"remove_limit":true}`, "either limit or remove_limit", true},
		{"update_key", `{"hash":"` + hash + `","disabled":"true"}`, "`disabled` must be a boolean", false},
		{"update_key", `{"hash":"` + hash + `","limit_reset":"yearly"}`, "`limit_reset` must be one of", false},
		{"update_key", `{"hash":"` + hash + `","limit":-5}`, "`limit` must be at least 0", false},
		{"update_key", `{"hash":"` + hash + `","` + secret + `":1}`, "an argument whose name looks like a secret", false},
		{"current_key", `{"verbose":true}`, "This tool takes no arguments", false},
		{"get_credits", `{"hash":"` + hash + `"}`, "This tool takes no arguments", false},
		{"list_workspaces", `{"limit":10}`, "`limit` is not an argument of this tool", false},
		{"list_workspaces", `{"page_size":0}`, "`page_size` must be a whole number from 1 to 1000", true}, // checked by windowOf, not the schema (tools/list's bytes)
		{"list_members", `{"page_size":1001}`, "`page_size` must be a whole number from 1 to 1000", true},
		{"audit_keys", `{"cursor":"bm90IGEgY3Vyc29y"}`, "`cursor` is not a next_cursor of this tool", true},
		{"get_activity", `{"hash":"` + hash[:63] + `"}`, "`hash` has the wrong format", false},
		{"get_activity", `{"hash":"` + secret + `"}`, "looks like an OpenRouter secret key", false},
		{"get_activity", `{"api_key_hash":"` + hash + `"}`, "`api_key_hash` is not an argument", false},
		{"get_activity", `{"date":"2026-11-1"}`, "`date` has the wrong format", false},
		{"get_activity", `{"date":"2026-02-30"}`, "`date` is not a day of the calendar", true},
		{"get_activity", `{"workspace_id":"staging"}`, "`workspace_id` has the wrong format", false},
		{"get_activity", `{"group_by":"workspace"}`, "`group_by` is not an argument", false},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.args, func(t *testing.T) {
			before := e.sb.Requests()
			res := e.call(t, tc.tool, tc.args)
			msg := text(res)
			if !res.IsError {
				t.Fatalf("accepted; result: %s", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
			if !strings.HasPrefix(msg, "Invalid arguments, nothing was sent to OpenRouter") {
				t.Errorf("message does not say nothing was sent: %q", msg)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "ab"+"abababab") {
				t.Errorf("message echoes the secret: %q", msg)
			}
			if got := e.sb.Requests(); got != before {
				t.Errorf("%d requests reached the sandbox", got-before)
			}
			// Our validator must never be more lenient than the schema the client is shown.
			var args any
			_ = json.Unmarshal([]byte(tc.args), &args)
			err := resolve(t, e.tools[tc.tool].Tool.RawInputSchema).Validate(args)
			if (err == nil) != tc.schemaOK {
				t.Errorf("jsonschema-go Validate: %v, want schema to accept=%v", err, tc.schemaOK)
			}
		})
	}
}

// succeeded fails the test unless res is a success whose structuredContent matches the tool's
// outputSchema, and returns that content.
func (e *env) succeeded(t *testing.T, name string, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	if res.IsError {
		t.Fatalf("%s failed: %s", name, text(res))
	}
	sc := structured(t, res)
	if err := resolve(t, e.tools[name].Tool.RawOutputSchema).Validate(sc); err != nil {
		t.Errorf("%s: structuredContent does not match outputSchema: %v", name, err)
	}
	return sc
}

func TestToolFlowResultsMatchOutputSchemas(t *testing.T) {
	e := newEnv(t, "management")
	check := func(name string, res *mcp.CallToolResult) map[string]any {
		t.Helper()
		return e.checked(t, name, res)
	}

	created := check("create_key", e.call(t, "create_key", `{"name":"flow","limit":10,"limit_reset":"weekly","expires_at":"2099-01-01T00:00:00Z"}`))
	key := created["key"].(map[string]any)
	hash := key["hash"].(string)
	if s, _ := created["secret"].(string); !strings.HasPrefix(s, "sk-or-v1-") || len(s) != 73 {
		t.Errorf("create_key secret has the wrong shape: %d chars", len(s))
	}
	got := check("get_key", e.call(t, "get_key", `{"hash":"`+hash+`"}`))["key"].(map[string]any)
	if got["name"] != "flow" || got["limit"] != 10.0 || got["limit_reset"] != "weekly" {
		t.Errorf("get_key: %v", got)
	}
	upd := check("update_key", e.call(t, "update_key", `{"hash":"`+hash+`","remove_limit":true,"limit_reset":null,"name":null,"disabled":true}`))["key"].(map[string]any)
	if upd["limit"] != nil || upd["limit_remaining"] != nil || upd["disabled"] != true || upd["limit_reset"] != "weekly" {
		t.Errorf("update_key: limit must be cleared, disabled set, limit_reset untouched: %v", upd)
	}
	listed := func(args string) bool {
		for _, k := range check("list_keys", e.call(t, "list_keys", args))["keys"].([]any) {
			if k.(map[string]any)["hash"] == hash {
				return true
			}
		}
		return false
	}
	if listed(`{}`) || !listed(`{"include_disabled":true}`) {
		t.Errorf("a disabled key must be listed only with include_disabled")
	}
	del := check("delete_key", e.call(t, "delete_key", `{"hash":"`+hash+`"}`))
	if del["deleted"] != true || del["hash"] != hash {
		t.Errorf("delete_key: %v", del)
	}
	res := e.call(t, "get_key", `{"hash":"`+hash+`"}`)
	if !res.IsError || !strings.Contains(text(res), "no key with that hash") || !strings.Contains(text(res), "list_keys") {
		t.Errorf("get_key after delete: %s", text(res))
	}
	cur := check("current_key", e.call(t, "current_key", ``))["key"].(map[string]any)
	if cur["is_management_key"] != true {
		t.Errorf("current_key: %v", cur)
	}
}

func TestListKeysPages(t *testing.T) {
	e := newEnv(t, "management")
	for i := range 120 {
		if res := e.call(t, "create_key", `{"name":"k`+strings.Repeat("x", i%3)+`"}`); res.IsError {
			t.Fatal(text(res))
		}
	}
	first := e.all(t, "list_keys", `{}`, "keys")
	if n := len(first.items); n != openrouter.PageSize || first.last["next_offset"] != 100.0 || first.results < 2 {
		t.Fatalf("first page: %d keys in %d results, next_offset %v", n, first.results, first.last["next_offset"])
	}
	// A result cut short says where OpenRouter's listing goes on, too.
	cut := structured(t, e.call(t, "list_keys", `{"page_size":30}`))
	if len(cut["keys"].([]any)) != 30 || cut["next_offset"] != 30.0 || cut["next_cursor"] == nil {
		t.Errorf("page_size 30: %d keys, next_offset %v, next_cursor %v", len(cut["keys"].([]any)), cut["next_offset"], cut["next_cursor"])
	}
	second := e.all(t, "list_keys", `{"offset":100}`, "keys")
	if second.last["next_offset"] != nil || len(second.items) < 20 {
		t.Fatalf("second page: %d keys, next_offset %v", len(second.items), second.last["next_offset"])
	}
}

// stub answers every request with one status, body and headers.
func stubClient(t *testing.T, status int, body string, header http.Header) *openrouter.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL, APIKey: openrouter.Secret("sk-or-v1-" + strings.Repeat("cd", 32))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFailuresTellTheModelWhatToDo(t *testing.T) {
	mgmt := newEnv(t, "management")
	inference, _, err := mgmt.sb.CreateInferenceKey(mgmt.sb.ManagementKey(), "app")
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 is outside the ephemeral range, so no test server of this run can be listening there (a
	// closed test server's port could be handed to the next one).
	unreachable, _ := openrouter.New(openrouter.Options{BaseURL: "http://127.0.0.1:1/api/v1", APIKey: openrouter.Secret("sk-or-v1-" + strings.Repeat("ef", 32))})
	stub := func(status int, body string, header http.Header) *env {
		return newEnvWith(t, mgmt.sb, stubClient(t, status, body, header), tools.Options{})
	}

	cases := []struct {
		name string
		env  *env
		tool string
		args string
		want []string
	}{
		{"no key", newEnv(t, ""), "list_keys", `{}`, []string{"OPENROUTER_MANAGEMENT_KEY", "--sandbox", "nothing was sent"}},
		{"wrong key", mgmt.withKey(t, "sk-or-v1-"+strings.Repeat("0", 64)), "list_keys", `{}`, []string{"rejected the API key", "401", "Retrying will not help"}},
		{"not a management key", mgmt.withKey(t, inference), "list_keys", `{}`, []string{"not a management key", "403", "management-api-keys"}},
		{"inference key may still read itself", mgmt.withKey(t, inference), "current_key", `{}`, nil},
		{"rate limited", newEnvWith(t, mgmt.sb, stubClient(t, 429, `{"error":{"code":429,"message":"Rate limit exceeded"}}`, http.Header{"Retry-After": {"60"}}), tools.Options{}), "list_keys", `{}`, []string{"rate limiting", "Wait 60 seconds"}},
		{"unavailable for a while", newEnvWith(t, mgmt.sb, stubClient(t, 503, `{"error":{"code":503,"message":"Maintenance"}}`, http.Header{"Retry-After": {"90"}}), tools.Options{}), "list_keys", `{}`, []string{"server error", "Wait 90 seconds"}},
		{"upstream down", newEnvWith(t, mgmt.sb, stubClient(t, 502, `<html>Bad gateway</html>`, http.Header{"Content-Type": {"text/html"}}), tools.Options{}), "get_key", `{"hash":"` + strings.Repeat("a", 64) + `"}`, []string{"server error", "HTML page", "try again"}},
		{"create after 502 may exist", newEnvWith(t, mgmt.sb, stubClient(t, 502, ``, nil), tools.Options{}), "create_key", `{"name":"x"}`, []string{"may have been created", "list_keys", `"x"`}},
		{"unreachable", newEnvWith(t, mgmt.sb, unreachable, tools.Options{}), "current_key", `{}`, []string{"cannot reach OpenRouter", "try again"}},
		{"IP allowlist", stub(403, `{"error":{"code":403,"message":"Your IP address is not allowed by this account's IP allowlist"}}`, nil), "list_keys", `{}`, []string{"IP allowlist", "Another key will not help"}},
		{"budget used up", stub(403, `{"error":{"code":403,"message":"Workspace budget exceeded"}}`, nil), "list_keys", `{}`, []string{"budget or limit", "until it resets", "own credit limit answers 402", "current_key"}},
		{"guardrail", stub(403, `{"error":{"code":403,"message":"Request blocked by guardrail"}}`, nil), "list_keys", `{}`, []string{"guardrail that binds this key", "answers 402, not 403", "current_key", "list_guardrails"}},
		{"key's credit limit", stub(402, `{"error":{"code":402,"message":"Key limit exceeded"}}`, nil), "list_keys", `{}`, []string{"own credit limit is used up", "not a guardrail or budget", "current_key", "update_key"}},
		{"bare 403", stub(403, `{"error":{"code":403,"message":"Forbidden"}}`, nil), "list_keys", `{}`, []string{"not a management key", "IP allow-list", "guardrail or budget", "current_key tells them apart"}},
		{"a CDN's 404 on create", stub(404, `<html>Not Found</html>`, http.Header{"Content-Type": {"text/html"}}), "create_key", `{"name":"x"}`, []string{"base URL"}},
		{"wait one second", stub(429, `{"error":{"code":429,"message":"slow down"}}`, http.Header{"Retry-After": {"1"}}), "list_keys", `{}`, []string{"Wait 1 second,"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.env.call(t, tc.tool, tc.args)
			msg := text(res)
			if tc.want == nil {
				if res.IsError {
					t.Fatalf("failed: %s", msg)
				}
				return
			}
			if !res.IsError {
				t.Fatalf("succeeded: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if openrouter.LooksLikeSecret(msg) {
				t.Errorf("message holds a key-shaped string: %q", msg)
			}
		})
	}
}

// checked fails the test unless res is a success whose structuredContent matches the tool's
// outputSchema and whose text carries it (after a summary line, or as a table or report for the
// tools that write one), and returns the structuredContent.
func (e *env) checked(t *testing.T, name string, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	sc := e.succeeded(t, name, res)
	switch name {
	case "list_keys":
		// A table, one row per key, instead of the JSON again.
		for _, k := range sc["keys"].([]any) {
			if !strings.Contains(text(res), k.(map[string]any)["hash"].(string)+" | ") {
				t.Errorf("list_keys: the text table lacks a key: %q", text(res))
			}
		}
	case "audit_keys", "get_activity", "list_workspaces", "list_guardrails", "list_members", "query_spend", "plan_cleanup", "apply_plan":
		// A report, shorter than the JSON, instead of the JSON again.
		if b, _ := json.Marshal(sc); strings.Contains(text(res), "{") || len(text(res)) > len(b) {
			t.Errorf("%s: the text is not a short report: %q", name, text(res))
		}
	default:
		// The text block carries the same JSON after its summary line.
		_, js, ok := strings.Cut(text(res), "\n")
		var fromText map[string]any
		if !ok || json.Unmarshal([]byte(js), &fromText) != nil || !jsonEqual(fromText, sc) {
			t.Errorf("%s: text block does not carry the structured content: %q", name, text(res))
		}
	}
	return sc
}

// jsonEqual compares two decoded JSON values as the text block shows them: numbers agree to six
// decimals, since the text rounds them for people and the structured content keeps them exact.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-6
	default:
		return a == b
	}
}

// TestInputSchemasArePortable: every argument has one plain type, no null value and no branches, so
// that hosts which reject type arrays (Gemini, strict tool modes) take every tool. Output schemas keep
// OpenRouter's nullable fields as they are: they describe data, and no host rejects them there.
func TestInputSchemasArePortable(t *testing.T) {
	e := newEnv(t, "management")
	nullableOutputs := 0
	for _, name := range e.order {
		var in, out map[string]any
		if err := json.Unmarshal(e.tools[name].Tool.RawInputSchema, &in); err != nil {
			t.Fatal(err)
		}
		for arg, p := range asMap(in["properties"]) {
			prop := asMap(p)
			if _, ok := prop["type"].(string); !ok {
				t.Errorf("%s.%s: type %v, want one plain type", name, arg, prop["type"])
			}
			for _, branch := range []string{"anyOf", "oneOf", "allOf"} {
				if prop[branch] != nil {
					t.Errorf("%s.%s has %s", name, arg, branch)
				}
			}
			if enum, _ := prop["enum"].([]any); slices.Contains(enum, nil) {
				t.Errorf("%s.%s: null in enum", name, arg)
			}
		}
		if err := json.Unmarshal(e.tools[name].Tool.RawOutputSchema, &out); err != nil {
			t.Fatal(err)
		}
		nullableOutputs += strings.Count(string(e.tools[name].Tool.RawOutputSchema), `"null"`)
	}
	if nullableOutputs == 0 {
		t.Error("no output schema has a nullable field: OpenRouter's data has several (limit, expires_at, ...)")
	}
}

func TestNullArgumentsMeanNotGiven(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "create_key", `{"name":"nulls","limit":null,"limit_reset":null,"expires_at":null,"workspace_id":null,"include_byok_in_limit":null}`)
	if res.IsError {
		t.Fatalf("create with null optional fields: %s", text(res))
	}
	key := structured(t, res)["key"].(map[string]any)
	if key["limit"] != nil || key["expires_at"] != nil {
		t.Errorf("nulls set something: %v", key)
	}
	hash := key["hash"].(string)
	if res := e.call(t, "update_key", `{"hash":"`+hash+`","limit":4}`); res.IsError {
		t.Fatal(text(res))
	}
	// A strict-mode host fills every field: renaming must leave the limit alone.
	res = e.call(t, "update_key", `{"hash":"`+hash+`","name":"renamed","limit":null,"limit_reset":null,"disabled":null,"include_byok_in_limit":null,"remove_limit":null}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	if k := structured(t, res)["key"].(map[string]any); k["name"] != "renamed" || k["limit"] != 4.0 {
		t.Errorf("a rename with null fields changed more than the name: %v", k)
	}
	res = e.call(t, "update_key", `{"hash":"`+hash+`","remove_limit":true,"limit_reset":"never"}`)
	if k := structured(t, res)["key"].(map[string]any); res.IsError || k["limit"] != nil || k["limit_reset"] != nil {
		t.Errorf("remove_limit and limit_reset never must clear both: %s", text(res))
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// TestToolsListFitsTheContextBudget: what the model reads of tools/list (every field but the output
// schema, which describes results) averages at most 1,000 bytes a tool and 16,000 in all (issue #20),
// so that adding tools does not crowd the model's context. bench's report measures the same on the
// server's reply.
func TestToolsListFitsTheContextBudget(t *testing.T) {
	e := newEnv(t, "management")
	total := 0
	var sizes []string
	for _, name := range e.order {
		tool := e.tools[name].Tool
		tool.RawOutputSchema, tool.OutputSchema = nil, mcp.ToolOutputSchema{}
		b, err := json.Marshal(tool)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		delete(m, "outputSchema")
		b, _ = json.Marshal(m)
		total += len(b)
		sizes = append(sizes, fmt.Sprintf("%s %d", name, len(b)))
	}
	if avg := total / len(e.order); avg > 1000 || total > 16000 {
		t.Errorf("tools/list: %d bytes in all, %d a tool on average, want at most 16,000 and 1,000: %s", total, avg, strings.Join(sizes, ", "))
	} else {
		t.Logf("tools/list: %d bytes in all, %d a tool on average: %s", total, avg, strings.Join(sizes, ", "))
	}
}
