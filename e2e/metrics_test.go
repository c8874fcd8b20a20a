package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestMetricsCountAScriptedSession: after a known session (two refusals, three tool calls of which
// one fails as the model reads it, two deletions the user is asked about, of which one is declined),
// the metrics say exactly that, and no label holds a key, a key's name or the access token.
func TestMetricsCountAScriptedSession(t *testing.T) {
	token := strings.Repeat("t0ken", 8)
	srv, metricsURL := startMetered(t, token, "--managed-prefix", "metrics-")
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
	// A key the policy does not let this server create.
	if _, text, isErr, err := s.call(ctx, "create_key", map[string]any{"name": "outside"}); err != nil || !isErr || !strings.Contains(text, "--managed-prefix") {
		t.Fatalf("create_key outside the managed prefix: %v %s", err, text)
	}
	// Two deletions the user is asked about: one accepted, one declined.
	yes := mcpGoHTTPWith(t, ctx, srv.url, "", bearer(token), accepting().options())
	no := mcpGoHTTPWith(t, ctx, srv.url, "", bearer(token), (&asker{action: mcp.ElicitationResponseActionDecline}).options())
	for _, s := range []session{yes, no} {
		hash := newKey(t, ctx, s, "metrics-confirm")
		if _, text, isErr, err := s.call(ctx, "delete_key", map[string]any{"hash": hash}); err != nil || isErr {
			t.Fatalf("delete_key: %v %s", err, text)
		}
	}

	text := scrape(t, metricsURL)
	for _, want := range []string{
		`mcp_server_operation_duration_seconds_count{error_type="",gen_ai_tool_name="list_keys",mcp_method_name="tools/call"} 2`,
		`mcp_server_operation_duration_seconds_count{error_type="tool_error",gen_ai_tool_name="get_key",mcp_method_name="tools/call"} 1`,
		`mcp_server_refusals_total{reason="auth"} 1`,
		`mcp_server_refusals_total{reason="origin"} 1`,
		`openrouter_request_duration_seconds_count{endpoint="/keys",http_request_method="GET",http_response_status_code="200"} 2`,
		`openrouter_request_duration_seconds_count{endpoint="/keys/{hash}",http_request_method="GET",http_response_status_code="404"} 1`,
		`mcp_server_requests_in_flight 0`,
		`mcp_server_confirmations_asked_total{gen_ai_tool_name="delete_key"} 2`,
		`mcp_server_confirmation_outcomes_total{gen_ai_tool_name="delete_key",outcome="accepted"} 1`,
		`mcp_server_confirmation_outcomes_total{gen_ai_tool_name="delete_key",outcome="declined"} 1`,
		`mcp_server_refusals_total{reason="confirmation"} 1`,
		`mcp_server_refusals_total{reason="policy"} 1`,
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

// startMetered serves the binary over HTTP with the access token and metrics on a port of their own;
// it returns the server and the metrics' URL.
func startMetered(t *testing.T, token string, args ...string) (*httpServer, string) {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startHTTP(t, cleanEnv(), append([]string{"--sandbox", "--auth-token-file", tokenFile, "--metrics-addr", "127.0.0.1:0"}, args...)...)
	m := regexp.MustCompile(`"metrics_url":"([^"]+)"`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no metrics_url in the log:\n%s", srv.stderr)
	}
	return srv, m[1]
}

// scrape reads the metrics.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, resp)
}

// TestMetricsCountACallOverItsCallersShare: with one call at a time for each caller, a second call
// while the first waits on OpenRouter is answered with a tool error that says how long to wait, and
// counted as a refusal for the rate, not as a tool call.
func TestMetricsCountACallOverItsCallersShare(t *testing.T) {
	token := strings.Repeat("t0ken", 8)
	srv, metricsURL := startMetered(t, token, "--max-in-flight-per-caller", "1", "--sandbox-faults", "delay=5s@GET")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, second := mcpGoHTTP(t, ctx, srv.url, "", bearer(token)), mcpGoHTTP(t, ctx, srv.url, "", bearer(token))
	done := make(chan error, 1)
	go func() {
		_, text, isErr, err := first.call(ctx, "list_keys", nil)
		if err == nil && isErr {
			err = errors.New(text)
		}
		done <- err
	}()
	for !strings.Contains(scrape(t, metricsURL), "mcp_server_requests_in_flight 1\n") { // the first waits on the delay
		select {
		case err := <-done:
			t.Fatalf("the first call ended before the second was made: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, text, isErr, err := second.call(ctx, "list_keys", nil)
	if err != nil || !isErr || !strings.HasPrefix(text, "Rate limited: this caller's calls running at once are at the server's limit of 1 for one caller") || !strings.Contains(text, "Try again in 1 s") {
		t.Errorf("a second call over the caller's share: %v, isError %v: %s", err, isErr, text)
	}
	if err := <-done; err != nil {
		t.Fatalf("the first call: %v", err)
	}
	metrics := scrape(t, metricsURL)
	for _, want := range []string{
		`mcp_server_refusals_total{reason="rate"} 1`,
		`mcp_server_operation_duration_seconds_count{error_type="",gen_ai_tool_name="list_keys",mcp_method_name="tools/call"} 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("the metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `error_type="tool_error"`) {
		t.Errorf("the refused call counts as a tool call:\n%s", metrics)
	}
}
