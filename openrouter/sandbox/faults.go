package sandbox

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault injection: the sandbox can fail on purpose, the ways OpenRouter and the CDN in front of it
// fail, so that clients can be tested for what they do then. A fault either replaces the request
// (the change is not made) or, with After, is applied once the request has been carried out: the
// change is made and its answer is lost, the case where a client that blindly retries a create makes
// a second key.
//
// Faults come from a plan, Options.Faults (or SetFaults, or ParseFaults for the text form): a script,
// played first, one fault per request; then shares, each hitting that share of the requests at
// random.

// FaultKind names a kind of fault.
type FaultKind string

// The kinds of fault. The status kinds answer with OpenRouter's JSON error body.
const (
	FaultNone           FaultKind = "ok"        // no fault: a scripted request that passes untouched
	FaultRateLimit      FaultKind = "429"       // 429 with Retry-After (Fault.Wait; 1 s by default)
	FaultInternal       FaultKind = "500"       // 500 Internal Server Error
	FaultBadGateway     FaultKind = "502"       // 502 Bad Gateway
	FaultUnavailable    FaultKind = "503"       // 503 Service Unavailable, with Retry-After when Fault.Wait is set
	FaultGatewayTimeout FaultKind = "504"       // 504 Gateway Timeout
	FaultReset          FaultKind = "reset"     // the connection is reset without an answer
	FaultCut            FaultKind = "cut"       // the answer's headers and half its body, then a reset (always After)
	FaultHTML           FaultKind = "html"      // a CDN's HTML error page (status Fault.Status, 502 by default)
	FaultMalformed      FaultKind = "malformed" // the answer's status with half its body: JSON cut short (always After)
	FaultOversize       FaultKind = "oversize"  // the answer padded to Fault.Size bytes (8 MiB by default; always After)
	FaultDelay          FaultKind = "delay"     // the answer comes Fault.Wait late
)

// faultKinds lists the kinds in the order error messages name them.
var faultKinds = []FaultKind{FaultRateLimit, FaultInternal, FaultBadGateway, FaultUnavailable, FaultGatewayTimeout,
	FaultReset, FaultCut, FaultHTML, FaultMalformed, FaultOversize, FaultDelay, FaultNone}

// Defaults of a Fault's parameters.
const (
	DefaultRateLimitWait = time.Second
	DefaultOversizeBytes = 8 << 20
)

// Fault is one failure to inject.
type Fault struct {
	Kind FaultKind
	// Wait is the Retry-After of a 429 or 503 (whole seconds are sent as Retry-After, anything else as
	// retry-after-ms as well), or the latency a delay adds. A 429 with no Wait says 1 s; a negative
	// Wait sends no Retry-After at all.
	Wait time.Duration
	// Status is the status of an html fault; 502 when zero.
	Status int
	// Size is the body size of an oversize fault; DefaultOversizeBytes when zero.
	Size int
	// After applies the fault once the request has been carried out: the change is made, the answer
	// is lost (or late, for delay). cut, malformed and oversize always work so; a 429 never does,
	// since it says the request was not carried out.
	After bool
	// Method limits the fault to requests with this method (GET, POST, PATCH or DELETE); "" is any.
	Method string
}

// after reports whether the request is carried out before the fault is applied.
func (f Fault) after() bool {
	return f.After || f.Kind == FaultCut || f.Kind == FaultMalformed || f.Kind == FaultOversize
}

func (f Fault) matches(method string) bool { return f.Method == "" || f.Method == method }

// String is the fault in the text form ParseFaults reads, e.g. "reset+after@POST".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch {
	case (f.Kind == FaultRateLimit || f.Kind == FaultUnavailable || f.Kind == FaultDelay) && f.Wait > 0:
		b.WriteString("=" + f.Wait.String())
	case (f.Kind == FaultRateLimit || f.Kind == FaultUnavailable) && f.Wait < 0:
		b.WriteString("=0")
	case f.Kind == FaultHTML && f.Status != 0:
		b.WriteString("=" + strconv.Itoa(f.Status))
	case f.Kind == FaultOversize && f.Size != 0:
		b.WriteString("=" + strconv.Itoa(f.Size))
	}
	if f.After && f.Kind != FaultCut && f.Kind != FaultMalformed && f.Kind != FaultOversize {
		b.WriteString("+after")
	}
	if f.Method != "" {
		b.WriteString("@" + f.Method)
	}
	return b.String()
}

// Validate says what is wrong with a fault, if anything.
func (f Fault) Validate() error {
	if !slices.Contains(faultKinds, f.Kind) {
		return errors.New("unknown fault " + strconv.Quote(string(f.Kind)) + ": want one of " + kindList())
	}
	switch {
	case f.Kind == FaultRateLimit && f.After:
		return errors.New("429+after: a 429 tells the client the request was not carried out, so it cannot follow " +
			"a change that was made; use 500+after, 502+after, 503+after, reset+after or cut for a lost answer")
	case f.Kind == FaultNone && f.After:
		return errors.New("ok+after: ok is no fault; it cannot come after anything")
	case f.Kind == FaultDelay && f.Wait <= 0:
		return errors.New("delay needs a positive duration, e.g. delay=300ms")
	case f.Kind == FaultHTML && f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return errors.New("html=" + strconv.Itoa(f.Status) + ": the status of an error page must be between 400 and 599")
	case f.Kind == FaultOversize && f.Size < 0:
		return errors.New("oversize needs a positive size, e.g. oversize=8MiB")
	}
	switch f.Method {
	case "", http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return errors.New("method " + strconv.Quote(f.Method) + ": want GET, POST, PATCH or DELETE")
	}
	return nil
}

// Share is a fault that hits a share of the requests it matches, at random.
type Share struct {
	Fault
	Share float64 // from 0.000001 (0.0001%) to 1
}

// minShare is the finest share: 0.0001%.
const minShare = 1e-6

// Faults is a plan of faults. The zero value injects none.
type Faults struct {
	// Script is played first, in order: each fault hits the next request it matches (a request that
	// does not match the next fault passes it by and may draw a share instead).
	Script []Fault
	// Shares are drawn for every request once the script no longer applies: one draw per request,
	// so at most one share hits it. They must add up to at most 100%.
	Shares []Share
	// Seed makes the draws repeatable; 0 draws a random seed.
	Seed uint64
}

// IsZero reports whether the plan injects nothing.
func (p Faults) IsZero() bool { return len(p.Script) == 0 && len(p.Shares) == 0 }

// Validate says what is wrong with a plan, if anything.
func (p Faults) Validate() error {
	for _, f := range p.Script {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	total := 0.0
	for _, s := range p.Shares {
		if err := s.Fault.Validate(); err != nil {
			return err
		}
		if s.Fault.Kind == FaultNone {
			return errors.New("ok takes no share: requests that draw no fault pass untouched already")
		}
		if !(s.Share >= minShare && s.Share <= 1) {
			return errors.New(s.Fault.String() + ": the share must be from 0.0001% to 100%")
		}
		total += s.Share
	}
	if total > 1+1e-9 {
		return errors.New("the shares add up to " + formatPercent(total) + ", more than 100%")
	}
	return nil
}

// String is the plan in the text form ParseFaults reads.
func (p Faults) String() string {
	var items []string
	for i := 0; i < len(p.Script); {
		n := 1
		for i+n < len(p.Script) && p.Script[i+n] == p.Script[i] {
			n++
		}
		item := p.Script[i].String()
		if n > 1 {
			item += "*" + strconv.Itoa(n)
		}
		items = append(items, item)
		i += n
	}
	for _, s := range p.Shares {
		items = append(items, s.Fault.String()+":"+formatPercent(s.Share))
	}
	if p.Seed != 0 {
		items = append(items, "seed="+strconv.FormatUint(p.Seed, 10))
	}
	return strings.Join(items, ",")
}

// formatPercent writes a share as a percentage with at most four decimals, the precision ParseFaults
// keeps, so that the text form reads back to the same plan.
func formatPercent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e4, 'f', -1, 64) + "%"
}

func kindList() string {
	names := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		names[i] = string(k)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// FaultSpecHelp describes the text form of a plan, for a command's help.
const FaultSpecHelp = `comma-separated faults: FAULT[=ARG][+after][@METHOD][:SHARE% | *COUNT] or seed=N.
A fault with a SHARE hits that share of the requests at random; one without is scripted: it hits the next
request (COUNT times), before any share applies. Faults: 429[=WAIT] 500 502 503[=WAIT] 504 reset cut
html[=STATUS] malformed oversize[=SIZE] delay=DURATION, and ok (a scripted pass). +after carries the
request out first, so the change is made and the answer lost. Example: 503*2,ok,reset+after@POST:10%,delay=300ms:20%`

// ParseFaults reads a plan from its text form: comma-separated items, each a fault with an optional
// share or count, or seed=N.
//
//	ITEM  = FAULT [ "=" ARG ] [ "+after" ] [ "@" METHOD ] [ ":" SHARE "%" | "*" COUNT ]  |  "seed=" N
//
// A fault with a share hits that share of the requests it matches, at random (shares add up to at
// most 100%); a fault without one is scripted: it hits the next request it matches, COUNT times (once
// by default), in the order given, before any share applies. ARG is the Retry-After of 429 and 503 (a
// duration such as 2s or 1500ms; 0 sends none), the latency of delay, the status of html, or the size
// of oversize (bytes, or with KiB or MiB). +after carries the request out first: the change is made
// and the answer is lost. METHOD is GET, POST, PATCH or DELETE.
//
// Examples: "503*2,ok,500" (two 503s, a normal answer, a 500, then no faults);
// "429=2s:5%,reset+after@POST:10%,delay=300ms:20%,seed=42".
func ParseFaults(spec string) (Faults, error) {
	var p Faults
	for raw := range strings.SplitSeq(spec, ",") {
		item := strings.TrimSpace(raw)
		if item == "" {
			continue
		}
		if v, ok := strings.CutPrefix(item, "seed="); ok {
			seed, err := strconv.ParseUint(v, 10, 64)
			if err != nil || seed == 0 {
				return Faults{}, errors.New("fault " + strconv.Quote(item) + ": the seed must be a positive whole number")
			}
			p.Seed = seed
			continue
		}
		f, share, count, err := parseItem(item)
		if err != nil {
			return Faults{}, errors.New("fault " + strconv.Quote(item) + ": " + err.Error())
		}
		if share > 0 {
			p.Shares = append(p.Shares, Share{Fault: f, Share: share})
			continue
		}
		for range count {
			p.Script = append(p.Script, f)
		}
	}
	if err := p.Validate(); err != nil {
		return Faults{}, err
	}
	return p, nil
}

// parseItem reads FAULT[=ARG][+after][@METHOD][:SHARE%|*COUNT].
func parseItem(item string) (f Fault, share float64, count int, err error) {
	count = 1
	if i := strings.LastIndexAny(item, ":*"); i >= 0 {
		head, tail := item[:i], item[i+1:]
		if item[i] == ':' {
			v, ok := strings.CutSuffix(tail, "%")
			pct, perr := strconv.ParseFloat(v, 64)
			pct = math.Round(pct*1e4) / 1e4 // the finest share is 0.0001%
			if !ok || perr != nil || !(pct > 0 && pct <= 100) {
				return f, 0, 0, errors.New("the share must be a percentage from 0.0001% to 100%, e.g. :10%")
			}
			share = pct / 100
		} else {
			n, perr := strconv.Atoi(tail)
			if perr != nil || n < 1 || n > 1_000_000 {
				return f, 0, 0, errors.New("the count must be a whole number from 1 to 1000000, e.g. *3")
			}
			count = n
		}
		item = head
	}
	if strings.Contains(item, "+after") {
		f.After = true
		item = strings.Replace(item, "+after", "", 1)
	}
	if head, method, ok := strings.Cut(item, "@"); ok {
		f.Method = strings.ToUpper(method)
		item = head
	}
	kind, arg, hasArg := strings.Cut(item, "=")
	f.Kind = FaultKind(strings.ToLower(kind))
	if !slices.Contains(faultKinds, f.Kind) {
		return f, 0, 0, errors.New("unknown kind " + strconv.Quote(kind) + ": want one of " + kindList())
	}
	if hasArg {
		if err := f.setArg(arg); err != nil {
			return f, 0, 0, err
		}
	} else if f.Kind == FaultDelay {
		return f, 0, 0, errors.New("delay needs a duration, e.g. delay=300ms")
	}
	if share > 0 && f.Kind == FaultNone {
		return f, 0, 0, errors.New("ok takes no share: requests that draw no fault pass untouched already")
	}
	return f, share, count, f.Validate()
}

func (f *Fault) setArg(arg string) error {
	switch f.Kind {
	case FaultRateLimit, FaultUnavailable, FaultDelay:
		if arg == "0" && f.Kind != FaultDelay {
			f.Wait = -1 // no Retry-After at all
			return nil
		}
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 || d > 24*time.Hour {
			return errors.New(string(f.Kind) + "=" + arg + ": want a duration from 1ms to 24h, e.g. " + string(f.Kind) + "=2s")
		}
		f.Wait = d
	case FaultHTML:
		n, err := strconv.Atoi(arg)
		if err != nil || n < 400 || n > 599 {
			return errors.New("html=" + arg + ": want the page's status, from 400 to 599, e.g. html=503")
		}
		f.Status = n
	case FaultOversize:
		n, err := parseSize(arg)
		if err != nil {
			return errors.New("oversize=" + arg + ": " + err.Error())
		}
		f.Size = n
	default:
		return errors.New(string(f.Kind) + " takes no argument")
	}
	return nil
}

// parseSize reads a byte count: digits, optionally followed by KiB or MiB; at most 1 GiB.
func parseSize(s string) (int, error) {
	mult := 1
	if v, ok := strings.CutSuffix(s, "MiB"); ok {
		s, mult = v, 1<<20
	} else if v, ok := strings.CutSuffix(s, "KiB"); ok {
		s, mult = v, 1<<10
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > (1<<30)/mult {
		return 0, errors.New("want a size from 1 byte to 1024MiB, e.g. 8MiB, 512KiB or 5000000")
	}
	return n * mult, nil
}

// injector holds a plan as it is played.
type injector struct {
	mu     sync.Mutex
	script []Fault
	shares []Share
	rng    *rand.Rand
	counts map[string]int64
	// abandoned counts requests whose client left while a delay held them.
	abandoned int64
}

func newInjector(p Faults) *injector {
	seed := p.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &injector{
		script: slices.Clone(p.Script),
		shares: slices.Clone(p.Shares),
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: make(map[string]int64),
	}
}

// next picks the fault for a request, if any, and counts it.
func (in *injector) next(method string) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.script) > 0 && in.script[0].matches(method) {
		f := in.script[0]
		in.script = in.script[1:]
		if f.Kind == FaultNone {
			return Fault{}, false
		}
		in.counts[f.String()]++
		return f, true
	}
	if len(in.shares) == 0 {
		return Fault{}, false
	}
	r := in.rng.Float64()
	for _, s := range in.shares {
		if r < s.Share {
			if !s.Fault.matches(method) {
				return Fault{}, false
			}
			in.counts[s.Fault.String()]++
			return s.Fault, true
		}
		r -= s.Share
	}
	return Fault{}, false
}

// SetFaults replaces the fault plan: the script starts again from its beginning and the counts of
// injected faults are kept. It panics on a plan that does not Validate. An empty plan ends injection.
func (s *Sandbox) SetFaults(p Faults) {
	if err := p.Validate(); err != nil {
		panic("sandbox: SetFaults: " + err.Error())
	}
	in := newInjector(p)
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.faults != nil {
		s.faults.mu.Lock()
		in.counts, in.abandoned = s.faults.counts, s.faults.abandoned
		s.faults.mu.Unlock()
	}
	s.faults = in
}

// InjectNext appends faults to the script: each hits the next request it matches, in order, after
// the ones already scripted. It panics on a fault that does not Validate.
func (s *Sandbox) InjectNext(faults ...Fault) {
	for _, f := range faults {
		if err := f.Validate(); err != nil {
			panic("sandbox: InjectNext: " + err.Error())
		}
	}
	in := s.injector()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.script = append(in.script, faults...)
}

// InjectedFaults returns how many times each fault was injected, by its text form (e.g.
// "reset+after@POST").
func (s *Sandbox) InjectedFaults() map[string]int64 {
	in := s.injector()
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int64, len(in.counts))
	for k, v := range in.counts {
		out[k] = v
	}
	return out
}

// Abandoned returns how many requests held by a delay fault were given up by their client before the
// delay was over; tests use it to see a client's cancellation reach the server.
func (s *Sandbox) Abandoned() int64 {
	in := s.injector()
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.abandoned
}

func (s *Sandbox) injector() *injector {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// serveFault answers r with fault f.
func (s *Sandbox) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if !f.after() {
		if f.Kind == FaultDelay {
			// Read the body first: net/http notices a client leaving (and cancels r's context) only
			// once the body has been read. The endpoint reads the copy.
			body, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
			r.Body = io.NopCloser(bytes.NewReader(body))
			if s.hold(r, f.Wait) {
				s.serve(w, r)
			}
			return
		}
		// The request arrives whole, as it would at a real server, but is not carried out.
		_, _ = readBody(w, r)
		switch f.Kind {
		case FaultReset:
			reset(w, true)
		default:
			writeFaultStatus(w, f)
		}
		return
	}
	rec := &recorder{header: make(http.Header), status: http.StatusOK}
	s.serve(rec, r) // the change is made
	switch f.Kind {
	case FaultDelay:
		if s.hold(r, f.Wait) {
			rec.copyTo(w, rec.body.Bytes())
		}
	case FaultReset:
		reset(w, true)
	case FaultCut:
		body := rec.body.Bytes()
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		reset(w, false)
	case FaultMalformed:
		body := rec.body.Bytes()
		rec.copyTo(w, body[:len(body)/2])
	case FaultOversize:
		size := f.Size
		if size == 0 {
			size = DefaultOversizeBytes
		}
		body := rec.body.Bytes()
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(max(size, len(body))))
		w.WriteHeader(rec.status)
		// Leading white space keeps the body valid JSON: a client without a size cap reads it whole.
		pad := bytes.Repeat([]byte{' '}, 32<<10)
		for n := size - len(body); n > 0; n -= len(pad) {
			if _, err := w.Write(pad[:min(n, len(pad))]); err != nil {
				return
			}
		}
		_, _ = w.Write(body)
	default:
		writeFaultStatus(w, f)
	}
}

// hold waits d, or until the client leaves; it reports whether the client is still there.
func (s *Sandbox) hold(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		in := s.injector()
		in.mu.Lock()
		in.abandoned++
		in.mu.Unlock()
		return false
	}
}

// writeFaultStatus writes a status fault: OpenRouter's JSON error body, or a CDN's HTML page.
func writeFaultStatus(w http.ResponseWriter, f Fault) {
	if f.Kind == FaultHTML {
		status := f.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		text := strconv.Itoa(status) + " " + http.StatusText(status)
		page := "<!DOCTYPE html>\n<html>\n<head><title>" + text + "</title></head>\n<body>\n<center><h1>" + text +
			"</h1></center>\n<hr><center>cloudflare</center>\n</body>\n</html>\n"
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(page))
		return
	}
	status, _ := strconv.Atoi(string(f.Kind))
	wait := f.Wait
	if f.Kind == FaultRateLimit && wait == 0 {
		wait = DefaultRateLimitWait
	}
	if wait > 0 {
		secs := (wait + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		if wait%time.Second != 0 {
			w.Header().Set("retry-after-ms", strconv.FormatInt(wait.Milliseconds(), 10))
		}
	}
	if f.Kind == FaultRateLimit {
		writeJSON(w, status, wireError{Error: wireErrorData{Code: status, Message: "Rate limit exceeded",
			Metadata: map[string]any{"error_type": "rate_limit_exceeded"}}})
		return
	}
	writeJSON(w, status, errorBody(status, http.StatusText(status)))
}

// reset ends the connection without (the rest of) an answer, when the connection can be taken over:
// with a TCP reset when hard, else with a plain close, so the client reads what was sent and then the
// end. Otherwise (HTTP/2) it aborts the way net/http does for http.ErrAbortHandler, which it does not
// log.
func reset(w http.ResponseWriter, hard bool) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tcp, ok := conn.(*net.TCPConn); ok && hard {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// recorder keeps an answer so that a fault can replace or damage it after the request was carried out.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}

// copyTo writes the recorded answer to w with body in place of the recorded one.
func (r *recorder) copyTo(w http.ResponseWriter, body []byte) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.status)
	_, _ = w.Write(body)
}
