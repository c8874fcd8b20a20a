package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestToolFlowWithTheTypeScriptSDK runs testdata/ts-client/flow.mjs, the tool flow on the official
// MCP TypeScript SDK client (pinned in testdata/ts-client/package.json and its lock file), against the
// binary over stdio and over streamable HTTP. The script checks every schema as JSON Schema 2020-12 and
// every structuredContent against its outputSchema, and prints a one-line JSON summary.
func TestToolFlowWithTheTypeScriptSDK(t *testing.T) {
	t.Parallel()
	node := lookTool(t, "node", installNode)
	if nodeMajor(t, node) < 20 {
		missingTool(t, "Node.js >= 20", installNode)
	}
	deps := npmCI(t, "ts-client")
	// flow.mjs imports its packages by name: run a copy beside a link to the installed node_modules.
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("..", "testdata", "ts-client", "flow.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flow.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(deps, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name        string
		args        func(t *testing.T) []string
		elicitation int // confirmations asked (disable and delete), or -1: not checked
	}{
		{"stdio", func(*testing.T) []string { return []string{"--stdio", binary, "--sandbox", "--log-level", "warn"} }, 2},
		{"http-stateless", func(t *testing.T) []string { return []string{"--url", startHTTP(t, cleanEnv(), "--sandbox").url} }, -1},
		{"http-stateful", func(t *testing.T) []string {
			return []string{"--url", startHTTP(t, cleanEnv(), "--sandbox", "--stateful").url}
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "flow.mjs")}, tc.args(t)...)...)
			cmd.Env = cleanEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			runErr := cmd.Run()
			var sum struct {
				OK              bool     `json:"ok"`
				Transport       string   `json:"transport"`
				ProtocolVersion string   `json:"protocolVersion"`
				Tools           []string `json:"tools"`
				SchemasCompiled int      `json:"schemasCompiled"`
				Steps           []struct {
					Step string `json:"step"`
					OK   bool   `json:"ok"`
				} `json:"steps"`
				Elicitations int      `json:"elicitations"`
				Errors       []string `json:"errors"`
			}
			line := strings.TrimSpace(stdout.String())
			if err := json.Unmarshal([]byte(line), &sum); err != nil {
				t.Fatalf("flow.mjs printed no summary (%v): %q\nstderr:\n%s", runErr, line, stderr.String())
			}
			t.Logf("%s", line)
			if runErr != nil || !sum.OK || len(sum.Errors) > 0 {
				t.Errorf("flow.mjs failed (%v): %s\nstderr:\n%s", runErr, strings.Join(sum.Errors, "\n"), stderr.String())
			}
			want := []string{"create_key", "current_key", "delete_key", "get_key", "list_keys", "update_key"}
			if !slices.Equal(sum.Tools, want) || sum.SchemasCompiled != 12 {
				t.Errorf("tools %v with %d schemas compiled; want %v and 12", sum.Tools, sum.SchemasCompiled, want)
			}
			if len(sum.Steps) != 8 {
				t.Errorf("%d steps ran, want 8", len(sum.Steps))
			}
			if sum.ProtocolVersion != "2025-11-25" {
				t.Errorf("negotiated %q, want 2025-11-25 (the SDK's newest)", sum.ProtocolVersion)
			}
			if tc.elicitation >= 0 && sum.Elicitations != tc.elicitation {
				t.Errorf("the server asked %d confirmations, want %d (disable and delete)", sum.Elicitations, tc.elicitation)
			}
			if keyShape.MatchString(stderr.String()) {
				t.Errorf("a key reached stderr:\n%s", stderr.String())
			}
		})
	}
}
