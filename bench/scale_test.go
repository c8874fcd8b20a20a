package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestScale measures #26's figures on a small account (BENCH_SCALE_KEYS sets another size, 5000 for
// the report's): every read completes, and no result reaches 24 KB. The times are the report's to
// judge, not this test's.
func TestScale(t *testing.T) {
	keys, delay := 300, 20*time.Millisecond
	if n, err := strconv.Atoi(os.Getenv("BENCH_SCALE_KEYS")); err == nil && n > 0 {
		keys, delay = n, 300*time.Millisecond
	}
	sc, err := measureScale(context.Background(), keys, delay)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Reads) != 4 || len(sc.ResultBytes) != 17 {
		t.Fatalf("%d reads and %d results measured, want 4 and 17", len(sc.Reads), len(sc.ResultBytes))
	}
	for _, target := range sc.targets() {
		t.Logf("%s: %s (goal %s)", target.What, target.Figure, target.Goal)
	}
	for _, b := range sc.ResultBytes {
		if b.Bytes >= 24<<10 {
			t.Errorf("%s: %d bytes", b.Call, b.Bytes)
		}
	}
}
