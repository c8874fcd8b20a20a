package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func toolNames(t *testing.T, ctx context.Context, s session) []string {
	t.Helper()
	list, err := s.listTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range list {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var readTools = []string{"audit_keys", "current_key", "get_activity", "get_credits", "get_key", "list_guardrails", "list_keys", "list_members", "list_workspaces", "plan_cleanup", "query_spend"}

func TestReadOnlyAndToolSelection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--read-only"}, readTools},
		{[]string{"--tools", "list_keys,delete_key", "--exclude-tools", "delete_key"}, []string{"list_keys"}},
		{[]string{"--exclude-tools", "delete_key,create_key"}, []string{"apply_plan", "assign_guardrail", "audit_keys", "current_key", "get_activity", "get_credits", "get_key", "list_guardrails", "list_keys", "list_members", "list_workspaces", "plan_cleanup", "query_spend", "rotate_key", "update_key"}},
		{[]string{"--read-only", "--tools", "list_keys,delete_key"}, []string{"list_keys"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			s, _ := startMCPGo(t, ctx, "", cleanEnv(), append([]string{"--sandbox"}, tc.args...)...)
			if got := toolNames(t, ctx, s); !slices.Equal(got, tc.want) {
				t.Errorf("tools/list: %v, want %v", got, tc.want)
			}
		})
	}
	// A hidden tool cannot be called either.
	s, _ := startMCPGo(t, ctx, "", cleanEnv("OPENROUTER_KEYS_MCP_READ_ONLY=true"), "--sandbox")
	if _, _, _, err := s.call(ctx, "delete_key", map[string]any{"hash": strings.Repeat("a", 64)}); err == nil {
		t.Error("a read-only server let delete_key be called")
	}
	code, _, stderr := runBinary(t, cleanEnv(), "--sandbox", "--tools", "list_keys,remove_key")
	if code != 2 || !strings.Contains(stderr, `unknown tool "remove_key": valid tools are list_keys, get_key`) {
		t.Errorf("an unknown tool name: exit %d, %s", code, stderr)
	}
	code, _, stderr = runBinary(t, cleanEnv(), "--sandbox", "--confirm", "sometimes")
	if code != 2 || !strings.Contains(stderr, "want auto or never") {
		t.Errorf("a bad --confirm: exit %d, %s", code, stderr)
	}
}

func TestHTTPHeadersNarrowButNeverWiden(t *testing.T) {
	srv := startHTTP(t, cleanEnv(), "--sandbox", "--tools", "list_keys,get_key,delete_key")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ro := goSDKHTTP(t, ctx, srv.url, "", map[string]string{"X-MCP-Readonly": "true"})
	if got := toolNames(t, ctx, ro); !slices.Equal(got, []string{"get_key", "list_keys"}) {
		t.Errorf("X-MCP-Readonly: %v", got)
	}
	if _, _, _, err := ro.call(ctx, "delete_key", map[string]any{"hash": strings.Repeat("a", 64)}); err == nil {
		t.Error("a read-only request could call delete_key")
	}
	widen := mcpGoHTTP(t, ctx, srv.url, "", map[string]string{"X-MCP-Tools": "delete_key,create_key"})
	if got := toolNames(t, ctx, widen); !slices.Equal(got, []string{"delete_key"}) {
		t.Errorf("X-MCP-Tools asking for a tool the server does not offer: %v", got)
	}
	if _, _, _, err := widen.call(ctx, "create_key", map[string]any{"name": "x"}); err == nil {
		t.Error("a header widened the tool set")
	}
	for _, h := range []map[string]string{{"X-MCP-Tools": "list_keys,nope"}, {"X-MCP-Readonly": "yes please"}} {
		resp := post(t, srv.url, "", h, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		if body := readAll(t, resp); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: %d %s", h, resp.StatusCode, body)
		}
	}
}

// asker is an MCP client's user: it answers every confirmation the same way and counts them.
type asker struct {
	action  mcp.ElicitationResponseAction
	content any
	asked   atomic.Int32
	last    atomic.Value // the last message shown
}

func (a *asker) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a.asked.Add(1)
	a.last.Store(req.Params.Message)
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: a.action, Content: a.content}}, nil
}

func (a *asker) options() []mcpclient.ClientOption {
	return []mcpclient.ClientOption{mcpclient.WithElicitationHandler(a)}
}

func accepting() *asker {
	return &asker{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": true}}
}

// newKey creates a key and returns its hash.
func newKey(t *testing.T, ctx context.Context, s session, name string) string {
	t.Helper()
	sc, text, isErr, err := s.call(ctx, "create_key", map[string]any{"name": name})
	if err != nil || isErr {
		t.Fatalf("create_key: %v %s", err, text)
	}
	return sc["key"].(map[string]any)["hash"].(string)
}

func exists(t *testing.T, ctx context.Context, s session, hash string) (bool, bool) {
	t.Helper()
	sc, text, isErr, err := s.call(ctx, "get_key", map[string]any{"hash": hash})
	if err != nil {
		t.Fatal(err)
	}
	if isErr {
		if !strings.Contains(text, "no key with that hash") {
			t.Fatalf("get_key: %s", text)
		}
		return false, false
	}
	return true, sc["key"].(map[string]any)["disabled"] == true
}

func TestDestructiveCallsAskTheUser(t *testing.T) {
	type conn func(t *testing.T, ctx context.Context, version string, a *asker, extra ...string) session
	stdio := func(t *testing.T, ctx context.Context, version string, a *asker, extra ...string) session {
		s, _ := startMCPGoWith(t, ctx, version, cleanEnv(), a.options(), append([]string{"--sandbox"}, extra...)...)
		return s
	}
	httpConn := func(stateful bool) conn {
		return func(t *testing.T, ctx context.Context, version string, a *asker, extra ...string) session {
			args := append([]string{"--sandbox"}, extra...)
			if stateful {
				args = append(args, "--stateful")
			}
			srv := startHTTP(t, cleanEnv(), args...)
			return mcpGoHTTPWith(t, ctx, srv.url, version, nil, a.options())
		}
	}
	transports := []struct {
		name    string
		connect conn
		version string
	}{
		{"stdio/2026-07-28", stdio, ""},
		{"stdio/2025-06-18", stdio, "2025-06-18"},
		{"http-stateless/2026-07-28", httpConn(false), ""},
		{"http-stateful/2025-06-18", httpConn(true), "2025-06-18"},
	}
	answers := []struct {
		name  string
		asker func() *asker
		goOn  bool
	}{
		{"accept", accepting, true},
		{"decline", func() *asker { return &asker{action: mcp.ElicitationResponseActionDecline} }, false},
		{"cancel", func() *asker { return &asker{action: mcp.ElicitationResponseActionCancel} }, false},
		{"accept without confirming", func() *asker {
			return &asker{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": false}}
		}, false},
	}
	for _, tr := range transports {
		for _, ans := range answers {
			t.Run(tr.name+"/"+ans.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				a := ans.asker()
				s := tr.connect(t, ctx, tr.version, a)

				// Renaming is not destructive: nobody is asked.
				hash := newKey(t, ctx, s, "confirm-me")
				if _, text, isErr, err := s.call(ctx, "update_key", map[string]any{"hash": hash, "name": "renamed"}); err != nil || isErr {
					t.Fatalf("rename: %v %s", err, text)
				}
				if a.asked.Load() != 0 {
					t.Fatal("a rename asked the user")
				}

				sc, text, isErr, err := s.call(ctx, "update_key", map[string]any{"hash": hash, "disabled": true})
				if err != nil || isErr {
					t.Fatalf("disable: %v %s", err, text)
				}
				if msg, _ := a.last.Load().(string); a.asked.Load() != 1 || !strings.Contains(msg, `"renamed"`) || !strings.Contains(msg, "sk-or-v1-") {
					t.Errorf("disable asked %d times, message %q (want the key's name and label)", a.asked.Load(), msg)
				}
				if _, disabled := exists(t, ctx, s, hash); disabled != ans.goOn || (sc["declined"] == true) == ans.goOn {
					t.Errorf("disable: disabled=%v declined=%v, want the change only on accept: %s", disabled, sc["declined"], text)
				}

				sc, text, isErr, err = s.call(ctx, "delete_key", map[string]any{"hash": hash})
				if err != nil || isErr {
					t.Fatalf("delete: %v %s", err, text)
				}
				if present, _ := exists(t, ctx, s, hash); present == ans.goOn || sc["deleted"] != ans.goOn {
					t.Errorf("delete: key present=%v result %v, want deleted only on accept", present, sc)
				}
				if !ans.goOn && !strings.Contains(text, "Nothing was changed") {
					t.Errorf("a declined call must say nothing was changed: %s", text)
				}
			})
		}
	}
}

func TestWithoutElicitationOrWithConfirmNeverNobodyIsAsked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A client that cannot ask its user relies on its own approval of destructive tools.
	plain, _ := startMCPGo(t, ctx, "", cleanEnv(), "--sandbox")
	hash := newKey(t, ctx, plain, "no-elicitation")
	if sc, text, isErr, err := plain.call(ctx, "delete_key", map[string]any{"hash": hash}); err != nil || isErr || sc["deleted"] != true {
		t.Errorf("delete without elicitation: %v %s", err, text)
	}
	a := &asker{action: mcp.ElicitationResponseActionDecline}
	never, _ := startMCPGoWith(t, ctx, "", cleanEnv(), a.options(), "--sandbox", "--confirm", "never")
	hash = newKey(t, ctx, never, "confirm-never")
	if sc, text, isErr, err := never.call(ctx, "delete_key", map[string]any{"hash": hash}); err != nil || isErr || sc["deleted"] != true || a.asked.Load() != 0 {
		t.Errorf("--confirm=never: asked %d times; %v %s", a.asked.Load(), err, text)
	}
}

// TestSecretDirAndAuditLogFlags checks the wiring of --secret-dir and --audit-log through the binary;
// what they do (file names and modes, rollback, records, failing closed) is tested in package tools.
func TestSecretDirAndAuditLogFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	s, stderr := startMCPGo(t, ctx, "", cleanEnv(), "--sandbox", "--secret-dir", dir, "--audit-log", audit, "--log-level", "debug")
	sc, text, isErr, err := s.call(ctx, "create_key", map[string]any{"name": "flagged"})
	if err != nil || isErr {
		t.Fatalf("create_key: %v %s", err, text)
	}
	if keyShape.MatchString(text) || sc["secret"] != nil {
		t.Fatalf("the secret reached the result: %s", text)
	}
	path, _ := sc["secret_file"].(string)
	hash := sc["key"].(map[string]any)["hash"].(string)
	b, err := os.ReadFile(path)
	if err != nil || filepath.Dir(path) != dir {
		t.Fatalf("secret_file %q: %v", path, err)
	}
	secret := strings.TrimSpace(string(b))
	if sum := sha256.Sum256([]byte(secret)); !keyShape.MatchString(secret) || hex.EncodeToString(sum[:]) != hash {
		t.Errorf("the file does not hold the key's secret")
	}
	if strings.Contains(stderr.String(), secret) {
		t.Error("the secret reached the log")
	}
	records, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	// The record names the MCP client, which only the transport and the session know.
	for _, want := range []string{`"event":"attempt"`, `"event":"outcome"`, `"outcome":"ok"`, `"client":"mcp-go-test"`, hash} {
		if !strings.Contains(string(records), want) {
			t.Errorf("audit log lacks %s:\n%s", want, records)
		}
	}
	if keyShape.Match(records) {
		t.Error("the audit log holds a secret")
	}
	code, _, errOut := runBinary(t, cleanEnv(), "--sandbox", "--secret-dir", filepath.Join(dir, "missing"))
	if code != 2 || !strings.Contains(errOut, "not a directory") {
		t.Errorf("a missing secret dir: exit %d %s", code, errOut)
	}
}

func TestNothingLeaksAKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	modes := []struct {
		name        string
		args        []string
		inlineNewer bool // create_key returns the secret inline: that one result may hold a key
	}{
		{"inline", nil, true},
		{"secret dir and audit", []string{"--secret-dir", t.TempDir(), "--audit-log", filepath.Join(t.TempDir(), "a.jsonl")}, false},
		{"read-only", []string{"--read-only"}, false},
		{"confirm never", []string{"--confirm", "never"}, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, stderr := startMCPGoWith(t, ctx, "", cleanEnv(), accepting().options(),
				append([]string{"--sandbox", "--log-level", "trace"}, m.args...)...)
			var seen strings.Builder
			record := func(tool string, args map[string]any) map[string]any {
				sc, text, _, err := s.call(ctx, tool, args)
				if err != nil {
					if strings.Contains(err.Error(), "not found") { // hidden in this mode
						return nil
					}
					t.Fatal(err)
				}
				if tool == "create_key" && m.inlineNewer {
					return sc
				}
				seen.WriteString(text)
				b, _ := json.Marshal(sc)
				seen.Write(b)
				return sc
			}
			secret := "sk-or-v1-" + strings.Repeat("5e", 32)
			record("current_key", nil)
			list := record("list_keys", map[string]any{"include_disabled": true})
			created := record("create_key", map[string]any{"name": "leak-check", "limit": 1})
			var hash string
			if created != nil {
				hash = created["key"].(map[string]any)["hash"].(string)
			} else if list != nil {
				hash = list["keys"].([]any)[0].(map[string]any)["hash"].(string)
			}
			record("get_key", map[string]any{"hash": hash})
			record("get_key", map[string]any{"hash": secret}) // a secret pasted where a hash belongs
			record("create_key", map[string]any{"name": secret})
			record("update_key", map[string]any{"hash": hash, "disabled": true, "remove_limit": true})
			record("update_key", map[string]any{"hash": hash, secret: true})
			record("delete_key", map[string]any{"hash": hash})
			record("get_key", map[string]any{"hash": hash})
			logs := stderr.String()
			for _, a := range m.args {
				if strings.HasSuffix(a, ".jsonl") {
					b, _ := os.ReadFile(a)
					logs += string(b)
				}
			}
			if keyShape.MatchString(seen.String()) {
				t.Errorf("a result holds a key: %s", keyShape.FindString(seen.String()))
			}
			if keyShape.MatchString(logs) || strings.Contains(logs, strings.Repeat("5e", 8)) {
				t.Errorf("a log holds a key")
			}
		})
	}
}
