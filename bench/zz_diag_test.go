package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

func TestZZDiag(t *testing.T) {
	ctx := context.Background()
	nws := 1
	if os.Getenv("WS") == "5" {
		nws = 5
	}
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
	type ev struct {
		start, end time.Duration
		what       string
	}
	var mu sync.Mutex
	var evs []ev
	var t0 time.Time
	on := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := time.Since(t0)
		sb.ServeHTTP(w, r)
		mu.Lock()
		if on {
			evs = append(evs, ev{s, time.Since(t0), r.Method + " " + strings.TrimPrefix(r.URL.Path, "/api/v1") + "?" + r.URL.RawQuery})
		}
		mu.Unlock()
	}))
	defer srv.Close()
	client, _ := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey()), ControlsTTL: openrouter.DefaultControlsTTL})
	s, _ := NewInProcessServer(client, JSONLogger(io.Discard))
	ids, _ := workspaceIDs(ctx, client, sb, nws)
	for i := range 5000 {
		limit := float64(5 + i%50)
		client.CreateKey(ctx, openrouter.CreateKeyRequest{Name: fmt.Sprintf("agent key %04d for the nightly batch", i), Limit: &limit, WorkspaceID: ids[i%len(ids)]})
	}
	sb.SetFaults(sandbox.Faults{Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: sandbox.FaultDelay, Wait: 300 * time.Millisecond, Method: "GET"}, Share: 1}}})
	s2, _ := NewInProcessServer(client, JSONLogger(io.Discard))
	_ = s2
	t0 = time.Now()
	on = true
	tool := os.Getenv("TOOL")
	if tool == "" {
		tool = "audit_keys"
	}
	if tool == "list" {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() { callText(ctx, s, NewCall("list_keys", map[string]any{"all": true, "workspace_id": id})) })
		}
		wg.Wait()
	} else if _, err := callText(ctx, s, NewCall(tool, map[string]any{})); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	on = false
	sort.Slice(evs, func(i, j int) bool { return evs[i].start < evs[j].start })
	for _, e := range evs {
		t.Logf("%6.0f %6.0f %s", float64(e.start.Milliseconds()), float64(e.end.Milliseconds()), e.what)
	}
	t.Logf("took %v = %.2f RT, %d requests", took, float64(took)/float64(300*time.Millisecond), len(evs))
}
