// Package logsafe bounds what callers can put into a log line or an audit record: every string that
// came from a caller (a client's name and version, a user agent, a path, a JSON-RPC method, a tool
// name) passes through Clip before it is logged, so that nobody can make a log line as long as their
// request.
package logsafe

import (
	"strconv"
	"unicode/utf8"
)

// MaxLen is the longest caller-supplied string kept whole in a log line or an audit record, in bytes:
// far more than any client's name or a tool's, far less than a request.
const MaxLen = 256

// Clip returns s when it is at most MaxLen bytes long, else its first MaxLen bytes (cut at a rune's
// start) and how long it was, so that the reader knows it was cut.
func Clip(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	cut := MaxLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[clipped: " + strconv.Itoa(len(s)) + " bytes]"
}
