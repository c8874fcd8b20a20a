package tools

import (
	"strconv"
	"testing"
	"time"
)

// TestRenamesAreRememberedForAnHourInBoundedMemory: a rename is told for an hour, a second rename
// keeps the first name, and past maxRenames the oldest is forgotten, so an agent renaming keys
// without end cannot grow the process.
func TestRenamesAreRememberedForAnHourInBoundedMemory(t *testing.T) {
	r := newRenames()
	t0 := time.Now()
	r.record("a", "production", t0)
	r.record("a", "scratch", t0.Add(time.Minute))
	if got, ok := r.recent("a", t0.Add(59*time.Minute)); !ok || got.from != "production" {
		t.Errorf("within the hour: %+v %v, want the first name", got, ok)
	}
	if _, ok := r.recent("a", t0.Add(61*time.Minute)); ok {
		t.Error("a rename older than an hour is still told")
	}
	for i := range 3 * maxRenames {
		r.record(strconv.Itoa(i), "n", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(r.byHash); n > maxRenames {
		t.Errorf("%d renames remembered, want at most %d", n, maxRenames)
	}
	if _, ok := r.recent(strconv.Itoa(3*maxRenames-1), t0.Add(time.Second)); !ok {
		t.Error("the newest rename was forgotten")
	}
}
