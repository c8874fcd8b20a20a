package transport_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// chunkedRequest opens a connection and sends a POST /mcp with a chunked body: its headers and first
// chunk, then nothing more.
func (fd *frontDoor) chunkedRequest(t *testing.T, auth string) net.Conn {
	t.Helper()
	return fd.stalledPost(t, auth, "Transfer-Encoding: chunked", "a\r\n{\"jsonrpc\"\r\n")
}

// TestStalledBodiesHoldNoCallSlot: bodies that never finish, of known length or chunked, sent with
// the shared access token (server mode) or with an invented credential the authenticator lets
// through (caller mode: any sk-or- string), hold no call slot: a real caller is served meanwhile.
func TestStalledBodiesHoldNoCallSlot(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.MaxInFlight = 2
		o.BodyTimeout = time.Minute
	})
	for _, auth := range []string{"Bearer " + goodToken, "Bearer other-invented-key"} {
		for range 4 {
			fd.rawRequest(t, auth, 1000, 10)
			fd.chunkedRequest(t, auth)
		}
	}
	time.Sleep(50 * time.Millisecond) // let them all reach the front door
	if r := fd.do(t, request{}); r.status != http.StatusOK {
		t.Errorf("a call while 16 bodies stall at --max-in-flight 2: %d %s", r.status, r.body)
	}
}

// TestChunkedBodyMinimumRate: a chunked body that trickles in is cut off soon after its first bytes
// for falling behind the minimum rate, not at the end of the whole body timeout.
func TestChunkedBodyMinimumRate(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) { o.BodyTimeout = 20 * time.Second })
	began := time.Now()
	c := fd.chunkedRequest(t, "Bearer "+goodToken)
	go func() { // a byte every 200 ms, far below 128 KiB a second
		for {
			time.Sleep(200 * time.Millisecond)
			if _, err := io.WriteString(c, "1\r\n \r\n"); err != nil {
				return
			}
		}
	}()
	status, closed := answer(t, c)
	took := time.Since(began)
	if status != http.StatusRequestTimeout || !closed || took > 10*time.Second {
		t.Errorf("a trickling chunked body: %d, closed %v, after %v (a fifth of the timeout is 4 s)", status, closed, took)
	}
}

func TestCallSlotsPerCredential(t *testing.T) {
	g := newGate()
	fd := start(t, g, func(o *transport.HTTPOptions) {
		o.MaxInFlight = 4
		o.MaxInFlightPerCredential = 2
	})
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { fd.do(t, request{body: call, auth: "Bearer other-greedy"}) })
		<-g.entered
	}
	r := fd.do(t, request{auth: "Bearer other-greedy"})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "from this caller") {
		t.Errorf("a third call of one credential with a share of 2: %d %s", r.status, r.body)
	}
	if r := fd.do(t, request{}); r.status != http.StatusOK {
		t.Errorf("another credential's call meanwhile: %d %s", r.status, r.body)
	}
	close(g.release)
	wg.Wait()
}

func TestSessionsPerCredential(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.Stateful = true
		o.MaxSessions = 10
		o.MaxSessionsPerCredential = 2
	})
	fd.initialize(t, "Bearer other-greedy")
	fd.initialize(t, "Bearer other-greedy")
	if r := fd.do(t, request{body: initBody, auth: "Bearer other-greedy"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("a third session of one credential with a quota of 2: %d %s", r.status, r.body)
	}
	fd.initialize(t, "")
}

// TestProvisionalSessions: sessions of credentials Vouch does not vouch for hold at most half the
// places and end after ProvisionalSessionTTL; a vouched credential still finds a place.
func TestProvisionalSessions(t *testing.T) {
	fd := start(t, nil, func(o *transport.HTTPOptions) {
		o.Stateful = true
		o.MaxSessions = 4
		o.ProvisionalSessionTTL = 500 * time.Millisecond
		o.Vouch = func(_ context.Context, token string) bool { return token == goodToken }
	})
	first := map[string]string{"Mcp-Session-Id": fd.initialize(t, "Bearer other-invented-1")}
	fd.initialize(t, "Bearer other-invented-2")
	if r := fd.do(t, request{body: initBody, auth: "Bearer other-invented-3"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("a third provisional session of four places: %d %s", r.status, r.body)
	}
	fd.initialize(t, "")
	fd.initialize(t, "")
	for i := 0; ; i++ {
		time.Sleep(100 * time.Millisecond)
		r := fd.do(t, request{auth: "Bearer other-invented-1", headers: first})
		if r.status == http.StatusNotFound {
			break
		}
		if r.status != http.StatusOK || i == 50 {
			t.Fatalf("a provisional session past its life: %d %s", r.status, r.body)
		}
	}
	fd.initialize(t, "Bearer other-invented-3") // its place is free again
}
