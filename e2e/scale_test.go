package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestAuditOfABigAccountUnderLatencyAndRateLimits: the binary audits a 5,000-key account on the
// emulator (`sandbox --sandbox-faults`) whose every GET takes 300 ms or, one in ten, is answered 429,
// within the call's deadline (an error result otherwise), with complete counts and a result sized for
// a model's context.
func TestAuditOfABigAccountUnderLatencyAndRateLimits(t *testing.T) {
	t.Parallel()
	key := "sk-or-v1-" + randomHex(t, 32)
	_, base := startLogged(t, binary, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "serving the OpenRouter emulator", "base_url",
		"sandbox", "--addr", "127.0.0.1:0", "--sandbox-faults", "429@GET:10%,delay=300ms@GET:90%,seed=26")
	// The 8 sample keys and 4,992 more; the faults touch GETs only, so the creates go through.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 4992; i += 8 {
				createUpstreamKey(t, base, key, fmt.Sprintf("batch-%04d", i))
			}
		})
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := startMCPGo(t, ctx, "", cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "--base-url", base)
	start := time.Now()
	sc, text, isErr, err := s.call(ctx, "audit_keys", map[string]any{})
	if err != nil || isErr {
		t.Fatalf("audit_keys: %v %s", err, text)
	}
	t.Logf("audited in %s", time.Since(start).Round(time.Millisecond))
	total := 0
	for _, n := range sc["summary"].(map[string]any) {
		total += int(n.(float64))
	}
	if sc["keys_checked"] != 5000.0 || total < 5000 {
		t.Errorf("checked %v keys with %d findings, want 5000 keys, each with a finding at least (never used)", sc["keys_checked"], total)
	}
	if sc["next_cursor"] == nil || len(text) >= 24<<10 {
		t.Errorf("a result of %d bytes of text, next_cursor %v: want a page of findings and a cursor", len(text), sc["next_cursor"])
	}
}
