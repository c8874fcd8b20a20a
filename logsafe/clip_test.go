package logsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	if got := Clip("claude-ai"); got != "claude-ai" {
		t.Errorf("a short string changed: %q", got)
	}
	exact := strings.Repeat("a", MaxLen)
	if got := Clip(exact); got != exact {
		t.Errorf("a string of MaxLen bytes changed")
	}
	long := strings.Repeat("é", 500_000) // 2 bytes a rune: MaxLen falls inside none, MaxLen-1 inside one
	got := Clip("x" + long)
	if len(got) > MaxLen+40 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…[clipped: 1000001 bytes]") {
		t.Errorf("Clip of 1,000,001 bytes = %d bytes, valid UTF-8 %v, ends %q", len(got), utf8.ValidString(got), got[max(0, len(got)-30):])
	}
}
