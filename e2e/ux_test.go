package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

func TestCallToolsAndVersionCommands(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"call list_keys", []string{"call", "list_keys", "--sandbox"}, 0, []string{"keys; no more", `"Production chatbot" | `}, "SANDBOX MODE"},
		{"flags before the tool", []string{"call", "--sandbox", "--json", "current_key"}, 0, []string{`"structuredContent"`, `"is_management_key": true`}, ""},
		{"call create_key", []string{"call", "create_key", `{"name":"from the cli","limit":5}`, "--sandbox"}, 0, []string{`Created key "from the cli"`, "sk-or-v1-"}, ""},
		{"call with a bad argument", []string{"call", "get_key", `{"hash":"nope"}`, "--sandbox"}, 1, nil, "Error: Invalid arguments, nothing was sent to OpenRouter: `hash` has the wrong format"},
		{"call with arguments that are not JSON", []string{"call", "get_key", "{hash:1}", "--sandbox"}, 1, nil, "must be a JSON object"},
		{"call an unknown tool", []string{"call", "drop_keys", "--sandbox"}, 1, nil, `no tool "drop_keys": the tools are `},
		{"call a hidden tool", []string{"call", "delete_key", `{"hash":"` + strings.Repeat("a", 64) + `"}`, "--sandbox", "--read-only"}, 1, nil, `the tool "delete_key" is not offered with --read-only`},
		{"call without a tool", []string{"call", "--sandbox"}, 2, nil, "call takes a tool name"},
		{"tools", []string{"tools"}, 0, []string{"delete_key — Delete an API key [destructive, idempotent]", "hash (string, required)"}, ""},
		{"tools --json", []string{"tools", "--json", "--read-only"}, 0, []string{`"name": "list_keys"`, `"inputSchema"`}, ""},
		{"version", []string{"version"}, 0, []string{"openrouter-keys-mcp ", "commit ", "go1."}, ""},
		{"help of a command", []string{"doctor", "--help"}, 0, nil, "doctor --sandbox                   the same on the built-in emulator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, cleanEnv(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
	// Only a secret just created may ever be printed, and the tools list must not hold our fixtures.
	_, out, _ := runBinary(t, cleanEnv(), "tools", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != len(tools.Names()) {
		t.Errorf("tools --json: %d tools, %v", len(list), err)
	}
}

func TestDoctor(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	base := srv.URL + "/api/v1"
	inference, _, err := sb.CreateInferenceKey(sb.ManagementKey(), "app")
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 is outside the ephemeral range: no server of this run listens there, unlike a closed test
	// server's port, which the next one may be given.
	const unreachable = "http://127.0.0.1:1"
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"management key", []string{"OPENROUTER_MANAGEMENT_KEY=" + sb.ManagementKey()}, []string{"--base-url", base}, 0,
			[]string{"ok       key from OPENROUTER_MANAGEMENT_KEY", "a management key", "tools offered: list_keys", "All is well."}},
		{"sandbox", nil, []string{"--sandbox", "--read-only"}, 0, []string{"tools offered: list_keys, get_key, current_key", "All is well."}},
		{"inference key", []string{"OPENROUTER_API_KEY=" + inference}, []string{"--base-url", base}, 1,
			[]string{"note     OPENROUTER_API_KEY is read only because", "PROBLEM  the key sk-or-v1-", "is not a management key"}},
		{"wrong key", []string{"OPENROUTER_MANAGEMENT_KEY=sk-or-v1-" + strings.Repeat("0", 64)}, []string{"--base-url", base}, 1,
			[]string{"PROBLEM  OpenRouter rejected the key (401)"}},
		{"placeholder key", []string{"OPENROUTER_MANAGEMENT_KEY=sk-or-v1-..."}, []string{"--base-url", base}, 1,
			[]string{"PROBLEM  the key in OPENROUTER_MANAGEMENT_KEY is not an OpenRouter key"}},
		{"no key", nil, []string{"--base-url", base}, 1, []string{"PROBLEM  no key: set OPENROUTER_MANAGEMENT_KEY"}},
		{"unreachable", []string{"OPENROUTER_MANAGEMENT_KEY=" + sb.ManagementKey()}, []string{"--base-url", unreachable + "/api/v1"}, 1,
			[]string{"PROBLEM  cannot reach OpenRouter at " + strings.TrimPrefix(unreachable, "http://"), "the base URL is " + unreachable + "/api/v1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, cleanEnv(tc.env...), append([]string{"doctor"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("doctor output lacks %q:\n%s", w, stdout)
				}
			}
			if keyShape.MatchString(stdout + stderr) {
				t.Errorf("doctor printed a key")
			}
		})
	}
}

func TestListKeysFollowsPagesWithProgress(t *testing.T) {
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	for i := range 250 {
		name := fmt.Sprintf("worker-%03d", i)
		if i%50 == 0 {
			name = fmt.Sprintf("Billing-%03d", i)
		}
		if _, _, err := sb.CreateInferenceKey(sb.ManagementKey(), name); err != nil {
			t.Fatal(err)
		}
	}
	env := cleanEnv("OPENROUTER_MANAGEMENT_KEY=" + sb.ManagementKey())
	base := srv.URL + "/api/v1"
	t.Run("stdio", func(t *testing.T) {
		listAllWithProgress(t, mcptransport.NewStdioWithOptions(binary, env, []string{"--base-url", base}))
	})
	t.Run("http", func(t *testing.T) {
		h := startHTTP(t, env, "--base-url", base)
		tr, err := mcptransport.NewStreamableHTTP(h.url)
		if err != nil {
			t.Fatal(err)
		}
		listAllWithProgress(t, tr)
	})
}

// listAllWithProgress lists 250 keys with all: true, expecting progress after each full page, and
// filters them by name.
func listAllWithProgress(t *testing.T, tr mcptransport.Interface) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := mcpclient.NewClient(tr)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var progress []float64
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			mu.Lock()
			defer mu.Unlock()
			p, _ := n.Params.AdditionalFields["progress"].(float64)
			progress = append(progress, p)
		}
	})
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatal(err)
	}
	call := func(args map[string]any, token any) *mcp.CallToolResult {
		req := mcp.CallToolRequest{}
		req.Params.Name = "list_keys"
		req.Params.Arguments = args
		if token != nil {
			req.Params.Meta = &mcp.Meta{ProgressToken: token}
		}
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			t.Fatalf("list_keys %v: %v %v", args, err, res)
		}
		return res
	}
	keysOf := func(res *mcp.CallToolResult) []any {
		b, _ := json.Marshal(res.StructuredContent)
		var sc struct {
			Keys       []any `json:"keys"`
			NextOffset *int  `json:"next_offset"`
		}
		_ = json.Unmarshal(b, &sc)
		if sc.NextOffset != nil {
			t.Errorf("next_offset %d after all pages", *sc.NextOffset)
		}
		return sc.Keys
	}
	// The notifications of a call reach the client before its response: they are counted right after.
	if n := len(keysOf(call(map[string]any{"all": true, "page_size": 1000}, "p1"))); n != 250 {
		t.Errorf("all: %d keys, want 250", n)
	}
	mu.Lock()
	got := append([]float64(nil), progress...)
	mu.Unlock()
	// The pages are read concurrently: a count for each as it arrives, rising, to all 250.
	if len(got) < 2 || !slices.IsSorted(got) || got[len(got)-1] != 250 {
		t.Errorf("progress notifications %v, want rising counts to 250, one a page", got)
	}
	billing := keysOf(call(map[string]any{"all": true, "name": "BILLING"}, nil))
	if len(billing) != 5 {
		t.Errorf("name filter across pages: %d keys, want 5", len(billing))
	}
	for _, k := range billing {
		if !strings.HasPrefix(k.(map[string]any)["name"].(string), "Billing-") {
			t.Errorf("name filter let through %v", k)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) != len(got) {
		t.Errorf("progress sent without a progress token: %v", progress)
	}
}

// TestReadmeCommandsWork runs the shell examples of the README and of docs/ that a newcomer would
// paste (those that start with "go run .", the binary's name or ./ and its name, and end by
// themselves), so the documentation cannot rot.
func TestReadmeCommandsWork(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	readme := 0
	for _, path := range append([]string{"../README.md"}, docs...) {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inShell := false
		for _, line := range strings.Split(string(text), "\n") {
			line = strings.TrimSpace(line) // blocks indented under a list item count too
			switch {
			case strings.HasPrefix(line, "```sh"):
				inShell = true
			case strings.HasPrefix(line, "```"):
				inShell = false
			case inShell:
				cmd, _, _ := strings.Cut(line, "#")
				cmd = strings.TrimSpace(strings.TrimPrefix(cmd, "./"))
				if strings.HasPrefix(cmd, "go run . ") || strings.HasPrefix(cmd, mcpserver.Name+" ") {
					cmds = append(cmds, cmd)
				}
			}
		}
		if path == "../README.md" {
			readme = len(cmds)
		}
	}
	if readme < 3 {
		t.Fatalf("found only %d commands in the README's sh blocks: %q", readme, cmds)
	}
	words := regexp.MustCompile(`'[^']*'|\S+`)
	for _, cmd := range cmds {
		t.Run(cmd, func(t *testing.T) {
			args := words.FindAllString(cmd, -1)
			if args[0] == "go" {
				args = args[3:] // "go run ." is the binary
			} else {
				args = args[1:]
			}
			for i, a := range args {
				args[i] = strings.Trim(a, "'")
			}
			if len(args) > 0 && (args[0] == "http" || args[0] == "sandbox") {
				t.Skip("serves until stopped; covered by the HTTP tests")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := exec.CommandContext(ctx, binary, args...)
			c.Env = cleanEnv()
			c.Stdin = strings.NewReader("") // a stdio server ends at EOF
			if out, err := c.CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", cmd, err, out)
			}
		})
	}
}
