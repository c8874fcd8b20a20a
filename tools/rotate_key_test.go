package tools_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

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
	before := e.sb.Requests()
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
	dir := t.TempDir()
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
	if escaped, _ := filepath.Glob(filepath.Join(dir, "..", "..", "x*")); len(escaped) > 0 {
		t.Errorf("a file was written outside the secret dir: %v", escaped)
	}
}
