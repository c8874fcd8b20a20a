package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"
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
		if _, err := (redactingWriter{w: &out}).Write([]byte(line)); err != nil {
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
	w := redactingWriter{w: discard{}}
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

func TestLogLinesMaskTheAccessToken(t *testing.T) {
	var buf bytes.Buffer
	token := "0123456789abcdef-access-token"
	w := redactingWriter{w: &buf, token: token}
	line := `{"message":"refused ` + token + `"}` + "\n"
	if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(line))
	}
	if strings.Contains(buf.String(), token) || !strings.Contains(buf.String(), "[REDACTED]") {
		t.Errorf("the access token reached the log: %s", buf.String())
	}
}
