package transport

import (
	"testing"
	"time"
)

func TestBodyDeadline(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want time.Duration
	}{
		{-1, 2 * time.Second},                     // unknown length: its first bytes (then see arrived)
		{0, 2 * time.Second},                      // a fifth of it to get going
		{128 << 10, 3 * time.Second},              // then 128 KiB a second
		{1 << 20, 10 * time.Second},               // the largest body: exactly the timeout
		{100 << 20, 10 * time.Second},             // never more
		{64 << 10, 2*time.Second + time.Second/2}, // half a second for 64 KiB
	} {
		if got := bodyDeadline(10*time.Second, 128<<10, tc.n); got != tc.want {
			t.Errorf("bodyDeadline(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
