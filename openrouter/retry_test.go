package openrouter_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// fakeClock is the retry policy's clock and sleep: sleeping only moves the clock, so tests of waits
// take no time. Attempts can move it too (Advance), to spend the budget.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// policy is a retry policy on c whose jitter is the ceiling itself, so that waits are exact.
func (c *fakeClock) policy() openrouter.RetryPolicy {
	return openrouter.RetryPolicy{Now: c.Now, Sleep: c.Sleep, Jitter: func(ceiling time.Duration) time.Duration { return ceiling }}
}

// reply is one scripted answer of a stub.
type reply func(w http.ResponseWriter, r *http.Request)

func status(code int, header ...string) reply {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":{"code":`+strconv.Itoa(code)+`,"message":"scripted"}}`)
	}
}

func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// scriptedStub answers with the replies in order, then like OpenRouter would; it counts requests.
func scriptedStub(t *testing.T, replies ...reply) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = new(atomic.Int32)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
		mu.Lock()
		var next reply
		if len(replies) > 0 {
			next, replies = replies[0], replies[1:]
		}
		mu.Unlock()
		if next != nil {
			next(w, r)
			return
		}
		answerLike(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1", hits
}

func TestRetryPolicy(t *testing.T) {
	list := keysCalls(stubHash)[0]
	create := keysCalls(stubHash)[1]
	update := keysCalls(stubHash)[3]
	del := keysCalls(stubHash)[4]
	current := allCalls(stubHash)[5]
	for _, tc := range []struct {
		name     string
		call     namedCall
		replies  []reply
		hits     int32           // requests the server saw
		waits    []time.Duration // the waits slept, in order
		errHas   []string        // in the error; none: success
		unknown  bool            // the error wraps ErrOutcomeUnknown
		status   int             // StatusOf the error
		maxTries int             // Retry.MaxAttempts, when not the default
	}{
		{name: "GET: 503, 502 then success", call: list, replies: []reply{status(503), status(502)},
			hits: 3, waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "GET: each retryable status", call: current, replies: []reply{status(429), status(500), status(502)},
			hits: 4, waits: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		// The drop comes first, on a new connection: on a reused one net/http itself resends a GET that
		// met a closed connection, which is right but would hide our retry.
		{name: "GET: a dropped connection, 504, then success", call: list, replies: []reply{drop, status(504)},
			hits: 3, waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "GET: gives up after 4 attempts", call: list, replies: []reply{status(500), status(500), status(500), status(500), status(500)},
			hits: 4, waits: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second},
			errHas: []string{"500", "gave up after 4 attempts"}, status: 500},
		{name: "GET: 400, 401, 403, 404 are final", call: list, replies: []reply{status(404)},
			hits: 1, errHas: []string{"404"}, status: 404},
		{name: "GET: 401 is final", call: list, replies: []reply{status(401)}, hits: 1, errHas: []string{"401"}, status: 401},
		{name: "GET: MaxAttempts 1 turns retries off", call: list, replies: []reply{status(503)}, maxTries: 1,
			hits: 1, errHas: []string{"503"}, status: 503},
		{name: "Retry-After in seconds is honoured", call: list, replies: []reply{status(429, "Retry-After", "3")},
			hits: 2, waits: []time.Duration{3 * time.Second}},
		{name: "retry-after-ms wins over Retry-After", call: list, replies: []reply{status(503, "Retry-After", "9", "retry-after-ms", "1500")},
			hits: 2, waits: []time.Duration{1500 * time.Millisecond}},
		{name: "Retry-After beyond the budget fails at once", call: list, replies: []reply{status(429, "Retry-After", "60")},
			hits: 1, errHas: []string{"asked to wait 60 seconds", "20 seconds left", "not retried", "429"}, status: 429},
		{name: "PATCH is retried", call: update, replies: []reply{status(502), drop},
			hits: 3, waits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "DELETE is retried", call: del, replies: []reply{status(429)},
			hits: 2, waits: []time.Duration{500 * time.Millisecond}},
		{name: "DELETE: a 404 after a lost answer is success", call: del, replies: []reply{drop, status(404)},
			hits: 2, waits: []time.Duration{500 * time.Millisecond}},
		{name: "DELETE: a 404 after a 5xx is success", call: del, replies: []reply{status(502), status(404)},
			hits: 2, waits: []time.Duration{500 * time.Millisecond}},
		{name: "DELETE: a 404 after a 429 is a 404", call: del, replies: []reply{status(429), status(404)},
			hits: 2, waits: []time.Duration{500 * time.Millisecond}, errHas: []string{"404"}, status: 404},
		{name: "DELETE: a first 404 is a 404", call: del, replies: []reply{status(404)}, hits: 1, errHas: []string{"404"}, status: 404},
		{name: "POST: 503 is not retried", call: create, replies: []reply{status(503)},
			hits: 1, errHas: []string{"503"}, unknown: true, status: 503},
		{name: "POST: 429 is not retried, and nothing was made", call: create, replies: []reply{status(429, "Retry-After", "1")},
			hits: 1, errHas: []string{"429"}, status: 429},
		{name: "POST: a dropped connection is not retried", call: create, replies: []reply{drop},
			hits: 1, unknown: true, errHas: []string{"may have been carried out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, hits := scriptedStub(t, tc.replies...)
			clock := newFakeClock()
			p := clock.policy()
			p.MaxAttempts = tc.maxTries
			c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: p})
			err := tc.call.do(context.Background(), c)
			if hits.Load() != tc.hits {
				t.Errorf("the server saw %d requests, want %d", hits.Load(), tc.hits)
			}
			if got := clock.Slept(); !equalDurations(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
			if len(tc.errHas) == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			for _, w := range tc.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if errors.Is(err, openrouter.ErrOutcomeUnknown) != tc.unknown {
				t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v (%v)", !tc.unknown, tc.unknown, err)
			}
			if openrouter.StatusOf(err) != tc.status {
				t.Errorf("StatusOf = %d, want %d", openrouter.StatusOf(err), tc.status)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	replies := make([]reply, 9)
	for i := range replies {
		replies[i] = status(503)
	}
	url, _ := scriptedStub(t, replies...)
	clock := newFakeClock()
	p := clock.policy()
	p.MaxAttempts, p.Budget, p.MaxDelay = 8, time.Hour, 3*time.Second
	var ceilings []time.Duration
	p.Jitter = func(ceiling time.Duration) time.Duration { ceilings = append(ceilings, ceiling); return ceiling / 2 }
	c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: p})
	if _, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{}); err == nil {
		t.Fatal("succeeded against a server that always answers 503")
	}
	ms := time.Millisecond
	want := []time.Duration{500 * ms, 1000 * ms, 2000 * ms, 3000 * ms, 3000 * ms, 3000 * ms, 3000 * ms}
	if !equalDurations(ceilings, want) {
		t.Errorf("backoff ceilings %v, want %v", ceilings, want)
	}
	for i, d := range clock.Slept() {
		if d != want[i]/2 {
			t.Errorf("wait %d = %s, want the jitter's %s", i+1, d, want[i]/2)
		}
	}

	// The default jitter stays within [0, ceiling).
	url, _ = scriptedStub(t, replies...)
	p = openrouter.RetryPolicy{MaxAttempts: 8, Budget: time.Hour}
	var waits []time.Duration
	p.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c = mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: p})
	_, _ = c.ListKeys(context.Background(), openrouter.ListKeysParams{})
	for i, d := range waits {
		ceiling := min(openrouter.DefaultBaseDelay<<i, openrouter.DefaultMaxDelay)
		if d < 0 || d >= ceiling {
			t.Errorf("wait %d = %s, outside [0, %s)", i+1, d, ceiling)
		}
	}
	if len(waits) != 7 {
		t.Errorf("%d waits, want 7", len(waits))
	}
}

func TestRetryBudget(t *testing.T) {
	t.Run("a call stops when the next wait would overrun the budget", func(t *testing.T) {
		clock := newFakeClock()
		// Each attempt takes 6 s of the 20 s budget: after three, the fourth cannot fit a wait.
		var hits atomic.Int32
		c, _ := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			clock.Advance(6 * time.Second)
			status(503)(w, r)
		})
		p := clock.policy()
		p.MaxAttempts = 10
		c = mustNew(t, openrouter.Options{BaseURL: c.BaseURL(), APIKey: testKey, Retry: p})
		_, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{})
		if err == nil || !strings.Contains(err.Error(), "out of time") {
			t.Errorf("err = %v, want it to say it ran out of time", err)
		}
		// 6 + 0.5 + 6 + 1 + 6 = 19.5 s; a 2 s wait does not fit in the 0.5 s left.
		if hits.Load() != 3 {
			t.Errorf("%d attempts, want 3", hits.Load())
		}
	})

	t.Run("the caller's deadline counts as the budget", func(t *testing.T) {
		url, hits := scriptedStub(t, status(429, "Retry-After", "5"))
		c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: newFakeClock().policy()})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := c.ListKeys(ctx, openrouter.ListKeysParams{})
		if err == nil || !strings.Contains(err.Error(), "asked to wait 5 seconds") || hits.Load() != 1 {
			t.Errorf("err = %v after %d attempts; want one attempt and the wait named", err, hits.Load())
		}
	})

	t.Run("each attempt has its own timeout", func(t *testing.T) {
		var hits atomic.Int32
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hits.Add(1) == 1 {
				select { // the first attempt hangs
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			answerLike(w, r)
		}))
		t.Cleanup(srv.Close)
		c := mustNew(t, openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: testKey, Timeout: time.Second})
		start := time.Now()
		if _, err := c.GetKey(context.Background(), stubHash); err != nil {
			t.Fatalf("GetKey after one hung attempt: %v", err)
		}
		if hits.Load() != 2 || time.Since(start) > 8*time.Second {
			t.Errorf("%d attempts in %s; want 2, the first cut short at 1s", hits.Load(), time.Since(start))
		}
	})

	t.Run("the budget bounds the attempts' timeouts", func(t *testing.T) {
		c := hangingClient(t, time.Hour)
		c = mustNew(t, openrouter.Options{BaseURL: c.BaseURL(), APIKey: testKey, Timeout: time.Hour,
			Retry: openrouter.RetryPolicy{Budget: 300 * time.Millisecond}})
		start := time.Now()
		_, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want a deadline", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %s with a 300ms budget", d)
		}
	})
}

func TestCancelledWhileWaitingToRetry(t *testing.T) {
	url, hits := scriptedStub(t, status(503), status(503))
	ctx, cancel := context.WithCancel(context.Background())
	p := openrouter.RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up during the wait
		<-ctx.Done()
		return ctx.Err()
	}}
	c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: p})
	_, err := c.ListKeys(ctx, openrouter.ListKeysParams{})
	if !errors.Is(err, context.Canceled) || hits.Load() != 1 {
		t.Errorf("err = %v after %d attempts; want context.Canceled after 1", err, hits.Load())
	}
}

func TestOnRetryReportsEachRetry(t *testing.T) {
	url, _ := scriptedStub(t, status(502), status(429, "Retry-After", "2"))
	clock := newFakeClock()
	p := clock.policy()
	var events []openrouter.RetryEvent
	p.OnRetry = func(_ context.Context, e openrouter.RetryEvent) { events = append(events, e) }
	c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: p})
	if _, err := c.GetKey(context.Background(), stubHash); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(events), events)
	}
	for i, want := range []struct {
		status int
		wait   time.Duration
	}{{502, 500 * time.Millisecond}, {429, 2 * time.Second}} {
		e := events[i]
		if e.Method != "GET" || e.Path != "/keys/{hash}" || e.Attempt != i+1 || e.Wait != want.wait || openrouter.StatusOf(e.Err) != want.status {
			t.Errorf("event %d = %+v, want GET /keys/{hash}, attempt %d, wait %s, status %d", i, e, i+1, want.wait, want.status)
		}
		if strings.Contains(e.Err.Error(), stubHash) || strings.Contains(e.Err.Error(), testKeyHex) {
			t.Errorf("event %d's error names the key or its hash: %v", i, e.Err)
		}
	}
}

// flakyDialer refuses the first n connections, as a server that is not up yet does: nothing is sent.
type flakyDialer struct {
	refuse atomic.Int32
	dials  atomic.Int32
	d      net.Dialer
}

func (f *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f.dials.Add(1)
	if f.refuse.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connect: connection refused")}
	}
	return f.d.DialContext(ctx, network, addr)
}

func flakyClient(t *testing.T, url string, refuse int32, p openrouter.RetryPolicy) (*openrouter.Client, *flakyDialer) {
	t.Helper()
	d := &flakyDialer{}
	d.refuse.Store(refuse)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	return mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, HTTPClient: &http.Client{Transport: tr}, Retry: p}), d
}

func TestCreateIsRetriedOnlyWhenNothingWasSent(t *testing.T) {
	t.Run("refused twice, then created once", func(t *testing.T) {
		url, hits := scriptedStub(t)
		clock := newFakeClock()
		c, d := flakyClient(t, url, 2, clock.policy())
		ck, err := c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: "x"})
		if err != nil || ck.Key.Hash != stubHash {
			t.Fatalf("CreateKey = %v, %v", ck, err)
		}
		if d.dials.Load() != 3 || hits.Load() != 1 || len(clock.Slept()) != 2 {
			t.Errorf("%d dials, %d requests, waits %v; want 3 dials, one request, two waits", d.dials.Load(), hits.Load(), clock.Slept())
		}
	})
	t.Run("refused every time: an error that says nothing was made", func(t *testing.T) {
		url, hits := scriptedStub(t)
		c, d := flakyClient(t, url, 100, newFakeClock().policy())
		_, err := c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: "x"})
		if err == nil || errors.Is(err, openrouter.ErrOutcomeUnknown) || hits.Load() != 0 {
			t.Errorf("err = %v (%d requests); want a plain error, no request", err, hits.Load())
		}
		if d.dials.Load() != openrouter.DefaultMaxAttempts || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%d dials, err %v; want %d and the refusal named", d.dials.Load(), err, openrouter.DefaultMaxAttempts)
		}
	})
	t.Run("refused, then the connection drops: the key may exist", func(t *testing.T) {
		url, hits := scriptedStub(t, drop)
		c, _ := flakyClient(t, url, 1, newFakeClock().policy())
		_, err := c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: "x"})
		if !errors.Is(err, openrouter.ErrOutcomeUnknown) || hits.Load() != 1 {
			t.Errorf("err = %v after %d requests; want ErrOutcomeUnknown after 1", err, hits.Load())
		}
	})
}

func TestDefaults(t *testing.T) {
	if openrouter.DefaultTimeout >= openrouter.DefaultBudget {
		t.Errorf("DefaultTimeout %s ≥ DefaultBudget %s: a hung attempt would leave no room for a retry",
			openrouter.DefaultTimeout, openrouter.DefaultBudget)
	}
	if openrouter.DefaultBudget > 30*time.Second {
		t.Errorf("DefaultBudget %s: MCP hosts give up on tool calls after tens of seconds", openrouter.DefaultBudget)
	}
}

// TestOnSendSeesEachAttempt: OnSend is handed every request as it leaves, with its endpoint template
// and resend count, may add a header that reaches OpenRouter, and hears how each attempt ended.
func TestOnSendSeesEachAttempt(t *testing.T) {
	var got []string // the X-Attempt header of each request that arrived
	var mu sync.Mutex
	record := func(next reply) reply {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.Header.Get("X-Attempt"))
			mu.Unlock()
			next(w, r)
		}
	}
	url, _ := scriptedStub(t, record(status(503)), record(answerLike))
	clock := newFakeClock()
	type sent struct {
		endpoint string
		resend   int
		status   int
		failed   bool
	}
	var seen []sent
	c := mustNew(t, openrouter.Options{BaseURL: url, APIKey: testKey, Retry: clock.policy(),
		OnSend: func(req *http.Request, endpoint string, resend int) func(int, error) {
			req.Header.Set("X-Attempt", strconv.Itoa(resend))
			i := len(seen)
			seen = append(seen, sent{endpoint: endpoint, resend: resend})
			return func(status int, err error) { seen[i].status, seen[i].failed = status, err != nil }
		}})
	if _, err := c.GetKey(context.Background(), stubHash); err != nil {
		t.Fatal(err)
	}
	want := []sent{{"/keys/{hash}", 0, 503, true}, {"/keys/{hash}", 1, 200, false}}
	if !slices.Equal(seen, want) {
		t.Errorf("OnSend saw %+v; want %+v", seen, want)
	}
	if !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("OpenRouter received X-Attempt %q; want the header OnSend set on each attempt", got)
	}
}
