package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // String() of the plan
	}{
		{"", ""},
		{" , ", ""},
		{"503", "503"},
		{"503*2,ok,500", "503*2,ok,500"},
		{"503,503", "503*2"},
		{"429", "429"},
		{"429=2s", "429=2s"},
		{"429=1500ms:5%", "429=1.5s:5%"},
		{"429=0", "429=0"},
		{"503=3s+after", "503=3s+after"},
		{"reset+after@post:10%", "reset+after@POST:10%"},
		{"reset@POST+after:10%", "reset+after@POST:10%"},
		{"cut", "cut"},
		{"cut+after", "cut"},
		{"malformed@GET*3", "malformed@GET*3"},
		{"html=503:2.5%", "html=503:2.5%"},
		{"oversize=5MiB:1%", "oversize=5242880:1%"},
		{"oversize=512KiB", "oversize=524288"},
		{"delay=300ms:20%,delay=2s+after@DELETE:5%", "delay=300ms:20%,delay=2s+after@DELETE:5%"},
		{"500:50%,502:50%,seed=42", "500:50%,502:50%,seed=42"},
		{"RESET", "reset"},
		{"500:33.333333%,502:66.666667%", "500:33.3333%,502:66.6667%"},
		{"500:1e1%", "500:10%"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			p, err := sandbox.ParseFaults(tc.spec)
			if err != nil {
				t.Fatalf("ParseFaults(%q): %v", tc.spec, err)
			}
			if got := p.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			again, err := sandbox.ParseFaults(p.String())
			if err != nil || again.String() != p.String() {
				t.Errorf("the text form does not read back: %q -> %q, %v", p.String(), again.String(), err)
			}
		})
	}
}

func TestParseFaultsErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string // in the error
	}{
		{"5o3:10%", []string{`fault "5o3:10%": unknown kind "5o3"`, "429, 500, 502, 503, 504, reset, cut, html, malformed, oversize, delay or ok"}},
		{"503:150%", []string{`"503:150%"`, "to 100%"}},
		{"503:0%", []string{"from 0.0001%"}},
		{"503:0.00001%", []string{"from 0.0001%"}},
		{"503:NaN%", []string{"percentage"}},
		{"503:10", []string{"percentage", ":10%"}},
		{"503*0", []string{"count", "*3"}},
		{"503*x", []string{"count"}},
		{"500:60%,502:50%", []string{"add up to 110%", "more than 100%"}},
		{"429+after", []string{"429+after", "not carried out", "500+after"}},
		{"ok+after", []string{"ok is no fault"}},
		{"ok:5%", []string{"ok takes no share"}},
		{"delay", []string{"delay needs a duration", "delay=300ms"}},
		{"delay=fast", []string{"delay=fast", "duration"}},
		{"429=-2s", []string{"duration"}},
		{"html=200", []string{"html=200", "400 to 599"}},
		{"oversize=lots", []string{"oversize=lots", "8MiB"}},
		{"500=2s", []string{"500 takes no argument"}},
		{"reset@FETCH", []string{`method "FETCH"`, "GET, POST, PATCH or DELETE"}},
		{"seed=abc", []string{"seed"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := sandbox.ParseFaults(tc.spec)
			if err == nil {
				t.Fatalf("ParseFaults(%q) accepted it", tc.spec)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// faultEnv is a sandbox on a loopback socket, called without keep-alive so that every request has a
// connection of its own (net/http's client silently resends an idempotent request that met a reset on
// a reused connection, which would hide the fault).
type faultEnv struct {
	sb   *sandbox.Sandbox
	url  string
	mgmt string
	hc   *http.Client
}

func newFaultEnv(t *testing.T, plan sandbox.Faults) *faultEnv {
	t.Helper()
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true, Faults: plan})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &faultEnv{sb: sb, url: srv.URL + "/api/v1", mgmt: sb.ManagementKey(), hc: &http.Client{Transport: tr}}
}

type wireAnswer struct {
	status int
	header http.Header
	body   string
	err    error // from sending or from reading the body
}

func (e *faultEnv) send(ctx context.Context, method, path, body string) wireAnswer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		return wireAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+e.mgmt)
	resp, err := e.hc.Do(req)
	if err != nil {
		return wireAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return wireAnswer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

func (e *faultEnv) create(t *testing.T) wireAnswer {
	t.Helper()
	return e.send(context.Background(), "POST", "/keys", `{"name":"k"}`)
}

func TestEachFaultOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		fault   string
		check   func(t *testing.T, a wireAnswer)
		applied bool // whether the create was carried out
	}{
		{"429", func(t *testing.T, a wireAnswer) {
			expectStatus(t, a, 429, `"message":"Rate limit exceeded"`, `"error_type":"rate_limit_exceeded"`)
			if a.header.Get("Retry-After") != "1" || a.header.Get("retry-after-ms") != "" {
				t.Errorf("Retry-After %q, retry-after-ms %q; want 1 and none", a.header.Get("Retry-After"), a.header.Get("retry-after-ms"))
			}
		}, false},
		{"429=1500ms", func(t *testing.T, a wireAnswer) {
			expectStatus(t, a, 429)
			if a.header.Get("Retry-After") != "2" || a.header.Get("retry-after-ms") != "1500" {
				t.Errorf("Retry-After %q, retry-after-ms %q; want 2 and 1500", a.header.Get("Retry-After"), a.header.Get("retry-after-ms"))
			}
		}, false},
		{"429=0", func(t *testing.T, a wireAnswer) {
			expectStatus(t, a, 429)
			if a.header.Get("Retry-After") != "" {
				t.Errorf("Retry-After %q, want none", a.header.Get("Retry-After"))
			}
		}, false},
		{"500", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 500, `"code":500`, "Internal Server Error") }, false},
		{"502", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 502, `"code":502`) }, false},
		{"503=30s", func(t *testing.T, a wireAnswer) {
			expectStatus(t, a, 503, `"code":503`)
			if a.header.Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q, want 30", a.header.Get("Retry-After"))
			}
		}, false},
		{"504", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 504) }, false},
		{"500+after", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 500) }, true},
		{"html", func(t *testing.T, a wireAnswer) {
			expectStatus(t, a, 502, "<html>", "502 Bad Gateway")
			if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
			}
		}, false},
		{"html=504+after", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 504, "<html>") }, true},
		{"reset", expectNoAnswer, false},
		{"reset+after", expectNoAnswer, true},
		{"cut", func(t *testing.T, a wireAnswer) {
			if a.status != 201 || a.err == nil || !strings.HasPrefix(a.body, `{"data":`) {
				t.Errorf("got %d %q (read error %v); want 201, the start of the answer, then a read error", a.status, a.body, a.err)
			}
		}, true},
		{"malformed", func(t *testing.T, a wireAnswer) {
			if a.status != 201 || a.err != nil || !strings.HasPrefix(a.body, `{"data":`) || strings.HasSuffix(strings.TrimSpace(a.body), "}") {
				t.Errorf("got %d %q (%v); want 201 and JSON cut short, read whole", a.status, a.body, a.err)
			}
		}, true},
		{"oversize=64KiB", func(t *testing.T, a wireAnswer) {
			if a.status != 201 || a.err != nil || len(a.body) != 64<<10 || !strings.Contains(a.body, `"key":"sk-or-v1-`) {
				t.Errorf("got %d, %d bytes (%v); want 201 and the answer padded to 65536 bytes", a.status, len(a.body), a.err)
			}
		}, true},
		{"delay=50ms", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 201) }, true},
		{"delay=50ms+after", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 201) }, true},
		{"ok", func(t *testing.T, a wireAnswer) { expectStatus(t, a, 201) }, true},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			plan, err := sandbox.ParseFaults(tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			e := newFaultEnv(t, plan)
			start := time.Now()
			tc.check(t, e.create(t))
			if strings.HasPrefix(tc.fault, "delay") && time.Since(start) < 50*time.Millisecond {
				t.Errorf("the answer came after %s, before the delay was over", time.Since(start))
			}
			if n := e.sb.KeyCount(e.mgmt); n != map[bool]int{false: 0, true: 1}[tc.applied] {
				t.Errorf("%d keys after the create; want the change carried out: %v", n, tc.applied)
			}
			// The script is spent: the next request is answered normally.
			expectStatus(t, e.create(t), 201)
			if tc.fault != "ok" {
				if got := e.sb.InjectedFaults(); len(got) != 1 || got[plan.Script[0].String()] != 1 {
					t.Errorf("InjectedFaults = %v, want one %s", got, plan.Script[0])
				}
			}
		})
	}
}

func expectStatus(t *testing.T, a wireAnswer, status int, contains ...string) {
	t.Helper()
	if a.err != nil || a.status != status {
		t.Fatalf("got %d %q (%v); want %d", a.status, a.body, a.err, status)
	}
	for _, c := range contains {
		if !strings.Contains(a.body, c) {
			t.Errorf("body %q does not contain %q", a.body, c)
		}
	}
}

func expectNoAnswer(t *testing.T, a wireAnswer) {
	t.Helper()
	if a.err == nil || a.status != 0 {
		t.Errorf("got %d %q; want no answer at all", a.status, a.body)
	}
}

func TestScriptedFaultsWaitForTheirMethod(t *testing.T) {
	e := newFaultEnv(t, sandbox.Faults{})
	e.sb.InjectNext(sandbox.Fault{Kind: sandbox.FaultUnavailable, Method: "POST"}, sandbox.Fault{Kind: sandbox.FaultInternal})
	ctx := context.Background()
	expectStatus(t, e.send(ctx, "GET", "/keys", ""), 200) // passes the POST fault by
	expectStatus(t, e.create(t), 503)
	expectStatus(t, e.send(ctx, "GET", "/keys", ""), 500)
	expectStatus(t, e.send(ctx, "GET", "/keys", ""), 200)
}

func TestSharesAreDrawnPerRequest(t *testing.T) {
	plan, err := sandbox.ParseFaults("500:20%,503@POST:30%,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]map[int]int {
		sb := sandbox.New(sandbox.Options{NoSampleKeys: true, Faults: plan})
		out := map[string]map[int]int{"GET": {}, "POST": {}}
		for i := range 4000 {
			method := []string{"GET", "POST"}[i%2]
			path, body := "/api/v1/key", io.Reader(nil)
			if method == "POST" {
				path, body = "/api/v1/keys", strings.NewReader(`{"name":"n"}`)
			}
			req := httptest.NewRequest(method, path, body)
			req.Header.Set("Authorization", "Bearer "+sb.ManagementKey())
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
			out[method][rec.Code]++
		}
		return out
	}
	got := counts()
	near := func(n, want int) bool { return n > want*8/10 && n < want*12/10 }
	if !near(got["GET"][500], 400) || !near(got["POST"][500], 400) || !near(got["POST"][503], 600) || got["GET"][503] != 0 {
		t.Errorf("of 2000 GETs and 2000 POSTs: %v; want about 20%% 500s each, about 30%% 503s on POST only", got)
	}
	if again := counts(); again["GET"][500] != got["GET"][500] || again["POST"][503] != got["POST"][503] {
		t.Errorf("the same seed drew differently: %v, then %v", got, again)
	}
}

func TestDelayNoticesTheClientLeaving(t *testing.T) {
	e := newFaultEnv(t, sandbox.Faults{Script: []sandbox.Fault{{Kind: sandbox.FaultDelay, Wait: time.Minute}}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if a := e.send(ctx, "GET", "/keys", ""); !errors.Is(a.err, context.DeadlineExceeded) {
		t.Fatalf("got %d %v, want the client's deadline", a.status, a.err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.sb.Abandoned() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if e.sb.Abandoned() != 1 {
		t.Errorf("Abandoned() = %d, want 1", e.sb.Abandoned())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s: the delay held the handler after the client left", time.Since(start))
	}
}

func TestSetFaultsAndConcurrentRequests(t *testing.T) {
	e := newFaultEnv(t, sandbox.Faults{})
	e.sb.SetFaults(sandbox.Faults{Shares: []sandbox.Share{
		{Fault: sandbox.Fault{Kind: sandbox.FaultReset, After: true}, Share: 0.25},
		{Fault: sandbox.Fault{Kind: sandbox.FaultInternal}, Share: 0.25},
	}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created, reset, failed int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				a := e.send(context.Background(), "POST", "/keys", `{"name":"c"}`)
				mu.Lock()
				switch {
				case a.err != nil:
					reset++
				case a.status == 201:
					created++
				default:
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created+reset+failed != 200 || reset == 0 || failed == 0 || created == 0 {
		t.Errorf("created %d, reset %d, failed %d; want all three", created, reset, failed)
	}
	// Resets came after the change: those keys exist too.
	if n := e.sb.KeyCount(e.mgmt); n != created+reset {
		t.Errorf("%d keys, want %d (created) + %d (reset after the change)", n, created, reset)
	}
	e.sb.SetFaults(sandbox.Faults{})
	expectStatus(t, e.create(t), 201)
	if got := e.sb.InjectedFaults(); got["reset+after"] != int64(reset) || got["500"] != int64(failed) {
		t.Errorf("InjectedFaults = %v; want reset+after %d, 500 %d (counts survive SetFaults)", got, reset, failed)
	}
}

func TestInvalidPlansPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"New": func() { sandbox.New(sandbox.Options{Faults: sandbox.Faults{Script: []sandbox.Fault{{Kind: "boom"}}}}) },
		"SetFaults": func() {
			sandbox.New(sandbox.Options{}).SetFaults(sandbox.Faults{Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: "500"}, Share: 2}}})
		},
		"InjectNext": func() {
			sandbox.New(sandbox.Options{}).InjectNext(sandbox.Fault{Kind: sandbox.FaultRateLimit, After: true})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// FuzzParseFaults: any text either parses into a plan whose text form reads back to the same plan, or
// fails with an error; never a panic.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"", "503*2,ok,500", "429=1500ms:5%", "500:0.00001%", "500:33.33335%,502:66.66665%", "reset+after@POST:10%", "html=504+after",
		"oversize=5MiB:1%", "delay=300ms:20%,seed=42", "500:60%,502:50%", "429+after", "delay=-1s", "*,:%@=+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := sandbox.ParseFaults(spec)
		if err != nil {
			if err.Error() == "" {
				t.Error("an empty error message")
			}
			return
		}
		again, err := sandbox.ParseFaults(p.String())
		if err != nil {
			t.Fatalf("%q parsed, but its text form %q does not: %v", spec, p.String(), err)
		}
		if again.String() != p.String() {
			t.Errorf("%q -> %q -> %q", spec, p.String(), again.String())
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%q parsed into a plan that does not validate: %v", spec, err)
		}
	})
}
