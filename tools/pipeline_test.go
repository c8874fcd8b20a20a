package tools_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// envBehind is a sandbox behind front, a handler in its place that may answer a request itself or
// hand it on, with the tools bound to a client of it.
func envBehind(t testing.TB, opts tools.Options, front func(sb http.Handler) http.HandlerFunc) *env {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(front(sb))
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, sb, c, opts)
	e.url = srv.URL + "/api/v1"
	return e
}

// countingEnv is a sandbox whose key lookups (GET /keys/{hash}) are counted, with the tools bound to a
// client of it.
func countingEnv(t *testing.T, opts tools.Options) (*env, *atomic.Int32) {
	t.Helper()
	var lookups atomic.Int32
	e := envBehind(t, opts, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/keys/") {
				lookups.Add(1)
			}
			sb.ServeHTTP(w, r)
		}
	})
	return e, &lookups
}

// mustClient is another client of e's sandbox, with the management key.
func mustClient(t testing.TB, e *env) *openrouter.Client {
	t.Helper()
	c, err := openrouter.New(openrouter.Options{BaseURL: e.url, APIKey: openrouter.Secret(e.sb.ManagementKey())})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eliciting is the context of a 2026-07-28 request from a client that declared it can ask its user.
func eliciting() context.Context {
	return server.WithRequestProtocolInfo(context.Background(), &server.RequestProtocolInfo{
		Modern:             true,
		ProtocolVersion:    "2026-07-28",
		ClientInfo:         &mcp.Implementation{Name: "pipeline-test"},
		ClientCapabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{}},
	})
}

// callIn runs a tool's handler in ctx, answering an earlier question when answer is not nil.
func (e *env) callIn(t *testing.T, ctx context.Context, name string, args map[string]any, state string, answer *mcp.ElicitationResult) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if answer != nil {
		req.Params.RequestState = state
		req.Params.InputResponses = mcp.InputResponses{"confirm": {Elicitation: answer}}
	}
	res, err := e.tools[name].Handler(ctx, req)
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

func (e *env) newKey(t *testing.T, name string) string {
	t.Helper()
	res := e.call(t, "create_key", `{"name":"`+name+`"}`)
	if res.IsError {
		t.Fatalf("create_key: %s", text(res))
	}
	return structured(t, res)["key"].(map[string]any)["hash"].(string)
}

func (e *env) disabled(t *testing.T, hash string) bool {
	t.Helper()
	res := e.call(t, "get_key", `{"hash":"`+hash+`"}`)
	if res.IsError {
		t.Fatalf("get_key: %s", text(res))
	}
	return structured(t, res)["key"].(map[string]any)["disabled"] == true
}

// fullKey is a whole secret key, not a masked label.
var fullKey = regexp.MustCompile(`sk-or-v1-[0-9a-f]{64}`)

func accept(confirm bool) *mcp.ElicitationResult {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
		Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"confirm": confirm}}}
}

func TestConfirmationActsOnlyOnTheUsersYes(t *testing.T) {
	e, _ := countingEnv(t, tools.Options{})
	ctx := eliciting()
	for _, c := range []struct {
		name   string
		answer *mcp.ElicitationResult
		goOn   bool
	}{
		{"accept", accept(true), true},
		{"accept without confirming", accept(false), false},
		{"decline", &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}, false},
		{"cancel", &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionCancel}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			hash := e.newKey(t, "confirm-"+strings.ReplaceAll(c.name, " ", "-"))
			args := map[string]any{"hash": hash, "disabled": true}
			q := e.callIn(t, ctx, "update_key", args, "", nil)
			if !q.NeedsInput() || q.RequestState == "" || len(q.InputRequests) != 1 {
				t.Fatalf("disabling must ask first, got %+v", q)
			}
			if e.disabled(t, hash) {
				t.Fatal("the key was disabled before the user answered")
			}
			res := e.callIn(t, ctx, "update_key", args, q.RequestState, c.answer)
			if res.IsError {
				t.Fatalf("answered call: %s", text(res))
			}
			if got := e.disabled(t, hash); got != c.goOn {
				t.Errorf("disabled = %v, want %v", got, c.goOn)
			}
			if !c.goOn && (structured(t, res)["declined"] != true || !strings.Contains(text(res), "Nothing was changed")) {
				t.Errorf("a declined call must say so: %s", text(res))
			}
		})
	}
	t.Run("forged or foreign state", func(t *testing.T) {
		hash := e.newKey(t, "forged")
		other := e.newKey(t, "other")
		q := e.callIn(t, ctx, "delete_key", map[string]any{"hash": other}, "", nil)
		for _, state := range []string{"", "9999999999.00", q.RequestState} {
			res := e.callIn(t, ctx, "delete_key", map[string]any{"hash": hash}, state, accept(true))
			if !res.IsError || !strings.Contains(text(res), "does not match this call") {
				t.Errorf("state %q: want a mismatch error, got %s", state, text(res))
			}
		}
		if e.disabled(t, hash) {
			t.Error("unexpected change")
		}
		if res := e.call(t, "get_key", `{"hash":"`+hash+`"}`); res.IsError {
			t.Errorf("the key was deleted on a forged answer: %s", text(res))
		}
	})
	t.Run("not asked without elicitation", func(t *testing.T) {
		hash := e.newKey(t, "plain-client")
		res := e.callIn(t, context.Background(), "update_key", map[string]any{"hash": hash, "disabled": true}, "", nil)
		if res.IsError || res.NeedsInput() || !e.disabled(t, hash) {
			t.Errorf("a client that cannot ask relies on its own approval: %s", text(res))
		}
	})
}

func TestTheTargetKeyIsLookedUpOncePerCall(t *testing.T) {
	e, lookups := countingEnv(t, tools.Options{Audit: openAudit(t, filepath.Join(t.TempDir(), "audit.jsonl"))})
	hash := e.newKey(t, "looked-up")
	ctx := eliciting()
	args := map[string]any{"hash": hash, "disabled": true}
	lookups.Store(0)
	q := e.callIn(t, ctx, "update_key", args, "", nil)
	if n := lookups.Load(); n != 1 || !q.NeedsInput() {
		t.Fatalf("asking: %d lookups, want 1", n)
	}
	lookups.Store(0)
	if res := e.callIn(t, ctx, "update_key", args, q.RequestState, accept(true)); res.IsError {
		t.Fatal(text(res))
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("confirmed and audited call: %d lookups, want 1 (shared by the question and the audit record)", n)
	}
	lookups.Store(0)
	if res := e.call(t, "update_key", `{"hash":"`+hash+`","name":"renamed"}`); res.IsError {
		t.Fatal(text(res))
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("audited call: %d lookups, want 1", n)
	}
}

func openAudit(t *testing.T, path string) *tools.AuditLog {
	t.Helper()
	log, err := tools.OpenAuditLog(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return log
}

func readAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

func TestAuditRecordsEveryChangeBeforeAndAfter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, _ := countingEnv(t, tools.Options{Audit: openAudit(t, path)})
	hash := e.newKey(t, "audited")
	for _, c := range []struct{ tool, args string }{
		{"list_keys", ""}, {"get_key", `{"hash":"` + hash + `"}`}, {"current_key", ""},
		{"update_key", `{"hash":"` + hash + `","name":"renamed"}`},
		{"delete_key", `{"hash":"` + hash + `"}`},
		{"delete_key", `{"hash":"` + hash + `"}`}, // already gone: the lookup fails, nothing is attempted
	} {
		e.call(t, c.tool, c.args)
	}
	ctx := eliciting()
	declinedHash := e.newKey(t, "kept")
	q := e.callIn(t, ctx, "delete_key", map[string]any{"hash": declinedHash}, "", nil)
	e.callIn(t, ctx, "delete_key", map[string]any{"hash": declinedHash}, q.RequestState, accept(false))

	var got []string
	for _, r := range readAudit(t, path) {
		outcome, _ := r["outcome"].(string)
		name, _ := r["name"].(string)
		got = append(got, r["tool"].(string)+":"+r["event"].(string)+":"+outcome+":"+name)
		if r["time"] == nil || r["call_id"] == nil || (r["hash"] == nil && !(r["tool"] == "create_key" && r["event"] == "attempt")) {
			t.Errorf("record lacks when, which call or which key: %v", r)
		}
	}
	want := []string{
		"create_key:attempt::audited", "create_key:outcome:ok:audited",
		"update_key:attempt::audited", "update_key:outcome:ok:renamed",
		"delete_key:attempt::renamed", "delete_key:outcome:ok:renamed",
		"create_key:attempt::kept", "create_key:outcome:ok:kept",
		"delete_key:declined::kept",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit records:\n%v\nwant\n%v", got, want)
	}
	if b, _ := os.ReadFile(path); fullKey.Match(b) {
		t.Error("the audit log holds a secret")
	}
}

func TestAuditFailsClosed(t *testing.T) {
	// Every write to /dev/full fails, as on a full disk.
	e, _ := countingEnv(t, tools.Options{Audit: openAudit(t, "/dev/full")})
	res := e.call(t, "create_key", `{"name":"unrecorded"}`)
	if !res.IsError || !strings.Contains(text(res), "audit log could not be written") || !strings.Contains(text(res), "nothing was changed") {
		t.Fatalf("create with a broken audit log: %s", text(res))
	}
	list := e.call(t, "list_keys", `{"include_disabled":true}`)
	if list.IsError {
		t.Fatalf("reads are not audited and must still work: %s", text(list))
	}
	if strings.Contains(text(list), "unrecorded") {
		t.Error("a key was created without an audit record")
	}
}

func TestSecretDirKeepsSecretsOutOfTheResultAndRollsBack(t *testing.T) {
	dir := t.TempDir()
	e, _ := countingEnv(t, tools.Options{SecretDir: dir})
	res := e.call(t, "create_key", `{"name":"ci bot/../prod"}`)
	if res.IsError || fullKey.MatchString(text(res)) {
		t.Fatalf("create_key: %s", text(res))
	}
	path, _ := structured(t, res)["secret_file"].(string)
	if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), "ci-bot----prod-") {
		t.Fatalf("secret_file %q: want a file named after the key in %s", path, dir)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v", err)
	}

	// If the secret cannot be kept, the key must not outlive it.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	res = e.call(t, "create_key", `{"name":"doomed"}`)
	if !res.IsError || !strings.Contains(text(res), "so the key was deleted again") {
		t.Fatalf("create_key with an unwritable secret dir: %s", text(res))
	}
	if list := e.call(t, "list_keys", `{"include_disabled":true}`); strings.Contains(text(list), "doomed") {
		t.Error("the key whose secret was lost still exists")
	}
}

// stallingEnv is a sandbox that answers the first page of keys at once and never answers a later page
// (offset > 0), with the tools bound to a client of it and the call timeout given.
func stallingEnv(t *testing.T, callTimeout time.Duration) *env {
	t.Helper()
	return envBehind(t, tools.Options{CallTimeout: callTimeout}, func(sb http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if off := r.URL.Query().Get("offset"); r.URL.Path == "/api/v1/keys" && off != "" && off != "0" {
				<-r.Context().Done()
				return
			}
			sb.ServeHTTP(w, r)
		}
	})
}

func TestOneDeadlineBoundsTheWholeCall(t *testing.T) {
	e := stallingEnv(t, 500*time.Millisecond)
	for i := range 250 {
		if _, _, err := e.sb.CreateInferenceKey(e.sb.ManagementKey(), fmt.Sprintf("k%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	res := e.call(t, "list_keys", `{"all":true}`)
	elapsed := time.Since(start)
	if res.IsError {
		t.Fatalf("list_keys all over slow pages: want what it has with a note, got an error: %s", text(res))
	}
	sc := structured(t, res)
	if sc["next_offset"] == nil || !strings.Contains(text(res), "ran out of time") {
		t.Fatalf("list_keys all over slow pages: want what it has with a note, got %s", text(res))
	}
	if n := len(sc["keys"].([]any)); n == 0 || n >= 254 {
		t.Errorf("%d keys: want some pages, not all", n)
	}
	// A generous bound: the point is that pages stop at the call's deadline, not one request's.
	if elapsed > 5*time.Second {
		t.Errorf("the call took %s with a 500ms deadline", elapsed)
	}
	res = e.call(t, "audit_keys", "")
	if !res.IsError || !strings.Contains(text(res), "ran out of time") {
		t.Errorf("audit_keys over slow pages: %s", text(res))
	}
}

func TestAnotherSecretTheServerKnowsIsRefusedLikeAKey(t *testing.T) {
	const token = "server-access-token-0123456789abcdef"
	e, _ := countingEnv(t, tools.Options{Secret: func(s string) bool { return strings.Contains(s, token) }})
	for _, args := range []string{`{"name":"` + token + `"}`, `{"name":"x ` + token + `"}`, `{"` + token + `":1,"name":"x"}`} {
		before := e.sb.Requests()
		res := e.call(t, "create_key", args)
		if !res.IsError || strings.Contains(text(res), token) || e.sb.Requests() != before {
			t.Errorf("%s: want refused without being repeated or sent: %s", args, text(res))
		}
	}
}

type whoKey struct{}

// An answer to a question asked of one person is refused when another person brings it back, even
// with the same arguments, in time: the state is bound to whom the call acts for.
func TestAnAnswerFromAnotherPersonIsRefused(t *testing.T) {
	e, _ := countingEnv(t, tools.Options{Principal: func(ctx context.Context) string {
		who, _ := ctx.Value(whoKey{}).(string)
		return who
	}})
	alice := context.WithValue(eliciting(), whoKey{}, "person:alice")
	bob := context.WithValue(eliciting(), whoKey{}, "person:bob")
	hash := e.newKey(t, "alices-key")
	args := map[string]any{"hash": hash}
	q := e.callIn(t, alice, "delete_key", args, "", nil)
	if !q.NeedsInput() {
		t.Fatalf("delete_key must ask first, got %s", text(q))
	}
	if res := e.callIn(t, bob, "delete_key", args, q.RequestState, accept(true)); !res.IsError || !strings.Contains(text(res), "does not match this call") {
		t.Errorf("bob answering alice's question: want a mismatch, got %s", text(res))
	}
	if res := e.call(t, "get_key", `{"hash":"`+hash+`"}`); res.IsError {
		t.Fatalf("the key was deleted on another person's answer: %s", text(res))
	}
	if res := e.callIn(t, alice, "delete_key", args, q.RequestState, accept(true)); res.IsError {
		t.Errorf("alice answering her own question: %s", text(res))
	}
}
