package openrouter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// walkEnv is a sandbox account with keys in three workspaces: one of several pages and a short one,
// one of whole pages exactly (its last page is empty), and an empty one.
func walkEnv(t *testing.T, counts ...int) (*sandboxEnv, []string) {
	t.Helper()
	e := newSandbox(t, sandbox.Options{NoSampleKeys: true})
	page, err := e.c.ListWorkspaces(context.Background(), openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{page.Workspaces[0].ID}
	for len(ids) < len(counts) {
		id, err := e.sb.AddWorkspace(e.mgmt, fmt.Sprintf("team %d", len(ids)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for w, n := range counts {
		for i := range n {
			if _, err := e.c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: fmt.Sprintf("k%d-%d", w, i), WorkspaceID: ids[w]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e, ids
}

func keyListings(c *openrouter.Client, workspaces []string) []openrouter.Listing[openrouter.Key] {
	var out []openrouter.Listing[openrouter.Key]
	for _, ws := range workspaces {
		out = append(out, func(ctx context.Context, offset int) ([]openrouter.Key, error) {
			return c.ListKeys(ctx, openrouter.ListKeysParams{Offset: &offset, WorkspaceID: ws, IncludeDisabled: true})
		})
	}
	return out
}

// sequential reads each listing page after page: what WalkPages must return.
func sequential(t *testing.T, c *openrouter.Client, workspaces []string) [][]string {
	t.Helper()
	var out [][]string
	for _, read := range keyListings(c, workspaces) {
		hashes := []string{}
		for offset := 0; ; {
			page, err := read(context.Background(), offset)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page {
				hashes = append(hashes, k.Hash)
			}
			offset += len(page)
			if len(page) < openrouter.PageSize {
				break
			}
		}
		out = append(out, hashes)
	}
	return out
}

// walkedHashes is the hashes of each listing's keys.
func walkedHashes(walked []openrouter.Walked[openrouter.Key]) [][]string {
	var out [][]string
	for _, w := range walked {
		hashes := []string{}
		for _, k := range w.Items {
			hashes = append(hashes, k.Hash)
		}
		out = append(out, hashes)
	}
	return out
}

// TestWalkPagesMatchesSequential: under random faults (5xx, resets, 429s, delays that reorder the
// answers), the concurrent walk returns exactly what the page-after-page read does, order included.
func TestWalkPagesMatchesSequential(t *testing.T) {
	e, ids := walkEnv(t, 357, 300, 0)
	want := sequential(t, e.c, ids)
	if len(want[0]) != 357 || len(want[1]) != 300 || len(want[2]) != 0 {
		t.Fatalf("sequential read: %d, %d, %d keys", len(want[0]), len(want[1]), len(want[2]))
	}
	c := mustNew(t, openrouter.Options{BaseURL: e.srv.URL + "/api/v1", APIKey: openrouter.Secret(e.mgmt),
		Retry: openrouter.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	for seed := range uint64(4) {
		faults, err := sandbox.ParseFaults(fmt.Sprintf("500:8%%,502:4%%,reset:4%%,429=30ms:4%%,delay=3ms:40%%,seed=%d", seed+1))
		if err != nil {
			t.Fatal(err)
		}
		e.sb.SetFaults(faults)
		walked, err := openrouter.WalkPages(context.Background(), c, openrouter.WalkOptions{PageSize: openrouter.PageSize}, keyListings(c, ids)...)
		if err != nil {
			t.Fatalf("seed %d: %v", seed+1, err)
		}
		if got := walkedHashes(walked); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("seed %d: the walk differs from the sequential read (%d, %d, %d keys)", seed+1, len(got[0]), len(got[1]), len(got[2]))
		}
		for i, w := range walked {
			if w.More {
				t.Errorf("seed %d: listing %d says more remain after its end", seed+1, i)
			}
		}
	}
	if e.sb.InjectedFaults()["500"] == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

// TestWalkPagesInFlight: a walk keeps at most MaxPagesInFlight requests in flight, and so do two
// walks with the same key together; and it does use them.
func TestWalkPagesInFlight(t *testing.T) {
	e, ids := walkEnv(t, 1000, 450)
	e.sb.SetFaults(sandbox.Faults{Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: sandbox.FaultDelay, Wait: 20 * time.Millisecond}, Share: 1}}})
	before := e.sb.Requests()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			walked, err := openrouter.WalkPages(context.Background(), e.c, openrouter.WalkOptions{PageSize: openrouter.PageSize}, keyListings(e.c, ids)...)
			if err != nil {
				t.Error(err)
				return
			}
			if len(walked[0].Items) != 1000 || len(walked[1].Items) != 450 {
				t.Errorf("walked %d and %d keys, want 1000 and 450", len(walked[0].Items), len(walked[1].Items))
			}
		})
	}
	wg.Wait()
	if peak := e.sb.PeakInFlight(); peak > openrouter.MaxPagesInFlight || peak < openrouter.MaxPagesInFlight/2 {
		t.Errorf("peak of %d requests in flight, want at most %d and at least %d", peak, openrouter.MaxPagesInFlight, openrouter.MaxPagesInFlight/2)
	}
	// 11 + 5 pages a walk; past a listing's end, at most a budget's worth is asked for in vain.
	if n := e.sb.Requests() - before; n > 2*(16+openrouter.MaxPagesInFlight)+1 {
		t.Errorf("%d page requests for two walks of 16 pages", n)
	}
}

// TestWalkPagesRateLimit: after one reader is answered 429 with Retry-After, no reader sends
// anything new until the wait is over; the walk then completes.
func TestWalkPagesRateLimit(t *testing.T) {
	e, ids := walkEnv(t, 2000)
	const hold = 400 * time.Millisecond
	var (
		mu       sync.Mutex
		arrivals []time.Time
		limited  time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		rec := httptest.NewRecorder()
		e.sb.ServeHTTP(rec, r)
		mu.Lock()
		arrivals = append(arrivals, now)
		if rec.Code == http.StatusTooManyRequests && limited.IsZero() {
			limited = time.Now()
		}
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	// Waits are real here: the call answered 429 waits out its Retry-After too.
	c := mustNew(t, openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(e.mgmt),
		Retry: openrouter.RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}})
	e.sb.SetFaults(sandbox.Faults{Script: []sandbox.Fault{{Kind: sandbox.FaultRateLimit, Wait: hold}},
		Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: sandbox.FaultDelay, Wait: 50 * time.Millisecond}, Share: 1}}})
	walked, err := openrouter.WalkPages(context.Background(), c, openrouter.WalkOptions{PageSize: openrouter.PageSize}, keyListings(c, ids[:1])...)
	if err != nil {
		t.Fatal(err)
	}
	if len(walked[0].Items) != 2000 {
		t.Fatalf("walked %d keys, want 2000", len(walked[0].Items))
	}
	mu.Lock()
	defer mu.Unlock()
	if limited.IsZero() {
		t.Fatal("no 429 was answered")
	}
	// A reader that passed the breaker before the client read the 429 may still arrive in the
	// wait (the other MaxPagesInFlight-1 at most, each once: a page takes 50 ms); without the
	// breaker, the readers would send some fifty pages in it.
	var early []time.Duration
	for _, at := range arrivals {
		if at.After(limited) && at.Before(limited.Add(hold-50*time.Millisecond)) {
			early = append(early, at.Sub(limited))
		}
	}
	if len(early) >= openrouter.MaxPagesInFlight {
		t.Errorf("%d requests arrived during the %s the 429 asked to wait, at %v; want fewer than %d", len(early), hold, early, openrouter.MaxPagesInFlight)
	}
}

// TestWalkPagesBounds: MaxPages stops each listing and says more remain; MaxItems fails the walk.
func TestWalkPagesBounds(t *testing.T) {
	e, ids := walkEnv(t, 350, 120)
	ctx := context.Background()
	walked, err := openrouter.WalkPages(ctx, e.c, openrouter.WalkOptions{PageSize: openrouter.PageSize, MaxPages: 2}, keyListings(e.c, ids)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(walked[0].Items) != 200 || !walked[0].More || len(walked[1].Items) != 120 || walked[1].More {
		t.Errorf("MaxPages 2: %d keys (more %v) and %d keys (more %v), want 200 (true) and 120 (false)",
			len(walked[0].Items), walked[0].More, len(walked[1].Items), walked[1].More)
	}
	_, err = openrouter.WalkPages(ctx, e.c, openrouter.WalkOptions{PageSize: openrouter.PageSize, MaxItems: 400}, keyListings(e.c, ids)...)
	if !errors.Is(err, openrouter.ErrTooManyItems) {
		t.Errorf("MaxItems 400 over 470 keys: %v, want ErrTooManyItems", err)
	}
	walked, err = openrouter.WalkPages(ctx, e.c, openrouter.WalkOptions{PageSize: openrouter.PageSize, MaxItems: 470}, keyListings(e.c, ids)...)
	if err != nil || len(walked[0].Items)+len(walked[1].Items) != 470 {
		t.Errorf("MaxItems 470 over 470 keys: %v", err)
	}
}

// blockedWalks are walks with one key whose pages wait, once asked for, until the test answers them:
// asked receives each page asked for (its listing, numbered across the walks, and its index), and
// answer answers one with n items.
type blockedWalks struct {
	asked   chan [2]int
	answers sync.Map // [2]int → chan int
	results chan []openrouter.Walked[int]
}

// startBlockedWalks starts walks walks of listings listings each.
func startBlockedWalks(t *testing.T, walks, listings int) *blockedWalks {
	t.Helper()
	c, err := openrouter.New(openrouter.Options{BaseURL: "http://127.0.0.1:1", APIKey: "sk-or-v1-walk"})
	if err != nil {
		t.Fatal(err)
	}
	b := &blockedWalks{asked: make(chan [2]int, 64), results: make(chan []openrouter.Walked[int], walks)}
	for w := range walks {
		var ls []openrouter.Listing[int]
		for l := range listings {
			ls = append(ls, func(ctx context.Context, offset int) ([]int, error) {
				id := [2]int{w*listings + l, offset / 10}
				ch, _ := b.answers.LoadOrStore(id, make(chan int, 1))
				b.asked <- id
				select {
				case n := <-ch.(chan int):
					return make([]int, n), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
		}
		go func() {
			walked, err := openrouter.WalkPages(context.Background(), c, openrouter.WalkOptions{PageSize: 10}, ls...)
			if err != nil {
				t.Error(err)
			}
			b.results <- walked
		}()
	}
	return b
}

func (b *blockedWalks) answer(id [2]int, n int) {
	ch, _ := b.answers.LoadOrStore(id, make(chan int, 1))
	ch.(chan int) <- n
}

// TestWalkPagesShareTheKeyAmongListings: a listing asks ahead no more than its share of the key's
// requests in flight, so that a slow listing does not take the slots of one that moves (nor, with
// listings of many walks at once, wasted pages past its end the slots others need). Two listings:
// four pages each at first; as the first one's pages come back, it takes the slots they free, even
// when the second has asked for fewer pages.
func TestWalkPagesShareTheKeyAmongListings(t *testing.T) {
	b := startBlockedWalks(t, 1, 2)
	perListing := map[int]int{}
	for range openrouter.MaxPagesInFlight {
		perListing[(<-b.asked)[0]]++
	}
	if perListing[0] != 4 || perListing[1] != 4 {
		t.Fatalf("pages asked for at first, by listing: %v; want 4 each", perListing)
	}
	for i := range 2 {
		b.answer([2]int{0, i}, 10) // full: the listing goes on
		if next := <-b.asked; next != [2]int{0, 4 + i} {
			t.Errorf("after page %d of the first listing came back, page %d of listing %d was asked for; want page %d of the first", i, next[1], next[0], 4+i)
		}
	}
	for i := 2; i < 6; i++ {
		b.answer([2]int{0, i}, 0)
	}
	for i := range 4 {
		b.answer([2]int{1, i}, 0)
	}
	if walked := <-b.results; len(walked) != 2 || len(walked[0].Items) != 20 || len(walked[1].Items) != 0 {
		t.Errorf("walked %+v, want 20 items and none", walked)
	}
}

// TestWalkPagesReturnBeforePagesPastTheEnd: a walk returns once its result is in; a page asked for
// beyond a listing's end is let finish after it (it holds its slot meanwhile), not waited for.
func TestWalkPagesReturnBeforePagesPastTheEnd(t *testing.T) {
	b := startBlockedWalks(t, 1, 1)
	for range openrouter.MaxPagesInFlight {
		<-b.asked // pages 0 to 7, all sent
	}
	b.answer([2]int{0, 0}, 4) // short: the end
	select {
	case walked := <-b.results:
		if len(walked[0].Items) != 4 || walked[0].More {
			t.Errorf("walked %+v, want 4 items and no more", walked)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the walk waited for the pages sent beyond the listing's end")
	}
	for i := 1; i < openrouter.MaxPagesInFlight; i++ {
		b.answer([2]int{0, i}, 10)
	}
}
