package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// runMain runs the command line in this process, with env ("NAME=value") as its whole environment
// and an empty stdin, and returns the exit code, stdout and stderr.
func runMain(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] })
	return code, stdout.String(), stderr.String()
}

func TestCommandLine(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		args     []string
		code     int
		stdout   string
		stderr   string
		noSecret bool
	}{
		{name: "version", args: []string{"version"}, stdout: "openrouter-keys-mcp "},
		{name: "help", args: []string{"--help"}, stderr: "Usage:"},
		{name: "unknown command", args: []string{"serve"}, code: 2, stderr: `unknown command "serve": want stdio, http, sandbox, call, tools, doctor or version`},
		{name: "unknown flag", args: []string{"--readonly"}, code: 2, stderr: "flag provided but not defined: --readonly (see openrouter-keys-mcp stdio --help)"},
		{name: "flag without its value", args: []string{"http", "--addr"}, code: 2, stderr: "flag needs an argument: --addr (see openrouter-keys-mcp http --help)"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, code: 2, stderr: `invalid --log-level "loud"`},
		{name: "bad log format", args: []string{"--log-format", "xml"}, code: 2, stderr: `invalid --log-format "xml"`},
		{name: "bad sandbox env", env: []string{"OPENROUTER_KEYS_MCP_SANDBOX=maybe"}, code: 2, stderr: "invalid OPENROUTER_KEYS_MCP_SANDBOX"},
		{name: "sandbox and base url", args: []string{"--sandbox", "--base-url", "http://127.0.0.1:1/api/v1"}, code: 2, stderr: "cannot be used together"},
		{name: "key as an argument", args: []string{"sk-or-v1-" + strings.Repeat("1", 64)}, code: 2, stderr: "never taken from the command line", noSecret: true},
		{name: "bad base url", args: []string{"--base-url", "ftp://example.com"}, code: 1, stderr: "want an absolute http or https URL"},
		{name: "stdin at EOF", args: []string{"--sandbox"}},
		{name: "server key open to the network", env: []string{"OPENROUTER_MANAGEMENT_KEY=sk-or-v1-x"}, args: []string{"http", "--addr", "0.0.0.0:0"}, code: 2, stderr: "without an access token"},
		{name: "access token in caller mode", env: []string{"OPENROUTER_KEYS_MCP_AUTH_TOKEN=" + strings.Repeat("t", 32)}, args: []string{"http", "--key-source", "caller"}, code: 2, stderr: "only for --key-source=server"},
		{name: "short access token", env: []string{"OPENROUTER_KEYS_MCP_AUTH_TOKEN=short"}, args: []string{"http", "--sandbox"}, code: 2, stderr: "too short"},
		{name: "bad key source", args: []string{"http", "--key-source", "both"}, code: 2, stderr: `invalid --key-source "both"`},
		{name: "server mode without a key", args: []string{"http", "--key-source", "server"}, code: 2, stderr: "needs the server's key"},
		{name: "bad origin", args: []string{"http", "--allowed-origins", "localhost:6274"}, code: 2, stderr: `invalid --allowed-origins "localhost:6274": the origin "localhost:6274" is not scheme://host[:port]`},
		{name: "oidc flag without --auth oidc", args: []string{"http", "--sandbox", "--oidc-issuer", "https://id.example.com"}, code: 2, stderr: "--oidc-issuer is for --auth oidc"},
		{name: "bad --auth", args: []string{"http", "--sandbox", "--auth", "saml"}, code: 2, stderr: `invalid --auth "saml"`},
		{name: "oidc in caller mode", args: []string{"http", "--key-source", "caller", "--auth", "oidc"}, code: 2, stderr: "never sends an OpenRouter key"},
		{name: "oidc and an access token", env: []string{"OPENROUTER_KEYS_MCP_AUTH_TOKEN=" + strings.Repeat("t", 32)}, args: []string{"http", "--sandbox", "--auth", "oidc"}, code: 2, stderr: "choose one"},
		{name: "oidc without an issuer", args: []string{"http", "--sandbox", "--auth", "oidc", "--resource-url", "https://k.example.com/mcp"}, code: 2, stderr: "needs --oidc-issuer"},
		{name: "oidc without a resource", env: []string{"OPENROUTER_KEYS_MCP_AUTH=oidc", "OPENROUTER_KEYS_MCP_OIDC_ISSUER=https://id.example.com"}, args: []string{"http", "--sandbox"}, code: 2, stderr: "needs --resource-url"},
		{name: "oidc issuer in the clear", args: []string{"http", "--sandbox", "--auth", "oidc", "--oidc-issuer", "http://id.example.com", "--resource-url", "https://k.example.com/mcp"}, code: 2, stderr: "want https (http only on localhost)"},
		{name: "oidc scopes", args: []string{"http", "--sandbox", "--auth", "oidc", "--oidc-issuer", "https://id.example.com", "--resource-url", "https://k.example.com/mcp", "--oidc-scopes", "a,a,b"}, code: 2, stderr: "want three different scopes"},
		{name: "oidc issuer unreachable", args: []string{"http", "--sandbox", "--addr", "0.0.0.0:0", "--auth", "oidc", "--oidc-issuer", "http://127.0.0.1:1", "--resource-url", "https://k.example.com/mcp"}, code: 1, stderr: "--auth oidc: access tokens: discovery at http://127.0.0.1:1"},
		{name: "audit log in a missing directory", args: []string{"--sandbox", "--audit-log", "/nonexistent-dir/audit.jsonl"}, code: 2, stderr: "its directory does not exist"},
		{name: "secret dir is a file", args: []string{"--sandbox", "--secret-dir", "config_test.go"}, code: 2, stderr: "is a file, not a directory"},
		{name: "short confirmation secret", env: []string{"OPENROUTER_KEYS_MCP_CONFIRM_SECRET=short"}, args: []string{"--sandbox"}, code: 2, stderr: "the confirmation secret is too short"},
		{name: "bad max sessions", args: []string{"http", "--max-sessions", "0"}, code: 2, stderr: "invalid --max-sessions"},
		{name: "bad OTLP endpoint env", env: []string{"OPENROUTER_KEYS_MCP_OTLP_ENDPOINT=collector:4318"}, args: []string{"http", "--sandbox"}, code: 2, stderr: `invalid OPENROUTER_KEYS_MCP_OTLP_ENDPOINT "collector:4318": want the collector's OTLP/HTTP URL`},
		{name: "OTLP over gRPC", env: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}, args: []string{"--sandbox", "--otlp-endpoint", "http://127.0.0.1:4317"}, code: 2, stderr: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: traces are exported over OTLP/HTTP with protobuf only"},
		{name: "bad max in flight env", env: []string{"OPENROUTER_KEYS_MCP_MAX_IN_FLIGHT=many"}, args: []string{"http"}, code: 2, stderr: "invalid OPENROUTER_KEYS_MCP_MAX_IN_FLIGHT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stdout %q / stderr %q; want %q / %q", stdout, stderr, tc.stdout, tc.stderr)
			}
			if tc.noSecret && strings.Contains(stdout+stderr, strings.Repeat("1", 64)) {
				t.Errorf("the key was printed back:\n%s", stderr)
			}
		})
	}
}

// TestTheResetsAllowedUnderTheCap: --max-limit-reset, and its environment twin, on every command that
// serves or calls the tools, say which resets a capped limit may have.
func TestTheResetsAllowedUnderTheCap(t *testing.T) {
	env := map[string]string{"OPENROUTER_KEYS_MCP_MAX_LIMIT": "5", "OPENROUTER_KEYS_MCP_MAX_LIMIT_RESET": "monthly,weekly"}
	for _, command := range []string{"stdio", "http", "tools", "doctor"} {
		cfg, err := parseConfig([]string{command}, func(k string) string { return env[k] }, io.Discard)
		if err != nil || len(cfg.policy.LimitResets) != 2 {
			t.Errorf("%s, from the environment: %v %v", command, cfg.policy.LimitResets, err)
		}
		cfg, err = parseConfig([]string{command, "--max-limit-reset", "daily"}, func(k string) string { return env[k] }, io.Discard)
		if err != nil || len(cfg.policy.LimitResets) != 1 || cfg.policy.LimitResets[0] != openrouter.ResetDaily {
			t.Errorf("%s, the flag: %v %v", command, cfg.policy.LimitResets, err)
		}
	}
}

// TestTheBatchGuard: --max-batch, and its environment twin, on every command that serves or calls the
// tools, bound a cleanup plan; a bad value stops the command.
func TestTheBatchGuard(t *testing.T) {
	env := map[string]string{"OPENROUTER_KEYS_MCP_MAX_BATCH": "10"}
	for _, command := range []string{"stdio", "http", "tools", "doctor"} {
		cfg, err := parseConfig([]string{command}, func(k string) string { return env[k] }, io.Discard)
		if err != nil || cfg.policy.MaxBatch != 10 {
			t.Errorf("%s, from the environment: %d %v", command, cfg.policy.MaxBatch, err)
		}
		cfg, err = parseConfig([]string{command, "--max-batch", "3"}, func(k string) string { return env[k] }, io.Discard)
		if err != nil || cfg.policy.MaxBatch != 3 {
			t.Errorf("%s, the flag: %d %v", command, cfg.policy.MaxBatch, err)
		}
	}
	for _, bad := range []string{"0", "many", "-2"} {
		if _, err := parseConfig([]string{"stdio", "--max-batch", bad}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "invalid --max-batch") {
			t.Errorf("--max-batch %s: %v", bad, err)
		}
	}
}

func TestFlagsWinOverTheirEnvironmentVariables(t *testing.T) {
	var stderr bytes.Buffer
	env := map[string]string{
		"OPENROUTER_KEYS_MCP_READ_ONLY": "true", "OPENROUTER_KEYS_MCP_CONFIRM": "never",
		"OPENROUTER_KEYS_MCP_LOG_LEVEL": "debug", "OPENROUTER_BASE_URL": "http://127.0.0.1:1/api/v1",
		"OPENROUTER_PROVISIONING_KEY": "sk-or-v1-fallback", "OPENROUTER_API_KEY": "sk-or-v1-last",
	}
	cfg, err := parseConfig([]string{"call", "list_keys", "--log-level", "error", "--base-url", "http://127.0.0.1:2/api/v1"},
		func(k string) string { return env[k] }, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.selection.ReadOnly || cfg.confirm != tools.ConfirmNever {
		t.Errorf("environment not read: %+v", cfg)
	}
	if cfg.logLevel.String() != "error" || cfg.baseURL != "http://127.0.0.1:2/api/v1" {
		t.Errorf("flags must win over the environment: level %v, base %s", cfg.logLevel, cfg.baseURL)
	}
	if cfg.keyVar != "OPENROUTER_PROVISIONING_KEY" || cfg.callTool != "list_keys" {
		t.Errorf("key from %s, tool %q", cfg.keyVar, cfg.callTool)
	}
}

func TestDoctorShowsThePolicy(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "doctor", "--sandbox", "--max-limit", "2.5", "--max-expiry", "7d", "--managed-prefix", "ci-")
	if code != 0 {
		t.Fatalf("doctor: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"at most 2.5 USD (--max-limit)", "within 7d", `"ci-"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("doctor does not show %q:\n%s", want, stdout)
		}
	}
	for _, bad := range [][]string{{"--max-limit", "lots"}, {"--max-limit", "-1"}, {"--max-expiry", "10s"},
		{"--max-limit-reset", "monthly"}, {"--max-limit", "5", "--max-limit-reset", "hourly"}} {
		if code, _, stderr := runMain(t, nil, append([]string{"doctor", "--sandbox"}, bad...)...); code != 2 || !strings.Contains(stderr, "invalid "+bad[len(bad)-2]) {
			t.Errorf("%v: exit %d, %s", bad, code, stderr)
		}
	}
}

// TestDoctorChecksTheGuardrail: --guardrail names a guardrail that must exist, or every key created
// would be deleted again. Every sandbox starts with the same sample ids.
func TestDoctorChecksTheGuardrail(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListGuardrails(context.Background(), openrouter.ListGuardrailsParams{})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("guardrails: %v", err)
	}
	code, stdout, stderr := runMain(t, nil, "doctor", "--sandbox", "--guardrail", page.Items[0].ID)
	if code != 0 || !strings.Contains(stdout, `is the guardrail "Production policy"`) || !strings.Contains(stdout, "(--guardrail)") {
		t.Errorf("doctor with the sample guardrail: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runMain(t, nil, "doctor", "--sandbox", "--guardrail", "00000000-0000-4000-8000-000000000000")
	if code == 0 || !strings.Contains(stdout, "PROBLEM  --guardrail 00000000-0000-4000-8000-000000000000: OpenRouter has no guardrail") {
		t.Errorf("doctor with an unknown guardrail: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runMain(t, nil, "doctor", "--sandbox", "--guardrail", "prod"); code != 2 || !strings.Contains(stderr, "invalid --guardrail") {
		t.Errorf("--guardrail prod: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runMain(t, []string{envGuardrail + "=prod"}, "doctor", "--sandbox"); code != 2 || !strings.Contains(stderr, "invalid --guardrail") {
		t.Errorf("%s=prod: exit %d, %s", envGuardrail, code, stderr)
	}
}

// A mistake on the command line is one line naming it; the usage is for --help.
func TestFlagMistakesTakeOneLine(t *testing.T) {
	for _, args := range [][]string{{"--readonly"}, {"call", "list_keys", "--jsn"}, {"http", "--max-in-flight", "many"}} {
		code, _, stderr := runMain(t, nil, args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--help)") || strings.Contains(stderr, "Usage:") {
			t.Errorf("%v: exit %d, want 2 and one line pointing at --help:\n%s", args, code, stderr)
		}
	}
}

func TestHelpWritesFlagsWithTwoDashesAndHasExamples(t *testing.T) {
	for command, want := range map[string][]string{
		"stdio":  {"\n  --read-only\n", "\n  --log-level string\n", `(default "info")`},
		"http":   {"\n  --max-in-flight int\n", "(default 64)"},
		"tools":  {"Examples:", "tools --read-only", "tools --json"},
		"doctor": {"Examples:", "doctor --sandbox", "doctor --read-only --max-limit 5"},
		"call":   {"--json for scripts", "\n  --json\n"},
	} {
		code, _, stderr := runMain(t, nil, command, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d", command, code)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s --help lacks %q:\n%s", command, w, stderr)
			}
		}
		if regexp.MustCompile(`(?m)^  -[a-z]`).MatchString(stderr) {
			t.Errorf("%s --help writes a flag with one dash:\n%s", command, stderr)
		}
	}
}

// Hosts show a stdio server's stderr as errors: it says one line when it starts.
func TestStdioSaysOneLineAtStart(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sandbox"}, "serving MCP on stdio; SANDBOX MODE"},
		{nil, "serving MCP on stdio; no OpenRouter key: set OPENROUTER_MANAGEMENT_KEY"},
	} {
		code, _, stderr := runMain(t, nil, tc.args...)
		if code != 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 0 and one line with %q:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

func TestDoctorReportsAPlaceholderKey(t *testing.T) {
	code, stdout, _ := runMain(t, []string{"OPENROUTER_MANAGEMENT_KEY=sk-or-v1-..."}, "doctor")
	if code != 1 || !strings.Contains(stdout, "PROBLEM  the key in OPENROUTER_MANAGEMENT_KEY is not an OpenRouter key") {
		t.Errorf("exit %d, want 1 and the key reported:\n%s", code, stdout)
	}
	if strings.Contains(stdout, "cannot reach") || strings.Contains(stdout, "401") {
		t.Errorf("a malformed key was sent to OpenRouter:\n%s", stdout)
	}
}

func TestDoctorSaysOnceThatOpenRouterCannotBeReached(t *testing.T) {
	key := "OPENROUTER_MANAGEMENT_KEY=sk-or-v1-" + strings.Repeat("0", 64)
	code, stdout, _ := runMain(t, []string{key}, "doctor", "--base-url", "http://127.0.0.1:1/api/v1")
	if code != 1 || strings.Count(stdout, "cannot reach OpenRouter") != 1 || !strings.Contains(stdout, "the base URL is http://127.0.0.1:1/api/v1") {
		t.Errorf("exit %d, want 1 and \"cannot reach OpenRouter\" once with the base URL:\n%s", code, stdout)
	}
}

func TestCallPrintsForPeople(t *testing.T) {
	t.Run("a new key's secret on its own line", func(t *testing.T) {
		code, stdout, stderr := runMain(t, nil, "call", "create_key", `{"name":"demo","limit":5}`, "--sandbox")
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], `Created key "demo" (hash `) ||
			!regexp.MustCompile(`^sk-or-v1-[0-9a-f]{64}$`).MatchString(lines[1]) || !strings.Contains(lines[2], "--json") {
			t.Errorf("exit %d, want a summary, the secret alone, and the --json hint:\n%s\n%s", code, stdout, stderr)
		}
		if strings.Contains(stdout, "give it to the user") {
			t.Errorf("the summary speaks to a model:\n%s", stdout)
		}
	})
	t.Run("an error result on stderr", func(t *testing.T) {
		code, stdout, stderr := runMain(t, nil, "call", "get_key", `{"hash":"nope"}`, "--sandbox")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "Error: Invalid arguments, nothing was sent to OpenRouter: `hash`") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("bad JSON names the position", func(t *testing.T) {
		code, _, stderr := runMain(t, nil, "call", "get_key", `{"hash" "x"}`, "--sandbox")
		if code != 1 || !strings.Contains(stderr, "at character 9") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a tool hidden by --read-only", func(t *testing.T) {
		code, _, stderr := runMain(t, nil, "call", "delete_key", `{"hash":"`+strings.Repeat("a", 64)+`"}`, "--sandbox", "--read-only")
		if code != 1 || !strings.Contains(stderr, `the tool "delete_key" is not offered with --read-only: the tools offered are `) ||
			strings.Contains(stderr, "delete_key,") || strings.Contains(stderr, "create_key") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a tool that does not exist", func(t *testing.T) {
		code, _, stderr := runMain(t, nil, "call", "drop_keys", "--sandbox")
		if code != 1 || !strings.Contains(stderr, `no tool "drop_keys": the tools are `) {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}

// A value the checks refuse is named as the user gave it: the flag when it was given, else its
// variable, with the Claude Desktop setting that sets it, and what is wanted, with an example.
func TestBadValuesAreNamedWhereTheyCameFrom(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"OPENROUTER_KEYS_MCP_MAX_EXPIRY=30"}, []string{"doctor", "--sandbox"},
			`invalid OPENROUTER_KEYS_MCP_MAX_EXPIRY "30" (in Claude Desktop: the extension's "Longest expiry" setting): want a number of days (30d) or a Go duration (12h, 90m)`},
		{[]string{"OPENROUTER_KEYS_MCP_MAX_EXPIRY=30"}, []string{"doctor", "--sandbox", "--max-expiry", "40"}, `invalid --max-expiry "40": want a number of days (30d)`},
		{[]string{"OPENROUTER_KEYS_MCP_MAX_LIMIT=$5"}, []string{"call", "list_keys", "--sandbox"},
			`invalid OPENROUTER_KEYS_MCP_MAX_LIMIT "$5" (in Claude Desktop: the extension's "Largest spending limit (USD)" setting): want an amount in USD, e.g. 10 or 2.50`},
		{[]string{"OPENROUTER_KEYS_MCP_READ_ONLY=yes"}, nil, `invalid OPENROUTER_KEYS_MCP_READ_ONLY "yes" (in Claude Desktop: the extension's "Read-only" setting): want true or false`},
		{[]string{"OPENROUTER_KEYS_MCP_CONFIRM=ask"}, []string{"tools"}, `invalid OPENROUTER_KEYS_MCP_CONFIRM "ask": want auto or never`},
		{[]string{"OPENROUTER_KEYS_MCP_KEY_SOURCE=mine"}, []string{"http"}, `invalid OPENROUTER_KEYS_MCP_KEY_SOURCE "mine": want caller or server`},
		{[]string{"OPENROUTER_KEYS_MCP_MAX_CONNS=0"}, []string{"http"}, `invalid OPENROUTER_KEYS_MCP_MAX_CONNS "0": want a whole number of at least 1`},
		{[]string{"OPENROUTER_KEYS_MCP_LOG_LEVEL=loud"}, []string{"version"}, `invalid OPENROUTER_KEYS_MCP_LOG_LEVEL "loud": want trace, debug`},
	} {
		code, _, stderr := runMain(t, tc.env, tc.args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v %v: exit %d, want 2 and one line with %q:\n%s", tc.env, tc.args, code, tc.want, stderr)
		}
		if env, _, _ := strings.Cut(tc.env[0], "="); !slices.Contains(tc.args, "--max-expiry") && strings.Contains(stderr, "--") {
			t.Errorf("%s: the error names a flag the user did not give:\n%s", env, stderr)
		}
	}
}

// The settings that errors name are the bundle's own, each setting the variable it is named for.
func TestBundleSettingsAreTheManifests(t *testing.T) {
	b, err := os.ReadFile("mcpb/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Server struct {
			MCPConfig struct {
				Env map[string]string `json:"env"`
			} `json:"mcp_config"`
		} `json:"server"`
		UserConfig map[string]struct {
			Title string `json:"title"`
		} `json:"user_config"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for env, title := range bundleSettings {
		ref, _ := strings.CutPrefix(m.Server.MCPConfig.Env[env], "${user_config.")
		setting, ok := m.UserConfig[strings.TrimSuffix(ref, "}")]
		if !ok || setting.Title != title {
			t.Errorf("%s: the bundle sets it from %q, titled %q; bundleSettings says %q", env, m.Server.MCPConfig.Env[env], setting.Title, title)
		}
	}
}

// Each command's --help is about it: its line of the usage and its own flags; the binary's lists all.
func TestHelpIsAboutItsCommand(t *testing.T) {
	for command, flags := range map[string][2][]string{
		"version": {nil, {"--sandbox", "--addr", "--read-only"}},
		"sandbox": {{"--addr", "--sandbox-faults"}, {"--read-only", "--max-limit", "--json"}},
		"tools":   {{"--read-only", "--json"}, {"--addr", "--stateful"}},
		"call":    {{"--json", "--max-limit"}, {"--addr", "--key-source"}},
		"http":    {{"--addr", "--key-source"}, {"--json"}},
	} {
		_, _, stderr := runMain(t, nil, command, "--help")
		if usageLines(stderr) != 1 {
			t.Errorf("%s --help lists other commands:\n%s", command, stderr)
		}
		for _, f := range flags[0] {
			if !strings.Contains(stderr, "\n  "+f) {
				t.Errorf("%s --help lacks %s", command, f)
			}
		}
		for _, f := range flags[1] {
			if strings.Contains(stderr, "\n  "+f) {
				t.Errorf("%s --help lists %s, which is not its flag", command, f)
			}
		}
	}
	if _, _, stderr := runMain(t, nil, "--help"); usageLines(stderr) != len(commands) {
		t.Errorf("--help does not list every command:\n%s", stderr)
	}
}

// usageLines counts the commands a --help lists at its start, under "Usage:".
func usageLines(help string) int {
	block, _, _ := strings.Cut(help, "\n\n")
	return strings.Count(block, "\n  "+name+" ")
}

// A secret in a tool's arguments is most likely pasted where a hash belongs: say that, not that the
// server's key was configured on the command line.
func TestCallWithASecretForAHash(t *testing.T) {
	code, _, stderr := runMain(t, nil, "call", "get_key", `{"hash":"sk-or-v1-`+strings.Repeat("ab", 32)+`"}`, "--sandbox")
	if code != 2 || !strings.Contains(stderr, "tools name a key by its hash, the 64 hex characters that list_keys shows") ||
		strings.Contains(stderr, "ab"+"abab") || strings.Contains(stderr, "set OPENROUTER_MANAGEMENT_KEY") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// call speaks to the person at the terminal, not, as the tools do, to a model about "the user".
func TestCallSpeaksToPeople(t *testing.T) {
	code, _, stderr := runMain(t, nil, "call", "list_keys")
	if code != 1 || !strings.Contains(stderr, "no OpenRouter key: set OPENROUTER_MANAGEMENT_KEY in the environment") ||
		!strings.Contains(stderr, "--sandbox") || strings.Contains(stderr, "Tell the user") {
		t.Errorf("without a key: exit %d:\n%s", code, stderr)
	}
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	inference, _, err := sb.CreateInferenceKey(sb.ManagementKey(), "app")
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, []string{"OPENROUTER_MANAGEMENT_KEY=" + inference}, "call", "list_keys", "--base-url", srv.URL+"/api/v1")
	if code != 1 || !strings.Contains(stderr, "You must create a management key") || strings.Contains(stderr, "the user") {
		t.Errorf("with an inference key: exit %d:\n%s", code, stderr)
	}
}

// An address in use is one line naming --addr, with exit code 2, from the serving commands too.
func TestAddressInUseIsAHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, command := range []string{"http", "sandbox"} {
		code, _, stderr := runMain(t, nil, command, "--sandbox-faults", "", "--addr", ln.Addr().String())
		if code != 2 || strings.Count(stderr, "\n") > 2 || !strings.Contains(stderr, ln.Addr().String()+" is in use by another program") ||
			!strings.Contains(stderr, "--addr") || strings.Contains(stderr, `"level"`) {
			t.Errorf("%s: exit %d, want 2 and a line naming --addr:\n%s", command, code, stderr)
		}
	}
}

// A failing doctor run ends with the count of its problems; without a key it points at --sandbox.
func TestDoctorCountsItsProblems(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "doctor")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 1 || !strings.Contains(stdout, "doctor --sandbox") || lines[len(lines)-1] != "1 problem found: fix it, then run doctor again." {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// A build from a clone (go build, go run, go test) names the version it leads to, not v0.0.0-… or dev.
func TestUnstampedBuildSaysVersionPlusDev(t *testing.T) {
	b, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := name + " " + strings.TrimSpace(string(b)) + "+dev (commit "
	if code, stdout, _ := runMain(t, nil, "version"); code != 0 || !strings.HasPrefix(stdout, want) {
		t.Errorf("version: exit %d, %q; want it to start with %q", code, stdout, want)
	}
}

// TestABadOTLPEndpointIsNotEchoed: the collector's URL may carry a password, so a bad one is named,
// not repeated.
func TestABadOTLPEndpointIsNotEchoed(t *testing.T) {
	_, err := parseConfig([]string{"stdio", "--otlp-endpoint", "ftp://user:s3cretpw@collector:4318"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") || strings.Contains(err.Error(), "s3cretpw") {
		t.Errorf("a bad --otlp-endpoint: %v", err)
	}
}
