package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

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
		{name: "unknown flag", args: []string{"--readonly"}, code: 2, stderr: "flag provided but not defined: -readonly"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, code: 2, stderr: `invalid log level "loud"`},
		{name: "bad log format", args: []string{"--log-format", "xml"}, code: 2, stderr: `invalid log format "xml"`},
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
		{name: "bad origin", args: []string{"http", "--allowed-origins", "localhost:6274"}, code: 2, stderr: "invalid origin"},
		{name: "audit log in a missing directory", args: []string{"--sandbox", "--audit-log", "/nonexistent-dir/audit.jsonl"}, code: 2, stderr: "its directory does not exist"},
		{name: "secret dir is a file", args: []string{"--sandbox", "--secret-dir", "config_test.go"}, code: 2, stderr: "is a file, not a directory"},
		{name: "bad max sessions", args: []string{"http", "--max-sessions", "0"}, code: 2, stderr: "invalid --max-sessions"},
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
	for _, bad := range [][]string{{"--max-limit", "lots"}, {"--max-limit", "-1"}, {"--max-expiry", "10s"}} {
		if code, _, stderr := runMain(t, nil, append([]string{"doctor", "--sandbox"}, bad...)...); code != 2 || !strings.Contains(stderr, "invalid "+bad[0]) {
			t.Errorf("%v: exit %d, %s", bad, code, stderr)
		}
	}
}
