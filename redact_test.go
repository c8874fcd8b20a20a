package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// TestRedactingWriterSkipsOnlyLinesWithNothingToRedact: the fast path of redactingWriter (no regular
// expression when a line holds neither "sk-or-" nor "bearer") never lets through a line that
// redactLine would change.
func TestRedactingWriterSkipsOnlyLinesWithNothingToRedact(t *testing.T) {
	key := "sk-or-v1-" + strings.Repeat("0123456789abcdef", 4)
	lines := []string{
		`{"level":"info","tool":"list_keys","duration_ms":1.2,"message":"tool call"}`,
		`{"level":"error","error":"401 from OpenRouter: invalid key ` + key + `","message":"x"}`,
		`Authorization: Bearer abc.def`, `authorization: bEaReR tok`, `BEARER	tok`, `xbearer  tok,`,
		`sk-or-v1-abcdefgh1`, `sk-or-`, `bearer`, `b`, `bearbearer x`, `bbearer y`, `no secrets at all`, ``,
		"Bearer\u00a0tok", "be\u0430rer tok", // a no-break space; a Cyrillic а: neither matches
	}
	for _, line := range lines {
		var out bytes.Buffer
		if _, err := (newRedactingWriter(&out, "", true)).Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if want := redactLine(line); out.String() != want {
			t.Errorf("%q: wrote %q, want %q", line, out.String(), want)
		}
		if !mayNeedRedacting([]byte(line)) && redactLine(line) != line {
			t.Errorf("%q: the fast path would skip a line that needs redacting", line)
		}
	}
	for _, line := range []string{`{"message":"tool call"}`, "no secrets at all", "bear er", "b"} {
		if mayNeedRedacting([]byte(line)) {
			t.Errorf("%q: took the slow path", line)
		}
	}
}

func FuzzRedactingWriterFastPath(f *testing.F) {
	for _, s := range []string{"Bearer x", "sk-or-v1-abcdefghij", "plain", "BeArEr\ty"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !mayNeedRedacting([]byte(line)) && redactLine(line) != line {
			t.Errorf("%q: the fast path would skip a line that needs redacting", line)
		}
	})
}

func BenchmarkRedactingWriter(b *testing.B) {
	line := []byte(`{"level":"info","request_id":"24a9f7059b1264e9","http_method":"POST","path":"/mcp","rpc_method":"tools/call","tool":"list_keys","status":200,"duration_ms":3.904955,"remote":"127.0.0.1:54782","time":"2026-11-23T14:03:16Z","message":"http request"}` + "\n")
	w := newRedactingWriter(discard{}, "", true)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = w.Write(line)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestLogLinesMaskKeysAndBearerTokens(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(&buf, config{logLevel: zerolog.DebugLevel, logFormat: "json"})
	key := "sk-or-v1-" + strings.Repeat("7f", 32)
	logger.Error().Err(errors.New(`upstream said: bad header "Authorization: Bearer tok3n-of-ours"`)).
		Str("k", key).Msg("request failed with " + key[:20] + "…")
	logger.Info().Msgf("bearer %s", "another.token")
	out := buf.String()
	for _, leak := range []string{"tok3n-of-ours", "another.token", strings.Repeat("7f", 8), key[:20]} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds %q:\n%s", leak, out)
		}
	}
	if strings.Count(out, "[REDACTED]") < 4 {
		t.Errorf("expected every secret masked:\n%s", out)
	}
}

// The access token is masked in every form a log line may carry it, even when it holds characters
// that JSON escapes, and masking never breaks a line's JSON.
func TestLogLinesMaskTheAccessToken(t *testing.T) {
	for _, token := range []string{"0123456789abcdef-access-token", `0123456789"abcdef`, `0123456789\abcdef`, "0123\u00e9456789abcdef"} {
		for _, format := range []string{"json", "console"} {
			var buf bytes.Buffer
			logger := newLogger(&buf, config{logLevel: zerolog.DebugLevel, logFormat: format, authToken: openrouter.Secret(token)})
			logger.Info().Str("client", token).Msg("refused " + token)
			logger.Error().Err(errors.New("said: Authorization: Bearer " + token)).Msg("x")
			out := buf.String()
			if strings.Contains(out, token) || strings.Contains(out, string(encodedString(token))) || !strings.Contains(out, "[REDACTED]") {
				t.Errorf("%s, token %q: the access token reached the log:\n%s", format, token, out)
			}
			if format == "json" {
				requireJSONLines(t, out)
			}
		}
	}
}

// A bearer credential crafted to end in a quote or a backslash is masked without breaking the line.
func TestLogLinesStayJSONWhateverTheBearerToken(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(&buf, config{logLevel: zerolog.DebugLevel, logFormat: "json"})
	for _, v := range []string{`Bearer abc\"`, `Bearer \`, `bearer "x`, "Bearer\tsecret-after-tab", "Bearer\nsecret-after-newline",
		`Bearer x\u0022y`, "bearer \\\\\\"} {
		logger.Warn().Str("path", "/"+v).Err(errors.New(v)).Msg(v)
	}
	out := buf.String()
	requireJSONLines(t, out)
	for _, leak := range []string{"secret-after-tab", "secret-after-newline"} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds %q:\n%s", leak, out)
		}
	}
}

func requireJSONLines(t *testing.T, out string) {
	t.Helper()
	for line := range strings.Lines(out) {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %s", line)
		}
	}
}
