package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

func client(t *testing.T) *openrouter.Client {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewBuildsTheServerThatShips: the options reach what a client sees (name, version, the sandbox
// and the policy in the instructions, the selection), and a call goes through.
func TestNewBuildsTheServerThatShips(t *testing.T) {
	limit := 3.0
	s, err := mcpserver.New(client(t), mcpserver.Options{Version: "v9.9.9", Sandbox: true,
		Tools:     tools.Options{Policy: tools.Policy{MaxLimit: &limit}},
		Selection: tools.Selection{Exclude: []string{"delete_key"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	init, err := json.Marshal(s.HandleMessage(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize",`+
		`"params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"openrouter-keys-mcp"`, `"version":"v9.9.9"`, "SANDBOX", "--max-limit", "at most 3 USD"} {
		if !strings.Contains(string(init), want) {
			t.Errorf("initialize lacks %s: %s", want, init)
		}
	}
	c, err := mcpserver.Connect(ctx, s, "test", "1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	if len(names) != len(tools.Names())-1 || slices.Contains(names, "delete_key") {
		t.Errorf("tools %v: want all but delete_key", names)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "create_key"
	req.Params.Arguments = map[string]any{"name": "over", "limit": 5}
	res, err := c.CallTool(ctx, req)
	if err != nil || !res.IsError {
		t.Errorf("a limit over --max-limit: %v %+v", err, res)
	}
}

func TestNewRefusesAConfigurationItCannotServe(t *testing.T) {
	c := client(t)
	if _, err := mcpserver.New(c, mcpserver.Options{Selection: tools.Selection{Include: []string{"delete_key"}, ReadOnly: true}}); err == nil ||
		!strings.Contains(err.Error(), "leaves no tool") {
		t.Errorf("a selection that leaves no tool: %v", err)
	}
	if _, err := mcpserver.New(c, mcpserver.Options{AuditLog: "/nonexistent-dir/audit.jsonl"}); err == nil {
		t.Error("an audit log that cannot be opened must stop the server")
	}
}

// What a client says of itself reaches the audit log bounded, and never carries the access token.
func TestAuditLogKeepsClientNamesShortAndSecretFree(t *testing.T) {
	token := `access"token\with-escapes-0123456789`
	for _, tc := range []struct{ name, client string }{
		{"the access token as the client's name", token},
		{"a 500 KB client name", strings.Repeat("n", 500_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			s, err := mcpserver.New(client(t), mcpserver.Options{AuditLog: path,
				Tools: tools.Options{Secret: func(v string) bool { return strings.Contains(v, token) }}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			c, err := mcpserver.Connect(ctx, s, tc.client, "1")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := mcp.CallToolRequest{}
			req.Params.Name = "create_key"
			req.Params.Arguments = map[string]any{"name": "audited"}
			if res, err := c.CallTool(ctx, req); err != nil || res.IsError {
				t.Fatalf("create_key: %v %+v", err, res)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(string(b)) {
				if len(line) > 1024 || strings.Contains(line, "access") || !json.Valid([]byte(line)) {
					t.Errorf("audit line of %d bytes: %.300s", len(line), line)
				}
			}
			if strings.Count(string(b), "\n") != 2 {
				t.Errorf("want an attempt and an outcome:\n%.600s", b)
			}
		})
	}
}
