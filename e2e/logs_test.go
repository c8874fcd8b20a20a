package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An unauthenticated caller cannot break the server's JSON log lines, and the access token never
// reaches them, even when it holds characters that JSON escapes.
func TestLogLinesStayJSONAndHoldNoAccessToken(t *testing.T) {
	token := `access"token\with-escapes-0123456789`
	srv := startHTTP(t, cleanEnv("OPENROUTER_KEYS_MCP_AUTH_TOKEN="+token), "--sandbox")
	base := strings.TrimSuffix(srv.url, "/mcp")
	send := func(method, path, auth, body string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send("GET", "/x%20bearer%20%5C%22", `Bearer x\"`, "")
	send("GET", "/"+url.PathEscape(token), "Bearer "+token, "")
	send("POST", "/mcp", `Bearer \\"`+token, "{}")
	send("POST", "/mcp", "Bearer "+token, `{"jsonrpc":"2.0","id":1,"method":"`+strings.Repeat("m", 100_000)+`"}`)
	time.Sleep(200 * time.Millisecond) // the last request's line is written after its answer
	encoded, _ := json.Marshal(token)
	for line := range strings.Lines(srv.stderr.String()) {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %.300s", line)
		}
		if strings.Contains(line, token) || strings.Contains(line, strings.Trim(string(encoded), `"`)) {
			t.Errorf("the access token reached the log: %.300s", line)
		}
		if len(line) > 2000 {
			t.Errorf("a log line of %d bytes: %.300s", len(line), line)
		}
	}
}
