package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPolicyFlagsOverStdioAndHTTP runs the binary with the policy set by flags (stdio) and by their
// environment twins (HTTP), and checks that each rule refuses what it should and allows what it should.
// The rules themselves are tested in package tools; this is their wiring.
func TestPolicyFlagsOverStdioAndHTTP(t *testing.T) {
	connect := map[string]func(t *testing.T, ctx context.Context) session{
		"stdio flags": func(t *testing.T, ctx context.Context) session {
			s, _ := startMCPGo(t, ctx, "", cleanEnv(), "--sandbox", "--max-limit", "10", "--max-expiry", "30d", "--managed-prefix", "agent-")
			return s
		},
		"http env": func(t *testing.T, ctx context.Context) session {
			h := startHTTP(t, cleanEnv("OPENROUTER_KEYS_MCP_MAX_LIMIT=10", "OPENROUTER_KEYS_MCP_MAX_EXPIRY=30d",
				"OPENROUTER_KEYS_MCP_MANAGED_PREFIX=agent-"), "--sandbox")
			return mcpGoHTTP(t, ctx, h.url, "", nil)
		},
	}
	for name, start := range connect {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s := start(t, ctx)
			call := func(tool string, args map[string]any) (map[string]any, string, bool) {
				t.Helper()
				sc, text, isErr, err := s.call(ctx, tool, args)
				if err != nil {
					t.Fatalf("%s: %v", tool, err)
				}
				return sc, text, isErr
			}
			for _, c := range []struct {
				args map[string]any
				rule string
			}{
				{map[string]any{"name": "agent-x"}, "--max-limit 10"},
				{map[string]any{"name": "agent-x", "limit": 11}, "--max-limit 10"},
				{map[string]any{"name": "other", "limit": 1}, `--managed-prefix "agent-"`},
				{map[string]any{"name": "agent-x", "limit": 1, "expires_at": time.Now().AddDate(0, 2, 0).UTC().Format(time.RFC3339)}, "--max-expiry 30d"},
			} {
				if _, text, isErr := call("create_key", c.args); !isErr || !strings.Contains(text, c.rule) {
					t.Errorf("create_key %v: want a refusal naming %s, got %s", c.args, c.rule, text)
				}
			}
			sc, text, isErr := call("create_key", map[string]any{"name": "agent-ok", "limit": 10})
			if isErr {
				t.Fatalf("a key within the policy was refused: %s", text)
			}
			key := asObject(sc["key"])
			if key["expires_at"] == nil || !strings.Contains(text, "--max-expiry 30d") {
				t.Errorf("the policy's expiry must be set and said: %v / %s", key["expires_at"], text)
			}
			hash := key["hash"].(string)
			if _, text, isErr := call("update_key", map[string]any{"hash": hash, "remove_limit": true}); !isErr || !strings.Contains(text, "--max-limit") {
				t.Errorf("remove_limit under --max-limit: %s", text)
			}
			if _, text, isErr := call("update_key", map[string]any{"hash": hash, "name": "agent-renamed", "limit": 2}); isErr {
				t.Errorf("an update within the policy: %s", text)
			}
			list, _, _ := call("list_keys", nil)
			for _, k := range list["keys"].([]any) {
				if k := asObject(k); !strings.HasPrefix(k["name"].(string), "agent-") {
					if _, text, isErr := call("delete_key", map[string]any{"hash": k["hash"]}); !isErr || !strings.Contains(text, "--managed-prefix") {
						t.Errorf("deleting %q outside the prefix: %s", k["name"], text)
					}
					break
				}
			}
			if _, text, isErr := call("delete_key", map[string]any{"hash": hash}); isErr {
				t.Errorf("deleting a managed key: %s", text)
			}
		})
	}
}
