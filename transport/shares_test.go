package transport_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

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

// TestToolCallOverItsShareIsToldToWait: a tool call that got past the rate and whose body is in, but
// whose caller already runs its share of calls, is answered as MCP: a tool error that says the limit
// and how long to wait, which a real client reads as the call's result, and which OnRequest hears of
// as a refusal for the rate. Other requests over the share still get 429.
func TestToolCallOverItsShareIsToldToWait(t *testing.T) {
	g := newGate()
	var mu sync.Mutex
	var refusals []string
	fd := start(t, g, func(o *transport.HTTPOptions) {
		o.MaxInFlight = 4
		o.MaxInFlightPerCredential = 2
		o.OnRequest = func(_, _ string, _ int, refusal string, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			refusals = append(refusals, refusal)
		}
	})
	// A real client, connected before its caller's calls take the share.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := mcptransport.NewStreamableHTTP(fd.url+"/mcp",
		mcptransport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer other-greedy"}))
	if err != nil {
		t.Fatal(err)
	}
	c := mcpclient.NewClient(tr)
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatal("initialize:", err)
	}
	hc := &http.Client{Transport: headerTransport{auth: "Bearer other-greedy"}}
	sdkSession, err := sdk.NewClient(&sdk.Implementation{Name: "go-sdk", Version: "1"}, nil).
		Connect(ctx, &sdk.StreamableClientTransport{Endpoint: fd.url + "/mcp", HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal("connect:", err)
	}
	defer sdkSession.Close()
	slow := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { fd.do(t, request{body: slow, auth: "Bearer other-greedy"}) })
		<-g.entered
	}
	defer func() { close(g.release); wg.Wait() }()

	echo := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{}}}`
	r := fd.do(t, request{body: echo, auth: "Bearer other-greedy"})
	var msg struct {
		ID     int                `json:"id"`
		Result mcp.CallToolResult `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.body), &msg); r.status != http.StatusOK || err != nil || msg.ID != 7 || !msg.Result.IsError ||
		!strings.Contains(r.body, "Rate limited: this caller's calls running at once are at the server's limit of 2 for one caller") || !strings.Contains(r.body, "Try again in 1 s") {
		t.Errorf("a tool call over its caller's share: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, "resultType") {
		t.Errorf("a result at %s with a resultType: %s", legacy, r.body)
	}
	modern := map[string]string{mcp.HeaderProtocolVersion: mcp.LATEST_PROTOCOL_VERSION}
	if r := fd.do(t, request{body: echo, auth: "Bearer other-greedy", headers: modern}); !strings.Contains(r.body, `"resultType":"complete"`) {
		t.Errorf("a result at %s without the resultType it requires: %s", mcp.LATEST_PROTOCOL_VERSION, r.body)
	}
	if r := fd.do(t, request{auth: "Bearer other-greedy"}); r.status != http.StatusTooManyRequests {
		t.Errorf("a tools/list over its caller's share: %d %s", r.status, r.body)
	}

	call := mcp.CallToolRequest{}
	call.Params.Name = "echo"
	res, err := c.CallTool(ctx, call)
	if err != nil || !res.IsError || len(res.Content) != 1 ||
		!strings.HasPrefix(res.Content[0].(mcp.TextContent).Text, "Rate limited:") {
		t.Errorf("mcp-go's client at %s, over its share: %+v %v", mcp.LATEST_PROTOCOL_VERSION, res, err)
	}
	sdkRes, err := sdkSession.CallTool(ctx, &sdk.CallToolParams{Name: "echo"})
	if err != nil || !sdkRes.IsError || len(sdkRes.Content) != 1 ||
		!strings.HasPrefix(sdkRes.Content[0].(*sdk.TextContent).Text, "Rate limited:") {
		t.Errorf("the go-sdk's client over its share: %+v %v", sdkRes, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if n := len(slices.DeleteFunc(slices.Clone(refusals), func(s string) bool { return s != "rate" })); n != 4 {
		t.Errorf("the refusals OnRequest was told of: %q, want four for the rate", refusals)
	}

}
