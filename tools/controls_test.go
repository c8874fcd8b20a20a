package tools_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// mustKey is the hash of the sample key of the default workspace with this name, read with the client.
func mustKey(t *testing.T, e *env, name string) string {
	t.Helper()
	keys, err := mustClient(t, e).ListKeys(context.Background(), openrouter.ListKeysParams{IncludeDisabled: true, IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k.Hash
		}
	}
	t.Fatalf("no key named %q", name)
	return ""
}

// keyNamed is the sample key of the default workspace with this name, as list_keys shows it.
func (e *env) keyNamed(t *testing.T, name string) map[string]any {
	t.Helper()
	sc := e.checked(t, "list_keys", e.call(t, "list_keys", `{"name":"`+name+`","include_disabled":true,"include_expired":true}`))
	keys := sc["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("%d keys named %q", len(keys), name)
	}
	return keys[0].(map[string]any)
}

// sampleGuardrail is the id of the sample guardrail that binds the production key.
func sampleGuardrail(t *testing.T, c *openrouter.Client) string {
	t.Helper()
	page, err := c.ListGuardrails(context.Background(), openrouter.ListGuardrailsParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range page.Items {
		if g.Name == "Production policy" {
			return g.ID
		}
	}
	t.Fatal("no sample guardrail")
	return ""
}

// TestKeysNameTheirGuardrailAndCreator: get_key and list_keys say which guardrail binds a key, and how,
// and who made it by name, or by id when they left.
func TestKeysNameTheirGuardrailAndCreator(t *testing.T) {
	e := newEnv(t, "management")
	prod := e.keyNamed(t, "Production chatbot")
	g := prod["guardrail"].(map[string]any)
	if g["name"] != "Production policy" || g["via"] != "key" || g["limit_usd"] != 300.0 {
		t.Errorf("production key's guardrail: %v", g)
	}
	if c := prod["creator"].(map[string]any); c["name"] != "Alex Morgan" || c["email"] != "alex.morgan@example.com" {
		t.Errorf("production key's creator: %v", c)
	}
	legacy := e.keyNamed(t, "Legacy batch job")
	if c := legacy["creator"].(map[string]any); c["left"] != true || c["email"] != nil {
		t.Errorf("a departed creator: %v", c)
	}
	if g := legacy["guardrail"].(map[string]any); g["via"] != "workspace" {
		t.Errorf("a key bound only by its workspace's default: %v", g)
	}
	contractor := e.keyNamed(t, "Contractor access") // made by Sam Lee, whose guardrail binds his keys
	if g := contractor["guardrail"].(map[string]any); g["via"] != "member" || g["name"] != "Production policy" {
		t.Errorf("a key bound by its creator's guardrail: %v", g)
	}

	res := e.call(t, "list_keys", `{"include_disabled":true,"include_expired":true}`)
	for _, want := range []string{`| "Production policy" | "Alex Morgan"`, `| "Production policy" via creator | "Sam Lee"`, `| workspace default | user_`} {
		if !strings.Contains(text(res), want) {
			t.Errorf("list_keys text lacks %q:\n%s", want, text(res))
		}
	}
	res = e.call(t, "get_key", `{"hash":"`+prod["hash"].(string)+`"}`)
	sc := e.checked(t, "get_key", res)
	if !strings.Contains(text(res), `guardrail "Production policy"; created by "Alex Morgan"`) || sc["key"].(map[string]any)["guardrail"] == nil {
		t.Errorf("get_key: %s", text(res))
	}
}

// TestKeysAreShownWhenTheirControlsCannotBeRead: a fault beside the keys does not hide the keys.
func TestKeysAreShownWhenTheirControlsCannotBeRead(t *testing.T) {
	e := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/v1/organization/") {
				http.Error(w, `{"error":{"code":403,"message":"Forbidden"}}`, http.StatusForbidden)
				return
			}
			sb.ServeHTTP(w, r)
		}
	})
	hash := mustKey(t, e, "Production chatbot")
	res := e.call(t, "get_key", `{"hash":"`+hash+`"}`)
	sc := e.checked(t, "get_key", res)
	if sc["key"].(map[string]any)["guardrail"] != nil || !strings.Contains(sc["note"].(string), "guardrails and creators are not shown") {
		t.Errorf("get_key with its controls unreadable: %v", sc)
	}
}

// TestCachedControlsShowWhatFreshOnesDo: tools whose client caches the controls answer exactly as tools
// that read them anew, before and after a change made through the caching tools (which they see at
// once), and read the controls only once for calls in a row.
func TestCachedControlsShowWhatFreshOnesDo(t *testing.T) {
	fresh := newEnv(t, "management")
	cached := fresh.caching(t)
	notebook := mustKey(t, fresh, "Data team notebook")
	calls := []struct{ tool, args string }{
		{"list_keys", `{"include_disabled":true,"include_expired":true}`},
		{"list_keys", `{"all":true}`},
		{"get_key", `{"hash":"` + notebook + `"}`},
		{"audit_keys", ``},
		{"list_guardrails", ``},
		{"list_members", ``},
	}
	same := func(when string) {
		t.Helper()
		for _, call := range calls {
			want, got := fresh.call(t, call.tool, call.args), cached.call(t, call.tool, call.args)
			if want.IsError || text(got) != text(want) || !reflect.DeepEqual(structured(t, got), structured(t, want)) {
				t.Errorf("%s %s %s: cached\n%s\nfresh\n%s", when, call.tool, call.args, text(got), text(want))
			}
		}
	}
	same("before a change")
	before := fresh.sb.Requests()
	cached.call(t, "list_keys", `{}`)
	if n := fresh.sb.Requests() - before; n != 1 {
		t.Errorf("list_keys right after the others: %d requests, want 1 (the keys; the controls from the cache)", n)
	}
	guard := sampleGuardrail(t, mustClient(t, fresh))
	cached.checked(t, "assign_guardrail", cached.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+notebook+`"]}`))
	same("after a change")
	if g := cached.keyNamed(t, "Data team notebook")["guardrail"].(map[string]any); g["id"] != guard {
		t.Errorf("after assigning through the caching tools, they show %v", g)
	}
}

// caching is e's sandbox behind tools of their own, whose client caches the controls (as the server's
// does), with the management key: a change through e does not clear their cache.
func (e *env) caching(t *testing.T) *env {
	t.Helper()
	c, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(e.sb.ManagementKey()),
		ControlsTTL: openrouter.DefaultControlsTTL})
	if err != nil {
		t.Fatal(err)
	}
	cached := newEnvWith(t, e.sb, c, tools.Options{})
	cached.url = e.url
	return cached
}
