package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// credential is the SHA-256 digest of the bearer token a request came with (of "" without one). A
// session remembers the digest of the credential that opened it, never the credential itself.
type credential [sha256.Size]byte

type credentialKey struct{}

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
// max (counting the initialize requests that reserved a place and are still running).
type sessionStore struct {
	max int

	mu       sync.Mutex
	owners   map[string]credential
	reserved int
}

func newSessionStore(max int) *sessionStore {
	return &sessionStore{max: max, owners: make(map[string]credential)}
}

// reservation is a place held for the session an initialize request is about to open.
type reservation struct{ used bool }

type reservationKey struct{}

// reserve holds a place for a new session, or reports that the store is full.
func (s *sessionStore) reserve() (*reservation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.owners)+s.reserved >= s.max {
		return nil, false
	}
	s.reserved++
	return &reservation{}, true
}

// unreserve gives back a place that no session took (the initialize failed before mcp-go asked for
// an id).
func (s *sessionStore) unreserve(res *reservation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !res.used {
		res.used = true
		s.reserved--
	}
}

// owns reports whether id is a live session opened with cred.
func (s *sessionStore) owns(id string, cred credential) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.owners[id]
	return ok && owner == cred
}

// ResolveSessionIdManager gives mcp-go a manager that acts for the request's credential. mcp-go
// passes a nil request from its idle sweeper and from CloseSessions: those act for the server and
// may end any session.
func (s *sessionStore) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	if r == nil {
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

// Generate opens a session for the request's credential, in the place its initialize reserved.
// Without a reservation (mcp-go opens sessions only for initialize, which the front door always
// reserves for) a session is opened only below the cap; otherwise the id returned is never valid.
func (v *sessionView) Generate() string {
	id := "mcp-session-" + rand.Text()
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case v.res != nil && !v.res.used:
		v.res.used = true
		s.reserved--
	case len(s.owners)+s.reserved >= s.max:
		return id
	}
	s.owners[id] = v.owner
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
	owner, ok := s.owners[id]
	if !ok {
		return false, nil
	}
	if !v.admin && owner != v.owner {
		return false, errUnknownSession
	}
	delete(s.owners, id)
	return false, nil
}
