package openrouter

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// A short-lived cache of the reads of the controls beside the keys (guardrails, their assignments,
// members, BYOK credentials, workspaces). Since get_key, list_keys and audit_keys show each key's
// guardrail and creator, every such call reads five or more of these lists, which change far more
// rarely than the calls come: without the cache they cost more CPU than the keys themselves, and they
// crowd the walk of the keys out of its requests in flight. The keys themselves are never cached.

// DefaultControlsTTL is how long the server reuses an answer of the controls' lists: long enough that
// the calls of one agent's turn (a list_keys, then a get_key) and concurrent calls share their reads,
// short enough that a change made elsewhere (OpenRouter's dashboard, another tool) shows within the
// time it takes to turn back to the agent. This server's own changes through the same key are seen at
// once (they invalidate), and the calls that act on the controls read them fresh.
const DefaultControlsTTL = 5 * time.Second

// maxCached bounds the answers kept, over all keys: past it, the expired ones are dropped, and if that
// is not enough, all of them (an account's controls are a handful of pages; many callers' keys in
// caller-key mode are what could fill it).
const maxCached = 4096

type freshKey struct{}

// Fresh returns a context whose reads of the controls go to OpenRouter, not to the cache, nor join a
// read already under way: for the calls that act on what they read (rotate_key's successor,
// assign_guardrail's account of what it replaced, the assignments a plan to assign a guardrail binds
// and apply_plan's check of them). What they read refreshes the cache.
func Fresh(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

func isFresh(ctx context.Context) bool { v, _ := ctx.Value(freshKey{}).(bool); return v }

// credential is the digest of an upstream key: the cache and the lanes know keys by it, never by the
// key itself.
type credential = [sha256.Size]byte

func digest(key Secret) credential { return sha256.Sum256([]byte(key.Reveal())) }

// readCache holds answers of GETs by credential and request, each for ttl from when its read began,
// and makes concurrent identical reads one. It is a no-op when ttl is 0.
type readCache struct {
	ttl     time.Duration
	now     func() time.Time
	flights singleflight.Group

	mu      sync.Mutex
	seq     uint64 // orders reads and invalidations
	last    uint64 // the seq of the last change, through any credential
	entries map[cacheKey]cached
	changed map[credential]change // the last change made through each credential, within ttl
}

type cacheKey struct {
	cred credential
	req  string // method, path and query
}

type cached struct {
	val   any
	began time.Time // when its read began
}

type change struct {
	seq uint64
	at  time.Time
}

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, now: time.Now, entries: map[cacheKey]cached{}, changed: map[credential]change{}}
}

// invalidate drops what was read with key before now: a change was just made with it. Called once
// the change is answered, so that a read under way while it was made is not kept either.
func (rc *readCache) invalidate(key Secret) {
	if rc.ttl <= 0 {
		return
	}
	cred := digest(key)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.changed) >= maxCached { // many callers' keys making changes: forget the old changes
		rc.prune(rc.now())
	}
	rc.seq++
	rc.last = rc.seq
	rc.changed[cred] = change{seq: rc.seq, at: rc.now()}
	for k := range rc.entries {
		if k.cred == cred {
			delete(rc.entries, k)
		}
	}
}

// lookup returns the answer to k, if a fresh one is kept, and when its read began.
func (rc *readCache) lookup(k cacheKey) (any, time.Time, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, hit := rc.entries[k]
	if hit && rc.now().Sub(e.began) < rc.ttl {
		return e.val, e.began, true
	}
	if hit {
		delete(rc.entries, k)
	}
	return nil, time.Time{}, false
}

// begin numbers a read of k beginning now, and names the flight it may join: any change renews the
// name, so that no read joins one begun before a change through its credential (however long ago
// that was: the changes themselves are forgotten after ttl).
func (rc *readCache) begin(k cacheKey) (seq uint64, began time.Time, flight string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.seq++
	return rc.seq, rc.now(), string(k.cred[:]) + strconv.FormatUint(rc.last, 10) + " " + k.req
}

// store keeps the answer to k of a read begun at seq, unless a change through its credential came
// after that began, or the answer is too old already.
func (rc *readCache) store(k cacheKey, val any, seq uint64, began time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := rc.now()
	if now.Sub(began) >= rc.ttl || rc.changed[k.cred].seq > seq {
		return
	}
	if len(rc.entries) >= maxCached {
		rc.prune(now)
	}
	rc.entries[k] = cached{val: val, began: began}
}

// prune drops the expired answers, and all of them if that is not enough; and the changes older than
// ttl, which no kept answer can predate.
func (rc *readCache) prune(now time.Time) {
	for k, e := range rc.entries {
		if now.Sub(e.began) >= rc.ttl {
			delete(rc.entries, k)
		}
	}
	if len(rc.entries) >= maxCached {
		clear(rc.entries)
	}
	for cred, ch := range rc.changed {
		if now.Sub(ch.at) >= rc.ttl {
			delete(rc.changed, cred)
		}
	}
}

// cachedGet answers the GET req (its method, path and query) from the cache, or by read: made once for
// all the callers with the same key that ask at once (each waiting for it no longer than its own
// context lasts), and kept for the cache's ttl. clone copies an answer for one caller, its list
// and the items in it, so that no caller's change to them reaches another; lists inside an item (a
// guardrail's allowed models, an allow-list) are shared and read-only, as every caller treats them. Every read is made within the key's budget of requests in
// flight (inLane), with or without a cache, so that the controls read beside a walk of the keys keep
// the key within MaxPagesInFlight; an answer from the cache takes no room in it.
func cachedGet[T any](ctx context.Context, c *Client, req string, read func(context.Context) (*T, error), clone func(*T) *T) (*T, error) {
	laned := func(ctx context.Context) (v *T, err error) {
		err = c.inLane(ctx, func(ctx context.Context) (err error) { v, err = read(ctx); return err })
		return v, err
	}
	rc := c.cache
	if rc.ttl <= 0 {
		return laned(ctx)
	}
	k, err := c.cacheKeyOf(ctx, req)
	if err != nil {
		return nil, err
	}
	fresh := isFresh(ctx)
	if !fresh {
		if v, began, ok := rc.lookup(k); ok {
			noteRead(ctx, began)
			return clone(v.(*T)), nil
		}
	}
	seq, began, flight := rc.begin(k)
	do := func() (any, error) {
		v, err := laned(ctx)
		if err != nil && ctx.Err() != nil {
			return nil, leaderGaveUp{err}
		}
		if err != nil {
			return nil, err
		}
		rc.store(k, v, seq, began)
		return flightAnswer{v, began}, nil
	}
	if fresh {
		r, err := do()
		if err != nil {
			return nil, err
		}
		return clone(r.(flightAnswer).val.(*T)), nil
	}
	var r any
	select {
	case res := <-rc.flights.DoChan(flight, do):
		r, err = res.Val, res.Err
	case <-ctx.Done():
		// The read this caller joined is another's, bound by that caller's deadline: this one does
		// not wait past its own.
		return nil, c.gaveUp(ctx)
	}
	if errors.As(err, new(leaderGaveUp)) && ctx.Err() == nil {
		// The caller who led the flight gave up; this one has not: it reads for itself. (A read that
		// OpenRouter did not answer in time is not made again by every caller that joined it.)
		r, err = do()
	}
	if err != nil {
		return nil, err
	}
	noteRead(ctx, r.(flightAnswer).began) // a flight joined may have begun before this caller's own begin
	return clone(r.(flightAnswer).val.(*T)), nil
}

// cacheKeyOf is the cache's key of req for the OpenRouter key the call of ctx uses: its digest, never
// the key itself.
func (c *Client) cacheKeyOf(ctx context.Context, req string) (cacheKey, error) {
	key := c.keyFor(ctx)
	if key == "" {
		return cacheKey{}, ErrNoAPIKey
	}
	return cacheKey{cred: digest(key), req: req}, nil
}

// flightAnswer is an answer of a flight and when its read began.
type flightAnswer struct {
	val   any
	began time.Time
}

// Derived values: what a caller builds from the cached lists (the tools' index of the controls by key
// hash and member) is kept beside them, so that the calls within the TTL do not rebuild it.

type readsKey struct{}

// readTimes records, for a derived value being built, when the oldest of the answers it used began.
type readTimes struct {
	mu     sync.Mutex
	oldest time.Time
}

// noteRead tells the derived value being built on ctx, if any, that it used an answer begun at began.
func noteRead(ctx context.Context, began time.Time) {
	rt, _ := ctx.Value(readsKey{}).(*readTimes)
	if rt == nil {
		return
	}
	rt.mu.Lock()
	if began.Before(rt.oldest) {
		rt.oldest = began
	}
	rt.mu.Unlock()
}

// Derived returns what build makes of the controls' lists (name says what, and of which of them), kept
// in the cache as the lists are: until the oldest answer it used is the TTL old, or a change is made
// through the same key, whichever comes first. Reads on a Fresh context build it anew. The value is
// shared by every caller within the TTL: neither build's result nor anything it points to may be
// changed once build returns. Without a cache (a TTL of 0) build runs every time.
func Derived[T any](ctx context.Context, c *Client, name string, build func(context.Context) (*T, error)) (*T, error) {
	rc := c.cache
	if rc.ttl <= 0 {
		return build(ctx)
	}
	k, err := c.cacheKeyOf(ctx, "derived "+name)
	if err != nil {
		return nil, err
	}
	if !isFresh(ctx) {
		if v, began, ok := rc.lookup(k); ok {
			noteRead(ctx, began)
			return v.(*T), nil
		}
	}
	seq, began, _ := rc.begin(k)
	rt := &readTimes{oldest: began}
	v, err := build(context.WithValue(ctx, readsKey{}, rt))
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	oldest := rt.oldest
	rt.mu.Unlock()
	rc.store(k, v, seq, oldest)
	noteRead(ctx, oldest)
	return v, nil
}

// leaderGaveUp is the error of a read that ended because the context of the caller who made it ended,
// not because OpenRouter failed: the callers who joined the read and have not given up read for
// themselves.
type leaderGaveUp struct{ error }

func (e leaderGaveUp) Unwrap() error { return e.error }
