package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/logsafe"
)

// Defaults for HTTPOptions.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxInFlight    = 64
	DefaultBodyTimeout    = 10 * time.Second
	DefaultBodyMinRate    = 128 << 10 // a 1 MiB body may take 2 s + 8 s: the whole DefaultBodyTimeout
	DefaultMaxLargeBodies = 8
	DefaultMaxStreams     = 16
	DefaultMaxSessions    = 1000
	DefaultSessionIdleTTL = 10 * time.Minute
	DefaultProvisionalTTL = time.Minute
)

// Authenticator checks a request's bearer token and returns the context its MCP calls run in. The
// transport does not know what the token is (a caller's upstream key, or an access token of ours):
// main decides. An error means 401; its text is shown to the caller, so it must not hold the token.
type Authenticator func(ctx context.Context, token string) (context.Context, error)

// HTTPOptions configure the streamable HTTP transport. Every zero value means a safe default.
type HTTPOptions struct {
	Stateful       bool          // keep sessions (one instance only); default stateless, for replicas
	Auth           Authenticator // nil: no bearer token is asked for
	AuthHint       string        // what a caller without a valid token should send, for the 401 body
	AllowedOrigins []string      // browser origins allowed besides the server's own
	MaxBodyBytes   int64         // request body cap; DefaultMaxBodyBytes when zero
	MaxInFlight    int           // MCP requests served at once, once their bodies are in; DefaultMaxInFlight when zero
	Loopback       bool          // listening on loopback: only loopback Host headers are accepted
	Version        string        // reported by /healthz
	ToolNames      []string      // the tools a request may narrow itself to with X-MCP-Tools
	Logger         zerolog.Logger

	// IsSecret reports whether s holds a credential anywhere in it (a key, the access token): a
	// request whose query string does is refused, however the query is delimited or encoded, and a
	// path that does is not logged. It is asked about the raw query, its decoded forms and each name
	// and value in them. Nil refuses every request that has a query string (MCP needs none).
	IsSecret func(s string) bool

	// BodyTimeout is the longest a request body may take to arrive, counted from the end of its
	// headers; within it, a body of known length gets a fifth of BodyTimeout plus its length at
	// BodyMinRate. A body that is late gets 408 and its connection is closed. DefaultBodyTimeout
	// when zero.
	BodyTimeout time.Duration
	// BodyMinRate is the slowest average rate, in bytes a second, a body may arrive at (see
	// BodyTimeout). DefaultBodyMinRate when zero.
	BodyMinRate int64
	// MaxLargeBodies caps the requests with a body over 64 KiB being read at once (each is held in
	// memory whole); more get 429. DefaultMaxLargeBodies when zero.
	MaxLargeBodies int
	// MaxStreams caps the open event streams (GET /mcp in stateful mode, and subscriptions/listen),
	// which last as long as their clients like; they do not count against MaxInFlight, so open
	// streams cannot block calls. More get 429. DefaultMaxStreams when zero.
	MaxStreams int
	// MaxSessions caps the live sessions in stateful mode; an initialize beyond it gets 503 with a
	// JSON-RPC error saying so. mcp-go keeps about 12 KB a session. DefaultMaxSessions when zero.
	MaxSessions int
	// SessionIdleTTL ends a stateful session unused for this long (it may linger up to half as long
	// again: mcp-go sweeps every TTL/2). DefaultSessionIdleTTL when zero.
	SessionIdleTTL time.Duration

	// MaxInFlightPerCredential caps the calls served at once for one principal (see Principal: the
	// bearer credential, known by its digest, unless Auth names another), so that one caller cannot
	// take every call slot; MaxInFlight when zero, which is right when every caller shares one
	// access token.
	MaxInFlightPerCredential int
	// RatePerPrincipal is the requests a second one principal may send to /mcp, on average (a token
	// bucket, checked on the headers alone): more get 429 with Retry-After before their bodies are
	// read. Zero or less: no rate limit.
	RatePerPrincipal float64
	// BurstPerPrincipal is how many requests one principal may send at once above the rate (the
	// bucket's size); 1 when zero.
	BurstPerPrincipal int
	// MaxSessionsPerCredential caps the live sessions of one credential in stateful mode;
	// MaxSessions when zero.
	MaxSessionsPerCredential int
	// Vouch reports whether token, the credential of the request ctx belongs to, is known to be
	// accepted upstream; it may ask upstream, and should remember the answer. It is asked once per
	// initialize in stateful mode: a session whose credential it does not vouch for is provisional,
	// ends after ProvisionalSessionTTL, and provisional sessions hold at most half of MaxSessions.
	// Nil vouches for every credential that passed Auth (an access token of ours, say).
	Vouch func(ctx context.Context, token string) bool
	// ProvisionalSessionTTL is the life of a provisional session; DefaultProvisionalTTL when zero.
	ProvisionalSessionTTL time.Duration
	// OnRequest, when set, is told of every request to /mcp once it is answered: the MCP method and
	// tool the front door read from it ("" when none), its status, how long it took (metrics), and
	// the reason the front door refused it when its status does not say: "rate" for a tool call
	// over its principal's share of call slots, answered with a tool result; "" otherwise.
	OnRequest func(method, tool string, status int, refusal string, took time.Duration)
	// Resource, when set, is published at /.well-known/oauth-protected-resource (RFC 9728), and every
	// 401 and 403 challenge points at it: MCP clients find the identity provider from it.
	Resource *ProtectedResource
	// ScopeFor names the scope that permits tool, for the 403 challenge of a call beyond a request's
	// grant (WithGrant); nil names none.
	ScopeFor func(tool string) string
}

func (o *HTTPOptions) setDefaults() {
	setDefault(&o.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&o.MaxInFlight, DefaultMaxInFlight)
	setDefault(&o.BodyTimeout, DefaultBodyTimeout)
	setDefault(&o.BodyMinRate, DefaultBodyMinRate)
	setDefault(&o.MaxLargeBodies, DefaultMaxLargeBodies)
	setDefault(&o.MaxStreams, DefaultMaxStreams)
	setDefault(&o.MaxSessions, DefaultMaxSessions)
	setDefault(&o.SessionIdleTTL, DefaultSessionIdleTTL)
	setDefault(&o.MaxInFlightPerCredential, o.MaxInFlight)
	setDefault(&o.MaxSessionsPerCredential, o.MaxSessions)
	setDefault(&o.ProvisionalSessionTTL, DefaultProvisionalTTL)
}

// setDefault replaces a zero or negative setting with its default.
func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Narrowing is what a request asked of the tool set through its headers: X-MCP-Readonly: true, and
// X-MCP-Tools: a comma-separated list. It can only take tools away from what the server offers.
type Narrowing struct {
	ReadOnly bool
	Tools    []string
}

type narrowingKey struct{}

// NarrowingFrom returns the narrowing of the request ctx belongs to; the zero value over stdio.
func NarrowingFrom(ctx context.Context) Narrowing {
	n, _ := ctx.Value(narrowingKey{}).(Narrowing)
	return n
}

// RequestInfo returns the remote address and id of the HTTP request ctx belongs to; empty over stdio.
func RequestInfo(ctx context.Context) (remote, requestID string) {
	if rec := recordFrom(ctx); rec != nil {
		return rec.remote, rec.id
	}
	return "", ""
}

// NewHTTPHandler serves MCP at /mcp and a health check at /healthz. It returns the handler and a
// function to call when shutting down, which drains: /healthz answers 503 (not ready), new requests
// to /mcp get 503 with Retry-After, request bodies still arriving are cut off, event streams and
// open sessions end; it returns once the calls in flight have finished, or ctx ends.
func NewHTTPHandler(s *server.MCPServer, o HTTPOptions) (http.Handler, func(context.Context)) {
	o.setDefaults()
	shutdownCtx, shutdown := context.WithCancel(context.Background())
	opts := []server.StreamableHTTPOption{
		server.WithStreamableHTTPLogger(slog.New(zerolog.NewSlogHandler(o.Logger.Level(zerolog.WarnLevel)))),
	}
	var sessions *sessionStore
	if o.Stateful {
		sessions = newSessionStore(o.MaxSessions, o.MaxSessionsPerCredential, o.ProvisionalSessionTTL)
		opts = append(opts, server.WithSessionIdManagerResolver(sessions), server.WithSessionIdleTTL(o.SessionIdleTTL))
	} else {
		opts = append(opts, server.WithStateLess(true))
	}
	streamable := server.NewStreamableHTTPServer(s, opts...)
	if sessions != nil {
		sessions.end = func(id string) { endSession(streamable, id) }
	}

	lim := &limiter{
		o:       o,
		calls:   newSlots(o.MaxInFlight, "too many requests in flight"),
		replies: newSlots(maxReplies, "too many requests in flight"),
		mine: newShares[Principal](o.MaxInFlightPerCredential, "too many requests in flight from this caller: at most "+
			strconv.Itoa(o.MaxInFlightPerCredential)+" at once"),
		rate:     newBuckets(o.RatePerPrincipal, o.BurstPerPrincipal),
		large:    newSlots(o.MaxLargeBodies, "too many large requests being read"),
		streams:  newSlots(o.MaxStreams, "too many event streams open"),
		sessions: sessions,
		shutdown: shutdownCtx,
		next:     sendWhole(streamable),
	}
	mcpHandler := narrow(o.ToolNames, o.Resource, lim)
	mcpHandler = authenticate(o.Auth, o.AuthHint, o.Resource, mcpHandler)
	mcpHandler = checkOrigin(o.AllowedOrigins, mcpHandler)
	mcpHandler = refuseWhileDraining(shutdownCtx, mcpHandler)

	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if shutdownCtx.Err() != nil { // not ready: a load balancer takes it out of rotation
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining", "version": o.Version})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": o.Version})
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, httpError("/healthz answers GET"))
	})
	if o.Resource != nil {
		serveMetadata(mux, o.Resource)
	} else {
		signIn := checkOrigin(o.AllowedOrigins, noSignIn(o.AuthHint)) // nosignin.go: why these paths answer
		for _, p := range noSignInPaths {
			mux.Handle(p, signIn)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, httpError("not found: MCP is served at /mcp, health at /healthz"))
	})
	var h http.Handler = mux
	h = refuseQueryCredentials(o.IsSecret, h)
	if o.Loopback {
		h = checkLoopbackHost(h)
	}
	h = guardBodies(o.BodyTimeout, o.BodyMinRate, shutdownCtx, h)
	h = logRequests(o.Logger, o.IsSecret, o.OnRequest, h)
	return h, func(ctx context.Context) {
		shutdown()
		streamable.CloseSessions(ctx)
		lim.waitForCalls(ctx)
	}
}

// httpError is the JSON body of a refusal made before MCP is reached.
func httpError(msg string) map[string]any { return map[string]any{"error": msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkLoopbackHost refuses a Host that is not a loopback name: a page on another site that resolves
// its own name to 127.0.0.1 (DNS rebinding) must not reach a server meant only for this machine.
func checkLoopbackHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			writeJSON(w, http.StatusForbidden, httpError("forbidden Host header: this server listens on loopback "+
				"and answers only to localhost, 127.0.0.1 or [::1]"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// corsHeaders are the request headers a page of an allowed origin may send, and corsExposed the
// response headers it may read: what a browser MCP client (the MCP Inspector, say) needs, and the
// W3C trace context a page may send to join its trace.
const (
	corsHeaders = "Authorization, Content-Type, Accept, Last-Event-ID, Mcp-Session-Id, Mcp-Protocol-Version, X-MCP-Readonly, X-MCP-Tools, X-Request-Id, Traceparent, Tracestate"
	corsExposed = "Mcp-Session-Id, Mcp-Protocol-Version, Retry-After, X-Request-Id, WWW-Authenticate"
)

// checkOrigin refuses browser requests from other origins (the MCP specification requires servers to
// validate Origin). Requests without an Origin, from programs rather than pages, pass. A page of an
// origin allowed by --allowed-origins gets CORS: its preflight is answered here, before
// authentication (a browser sends no credentials with it), and its answers may be read.
func checkOrigin(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || sameOrigin(origin, r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		if slices.Contains(allowed, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", corsExposed)
			next.ServeHTTP(w, r)
			return
		}
		writeJSON(w, http.StatusForbidden, httpError("forbidden Origin: this server does not accept requests from "+
			"pages of other sites; its operator can allow an origin with --allowed-origins"))
	})
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

// authenticate asks for a bearer token when auth is set, and runs the request in the context it
// returns, with the request's principal: the one auth named, else the token's digest. Without auth
// every request is the anonymous principal. A refusal is 401 (403 for a ScopeError), with a challenge
// that points at the resource metadata when there is one.
func authenticate(auth Authenticator, hint string, res *ProtectedResource, next http.Handler) http.Handler {
	if auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		var err error
		ctx := r.Context()
		errCode := "" // RFC 6750: no error code when no credential was sent
		if !ok {
			err = errors.New("missing or malformed Authorization header")
		} else if ctx, err = auth(ctx, token); err != nil {
			errCode = "invalid_token"
		}
		if se, isScope := asScopeError(err); isScope {
			insufficientScope(w, res, se.Scope, err.Error())
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", challenge(res, errCode, ""))
			writeJSON(w, http.StatusUnauthorized, httpError(err.Error()+": "+hint))
			return
		}
		if _, named := ctx.Value(principalKey{}).(Principal); !named {
			ctx = WithPrincipal(ctx, CredentialPrincipal(token))
		}
		if rec := recordFrom(ctx); rec != nil {
			rec.principal = PrincipalFrom(ctx)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// narrow reads the tool-narrowing headers into the request's context, refusing malformed ones. A
// request whose credential permits only some tools (WithGrant) starts from those: the headers narrow
// within them.
func narrow(toolNames []string, res *ProtectedResource, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Narrowing
		grant, granted := grantFrom(r.Context())
		if granted && len(grant) == 0 { // an empty list would read as every tool
			insufficientScope(w, res, "", "the access token permits no tool")
			return
		}
		n.Tools = grant
		// Every value counts, and each can only narrow: a proxy that adds a header of its own is not
		// overruled by one the client sent first.
		for _, v := range r.Header.Values("X-MCP-Readonly") {
			b, err := strconv.ParseBool(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, httpError("X-MCP-Readonly must be true or false"))
				return
			}
			n.ReadOnly = n.ReadOnly || b
		}
		for i, v := range r.Header.Values("X-MCP-Tools") {
			var listed []string
			for _, name := range strings.Split(v, ",") {
				name = strings.TrimSpace(name)
				if !slices.Contains(toolNames, name) {
					writeJSON(w, http.StatusBadRequest, httpError("X-MCP-Tools names an unknown tool; valid tools are "+
						strings.Join(toolNames, ", ")))
					return
				}
				listed = append(listed, name)
			}
			if i == 0 && !granted {
				n.Tools = listed
			} else {
				n.Tools = slices.DeleteFunc(n.Tools, func(t string) bool { return !slices.Contains(listed, t) })
			}
			if len(n.Tools) == 0 { // no tool at all, which an empty list would read as every tool
				writeJSON(w, http.StatusBadRequest, httpError("the X-MCP-Tools headers leave no tool in common"))
				return
			}
		}
		if n.ReadOnly || len(n.Tools) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), narrowingKey{}, n))
		}
		next.ServeHTTP(w, r)
	})
}

// requestRecord collects what the request log line reports.
type requestRecord struct {
	id, remote   string
	method, tool string
	principal    Principal // whom the request acted for, once authenticated
	refusal      string    // why the front door refused it, when it answered with a tool result (overShare)
}

type recordKey struct{}

func recordFrom(ctx context.Context) *requestRecord {
	rec, _ := ctx.Value(recordKey{}).(*requestRecord)
	return rec
}

var requestIDShape = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// logRequests logs one line per request (never its headers or body, which carry credentials and
// secrets) and gives every request an id, taken from X-Request-Id when it is sane.
func logRequests(logger zerolog.Logger, isSecret func(string) bool, onRequest func(string, string, int, string, time.Duration), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDShape.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		rec := &requestRecord{id: id, remote: r.RemoteAddr}
		reqLog := logger.With().Str("request_id", id).Logger()
		ctx := context.WithValue(r.Context(), recordKey{}, rec)
		ctx = reqLog.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if onRequest != nil && r.URL.Path == "/mcp" {
			onRequest(rec.method, rec.tool, sw.status, rec.refusal, time.Since(start))
		}
		ev := reqLog.Info()
		if sw.status >= 500 {
			ev = reqLog.Error()
		}
		path := r.URL.Path
		if path != "/mcp" && path != "/healthz" && (isSecret == nil || isSecret(path)) {
			path = "[not logged: it may hold a credential]"
		}
		// The path, the method and the tool are the caller's words: clipped, so a line stays short.
		ev.Str("http_method", logsafe.Clip(r.Method)).Str("path", logsafe.Clip(path)).
			Str("rpc_method", logsafe.Clip(rec.method)).Str("tool", logsafe.Clip(rec.tool)).
			Int("status", sw.status).Dur("duration_ms", time.Since(start)).Str("remote", r.RemoteAddr).
			Str("principal", principalName(rec.principal)).Str("email", logsafe.Clip(rec.principal.Email)).Msg("http request")
	})
}

// statusWriter records the status code; it keeps Flush reachable, which streaming answers need.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// principalName names a request's principal in its log line; "" before one was known (a refusal).
func principalName(p Principal) string {
	if p.Kind == "" {
		return ""
	}
	return logsafe.Clip(p.String())
}
