package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsCountAScriptedSession: after a known session (two refusals, three tool calls of which
// one fails as the model reads it), the metrics say exactly that, and no label holds a key, a key's
// name or the access token.
func TestMetricsCountAScriptedSession(t *testing.T) {
	token := strings.Repeat("t0ken", 8)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startHTTP(t, cleanEnv(), "--sandbox", "--auth-token-file", tokenFile, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`"metrics_url":"([^"]+)"`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no metrics_url in the log:\n%s", srv.stderr)
	}
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	readAll(t, post(t, srv.url, "", nil, list))                                                              // auth
	readAll(t, post(t, srv.url, "Bearer "+token, map[string]string{"Origin": "https://evil.example"}, list)) // origin

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := mcpGoHTTP(t, ctx, srv.url, "", bearer(token))
	for range 2 {
		if _, text, isErr, err := s.call(ctx, "list_keys", nil); err != nil || isErr {
			t.Fatalf("list_keys: %v %s", err, text)
		}
	}
	if _, _, isErr, err := s.call(ctx, "get_key", map[string]any{"hash": strings.Repeat("0", 64)}); err != nil || !isErr {
		t.Fatalf("get_key of a key that does not exist: %v, isError %v", err, isErr)
	}

	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`mcp_server_operation_duration_seconds_count{error_type="",gen_ai_tool_name="list_keys",mcp_method_name="tools/call"} 2`,
		`mcp_server_operation_duration_seconds_count{error_type="tool_error",gen_ai_tool_name="get_key",mcp_method_name="tools/call"} 1`,
		`mcp_server_refusals_total{reason="auth"} 1`,
		`mcp_server_refusals_total{reason="origin"} 1`,
		`openrouter_request_duration_seconds_count{endpoint="/keys",http_request_method="GET",http_response_status_code="200"} 2`,
		`openrouter_request_duration_seconds_count{endpoint="/keys/{hash}",http_request_method="GET",http_response_status_code="404"} 1`,
		`mcp_server_requests_in_flight 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("the metrics lack %s", want)
		}
	}
	// Every label value is one of a few known shapes: nothing a caller or OpenRouter wrote.
	safe := regexp.MustCompile(`^(|[a-z_]+|[a-z_]+/[a-z_]+|/[a-z/{}_]*|[0-9]{3}|[A-Z]+|_OTHER|error|other|none|\+Inf|[0-9.e+-]+)$`)
	for _, lv := range regexp.MustCompile(`="([^"]*)"`).FindAllStringSubmatch(text, -1) {
		if !safe.MatchString(lv[1]) || strings.Contains(lv[1], "sk-or") || strings.Contains(lv[1], token) {
			t.Errorf("a label value of an unexpected shape: %q", lv[1])
		}
	}
}
