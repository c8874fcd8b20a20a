package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSandboxFaultsFlag: --sandbox-faults (and its variable) make the sandbox command and --sandbox
// fail on purpose; a bad spec is a one-line error and exit code 2.
func TestSandboxFaultsFlag(t *testing.T) {
	t.Parallel()
	t.Run("sandbox command", func(t *testing.T) {
		t.Parallel()
		key := "sk-or-v1-" + strings.Repeat("5a", 32)
		srv, base := startLogged(t, binary, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "serving the OpenRouter emulator", "base_url",
			"sandbox", "--addr", "127.0.0.1:0", "--sandbox-faults", "503*2,reset")
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		get := func() (int, error) {
			req, _ := http.NewRequest("GET", base+"/keys", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode, nil
		}
		for i, want := range []int{503, 503, 0, 200, 200} {
			got, err := get()
			if got != want || (want == 0) != (err != nil) {
				t.Errorf("request %d: %d %v, want %d", i+1, got, err, want)
			}
		}
		if !strings.Contains(srv.stderr.String(), "SANDBOX FAULTS") || !strings.Contains(srv.stderr.String(), "503*2,reset") {
			t.Errorf("the faults are not announced on stderr:\n%s", srv.stderr)
		}
	})

	t.Run("--sandbox over stdio, from the environment", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, stderr := startMCPGo(t, ctx, "", cleanEnv("OPENROUTER_KEYS_MCP_SANDBOX_FAULTS=502*2"), "--sandbox", "--log-format", "json")
		if _, text, isErr, err := s.call(ctx, "list_keys", nil); err != nil || isErr {
			t.Fatalf("list_keys through two 502s: %v %s", err, text)
		}
		if n := strings.Count(stderr.String(), "retrying"); n != 2 {
			t.Errorf("%d retries logged, want 2:\n%s", n, stderr)
		}
	})

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"without --sandbox", nil, []string{"--sandbox-faults", "503"}, "--sandbox-faults (or OPENROUTER_KEYS_MCP_SANDBOX_FAULTS) needs --sandbox"},
		{"with a base URL", []string{"OPENROUTER_KEYS_MCP_SANDBOX_FAULTS=503"}, []string{"http", "--base-url", "http://127.0.0.1:1/api/v1"}, "needs --sandbox"},
		{"unknown kind", nil, []string{"--sandbox", "--sandbox-faults", "503,5o4"}, `invalid --sandbox-faults "503,5o4": fault "5o4": unknown kind "5o4"`},
		{"shares over 100%", []string{"OPENROUTER_KEYS_MCP_SANDBOX_FAULTS=500:70%,502:40%"}, []string{"sandbox"}, "the shares add up to 110%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runBinary(t, cleanEnv(tc.env...), tc.args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line containing %q", code, stdout, stderr, tc.want)
			}
		})
	}
}
