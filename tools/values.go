package tools

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// Reading OpenRouter's values: its times and its dollar figures.

// parseTime reads an OpenRouter time (RFC 3339, with or without fractions); false for null or garbage.
func parseTime(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	return t, err == nil
}

// roundUSD rounds to a millionth of a dollar, the precision of OpenRouter's figures, so that a sum
// does not show float noise.
func roundUSD(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// tidyNumbers rounds, in encoded JSON, the numbers written with more than six decimals to six (as
// roundUSD does): for the text block, which people read, so that a sum of OpenRouter's figures shows
// 409.27326, not 409.27325990199995. structuredContent keeps the exact figures. b is not changed; it is
// returned as it is when no number needs rounding.
func tidyNumbers(b []byte) []byte {
	var out []byte // nil until a number is rounded
	last := 0
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(b) && bytes.IndexByte([]byte("+-.eE0123456789"), b[j]) >= 0 {
				j++
			}
			num := b[i:j]
			if dot := bytes.IndexByte(num, '.'); dot >= 0 && len(num)-dot-1 > 6 && !bytes.ContainsAny(num, "eE") {
				if v, err := strconv.ParseFloat(string(num), 64); err == nil {
					out = strconv.AppendFloat(append(out, b[last:i]...), roundUSD(v), 'f', -1, 64)
					last = j
				}
			}
			i = j - 1
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// count says n things, in the singular for one: "1 key", "4 keys".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
