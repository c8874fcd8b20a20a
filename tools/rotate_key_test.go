package tools_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

func TestRotateKeyMakesASuccessorWithTheSameSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, _ := countingEnv(t, tools.Options{Audit: openAudit(t, path)})
	old := e.checked(t, "create_key", e.call(t, "create_key",
		`{"name":"prod","limit":12.5,"limit_reset":"weekly","include_byok_in_limit":true,"expires_at":"2099-06-01T12:00:00Z"}`))["key"].(map[string]any)
	hash := old["hash"].(string)

	sc := e.checked(t, "rotate_key", e.call(t, "rotate_key", `{"hash":"`+hash+`"}`))
	successor := sc["new"].(map[string]any)["key"].(map[string]any)
	for _, field := range []string{"name", "limit", "limit_reset", "include_byok_in_limit", "workspace_id"} {
		if successor[field] != old[field] {
			t.Errorf("%s: successor has %v, old key %v", field, successor[field], old[field])
		}
	}
	if !strings.HasPrefix(successor["expires_at"].(string), "2099-06-01T12:00:00") {
		t.Errorf("expires_at: %v", successor["expires_at"])
	}
	if s, _ := sc["secret"].(string); !fullKey.MatchString(s) || successor["hash"] == hash {
		t.Errorf("want a new key and its secret: %v", sc)
	}
	if sc["old"].(map[string]any)["retired"] != "disabled" || !e.disabled(t, hash) {
		t.Errorf("the old key must be disabled by default: %v", sc["old"])
	}

	// delete, keep, and a new name.
	sc = e.checked(t, "rotate_key", e.call(t, "rotate_key", `{"hash":"`+successor["hash"].(string)+`","retire":"delete","name":"prod-2"}`))
	if sc["old"].(map[string]any)["retired"] != "deleted" || sc["new"].(map[string]any)["key"].(map[string]any)["name"] != "prod-2" {
		t.Errorf("retire delete with a new name: %v", sc)
	}
	if res := e.call(t, "get_key", `{"hash":"`+successor["hash"].(string)+`"}`); !res.IsError {
		t.Error("the old key was not deleted")
	}
	third := sc["new"].(map[string]any)["key"].(map[string]any)["hash"].(string)
	sc = e.checked(t, "rotate_key", e.call(t, "rotate_key", `{"hash":"`+third+`","retire":"keep"}`))
	if sc["old"].(map[string]any)["retired"] != "kept" || e.disabled(t, third) {
		t.Errorf("retire keep: %v", sc["old"])
	}

	// One operation in the audit log, naming both keys.
	var outcome map[string]any
	for _, r := range readAudit(t, path) {
		if r["tool"] == "rotate_key" && r["event"] == "outcome" {
			outcome = r
			break
		}
	}
	if outcome == nil || outcome["hash"] != hash || outcome["new_hash"] != successor["hash"] || outcome["name"] != "prod" {
		t.Errorf("rotate_key's outcome record must name the old key and its successor: %v", outcome)
	}
}

func TestRotateKeyRefusesWhatItCannotCarryOver(t *testing.T) {
	e := newEnv(t, "management")
	// The sample data's expired key.
	var expired string
	for _, f := range e.checked(t, "audit_keys", e.call(t, "audit_keys", `{"kinds":["expired"]}`))["findings"].([]any) {
		expired = f.(map[string]any)["hash"].(string)
	}
	before := settled(e)
	res := e.call(t, "rotate_key", `{"hash":"`+expired+`"}`)
	if !res.IsError || !strings.Contains(text(res), "expired") || !strings.Contains(text(res), "create_key") {
		t.Errorf("rotating an expired key: %s", text(res))
	}
	if got := e.sb.Requests() - before; got != 1 {
		t.Errorf("%d requests: want only the lookup", got)
	}
	if res := e.call(t, "rotate_key", `{"hash":"`+expired+`","retire":"archive"}`); !res.IsError || !strings.Contains(text(res), "`retire` must be one of") {
		t.Errorf("a bad retire: %s", text(res))
	}
}

// TestRotateKeyNeverLeavesTheUserWithoutAWorkingKey: when the successor cannot be made nothing
// changes; when the old key cannot be retired, the result keeps the successor's secret and says the
// old key still works.
func TestRotateKeyNeverLeavesTheUserWithoutAWorkingKey(t *testing.T) {
	var failing atomic.Value // "POST" or "PATCH": that method is refused
	failing.Store("")
	e := envBehind(t, tools.Options{}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == failing.Load() && strings.HasPrefix(r.URL.Path, "/api/v1/keys") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"code":400,"message":"refused for the test"}}`))
				return
			}
			sb.ServeHTTP(w, r)
		}
	})
	hash := e.newKey(t, "keep-working")

	failing.Store("POST")
	res := e.call(t, "rotate_key", `{"hash":"`+hash+`"}`)
	if !res.IsError || !strings.Contains(text(res), "was not changed") || e.disabled(t, hash) {
		t.Errorf("no successor: the old key must be untouched: %s", text(res))
	}

	failing.Store("PATCH")
	res = e.call(t, "rotate_key", `{"hash":"`+hash+`"}`)
	sc := e.checked(t, "rotate_key", res)
	old := sc["old"].(map[string]any)
	if old["retired"] != "kept" || old["retire_error"] == nil || !fullKey.MatchString(sc["secret"].(string)) {
		t.Errorf("retiring failed: want the successor's secret and the old key kept, got %v", sc)
	}
	if !strings.Contains(text(res), "WARNING") || !strings.Contains(text(res), "still active") || e.disabled(t, hash) {
		t.Errorf("the result must say the old key still works: %s", text(res))
	}
}

func TestRotateKeyAsksAndHonoursThePolicy(t *testing.T) {
	maxLimit := 5.0
	e, _ := countingEnv(t, tools.Options{Policy: tools.Policy{MaxLimit: &maxLimit, ManagedPrefix: "agent-"}})
	plain := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{})
	unlimited := plain.newKey(t, "agent-unlimited")
	foreign := plain.newKey(t, "prod")
	for args, want := range map[string]string{
		`{"hash":"` + unlimited + `"}`:                  "--max-limit",
		`{"hash":"` + foreign + `"}`:                    "--managed-prefix",
		`{"hash":"` + unlimited + `","name":"renamed"}`: "--managed-prefix",
	} {
		if res := e.call(t, "rotate_key", args); !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("%s: want a refusal naming %s: %s", args, want, text(res))
		}
	}
	if plain.disabled(t, unlimited) || plain.disabled(t, foreign) {
		t.Error("a refused rotation changed a key")
	}

	// It asks like delete_key; a decline changes nothing.
	ctx := eliciting()
	capped := e.checked(t, "create_key", e.call(t, "create_key", `{"name":"agent-capped","limit":5}`))["key"].(map[string]any)["hash"].(string)
	args := map[string]any{"hash": capped}
	q := e.callIn(t, ctx, "rotate_key", args, "", nil)
	if !q.NeedsInput() {
		t.Fatalf("rotate_key must ask first: %s", text(q))
	}
	res := e.callIn(t, ctx, "rotate_key", args, q.RequestState, accept(false))
	if sc := e.checked(t, "rotate_key", res); sc["declined"] != true || sc["new"] != nil || e.disabled(t, capped) {
		t.Errorf("declined rotation: %v", sc)
	}
}

// TestAMalformedCreateKeepsTheSecretInsideTheSecretDir: an answer with a hash that could climb out of
// the directory still leaves the secret in a file inside it, and says the key may exist.
func TestAMalformedCreateKeepsTheSecretInsideTheSecretDir(t *testing.T) {
	// The secret dir sits two levels inside a directory of the test's own, where "../../x" would land:
	// a file of that name anywhere else (/tmp/x-…) must not fail the test.
	base := t.TempDir()
	dir := filepath.Join(base, "a", "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := "sk-or-v1-" + strings.Repeat("5a", 32)
	body := `{"data":{"hash":"../../x","name":"evil","label":"sk-or-v1-5a5...a5a"},"key":"` + secret + `"}`
	e := newEnvWith(t, sandbox.New(sandbox.Options{}), stubClient(t, 201, body, nil), tools.Options{SecretDir: dir})
	res := e.call(t, "create_key", `{"name":"evil"}`)
	if !res.IsError || strings.Contains(text(res), secret) || !strings.Contains(text(res), "may have been created") ||
		!strings.Contains(text(res), "saved, unverified, to "+dir+"/") {
		t.Fatalf("want the key may exist and where its secret went: %s", text(res))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("files in the secret dir: %v", files)
	}
	if b, _ := os.ReadFile(files[0]); strings.TrimSpace(string(b)) != secret {
		t.Error("the file does not hold the secret")
	}
	if escaped, _ := filepath.Glob(filepath.Join(base, "x*")); len(escaped) > 0 {
		t.Errorf("a file was written outside the secret dir: %v", escaped)
	}
}

// byokAllows reports which of hashes the allow-list of the sample credential "Data team Gemini" names.
func byokAllows(t *testing.T, c *openrouter.Client, hashes ...string) []bool {
	t.Helper()
	page, err := c.ListBYOK(context.Background(), openrouter.ListBYOKParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range page.Items {
		if cr.Name != nil && *cr.Name == "Data team Gemini" {
			out := make([]bool, len(hashes))
			for i, h := range hashes {
				out[i] = slices.Contains(cr.AllowedAPIKeyHashes, h)
			}
			return out
		}
	}
	t.Fatal("no sample BYOK credential")
	return nil
}

// guardedProduction is the sample production key, also allowed to use the data team's BYOK
// credential, so that it has both kinds of control; and that credential's id.
func guardedProduction(t *testing.T, e *env) (hash, credential string) {
	t.Helper()
	c := mustClient(t, e)
	hash = mustKey(t, e, "Production chatbot")
	page, err := c.ListBYOK(context.Background(), openrouter.ListBYOKParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range page.Items {
		if cr.Name != nil && *cr.Name == "Data team Gemini" {
			credential = cr.ID
			_, err = c.UpdateBYOKAllowLists(context.Background(), cr.ID, openrouter.BYOKAllowListsUpdate{
				AllowedAPIKeyHashes: openrouter.Value(append(cr.AllowedAPIKeyHashes, hash))})
		}
	}
	if err != nil || credential == "" {
		t.Fatalf("allow the production key the BYOK credential: %v", err)
	}
	return hash, credential
}

// TestRotateKeyKeepsTheControls: the successor of the guarded production key has its guardrail and
// its place in the BYOK allow-list before the old key is deleted, and the deleted key leaves the list.
func TestRotateKeyKeepsTheControls(t *testing.T) {
	e := newEnv(t, "management")
	c := mustClient(t, e)
	old, credential := guardedProduction(t, e)
	res := e.call(t, "rotate_key", `{"hash":"`+old+`","retire":"delete"}`)
	sc := e.checked(t, "rotate_key", res)
	successor := sc["new"].(map[string]any)["key"].(map[string]any)["hash"].(string)
	controls := sc["controls"].(map[string]any)
	if has, lacks := controls["has"].([]any), controls["lacks"].([]any); len(has) != 2 || len(lacks) != 0 ||
		has[0].(map[string]any)["name"] != "Production policy" || has[1].(map[string]any)["id"] != credential {
		t.Errorf("controls: %v", controls)
	}
	if sc["old"].(map[string]any)["retired"] != "deleted" {
		t.Errorf("old: %v", sc["old"])
	}
	g := e.checked(t, "get_key", e.call(t, "get_key", `{"hash":"`+successor+`"}`))["key"].(map[string]any)["guardrail"].(map[string]any)
	if g["name"] != "Production policy" || g["via"] != "key" {
		t.Errorf("the successor's guardrail: %v", g)
	}
	if allows := byokAllows(t, c, successor, old); !allows[0] || allows[1] {
		t.Errorf("BYOK allow-list names the successor %v, the deleted key %v", allows[0], allows[1])
	}
	if !strings.Contains(text(res), `The successor has the old key's guardrail "Production policy", byok "Data team Gemini"`) {
		t.Errorf("summary: %s", text(res))
	}
}

// TestRotateKeyRetiresNothingUntilTheSuccessorHasEveryControl: when the guardrail cannot be assigned
// and the allow-list cannot be changed, the successor exists with its secret, the old key keeps
// working, and the result says what the successor lacks.
func TestRotateKeyRetiresNothingUntilTheSuccessorHasEveryControl(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []sandbox.Fault
		lacks  []string
	}{
		// The create passes; the assignment (a POST, never retried) fails.
		{"guardrail", []sandbox.Fault{{Kind: sandbox.FaultNone, Method: http.MethodPost}, {Kind: sandbox.FaultInternal, Method: http.MethodPost}}, []string{"guardrail"}},
		{"byok", []sandbox.Fault{{Kind: sandbox.FaultHTML, Status: 403, Method: http.MethodPatch}}, []string{"byok"}},
		{"both", []sandbox.Fault{{Kind: sandbox.FaultNone, Method: http.MethodPost}, {Kind: sandbox.FaultReset, Method: http.MethodPost},
			{Kind: sandbox.FaultHTML, Status: 400, Method: http.MethodPatch}}, []string{"guardrail", "byok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "management")
			old, _ := guardedProduction(t, e)
			e.sb.InjectNext(tc.faults...)
			res := e.call(t, "rotate_key", `{"hash":"`+old+`","retire":"delete"}`)
			sc := e.checked(t, "rotate_key", res)
			var lacks []string
			for _, l := range sc["controls"].(map[string]any)["lacks"].([]any) {
				lacks = append(lacks, l.(map[string]any)["kind"].(string))
				if l.(map[string]any)["error"] == "" {
					t.Errorf("a lack without its reason: %v", l)
				}
			}
			if !slices.Equal(lacks, tc.lacks) || len(sc["controls"].(map[string]any)["has"].([]any)) != 2-len(tc.lacks) {
				t.Errorf("controls: %v", sc["controls"])
			}
			if sc["old"].(map[string]any)["retired"] != "kept" || e.disabled(t, old) {
				t.Errorf("the old key must be kept, working: %v", sc["old"])
			}
			if s, _ := sc["secret"].(string); !fullKey.MatchString(s) {
				t.Error("the successor's secret must reach the caller")
			}
			if !strings.Contains(text(res), "LACKS") || !strings.Contains(text(res), "the old key was not retired") {
				t.Errorf("summary: %s", text(res))
			}
		})
	}
}

// settled is the sandbox's count of requests once it has stopped changing: a walk's pages read ahead
// and cancelled when a short page ended the listing (openrouter.WalkPages) may reach the sandbox just
// after the call that walked returned.
func settled(e *env) int64 {
	n := e.sb.Requests()
	for {
		time.Sleep(50 * time.Millisecond)
		m := e.sb.Requests()
		if m == n {
			return n
		}
		n = m
	}
}

// TestRotateKeyReadsTheControlsFresh: rotate_key reads what binds the old key fresh, not from the
// controls cache: a guardrail assigned elsewhere (another replica, the dashboard) a moment before the
// rotation binds the successor too.
func TestRotateKeyReadsTheControlsFresh(t *testing.T) {
	elsewhere := newEnv(t, "management")
	e := elsewhere.caching(t)
	guard := sampleGuardrail(t, mustClient(t, e))
	old := e.newKey(t, "rotated-after-a-change-elsewhere")
	if g := e.guardrailOf(t, old); g != "" { // and the cache holds the key without a guardrail
		t.Fatalf("a new key with guardrail %s", g)
	}
	if res := elsewhere.call(t, "assign_guardrail", `{"guardrail_id":"`+guard+`","hashes":["`+old+`"]}`); res.IsError {
		t.Fatal(text(res))
	}
	sc := e.checked(t, "rotate_key", e.call(t, "rotate_key", `{"hash":"`+old+`","retire":"keep"}`))
	successor := sc["new"].(map[string]any)["key"].(map[string]any)["hash"].(string)
	if g := elsewhere.guardrailOf(t, successor); g != guard {
		t.Errorf("the successor of a key assigned %s elsewhere has guardrail %q", guard, g)
	}
}
