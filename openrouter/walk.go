package openrouter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
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
}

// open reports whether page i may still be part of the listing.
func (l *walkListing[T]) open(i int) bool { return l.end < 0 || i <= l.end }

// WalkPages reads every page of each listing, concurrently: at most MaxPagesInFlight requests at
// once for the walk and for all walks with the call's upstream key together. The pages of a listing
// are asked for in order, and as many ahead as the budget allows, balanced across listings; a short
// page ends its listing: the pages beyond it not yet sent are cancelled, and those sent are let finish
// (so that OpenRouter never holds more than the budget) and dropped. When
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
	id := sha256.Sum256([]byte(key.Reveal()))
	lane := c.lanes.take(id)
	defer c.lanes.give(id)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &walk[T]{o: o, ls: make([]*walkListing[T], len(listings))}
	for i, read := range listings {
		w.ls[i] = &walkListing[T]{read: read, pages: map[int][]T{}, cancel: map[int]context.CancelFunc{}, sent: map[int]bool{}, end: -1, failed: -1}
	}
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
	wg.Wait()
	err := context.Cause(ctx) // the caller's deadline, or more items than MaxItems
	if errors.Is(err, ErrTooManyItems) {
		return nil, err
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
	ls       []*walkListing[T]
	read     int // items of pages that can be part of their listing
	reported int // the most Progress was told
}

// next picks the next page to ask for: of the listings that may go on, the one with the fewest pages
// asked for. It returns nil when there is none.
func (w *walk[T]) next(ctx context.Context) (*walkListing[T], int, context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ctx.Err() != nil {
		return nil, 0, nil
	}
	var pick *walkListing[T]
	for _, l := range w.ls {
		if !l.open(l.issued) || l.failed >= 0 || (w.o.MaxPages > 0 && l.issued >= w.o.MaxPages) {
			continue
		}
		if pick == nil || l.issued < pick.issued {
			pick = l
		}
	}
	if pick == nil {
		return nil, 0, nil
	}
	i := pick.issued
	pick.issued++
	pageCtx, cancel := context.WithCancel(ctx)
	pick.cancel[i] = cancel
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

// InLane makes one read (do, which may follow a few pages one after another) within the budget that
// WalkPages's walks share for the context's upstream key, once the breaker lets the key through: reads
// made beside a walk, such as the guardrails and members an audit reads while its keys are walked,
// keep the key within MaxPagesInFlight requests in flight.
func (c *Client) InLane(ctx context.Context, do func(context.Context) error) error {
	key := c.keyFor(ctx)
	if key == "" {
		return ErrNoAPIKey
	}
	id := sha256.Sum256([]byte(key.Reveal()))
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
