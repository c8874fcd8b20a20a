package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// credential is the SHA-256 digest of the bearer token a request came with (of "" without one), or
// of a signed-in person's subject (credentialOf). A session remembers the digest of the credential
// that opened it, never the credential itself.
type credential [sha256.Size]byte

type credentialKey struct{}

// credentialOf is what a session of a request is bound to: a signed-in person (whose tokens are
// refreshed while the session lasts) by their subject, any other credential by its token.
func credentialOf(p Principal, token string) credential {
	if p.Kind == PrincipalPerson {
		return credential(sha256.Sum256([]byte("person\x00" + p.ID)))
	}
	return credential(sha256.Sum256([]byte(token)))
}

func credentialFrom(ctx context.Context) credential {
	c, _ := ctx.Value(credentialKey{}).(credential)
	return c
}

// errUnknownSession is what a session id that does not exist, or belongs to another credential,
// gets: the two are not told apart, so a session id cannot be probed for.
var errUnknownSession = errors.New("unknown session")

// sessionStore is mcp-go's session id manager for stateful mode. mcp-go's own stateful manager
// keeps every id it ever ended, accepts any credential presenting a known id, and has no bound;
// this one forgets ended sessions, binds each to the credential that opened it, and holds at most
// max (counting the initialize requests that reserved a place and are still running), at most
// mine.max for one credential, and at most maxProvisional provisional ones: sessions of a
// credential not known to be accepted upstream, which end (through end) after provisionalTTL.
type sessionStore struct {
	max            int
	mine           *shares[credential]
	maxProvisional int
	provisionalTTL time.Duration
	end            func(id string) // ends a session in mcp-go too; set before the first session opens

	mu          sync.Mutex
	sessions    map[string]session
	reserved    int
	provisional int // open or reserved
}

// session is what the store keeps of a live session.
type session struct {
	owner       credential
	provisional bool
}

func newSessionStore(limit, perCredential int, provisionalTTL time.Duration) *sessionStore {
	return &sessionStore{max: limit, mine: newShares[credential](perCredential, ""), maxProvisional: max(limit/2, 1),
		provisionalTTL: provisionalTTL, sessions: make(map[string]session)}
}

// reservation is a place held for the session an initialize request is about to open.
type reservation struct {
	session
	used bool
}

type reservationKey struct{}

// reserve holds a place for a new session of owner, or reports that there is none: the store, the
// owner's share or (for a provisional session) the provisional places are full.
func (s *sessionStore) reserve(owner credential, provisional bool) (*reservation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions)+s.reserved >= s.max || (provisional && s.provisional >= s.maxProvisional) || !s.mine.take(owner) {
		return nil, false
	}
	s.reserved++
	if provisional {
		s.provisional++
	}
	return &reservation{session: session{owner: owner, provisional: provisional}}, true
}

// unreserve gives back a place that no session took (the initialize failed before mcp-go asked for
// an id).
func (s *sessionStore) unreserve(res *reservation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !res.used {
		res.used = true
		s.reserved--
		s.forgetLocked(res.session)
	}
}

// forgetLocked gives back the owner's share and the provisional place of a session that ended, or
// of a reservation that opened none.
func (s *sessionStore) forgetLocked(ss session) {
	s.mine.give(ss.owner)
	if ss.provisional {
		s.provisional--
	}
}

// owns reports whether id is a live session opened with cred.
func (s *sessionStore) owns(id string, cred credential) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	return ok && ss.owner == cred
}

type adminKey struct{}

// ResolveSessionIdManager gives mcp-go a manager that acts for the request's credential. mcp-go
// passes a nil request from its idle sweeper and from CloseSessions: those act for the server and
// may end any session.
// The front door's own requests (ending a provisional session) act for the server too.
func (s *sessionStore) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	if r == nil || r.Context().Value(adminKey{}) != nil {
		return &sessionView{store: s, admin: true}
	}
	res, _ := r.Context().Value(reservationKey{}).(*reservation)
	return &sessionView{store: s, owner: credentialFrom(r.Context()), res: res}
}

// sessionView is the session store as one request (or the server itself, when admin) sees it.
type sessionView struct {
	store *sessionStore
	owner credential
	res   *reservation
	admin bool
}

// Generate opens a session in the place its initialize reserved. Without a reservation (mcp-go opens
// sessions only for initialize, which the front door always reserves for) the id returned is never
// valid.
func (v *sessionView) Generate() string {
	id := "mcp-session-" + rand.Text()
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.res == nil || v.res.used {
		return id
	}
	v.res.used = true
	s.reserved--
	s.sessions[id] = v.res.session
	if v.res.provisional {
		time.AfterFunc(s.provisionalTTL, func() { s.end(id) })
	}
	return id
}

// Validate accepts only a live session of the request's credential.
func (v *sessionView) Validate(id string) (isTerminated bool, err error) {
	if !v.admin && !v.store.owns(id, v.owner) {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate ends a session: any for the server, only its own for a request. An ended session is
// forgotten, so it answers as unknown (404) afterwards, as the specification asks.
func (v *sessionView) Terminate(id string) (isNotAllowed bool, err error) {
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return false, nil
	}
	if !v.admin && ss.owner != v.owner {
		return false, errUnknownSession
	}
	delete(s.sessions, id)
	s.forgetLocked(ss)
	return false, nil
}

// endSession ends session id in mcp-go as a DELETE from its owner would, acting for the server.
func endSession(mcpHandler http.Handler, id string) {
	ctx := context.WithValue(context.Background(), adminKey{}, true)
	r, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://localhost/mcp", nil)
	if err != nil {
		return // a constant URL: cannot happen
	}
	r.Header.Set(server.HeaderKeySessionID, id)
	r.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125) // sessions ended with 2026-07-28
	mcpHandler.ServeHTTP(discardResponse{}, r)
}

// discardResponse is where the answer to the front door's own requests to mcp-go goes.
type discardResponse struct{}

func (discardResponse) Header() http.Header         { return http.Header{} }
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) WriteHeader(int)             {}
