package tools

import (
	"math"
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
