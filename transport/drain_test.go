package transport_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDrainLosesNoAdmittedCall: at shutdown under load the calls already admitted all finish, while
// /healthz says not ready and a new call is told 503 with Retry-After (go elsewhere), not refused a
// connection or left to hang.
func TestDrainLosesNoAdmittedCall(t *testing.T) {
	g := newGate()
	addr, stop := serveReal(t, g, nil)
	fd := &frontDoor{url: "http://" + addr}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	const admitted = 8
	results := make(chan response, admitted)
	for range admitted {
		go func() { results <- fd.do(t, request{body: call}) }()
		<-g.entered
	}
	stopped := make(chan error, 1)
	go func() { _, err := stop(); stopped <- err }()
	for i := 0; ; i++ {
		// Its own connection each time: the drain closes connections that have sent nothing yet, and a
		// fresh one dialled just then may be among them.
		resp, err := http.Get(fd.url + "/healthz")
		status, body := 0, ""
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		}
		if status == http.StatusServiceUnavailable && strings.Contains(body, "draining") {
			break
		}
		if i == 100 {
			t.Fatalf("/healthz while draining: %d %s %v", status, body, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := fd.do(t, request{body: call})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("a new call while draining: %d, Retry-After %q, %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	close(g.release)
	var wg sync.WaitGroup
	for range admitted {
		wg.Go(func() {
			if r := <-results; r.status != http.StatusOK || !strings.Contains(r.body, `"slow"`) {
				t.Errorf("an admitted call at shutdown: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Errorf("ServeHTTP: %v", err)
	}
}
