package openrouter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Reading whole offset-paged listings (the keys of one or more workspaces) a few pages at a time.
// The walker lives here rather than in tools because it must share two things only the client
// holds: the per-key budget of requests in flight, and the 429 breaker (breaker.go).

// MaxPagesInFlight bounds the page requests one walk (one tool call) has in flight at once, and,
// shared by all walks with one upstream key, the page requests in flight with that key: OpenRouter
// limits requests per key, and eight at 300 ms each already read 5,000 keys in under 3 seconds.
const MaxPagesInFlight = 8

// ErrTooManyItems ends a walk whose listings hold more than WalkOptions.MaxItems items.
var ErrTooManyItems = errors.New("the listings hold more items than the walk may read")

// errWalkOver cancels what is left of a walk once its readers are done.
var errWalkOver = errors.New("the walk is over")

// Listing reads the page of an offset-paged listing that starts at offset.
type Listing[T any] func(ctx context.Context, offset int) ([]T, error)

// WalkOptions bound a walk.
type WalkOptions struct {
	PageSize int // items in a full page; a shorter page (an empty one included) ends its listing
	MaxPages int // pages read of each listing at most; 0: no bound
	MaxItems int // the walk fails with ErrTooManyItems once the listings hold more items; 0: no bound
	// Progress, when set, is told how many items have been read, in increasing order. It is called
	// with the walk's lock held: it must not block.
	Progress func(read int)
}

// Walked is what a walk read of one listing.
type Walked[T any] struct {
	Items []T  // the items, in the listing's order, exactly as a page-after-page read returns them
	More  bool // MaxPages stopped the walk after a full page: the listing may hold more
}

// walkListing is the state of one listing in a walk.
type walkListing[T any] struct {
	read    Listing[T]
	pages   map[int][]T                // pages that arrived, by index
	cancel  map[int]context.CancelFunc // pages asked for and not yet arrived, by index
	sent    map[int]bool               // of those, the pages whose request has left
	issued  int                        // pages asked for: indexes 0 to issued-1
	end     int                        // index of the first short page seen; -1 while none is
	failed  int                        // index of the first page that failed; -1 while none did
	failure error
	closed  bool // no longer counted among the key's open listings
}

// open reports whether page i may still be part of the listing.
func (l *walkListing[T]) open(i int) bool { return l.end < 0 || i <= l.end }

// WalkPages reads every page of each listing, concurrently: at most MaxPagesInFlight requests at
// once for the walk and for all walks with the call's upstream key together. The pages of a listing
// are asked for in order, and as many ahead as the budget allows, balanced across listings; a short
// page ends its listing: the pages beyond it not yet sent are cancelled, and those sent are let finish
// (so that OpenRouter never holds more than the budget) and dropped, after the walk has returned. The
// key's budget is shared among the listings of all its walks, each asking ahead no more than its
// share. When
// OpenRouter answers one reader with 429, every reader with that key waits out its Retry-After once
// (the breaker holds it) instead of being refused and spending an attempt. The result is, listing
// by listing, what reading page after page returns. When a page cannot be read, the error comes with
// what was read of each listing before its first missing page (More set); when the listings hold
// more than MaxItems, with nothing.
func WalkPages[T any](ctx context.Context, c *Client, o WalkOptions, listings ...Listing[T]) ([]Walked[T], error) {
	if o.PageSize <= 0 {
		return nil, fmt.Errorf("walk pages: a page size of %d; want 1 or more", o.PageSize)
	}
	key := c.keyFor(ctx)
	if key == "" {
		return nil, ErrNoAPIKey
	}
	id := digest(key)
	lane := c.lanes.take(id)

	caller := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	w := &walk[T]{o: o, ls: make([]*walkListing[T], len(listings)), lanes: &c.lanes, id: id, settled: make(chan struct{})}
	w.more = sync.NewCond(&w.mu)
	for i, read := range listings {
		w.ls[i] = &walkListing[T]{read: read, pages: map[int][]T{}, cancel: map[int]context.CancelFunc{}, sent: map[int]bool{}, end: -1, failed: -1}
	}
	c.lanes.open(id, len(listings))
	stop := context.AfterFunc(ctx, func() { w.mu.Lock(); w.more.Broadcast(); w.mu.Unlock() })
	var wg sync.WaitGroup
	for range MaxPagesInFlight {
		wg.Go(func() {
			for {
				l, i, pageCtx := w.next(ctx)
				if l == nil {
					return
				}
				page, err := readPage(pageCtx, c, id, lane, func() bool { return w.sending(l, i) }, l.read, i*o.PageSize)
				if w.arrived(l, i, page, err) {
					cancel(ErrTooManyItems)
				}
			}
		})
	}
	// The walk returns once every page of its result is in: the pages sent beyond a listing's end
	// finish after it, still holding their slots of the key's budget, since OpenRouter works on them
	// until they are answered.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		stop()
		cancel(errWalkOver)
		w.closeAll()
		c.lanes.give(id)
		close(done)
	}()
	select {
	case <-done:
	case <-w.settled:
	}
	// A page cut by the call's deadline ends by its own timer (claim), which may fire a moment before
	// the call's: the walk waits for the call's, so that it ends as the call does, the caller's context
	// done (list_keys keeps the pages read when the call ran out of time, and only then).
	if d, ok := caller.Deadline(); ok && !time.Now().Before(d) {
		<-caller.Done()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := context.Cause(ctx) // the caller's deadline, or more items than MaxItems
	if errors.Is(err, ErrTooManyItems) {
		return nil, err
	}
	if errors.Is(err, errWalkOver) {
		err = nil // the pages were all in before
	}
	out := make([]Walked[T], len(w.ls))
	for n, l := range w.ls {
		if l.failed >= 0 && l.open(l.failed) && (err == nil || errors.Is(err, ctx.Err())) {
			err = l.failure // says more than the context's error
		}
		last := l.issued - 1
		if l.end >= 0 {
			last = l.end
		}
		whole := true
		for i := 0; i <= last && whole; i++ {
			page, ok := l.pages[i]
			out[n].Items = append(out[n].Items, page...)
			whole = ok
		}
		out[n].More = l.end < 0 || !whole
	}
	return out, err
}

// walk is the shared state of one WalkPages.
type walk[T any] struct {
	o        WalkOptions
	mu       sync.Mutex
	more     *sync.Cond    // a page arrived, or the walk was cancelled: a listing may take a page again
	settled  chan struct{} // closed once every page of the result is in (settle)
	done     bool          // settled is closed
	ls       []*walkListing[T]
	read     int // items of pages that can be part of their listing
	reported int // the most Progress was told
	lanes    *lanes
	id       [sha256.Size]byte
}

// goesOn reports whether l may still take pages.
func (w *walk[T]) goesOn(l *walkListing[T]) bool {
	return l.open(l.issued) && l.failed < 0 && (w.o.MaxPages <= 0 || l.issued < w.o.MaxPages)
}

// next picks the next page to ask for: of the listings that may go on and have fewer pages asked for
// and not arrived than their share of the key's requests in flight, the one with the fewest pages
// asked for. A listing's share is MaxPagesInFlight divided among the key's open listings (of every
// walk with the key): a listing cannot know where it ends, so each page it asks for ahead of the
// last one arrived may prove beyond its end, and with many listings open (an audit's workspaces,
// list_keys calls made at once) the share keeps those wasted pages from taking the slots that the
// other listings' pages need. It waits while every listing that may go on has its share; it returns
// nil when none may go on.
func (w *walk[T]) next(ctx context.Context) (*walkListing[T], int, context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return nil, 0, nil
		}
		share := w.lanes.share(w.id)
		var pick *walkListing[T]
		waiting := false
		for _, l := range w.ls {
			if !w.goesOn(l) {
				continue
			}
			if len(l.cancel) >= share {
				waiting = true
				continue
			}
			if pick == nil || l.issued < pick.issued {
				pick = l
			}
		}
		if pick != nil {
			return w.claim(ctx, pick)
		}
		if !waiting {
			return nil, 0, nil
		}
		w.more.Wait()
	}
}

// claim asks for the next page of l.
func (w *walk[T]) claim(ctx context.Context, pick *walkListing[T]) (*walkListing[T], int, context.Context) {
	i := pick.issued
	pick.issued++
	// The page is cancelled with the walk until the walk has its result; from then on a page sent
	// is let finish, whatever becomes of the call (see WalkPages).
	pageCtx, cancelPage := context.WithCancel(context.WithoutCancel(ctx))
	if d, ok := ctx.Deadline(); ok { // a page cut by the call's deadline fails as the call does
		var cancelInner context.CancelFunc
		pageCtx, cancelInner = context.WithDeadline(pageCtx, d)
		cancelOuter := cancelPage
		cancelPage = func() { cancelInner(); cancelOuter() }
	}
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		// At the call's deadline the page's own deadline ends it, and it fails as the call does.
		if (!w.done || !pick.sent[i]) && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			cancelPage()
		}
	})
	pick.cancel[i] = func() { stop(); cancelPage() }
	return pick, i, pageCtx
}

// arrived records page i of l, or its failure; it reports whether the walk now holds more than
// MaxItems items.
func (w *walk[T]) arrived(l *walkListing[T], i int, page []T, err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	l.cancel[i]()
	delete(l.cancel, i)
	delete(l.sent, i)
	if w.done {
		return false // past a listing's end or its first failure, after the walk returned: dropped
	}
	defer w.more.Broadcast()
	defer w.settle()
	defer w.close(l)
	if !l.open(i) {
		return false // beyond the listing's end: dropped, whatever came back
	}
	if err != nil {
		if l.failed < 0 || i < l.failed {
			l.failed, l.failure = i, err
		}
		return false
	}
	l.pages[i] = page
	w.read += len(page)
	if len(page) < w.o.PageSize {
		w.endAt(l, i)
	}
	if w.o.Progress != nil && w.read > w.reported {
		w.reported = w.read
		w.o.Progress(w.read)
	}
	return w.o.MaxItems > 0 && w.read > w.o.MaxItems
}

// close stops counting l among the key's open listings once it may take no more pages.
func (w *walk[T]) close(l *walkListing[T]) {
	if !l.closed && !w.goesOn(l) {
		l.closed = true
		w.lanes.open(w.id, -1)
	}
}

// settle closes w.settled once no listing may take more pages and every page that can be part of the
// result has arrived, and cancels the pages asked for and not yet sent, which cannot.
func (w *walk[T]) settle() {
	if w.done || (w.o.MaxItems > 0 && w.read > w.o.MaxItems) { // the latter ends in ErrTooManyItems
		return
	}
	for _, l := range w.ls {
		if w.goesOn(l) {
			return
		}
		for j := range l.cancel {
			if l.open(j) && (l.failed < 0 || j < l.failed) {
				return
			}
		}
	}
	w.done = true
	close(w.settled)
	for _, l := range w.ls {
		for j, cancel := range l.cancel {
			if !l.sent[j] {
				cancel()
			}
		}
	}
}

// closeAll stops counting the walk's listings among the key's open listings, as it ends.
func (w *walk[T]) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.ls {
		if !l.closed {
			l.closed = true
			w.lanes.open(w.id, -1)
		}
	}
}

// sending reports whether page i of l is still wanted as its request is about to leave, and from then
// on counts it as sent: a page beyond the listing's end is then no longer cancelled but left to finish
// and be dropped, so that OpenRouter never sees more than MaxPagesInFlight requests at once (a
// cancelled request goes on at OpenRouter for a while after its slot here is free).
func (w *walk[T]) sending(l *walkListing[T], i int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !l.open(i) {
		return false
	}
	l.sent[i] = true
	return true
}

// endAt ends l at page i: the pages after it are dropped, and those not yet sent cancelled.
func (w *walk[T]) endAt(l *walkListing[T], i int) {
	if l.end >= 0 && l.end < i {
		return
	}
	l.end = i
	for j, page := range l.pages {
		if j > i {
			w.read -= len(page)
			delete(l.pages, j)
		}
	}
	for j, cancel := range l.cancel {
		if j > i && !l.sent[j] {
			cancel()
		}
	}
}

// readPage reads one page within the walks' budget for the key: it takes one of the key's slots, and
// first waits out the breaker when OpenRouter is rate limiting the key, so that a 429 seen by one
// reader is waited out once by all, not met by each.
// wanted, when not nil, is asked just before the request leaves, and a page no longer wanted is not
// asked for.
func readPage[T any](ctx context.Context, c *Client, id [sha256.Size]byte, lane chan struct{}, wanted func() bool, read Listing[T], offset int) ([]T, error) {
	select {
	case lane <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-lane }()
	for wait := c.limited.wait(id); wait > 0; wait = c.limited.wait(id) {
		if err := c.retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	if wanted != nil && !wanted() {
		return nil, context.Canceled
	}
	return read(ctx, offset)
}

// inLane makes one read (do) within the budget that WalkPages's walks share for the context's upstream
// key, once the breaker lets the key through: reads made beside a walk, such as the guardrails and
// members an audit reads while its keys are walked, keep the key within MaxPagesInFlight requests in
// flight. do must not itself wait for a slot of the key (it would wait on itself when they are taken).
func (c *Client) inLane(ctx context.Context, do func(context.Context) error) error {
	key := c.keyFor(ctx)
	if key == "" {
		return ErrNoAPIKey
	}
	id := digest(key)
	lane := c.lanes.take(id)
	defer c.lanes.give(id)
	_, err := readPage(ctx, c, id, lane, nil, func(ctx context.Context, _ int) ([]struct{}, error) { return nil, do(ctx) }, 0)
	return err
}

// lanes holds, per upstream key, the slots of the page requests in flight with it; a key's entry
// lives while a walk uses it.
type lanes struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*lane
}

type lane struct {
	slots chan struct{}
	walks int
	open  int // listings of the walks that may still take pages
}

// take returns the slots of key id, for a walk that gives them back with give.
func (ls *lanes) take(id [sha256.Size]byte) chan struct{} {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = map[[sha256.Size]byte]*lane{}
	}
	l := ls.m[id]
	if l == nil {
		l = &lane{slots: make(chan struct{}, MaxPagesInFlight)}
		ls.m[id] = l
	}
	l.walks++
	return l.slots
}

// open counts n more (or, negative, fewer) listings open among key id's walks.
func (ls *lanes) open(id [sha256.Size]byte, n int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.m[id]; l != nil {
		l.open += n
	}
}

// share is how many pages a listing of key id may have asked for and not received: its part of the
// key's requests in flight, at least one.
func (ls *lanes) share(id [sha256.Size]byte) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.m[id]; l != nil && l.open > 1 {
		return max(1, (MaxPagesInFlight+l.open-1)/l.open)
	}
	return MaxPagesInFlight
}

// give ends a walk's use of key id's slots.
func (ls *lanes) give(id [sha256.Size]byte) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.m[id]; l != nil {
		if l.walks--; l.walks == 0 {
			delete(ls.m, id)
		}
	}
}
