package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// mutationsEnv is a sandbox whose changes (any request but a GET) are counted, per key hash (the
// path's, or each of a guardrail assignment's key_hashes) and in all, with the tools bound to a client
// of it; fail, when not nil and true for a request, answers it with a 500 instead of the sandbox.
func mutationsEnv(t testing.TB, opts tools.Options, fail func(r *http.Request) bool) (*env, *changeCounts) {
	t.Helper()
	counts := &changeCounts{perKey: map[string]int{}}
	e := envBehind(t, opts, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if fail != nil && fail(r) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":{"code":500,"message":"injected for the test"}}`))
				return
			}
			if r.Method != http.MethodGet {
				var assigned struct {
					KeyHashes []string `json:"key_hashes"`
				}
				if strings.HasPrefix(r.URL.Path, "/api/v1/guardrails/") && json.Unmarshal([]byte(bodyOf(r)), &assigned) == nil {
					counts.add(assigned.KeyHashes...)
				} else {
					counts.add(strings.TrimPrefix(r.URL.Path, "/api/v1/keys/"))
				}
			}
			sb.ServeHTTP(w, r)
		}
	})
	return e, counts
}

// changeCounts counts the changes that reached the sandbox, per key.
type changeCounts struct {
	mu     sync.Mutex
	total  int
	perKey map[string]int
}

func (c *changeCounts) add(hashes ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	for _, h := range hashes {
		c.perKey[h]++
	}
}

// bodyOf reads r's body and puts it back for the handler after.
func bodyOf(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

func (c *changeCounts) of(hash string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perKey[hash]
}

func (c *changeCounts) all() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// snapshot is every key of the sandbox's account, disabled and expired ones included, as JSON.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	var all []openrouter.Key
	c := mustClient(t, e)
	for offset := 0; ; offset += openrouter.PageSize {
		page, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{Offset: &offset, IncludeDisabled: true, IncludeExpired: true})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < openrouter.PageSize {
			break
		}
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// plan calls plan_cleanup, checks its result against its schema, and returns it.
func (e *env) plan(t *testing.T, args string) map[string]any {
	t.Helper()
	return e.checked(t, "plan_cleanup", e.call(t, "plan_cleanup", args))
}

// actionsOf lists a plan's actions as "action name".
func actionsOf(sc map[string]any) []string {
	var out []string
	for _, a := range sc["actions"].([]any) {
		m := a.(map[string]any)
		out = append(out, m["action"].(string)+" "+m["name"].(string))
	}
	return out
}

func TestAPlanChangesNothing(t *testing.T) {
	e, changes := mutationsEnv(t, tools.Options{}, nil)
	e.newKey(t, "fresh-one")
	before := snapshot(t, e)
	created := changes.all()

	res := e.call(t, "plan_cleanup", `{"delete":["expired"],"disable":["never_used"]}`)
	sc := e.checked(t, "plan_cleanup", res)
	got := actionsOf(sc)
	if !slices.Contains(got, "delete Contractor access") || !slices.Contains(got, "disable fresh-one") {
		t.Errorf("the plan %v lacks the expired key's deletion or the never-used key's disabling", got)
	}
	for _, a := range sc["actions"].([]any) {
		if a.(map[string]any)["action"] == "disable" && a.(map[string]any)["name"] == "Contractor access" {
			t.Error("a key chosen by delete and disable must be deleted only")
		}
	}
	if sc["plan_token"] == "" || sc["plan_id"] == "" || sc["expires_at"] == "" {
		t.Errorf("no token, id or expiry: %v", sc)
	}
	if after := snapshot(t, e); after != before || changes.all() != created {
		t.Errorf("plan_cleanup changed the sandbox (%d changes sent)", changes.all()-created)
	}

	// The text a person reads: the counts, the keys by name, the token.
	txt := text(res)
	for _, want := range []string{"nothing changed yet", "delete 1", `"fresh-one"`, sc["plan_token"].(string)} {
		if !strings.Contains(txt, want) {
			t.Errorf("the plan's text lacks %q:\n%s", want, txt)
		}
	}
}

func TestAPlanHoldsAtMostTheBatch(t *testing.T) {
	for _, c := range []struct {
		batch, want int
	}{{0, 25}, {5, 5}} {
		t.Run(fmt.Sprint(c.batch), func(t *testing.T) {
			e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{MaxBatch: c.batch}})
			var hashes []string
			for i := range 26 {
				hashes = append(hashes, e.newKey(t, fmt.Sprintf("batch-%02d", i)))
			}
			b, _ := json.Marshal(hashes)
			res := e.call(t, "plan_cleanup", `{"disable":`+string(b)+`}`)
			sc := e.checked(t, "plan_cleanup", res)
			if n := len(sc["actions"].([]any)); n != c.want || sc["more"] != true || sc["more_count"] != float64(26-c.want) {
				t.Errorf("26 keys chosen: %d actions, more %v (%v); want %d and %d more", n, sc["more"], sc["more_count"], c.want, 26-c.want)
			}
			if !strings.Contains(text(res), "plan again") {
				t.Errorf("the text does not say how to go on: %s", text(res))
			}
			if c.batch != 0 {
				return
			}
			// At most 120 bytes a key, token included, in a full plan (a short one is mostly its fixed lines),
			// chosen by hash or by a kind whose figures are long.
			guard := sampleGuardrail(t, mustClient(t, e))
			for _, args := range []string{`{"disable":` + string(b) + `}`, `{"assign_guardrail":["unbounded"],"guardrail_id":"` + guard + `"}`} {
				res := e.call(t, "plan_cleanup", args)
				if n := len(e.checked(t, "plan_cleanup", res)["actions"].([]any)); n != c.want || len(text(res)) > 120*n {
					t.Errorf("%s: the plan's text is %d bytes for %d keys, more than 120 a key:\n%s", args, len(text(res)), n, text(res))
				}
			}
		})
	}
}

func TestAPlanSaysWhatItSkipsAndWhy(t *testing.T) {
	e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{ManagedPrefix: "agent-"}})
	plain := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{})
	mine, foreign, off := plain.newKey(t, "agent-a"), plain.newKey(t, "prod"), plain.newKey(t, "agent-off")
	if res := plain.call(t, "update_key", `{"hash":"`+off+`","disabled":true}`); res.IsError {
		t.Fatal(text(res))
	}
	unknown := strings.Repeat("0", 64)
	sc := e.plan(t, `{"disable":["`+mine+`","`+foreign+`","`+off+`","`+unknown+`"]}`)
	if got := actionsOf(sc); !slices.Equal(got, []string{"disable agent-a"}) {
		t.Errorf("actions %v, want only agent-a disabled", got)
	}
	reasons := map[string]string{}
	for _, s := range sc["skipped"].([]any) {
		m := s.(map[string]any)
		reasons[m["hash"].(string)] = m["reason"].(string)
	}
	for hash, want := range map[string]string{foreign: "--managed-prefix", off: "already disabled", unknown: "no key with this hash"} {
		if !strings.Contains(reasons[hash], want) {
			t.Errorf("skipped %.12s: %q, want %q", hash, reasons[hash], want)
		}
	}

	for args, want := range map[string]string{
		`{}`:                                "give delete, disable, set_limit or assign_guardrail",
		`{"disable":["stale"]}`:             "`disable[0]` must be a kind of finding",
		`{"set_limit":["never_used"]}`:      "set_limit needs limit",
		`{"disable":["expired"],"limit":1}`: "go with set_limit",
	} {
		if res := e.call(t, "plan_cleanup", args); !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("%s: want a refusal saying %q, got %s", args, want, text(res))
		}
	}
	capped := 5.0
	p := newEnvWith(t, e.sb, mustClient(t, e), tools.Options{Policy: tools.Policy{MaxLimit: &capped}})
	if res := p.call(t, "plan_cleanup", `{"set_limit":["no_limit"],"limit":50}`); !res.IsError || !strings.Contains(text(res), "--max-limit") {
		t.Errorf("a limit above the cap must be refused at plan time: %s", text(res))
	}
}

// BenchmarkPlanCleanup plans over 1,000 keys in 5 workspaces, in process against the sandbox on a
// loopback socket (issue 21: under 1 s).
func BenchmarkPlanCleanup(b *testing.B) {
	e := newEnvOpts(b, "management", tools.Options{})
	c := mustClient(b, e)
	ws := []string{""}
	for i := range 4 {
		id, err := e.sb.AddWorkspace(e.sb.ManagementKey(), fmt.Sprintf("bench-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		ws = append(ws, id)
	}
	for i := range 1000 - e.sb.KeyCount(e.sb.ManagementKey()) {
		if _, err := c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: fmt.Sprintf("k-%04d", i), WorkspaceID: ws[i%5]}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if res := e.call(b, "plan_cleanup", `{"delete":["expired"],"disable":["never_used"]}`); res.IsError {
			b.Fatal(text(res))
		}
	}
}
