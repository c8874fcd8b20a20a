package transport

import (
	"testing"
	"time"
)

func TestBucketsRefillAndForget(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBuckets(2, 4) // 2 a second, bursts of 4
	b.now = func() time.Time { return now }
	a, c := Principal{Kind: PrincipalCredential, ID: "a"}, Principal{Kind: PrincipalCredential, ID: "c"}
	for i := range 4 {
		if _, ok := b.take(a); !ok {
			t.Fatalf("take %d of a burst of 4 refused", i+1)
		}
	}
	if wait, ok := b.take(a); ok || wait != 500*time.Millisecond {
		t.Errorf("fifth take: ok %v, wait %v; want refused, 500ms", ok, wait)
	}
	if _, ok := b.take(c); !ok {
		t.Error("another principal refused")
	}
	now = now.Add(time.Second) // two tokens back
	for i := range 2 {
		if _, ok := b.take(a); !ok {
			t.Fatalf("take %d after a second refused", i+1)
		}
	}
	if _, ok := b.take(a); ok {
		t.Error("a third take after a second admitted")
	}
	now = now.Add(time.Hour) // both full again: the sweep forgets them
	b.take(a)
	if len(b.held) != 1 {
		t.Errorf("after an hour %d buckets kept, want 1 (the one just used)", len(b.held))
	}
	if newBuckets(0, 10) != nil {
		t.Error("a zero rate must mean no limit")
	}
}
