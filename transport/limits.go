package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// slots is a counting semaphore that never waits: a request beyond the cap is told to come back
// rather than queued without bound.
type slots struct {
	c    chan struct{}
	full string // what a request refused for want of a slot is told
}

func newSlots(n int, full string) slots { return slots{c: make(chan struct{}, n), full: full} }

// take takes a slot, or answers 429 and reports false.
func (s slots) take(w http.ResponseWriter) bool {
	if s.tryTake() {
		return true
	}
	s.refuse(w)
	return false
}

// tryTake takes a slot if one is free.
func (s slots) tryTake() bool {
	select {
	case s.c <- struct{}{}:
		return true
	default:
		return false
	}
}

// refuse answers 429 for want of a slot.
func (s slots) refuse(w http.ResponseWriter) { tooMany(w, s.full) }

func (s slots) give() { <-s.c }

// tooMany answers 429, saying what is full.
func tooMany(w http.ResponseWriter, full string) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, httpError(full+"; retry in a second"))
}

// shares caps how much of something (call slots, sessions) one holder (a credential's digest, a
// principal) holds at once, so that one caller, or one invented key, cannot take it all.
type shares[K comparable] struct {
	max  int
	full string // what a request refused for want of a share is told

	mu   sync.Mutex
	held map[K]int
}

func newShares[K comparable](max int, full string) *shares[K] {
	return &shares[K]{max: max, full: full, held: make(map[K]int)}
}

// take takes one for c, or reports that c holds its share already.
func (s *shares[K]) take(c K) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[c] >= s.max {
		return false
	}
	s.held[c]++
	return true
}

// give gives back one that c took.
func (s *shares[K]) give(c K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[c]--; s.held[c] <= 0 {
		delete(s.held, c)
	}
}

// maxDrain is net/http's maxPostHandlerReadBytes: the most of an unread body worth reading to
// let its sender finish.
const maxDrain = 256 << 10

// codeTooManySessions is the JSON-RPC error code of an initialize refused for want of room: one of
// the codes JSON-RPC leaves to servers (-32000 to -32099).
const codeTooManySessions = -32000

// largeBody is the size beyond which reading a body needs one of the few large-body slots: almost
// every MCP message is far smaller, and a cap on big buffers bounds what slow senders can pin.
const largeBody = 64 << 10

// bodyDeadline is how long a body of n bytes may take to arrive: a fifth of the timeout to get
// going, then at least minRate bytes a second, and never more than the timeout. A body of unknown
// length (n < 0) gets the fifth for its first bytes; arrived extends it as the body comes.
func bodyDeadline(timeout time.Duration, minRate int64, n int64) time.Duration {
	return min(timeout/5+atRate(max(n, 0), minRate), timeout)
}

// atRate is how long n bytes take at rate bytes a second.
func atRate(n, rate int64) time.Duration {
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}

// bodyGuard puts a read deadline on a request's body from the moment its headers are read until
// the body is in (bodyRead), and cuts the body off at once when the server shuts down. Headers
// alone decide whether a body is read at all (auth comes first), so a stalled or refused body
// holds a connection no longer than the deadline, and never holds up a shutdown.
type bodyGuard struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	stop func() bool // ends the shutdown watch; false when the shutdown already cut the body off
	done bool

	// for a body of unknown length (chunked), whose deadline moves as it arrives
	start, first     time.Time // when the headers were read; when the first bytes of the body came
	timeout          time.Duration
	minRate, arrival int64 // arrival: the bytes come so far
	shutdown         context.Context
}

type guardKey struct{}

// guardBodies guards every request that has a body. A request whose body is not read whole (it was
// refused, too large or too slow) gets its answer at once, and its connection is closed once what
// remains of a small body is read (so that a client still sending meets the answer, not a reset)
// within the same deadline: net/http would read it with no deadline at all, before answering.
func guardBodies(timeout time.Duration, minRate int64, shutdown context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 {
			next.ServeHTTP(w, r) // no body to stall on
			return
		}
		g := &bodyGuard{w: w, rc: http.NewResponseController(w), start: time.Now(), timeout: timeout,
			minRate: minRate, shutdown: shutdown}
		w.Header().Set("Connection", "close") // until the body is in; see bodyRead
		// Errors mean a writer without deadlines (a test recorder): nothing to guard there.
		_ = g.rc.SetReadDeadline(time.Now().Add(bodyDeadline(timeout, minRate, r.ContentLength)))
		g.stop = context.AfterFunc(shutdown, func() { _ = g.rc.SetReadDeadline(time.Now()) })
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), guardKey{}, g)))
		if !g.done {
			_ = g.rc.Flush()
			if r.ContentLength <= maxDrain { // net/http closes at once on more
				_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
			}
			g.stop()
			_ = g.rc.SetReadDeadline(time.Now()) // and net/http must not read on
		}
	})
}

// bodyRead lifts the deadline once the body is in: a call may then run as long as it needs (a read
// deadline left on the connection would cancel it), and the connection may be kept. It reports
// false when a shutdown cut the body off first.
func (g *bodyGuard) bodyRead() bool {
	if g == nil || g.done {
		return true
	}
	g.done = true
	if !g.stop() {
		return false
	}
	_ = g.rc.SetReadDeadline(time.Time{})
	g.w.Header().Del("Connection")
	return true
}

// arrived moves the deadline of a body of unknown length as n more bytes come: from its first
// bytes, a fifth of the timeout plus what came at the minimum rate, and never past the timeout from
// the headers. A body that trickles in, or stops, is cut off as soon as it falls behind.
func (g *bodyGuard) arrived(n int) {
	now := time.Now()
	if g.first.IsZero() {
		g.first = now
	}
	g.arrival += int64(n)
	d := g.first.Add(g.timeout/5 + atRate(g.arrival, g.minRate))
	if end := g.start.Add(g.timeout); d.After(end) {
		d = end
	}
	_ = g.rc.SetReadDeadline(d)
	if g.shutdown.Err() != nil { // the shutdown's own cut-off may have come just before ours
		_ = g.rc.SetReadDeadline(now)
	}
}

// arrivalReader reports to its guard what of a body of unknown length has come.
type arrivalReader struct {
	r io.Reader
	g *bodyGuard
}

func (a arrivalReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.g.arrived(n)
	}
	return n, err
}

func guardFrom(ctx context.Context) *bodyGuard {
	g, _ := ctx.Value(guardKey{}).(*bodyGuard)
	return g
}

// limiter admits MCP requests to mcp-go: bodies read whole under deadlines (few large ones at once)
// before anything else is held, then calls within the in-flight caps, event streams within their
// own cap, and new sessions within the session caps. It runs after the checks that need only
// headers (Origin, query, auth).
type limiter struct {
	o        HTTPOptions
	calls    slots
	replies  slots              // extra room to read answers to the server's own requests when calls are full
	mine     *shares[Principal] // call slots of one principal
	rate     *buckets           // nil: no rate per principal
	large    slots
	streams  slots
	sessions *sessionStore // nil when stateless
	shutdown context.Context
	next     http.Handler
}

func (l *limiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r.Header.Get("Authorization"))
	r = r.WithContext(context.WithValue(r.Context(), credentialKey{}, credentialOf(PrincipalFrom(r.Context()), token)))
	if !l.rate.admit(w, PrincipalFrom(r.Context())) {
		return // before the body is read: a flood costs its sender, not the server
	}
	switch r.Method {
	case http.MethodPost:
		l.post(w, r)
	case http.MethodGet:
		l.get(w, r)
	default:
		if r.Method == http.MethodDelete && !l.ownsSession(w, r) {
			return
		}
		release, ok := l.takeCall(w, r, rpcMessage{})
		if !ok {
			return
		}
		defer release()
		l.next.ServeHTTP(w, r)
	}
}

// maxReplies is the room kept for answers to the server's own requests (elicitation) when every call
// slot is taken.
const maxReplies = 8

// takeCall takes a call slot for msg, within the request's principal's share, or answers 429. When
// the call slots or the share are taken, a client's answer to a question a call is waiting on
// (elicitation, older protocol versions) still gets one of a few more: refusing it would hold the
// waiting call, and its slot, until it timed out. A tool call over its principal's share, while the
// server has slots free, is refused as a tool result instead (overShare).
func (l *limiter) takeCall(w http.ResponseWriter, r *http.Request, msg rpcMessage) (release func(), ok bool) {
	who := PrincipalFrom(r.Context())
	// The server's slots are asked first: when they are all taken the server is busy, whoever asks,
	// and says so with a 429 (as it does when the share is all of them, every caller sharing one
	// token).
	free := l.calls.tryTake()
	if free {
		if l.mine.take(who) {
			return func() { l.calls.give(); l.mine.give(who) }, true
		}
		l.calls.give()
	}
	if msg.Method == "" && len(msg.ID) > 0 && l.replies.tryTake() {
		return l.replies.give, true
	}
	switch {
	case !free:
		tooMany(w, l.calls.full)
	case msg.Method == string(mcp.MethodToolsCall):
		l.overShare(w, r, msg)
	default:
		tooMany(w, l.mine.full)
	}
	return nil, false
}

// overShareWait is how long a call refused for its principal's share is told to wait: as long as the
// 429s for want of a slot say, since a slot frees when any of the principal's calls ends.
const overShareWait = "1"

// overShare answers a tool call whose principal has its share of call slots already: the call got
// past the front door's rate and its body is in, so it is answered as MCP, with a tool result that
// says how long to wait. A 429 would reach the model, if at all, as a failure of the transport with
// the wait left out; a result it reads tells it, and its user, what to do.
func (l *limiter) overShare(w http.ResponseWriter, r *http.Request, msg rpcMessage) {
	res := mcp.NewToolResultError("Rate limited: this caller's calls running at once are at the server's limit of " +
		strconv.Itoa(l.o.MaxInFlightPerCredential) + " for one caller; nothing was done. Try again in " + overShareWait +
		" s, once one of them has finished.")
	if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		res.ResultType = mcp.ResultTypeComplete // required of every result from 2026-07-28 on
	}
	if rec := recordFrom(r.Context()); rec != nil {
		rec.refusal = "rate"
	}
	writeJSON(w, http.StatusOK, mcp.NewJSONRPCResultResponse(msg.requestID(), res))
}

// post reads the whole body before it takes anything that others wait for: a body that comes slowly,
// or never, holds its connection until its deadline and no call slot at all.
func (l *limiter) post(w http.ResponseWriter, r *http.Request) {
	body, ok := l.readBody(w, r)
	if !ok {
		return
	}
	msg := rpcMessageOf(body)
	if rec := recordFrom(r.Context()); rec != nil {
		rec.method, rec.tool = msg.Method, msg.Params.Name
	}
	if tool := msg.Params.Name; l.beyondGrant(r.Context(), tool) {
		scope := ""
		if l.o.ScopeFor != nil {
			scope = l.o.ScopeFor(tool)
		}
		insufficientScope(w, l.o.Resource, scope, "the access token does not permit "+tool+": it needs the scope "+scope+"; nothing was done")
		return
	}
	if msg.Method == "notifications/cancelled" && mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) &&
		!bytes.Contains(body, []byte(mcp.MetaKeyProtocolVersion)) {
		// The go-sdk client sends this at 2026-07-28 without the _meta version that mcp-go demands
		// of every modern POST, and a 400 would end its session. Over HTTP the cancellation is the
		// cancelled request's closed connection, which already ended the call.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if msg.Method == string(mcp.MethodSubscriptionsListen) {
		// A listen request is a modern client's event stream: it counts against the streams, not
		// the calls, and ends with the server.
		if !l.streams.take(w) {
			return
		}
		defer l.streams.give()
		var end func()
		r, end = l.endOnShutdown(r)
		defer end()
	} else {
		release, ok := l.takeCall(w, r, msg)
		if !ok {
			return
		}
		defer release()
	}
	if l.sessions != nil && msg.Method == string(mcp.MethodInitialize) {
		// A session lasts; one whose credential upstream has not accepted is provisional: short
		// lived, and kept to half the places.
		token, _ := bearerToken(r.Header.Get("Authorization"))
		provisional := l.o.Vouch != nil && !l.o.Vouch(r.Context(), token)
		res, ok := l.sessions.reserve(credentialFrom(r.Context()), provisional)
		if !ok {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusServiceUnavailable, mcp.NewJSONRPCError(msg.requestID(), codeTooManySessions,
				"too many open sessions: this server keeps at most "+strconv.Itoa(l.o.MaxSessions)+
					", and at most "+strconv.Itoa(l.o.MaxSessionsPerCredential)+" for one credential; retry later "+
					"(idle sessions expire), or end unused ones with DELETE", nil))
			return
		}
		defer l.sessions.unreserve(res)
		r = r.WithContext(context.WithValue(r.Context(), reservationKey{}, res))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	l.next.ServeHTTP(w, r)
}

// get serves the standalone event stream of a stateful session; stateless servers have none.
func (l *limiter) get(w http.ResponseWriter, r *http.Request) {
	if l.sessions == nil {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, httpError("this server is stateless and offers no event "+
			"stream: POST MCP messages to /mcp"))
		return
	}
	if r.ContentLength != 0 {
		writeJSON(w, http.StatusBadRequest, httpError("a GET request takes no body"))
		return
	}
	if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		l.next.ServeHTTP(w, r) // mcp-go explains that this protocol version has no GET stream
		return
	}
	if !l.ownsSession(w, r) {
		return
	}
	if !l.streams.take(w) {
		return
	}
	defer l.streams.give()
	r, end := l.endOnShutdown(r)
	defer end()
	l.next.ServeHTTP(w, r)
}

// ownsSession refuses a request (answering it) unless its Mcp-Session-Id names a live session opened
// with the request's own credential. Another caller's session is answered as unknown: 404.
func (l *limiter) ownsSession(w http.ResponseWriter, r *http.Request) bool {
	if l.sessions == nil || mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		return true
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	switch {
	case id == "":
		writeJSON(w, http.StatusBadRequest, httpError("missing Mcp-Session-Id header: initialize a session first"))
		return false
	case !l.sessions.owns(id, credentialFrom(r.Context())):
		writeJSON(w, http.StatusNotFound, httpError("unknown session: initialize a new one"))
		return false
	}
	return true
}

// endOnShutdown gives a long-lived stream a context that ends when the server shuts down, so that
// the stream does not hold the shutdown up (calls keep theirs, to finish within the grace period).
// Call end when the stream is over.
func (l *limiter) endOnShutdown(r *http.Request) (_ *http.Request, end func()) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(l.shutdown, cancel)
	return r.WithContext(ctx), func() { stop(); cancel() }
}

// readBody reads a POST body within MaxBodyBytes, under the guard's deadline; bodies over largeBody
// also need one of the MaxLargeBodies slots, taken only while they are read.
func (l *limiter) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	max := l.o.MaxBodyBytes
	if r.ContentLength > max {
		tooLarge(w, max)
		return nil, false
	}
	// Bodies over largeBody, declared or found out while reading one of unknown length, need a
	// large slot while they are read.
	large := false
	takeLarge := func() bool {
		large = l.large.take(w)
		return large
	}
	defer func() {
		if large {
			l.large.give()
		}
	}()
	if r.ContentLength > largeBody && !takeLarge() {
		return nil, false
	}
	var body io.Reader = r.Body
	if g := guardFrom(r.Context()); g != nil && r.ContentLength < 0 {
		body = arrivalReader{r: r.Body, g: g}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	limit := int64(largeBody)
	if large {
		limit = max
	}
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err == nil && int64(buf.Len()) > limit && !large {
		if !takeLarge() {
			return nil, false
		}
		_, err = buf.ReadFrom(io.LimitReader(body, max+1-int64(buf.Len())))
	}
	var ne net.Error
	switch {
	case err != nil && l.shutdown.Err() != nil:
		shuttingDown(w)
		return nil, false
	case errors.As(err, &ne) && ne.Timeout():
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, httpError("the request body came too slowly"))
		return nil, false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, httpError("could not read the request body"))
		return nil, false
	case int64(buf.Len()) > max:
		tooLarge(w, max)
		return nil, false
	case !guardFrom(r.Context()).bodyRead():
		shuttingDown(w)
		return nil, false
	}
	return buf.Bytes(), true
}

func tooLarge(w http.ResponseWriter, max int64) {
	writeJSON(w, http.StatusRequestEntityTooLarge, httpError("request body larger than "+strconv.FormatInt(max, 10)+" bytes"))
}

func shuttingDown(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusServiceUnavailable, httpError("the server is shutting down"))
}

// rpcMessage is what the front door reads of a JSON-RPC message: its id and method and, for
// tools/call, the tool's name (for the request log).
type rpcMessage struct {
	ID     json.RawMessage `json:"id"` // with no method: a response to a request of the server's
	Method string          `json:"method"`
	Params struct {
		Name string `json:"name"`
	} `json:"params"`
}

func rpcMessageOf(body []byte) rpcMessage {
	var msg rpcMessage
	if json.Unmarshal(body, &msg) != nil {
		return rpcMessage{}
	}
	if msg.Method != string(mcp.MethodToolsCall) {
		msg.Params.Name = ""
	}
	return msg
}

// requestID returns the message's id, for an error answer to it (null when it has none).
func (m rpcMessage) requestID() mcp.RequestId {
	var id mcp.RequestId
	if len(m.ID) > 0 {
		_ = json.Unmarshal(m.ID, &id)
	}
	return id
}

// beyondGrant reports whether tool, called by a request, is a tool of the server's that the request's
// credential does not permit: refused here, before any slot is taken or anything sent upstream.
func (l *limiter) beyondGrant(ctx context.Context, tool string) bool {
	grant, granted := grantFrom(ctx)
	return granted && tool != "" && slices.Contains(l.o.ToolNames, tool) && !slices.Contains(grant, tool)
}
