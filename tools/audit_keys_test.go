package tools_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// findingsOf maps each key name to the kinds of finding audit_keys reported for it.
func findingsOf(sc map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, f := range sc["findings"].([]any) {
		f := f.(map[string]any)
		out[f["name"].(string)] = append(out[f["name"].(string)], f["kind"].(string))
	}
	return out
}

func TestAuditKeysFindsWhatNeedsAttentionInTheSampleData(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "audit_keys", "")
	sc := e.checked(t, "audit_keys", res)
	if sc["keys_checked"] != 8.0 || sc["workspaces_checked"] != 2.0 {
		t.Errorf("checked %v keys in %v workspaces, want the 8 sample keys in 2", sc["keys_checked"], sc["workspaces_checked"])
	}
	got := findingsOf(sc)
	for name, kind := range map[string]string{
		"Contractor access":  "expired",
		"Unused test key":    "never_used",
		"Production chatbot": "near_limit",
		"Old prototype":      "disabled",
		"Legacy batch job":   "unused",
		"CI pipeline":        "expiring_soon", // not: it expires in a year
	} {
		has := strings.Contains(strings.Join(got[name], ","), kind)
		if want := name != "CI pipeline"; has != want {
			t.Errorf("%s: findings %v; want %s: %v", name, got[name], kind, want)
		}
	}
	summary := sc["summary"].(map[string]any)
	total := 0.0
	for _, n := range summary {
		total += n.(float64)
	}
	if int(total) != len(sc["findings"].([]any)) {
		t.Errorf("summary counts %v findings, the list has %d", total, len(sc["findings"].([]any)))
	}
	// The report is grouped by kind, worst first, and names the keys.
	report := text(res)
	if i, j := strings.Index(report, "\nexpired ("), strings.Index(report, "\nnever_used ("); i < 0 || j < 0 || i > j {
		t.Errorf("the report is not grouped worst first:\n%s", report)
	}
	if !strings.Contains(report, "Contractor access") || len(report) > 4000 {
		t.Errorf("the report must be short and name the keys (%d bytes):\n%s", len(report), report)
	}
}

func TestAuditKeysArguments(t *testing.T) {
	e := newEnv(t, "management")
	// Thresholds: a year without use is the only unused key; nothing is near a 99.9% limit.
	sc := e.checked(t, "audit_keys", e.call(t, "audit_keys", `{"unused_days":365,"near_limit_pct":99.9,"kinds":["unused","near_limit","expired"]}`))
	got := findingsOf(sc)
	if len(got) != 1 || got["Contractor access"] == nil {
		t.Errorf("want only the expired key, got %v", got)
	}
	// One workspace.
	page, err := mustClient(t, e).ListWorkspaces(context.Background(), openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var staging string
	for _, w := range page.Workspaces {
		if strings.Contains(strings.ToLower(w.Name), "staging") {
			staging = w.ID
		}
	}
	sc = e.checked(t, "audit_keys", e.call(t, "audit_keys", fmt.Sprintf(`{"workspace_ids":[%q]}`, staging)))
	if sc["keys_checked"] != 2.0 || sc["workspaces_checked"] != 1.0 {
		t.Errorf("one workspace: %v keys in %v workspaces", sc["keys_checked"], sc["workspaces_checked"])
	}
	for _, bad := range []string{`{"kinds":["stale"]}`, `{"workspace_ids":["default"]}`, `{"near_limit_pct":150}`, `{"unused_days":0}`, `{"kinds":"expired"}`} {
		before := e.sb.Requests()
		if res := e.call(t, "audit_keys", bad); !res.IsError || !strings.HasPrefix(text(res), "Invalid arguments") || e.sb.Requests() != before {
			t.Errorf("%s: %s", bad, text(res))
		}
	}
}

func TestAuditKeysReadsEveryPage(t *testing.T) {
	e := newEnv(t, "management")
	for i := range 230 {
		if res := e.call(t, "create_key", fmt.Sprintf(`{"name":"bulk-%03d","limit":1}`, i)); res.IsError {
			t.Fatal(text(res))
		}
	}
	got := e.all(t, "audit_keys", `{"kinds":["never_used"]}`, "findings")
	sc := got.last
	if sc["keys_checked"] != 238.0 || sc["summary"].(map[string]any)["never_used"] != 231.0 {
		t.Errorf("checked %v keys, %v never used; want 238 and 231", sc["keys_checked"], sc["summary"])
	}
	if n := len(got.items); n != 231 || got.results < 2 {
		t.Errorf("%d findings listed in %d results, want 231 in more than one", n, got.results)
	}
}

// TestAuditKeysFindsUnboundedOrphanedAndStaleKeys: one audit names the keys nothing bounds (neither a
// limit nor a guardrail with a budget), the key whose creator left, and an allow-list entry for a key
// that no longer exists; each finding names the key's guardrail and creator.
func TestAuditKeysFindsUnboundedOrphanedAndStaleKeys(t *testing.T) {
	const gone = "00000000000000000000000000000000000000000000000000000000000000aa"
	e := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/api/v1/byok" {
				sb.ServeHTTP(w, r)
				return
			}
			// OpenRouter may keep a deleted key in an allow-list; the sandbox does not, so it is added.
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, r)
			body := strings.Replace(rec.Body.String(), `"allowed_api_key_hashes":["`, `"allowed_api_key_hashes":["`+gone+`","`, 1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	})
	res := e.call(t, "audit_keys", `{"kinds":["unbounded","orphaned","byok_stale"]}`)
	sc := e.checked(t, "audit_keys", res)
	got := findingsOf(sc)
	want := map[string][]string{
		"Legacy batch job":   {"unbounded", "orphaned"}, // no limit; its workspace's default sets no budget
		"Data team notebook": {"unbounded"},
		"Data team Gemini":   {"byok_stale"}, // the credential whose allow-list names the gone key
	}
	for name, kinds := range want {
		if strings.Join(got[name], ",") != strings.Join(kinds, ",") {
			t.Errorf("%s: %v, want %v", name, got[name], kinds)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want only %v: a limit, or the budget of Sam Lee's guardrail (Contractor access, Unused test key), bounds the others", got, want)
	}
	for _, f := range sc["findings"].([]any) {
		f := f.(map[string]any)
		if f["kind"] == "orphaned" && (f["creator"] == nil || !strings.HasSuffix(f["creator"].(string), "(left)") || f["guardrail"] != "workspace default") {
			t.Errorf("an orphaned finding names the guardrail and creator: %v", f)
		}
		if f["kind"] == "byok_stale" && f["hash"] != gone {
			t.Errorf("byok_stale: %v", f)
		}
	}
	if !strings.Contains(text(res), "(guardrail workspace default; by user_") {
		t.Errorf("the report names guardrails and creators:\n%s", text(res))
	}
}

// TestAuditReadsTheDefaultWorkspaceBeforeTheWorkspacesAreListed: an audit of every workspace starts
// reading the default workspace's keys (GET /keys without workspace_id) beside the listing of the
// workspaces, and does not read that workspace again by its id; what it finds is what an audit that
// names every workspace finds.
func TestAuditReadsTheDefaultWorkspaceBeforeTheWorkspacesAreListed(t *testing.T) {
	var mu sync.Mutex
	reads := map[string]int{} // GET /keys by workspace_id ("" for none)
	e := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/api/v1/keys" && r.URL.Query().Get("offset") == "0" {
				mu.Lock()
				reads[r.URL.Query().Get("workspace_id")]++
				mu.Unlock()
			}
			sb.ServeHTTP(w, r)
		}
	})
	workspaces := defaultWorkspaceFirst(t, e)
	mu.Lock()
	clear(reads)
	mu.Unlock()
	all := e.checked(t, "audit_keys", e.call(t, "audit_keys", ``))
	mu.Lock()
	if reads[""] != 1 || reads[workspaces[0]] != 0 || reads[workspaces[1]] != 1 {
		t.Errorf("first pages read, by workspace_id: %v; want the default workspace's once without its id (%s)", reads, workspaces[0])
	}
	clear(reads)
	mu.Unlock()
	named := e.checked(t, "audit_keys", e.call(t, "audit_keys", `{"workspace_ids":["`+workspaces[0]+`","`+workspaces[1]+`"]}`))
	if !reflect.DeepEqual(all, named) {
		t.Errorf("auditing every workspace found\n%v\nnaming them found\n%v", all, named)
	}
	if reads[""] != 0 {
		t.Errorf("with workspace_ids, the default workspace was read without its id: %v", reads)
	}
}

// TestAuditOfAnAccountWithAnEmptyDefaultWorkspace: when the default workspace has no keys, which
// workspace it is cannot be told from them; the audit reads every workspace by its id and counts all.
func TestAuditOfAnAccountWithAnEmptyDefaultWorkspace(t *testing.T) {
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
	if err != nil {
		t.Fatal(err)
	}
	id, err := sb.AddWorkspace(sb.ManagementKey(), "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		if _, err := c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: fmt.Sprintf("k%d", i), WorkspaceID: id}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnvWith(t, sb, c, tools.Options{})
	if sc := e.checked(t, "audit_keys", e.call(t, "audit_keys", ``)); sc["keys_checked"] != 150.0 {
		t.Errorf("checked %v keys, want 150", sc["keys_checked"])
	}
}

// TestAnUnscopedListingWithAnotherWorkspacesKeyIsNotTrusted: should GET /keys without workspace_id ever
// answer a key of another workspace, the audit does not take that listing for the default workspace's
// (its keys would be counted twice) but reads the default workspace by its id.
func TestAnUnscopedListingWithAnotherWorkspacesKeyIsNotTrusted(t *testing.T) {
	var other, def string // the workspace the unscoped listing's last key is moved to, and the default one
	var armed atomic.Bool // other and def are set
	mixed := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !armed.Load() || r.Method != http.MethodGet || r.URL.Path != "/api/v1/keys" || r.URL.Query().Has("workspace_id") || r.URL.Query().Get("offset") != "0" {
				sb.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, r)
			body := rec.Body.String()
			i := strings.LastIndex(body, `"workspace_id":"`) + len(`"workspace_id":"`)
			body = body[:i] + other + body[i+len(def):]
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	})
	workspaces := defaultWorkspaceFirst(t, mixed)
	def, other = workspaces[0], workspaces[1]
	armed.Store(true)
	got := mixed.checked(t, "audit_keys", mixed.call(t, "audit_keys", ``))
	want := mixed.checked(t, "audit_keys", mixed.call(t, "audit_keys", `{"workspace_ids":["`+def+`","`+other+`"]}`))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auditing every workspace behind a mixed listing found\n%v\nnaming them found\n%v", got, want)
	}
}

// defaultWorkspaceFirst lists the sample account's two workspaces, the default one (whose keys GET
// /keys lists without a workspace_id) first.
func defaultWorkspaceFirst(t *testing.T, e *env) []string {
	t.Helper()
	c := mustClient(t, e)
	page, err := c.ListWorkspaces(context.Background(), openrouter.ListWorkspacesParams{})
	if err != nil || len(page.Workspaces) != 2 {
		t.Fatalf("workspaces: %v", err)
	}
	defaultKeys, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{})
	if err != nil || len(defaultKeys) == 0 {
		t.Fatalf("the default workspace's keys: %v", err)
	}
	workspaces := []string{defaultKeys[0].WorkspaceID}
	for _, w := range page.Workspaces {
		if w.ID != workspaces[0] {
			workspaces = append(workspaces, w.ID)
		}
	}
	return workspaces
}
