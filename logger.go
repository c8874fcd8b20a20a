package main

import (
	"bytes"
	"io"
	"os"
	"regexp"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// newLogger logs to w (stderr) only: stdout belongs to the protocol. What callers send is clipped and
// checked where it is logged; every line also passes through redactingWriter, a last line of defence
// should a key, a bearer token or the access token reach a log.
func newLogger(w io.Writer, cfg config) zerolog.Logger {
	console := cfg.logFormat == "console"
	if cfg.logFormat == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			console = true
		}
	}
	rw := newRedactingWriter(w, cfg.authToken.Reveal(), !console)
	out := io.Writer(rw)
	if console {
		out = zerolog.ConsoleWriter{Out: rw, NoColor: true}
	}
	return zerolog.New(out).Level(cfg.logLevel).With().Timestamp().Logger()
}

// redactingWriter masks secrets in every line: keys, bearer tokens, and the server's access token. On
// JSON lines it never breaks the JSON: what it masks holds no backslash or quote, and the access token
// is found in its encoded form, where an escape starts.
type redactingWriter struct {
	w      io.Writer
	tokens [][]byte // the server's access token in the forms a line may carry it; none without one
	json   bool     // the lines are zerolog's JSON, not the console's text
}

func newRedactingWriter(w io.Writer, token string, jsonLines bool) redactingWriter {
	r := redactingWriter{w: w, json: jsonLines}
	if token != "" {
		// JSON lines hold it encoded; the console's text holds it as it is, or quoted.
		r.tokens = append(r.tokens, encodedString(token))
		if !jsonLines {
			r.tokens = append(r.tokens, []byte(token))
		}
	}
	return r
}

// encodedString is s as zerolog writes it inside a JSON string, without the quotes.
func encodedString(s string) []byte {
	var b bytes.Buffer
	l := zerolog.New(&b)
	l.Log().Str("s", s).Send()
	line := bytes.TrimSpace(b.Bytes())
	return line[len(`{"s":"`) : len(line)-len(`"}`)]
}

// bearerShape matches the credential after "Bearer" (and spaces, or the JSON escapes of tab and
// newline), in a header or an error string. The credential stops before a backslash or a quote, so
// that masking it can never swallow a JSON escape.
var bearerShape = regexp.MustCompile(`(?i)(bearer(?:\s|\\[tnr])+)[^\s"'\\,;]+`)

// mayNeedRedacting reports whether redactLine could change p: only a line holding the prefix of every
// key or "bearer" in any case can match.
func mayNeedRedacting(p []byte) bool {
	if bytes.Contains(p, []byte(openrouter.KeyPrefix)) {
		return true
	}
	for i := bytes.IndexAny(p, "bB"); i >= 0 && i+6 <= len(p); {
		if bytes.EqualFold(p[i:i+6], []byte("bearer")) {
			return true
		}
		j := bytes.IndexAny(p[i+1:], "bB")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// redactLine masks OpenRouter keys and bearer tokens.
func redactLine(s string) string {
	return bearerShape.ReplaceAllString(openrouter.Redact(s), "${1}[REDACTED]")
}

func (r redactingWriter) Write(p []byte) (int, error) {
	n := len(p) // what was written, as the caller counts it
	for _, token := range r.tokens {
		if bytes.Contains(p, token) {
			p = r.maskToken(p, token)
		}
	}
	if !mayNeedRedacting(p) {
		// Nearly every line: nothing for the two regular expressions to match, and no copy.
		if _, err := r.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	if _, err := io.WriteString(r.w, redactLine(string(p))); err != nil {
		return 0, err
	}
	return n, nil
}

// maskToken replaces each whole occurrence of the access token. On a JSON line an occurrence counts
// only where a character (or an escape) starts, so that a mask never lands inside an escape.
func (r redactingWriter) maskToken(p, token []byte) []byte {
	var out []byte
	rest, at := p, 0 // at: the offset of rest in p
	for {
		i := bytes.Index(rest, token)
		if i < 0 {
			return append(out, rest...)
		}
		if r.json && !escapeBoundary(p, at+i) {
			out = append(out, rest[:i+1]...)
			rest, at = rest[i+1:], at+i+1
			continue
		}
		out = append(append(out, rest[:i]...), "[REDACTED]"...)
		rest, at = rest[i+len(token):], at+i+len(token)
	}
}

// escapeBoundary reports whether offset i of a JSON line starts a character or an escape, rather than
// falling inside an escape such as \" or \u00e9.
func escapeBoundary(p []byte, i int) bool {
	j := 0
	for j < i {
		switch {
		case p[j] == '\\' && j+1 < len(p) && p[j+1] == 'u':
			j += 6
		case p[j] == '\\':
			j += 2
		default:
			j++
		}
	}
	return j == i
}
