package openrouter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// cachedClient is a client of a sandbox with sample data, with the controls cache on, on a clock the
// test moves (at), and with no key of its own: each call's context names one.
func cachedClient(t *testing.T) (*openrouter.Client, *sandbox.Sandbox, *atomic.Int64) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", ControlsTTL: openrouter.DefaultControlsTTL})
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Int64 // nanoseconds after start
	start := time.Now()
	openrouter.SetCacheClock(c, func() time.Time { return start.Add(time.Duration(at.Load())) })
	return c, sb, &at
}

func TestControlsCacheReusesUntilChangedOrOld(t *testing.T) {
	c, sb, at := cachedClient(t)
	ctx := openrouter.WithAPIKey(context.Background(), openrouter.Secret(sb.ManagementKey()))
	assignments := func(ctx context.Context) int {
		t.Helper()
		page, err := c.ListKeyAssignments(ctx, openrouter.PageParams{})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	reads := func(do func()) int64 {
		before := sb.Requests()
		do()
		return sb.Requests() - before
	}
	var n int
	if got := reads(func() { n = assignments(ctx) }); got != 1 || n == 0 {
		t.Fatalf("first read: %d requests, %d assignments", got, n)
	}
	if got := reads(func() { assignments(ctx) }); got != 0 {
		t.Errorf("a second read within the TTL: %d requests, want 0", got)
	}
	// A caller may change what it was given; the next one must not see it.
	first, _ := c.ListKeyAssignments(ctx, openrouter.PageParams{})
	first.Items[0].GuardrailID = "changed"
	if again, _ := c.ListKeyAssignments(ctx, openrouter.PageParams{}); again.Items[0].GuardrailID == "changed" {
		t.Error("a caller's change to its answer reached the next caller")
	}
	if got := reads(func() { assignments(openrouter.Fresh(ctx)) }); got != 1 {
		t.Errorf("a fresh read: %d requests, want 1", got)
	}
	// A change through the same key: the next read sees it.
	keys, err := c.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil {
		t.Fatal(err)
	}
	guards, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
	if err != nil || len(guards.Items) == 0 {
		t.Fatalf("guardrails: %v", err)
	}
	var free string
	page, _ := c.ListKeyAssignments(ctx, openrouter.PageParams{})
	for _, k := range keys {
		assigned := false
		for _, a := range page.Items {
			assigned = assigned || a.KeyHash == k.Hash
		}
		if !assigned {
			free = k.Hash
			break
		}
	}
	if _, err := c.AssignKeys(ctx, guards.Items[0].ID, []string{free}); err != nil {
		t.Fatal(err)
	}
	if got := reads(func() { n = assignments(ctx) }); got != 1 || n != len(page.Items)+1 {
		t.Errorf("after an assignment: %d requests and %d assignments, want 1 and %d", got, n, len(page.Items)+1)
	}
	if got := reads(func() { assignments(ctx) }); got != 0 {
		t.Errorf("again: %d requests, want 0", got)
	}
	at.Add(int64(openrouter.DefaultControlsTTL))
	if got := reads(func() { assignments(ctx) }); got != 1 {
		t.Errorf("after the TTL: %d requests, want 1", got)
	}
	// The keys themselves are never cached.
	if got := reads(func() {
		_, _ = c.ListKeys(ctx, openrouter.ListKeysParams{})
		_, _ = c.ListKeys(ctx, openrouter.ListKeysParams{})
	}); got != 2 {
		t.Errorf("two listings of keys: %d requests, want 2", got)
	}
}

func TestControlsCacheKeepsKeysApart(t *testing.T) {
	c, sb, _ := cachedClient(t)
	keyA, keyB := sb.ManagementKey(), sb.AddAccount("")
	read := func(key string) ([]string, int) {
		t.Helper()
		ctx := openrouter.WithAPIKey(context.Background(), openrouter.Secret(key))
		ws, err := c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
		if err != nil {
			t.Fatal(err)
		}
		gs, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, w := range ws.Workspaces {
			ids = append(ids, w.ID)
		}
		return ids, len(gs.Items)
	}
	wsA, gA := read(keyA)
	wsB, gB := read(keyB)
	if gA == 0 || gB != 0 {
		t.Errorf("guardrails: A sees %d, B sees %d; want some and none", gA, gB)
	}
	for _, a := range wsA {
		for _, b := range wsB {
			if a == b {
				t.Errorf("B sees A's workspace %s", a)
			}
		}
	}
}

func TestControlsCacheReadsOnceForCallersAtOnce(t *testing.T) {
	c, sb, _ := cachedClient(t)
	ctx := openrouter.WithAPIKey(context.Background(), openrouter.Secret(sb.ManagementKey()))
	sb.SetFaults(sandbox.Faults{Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: sandbox.FaultDelay, Wait: 200 * time.Millisecond, Method: "GET"}, Share: 1}}})
	before := sb.Requests()
	var wg sync.WaitGroup
	counts := make([]int, 6)
	for i := range counts {
		wg.Go(func() {
			page, err := c.ListMembers(ctx, openrouter.PageParams{})
			if err != nil {
				t.Error(err)
				return
			}
			counts[i] = len(page.Items)
		})
	}
	wg.Wait()
	if got := sb.Requests() - before; got != 1 {
		t.Errorf("%d callers at once: %d requests, want 1", len(counts), got)
	}
	for i, n := range counts {
		if n == 0 || n != counts[0] {
			t.Errorf("caller %d: %d members, want %d", i, n, counts[0])
		}
	}
}

// TestControlsCacheFollowerKeepsItsOwnDeadline: a caller that joins another's read of the controls
// stops waiting when its own context ends, and is not held for as long as the leader's read takes.
func TestControlsCacheFollowerKeepsItsOwnDeadline(t *testing.T) {
	release := make(chan struct{})
	c, leader := leadingRead(t, openrouter.Options{}, func(w http.ResponseWriter, r *http.Request) bool {
		<-release
		return false
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	follower := make(chan error, 1)
	go func() {
		_, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
		follower <- err
	}()
	var got error
	select {
	case got = <-follower:
	case <-time.After(5 * time.Second): // not a timing figure: the follower would wait for the release
		close(release)
		got = <-follower
		release = nil
	}
	if release != nil {
		close(release)
	}
	if !errors.Is(got, context.Canceled) {
		t.Errorf("a follower whose context ended: %v, want it to stop waiting with context.Canceled", got)
	}
	if err := <-leader; err != nil {
		t.Errorf("the leader: %v", err)
	}
}

// TestControlsCacheFollowersDoNotRepeatAReadOpenRouterLeftUnanswered: when the read a caller joined
// fails because OpenRouter did not answer it in time (not because its leader gave up), the callers
// who joined it are given that failure, and none sends the read again (the leader neither).
func TestControlsCacheFollowersDoNotRepeatAReadOpenRouterLeftUnanswered(t *testing.T) {
	var reads atomic.Int64
	o := openrouter.Options{Timeout: time.Second, Retry: openrouter.RetryPolicy{MaxAttempts: 1}}
	c, leader := leadingRead(t, o, func(w http.ResponseWriter, r *http.Request) bool {
		if reads.Add(1) > 1 {
			return false
		}
		<-r.Context().Done() // never answered: the attempt's own timeout ends it
		return true
	})
	_, follower := c.ListGuardrails(context.Background(), openrouter.ListGuardrailsParams{})
	first := <-leader
	if !errors.Is(first, context.DeadlineExceeded) || !errors.Is(follower, context.DeadlineExceeded) || reads.Load() != 1 {
		t.Errorf("the leader: %v; the follower: %v; after %d reads. Want OpenRouter's silence for both, and one read",
			first, follower, reads.Load())
	}
}

// leadingRead starts a read of the guardrails (the leader) with a client o, with the controls cache on,
// of a sandbox with sample data behind front, and returns once the read is at the sandbox's door.
// front sees each read of the guardrails before the sandbox does, and answers it itself when it
// returns true. The leader's error comes on the channel.
func leadingRead(t *testing.T, o openrouter.Options, front func(w http.ResponseWriter, r *http.Request) bool) (*openrouter.Client, chan error) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/guardrails") {
			select {
			case arrived <- struct{}{}:
			default:
			}
			if front(w, r) {
				return
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	o.BaseURL, o.APIKey, o.ControlsTTL = srv.URL+"/api/v1", openrouter.Secret(sb.ManagementKey()), openrouter.DefaultControlsTTL
	c, err := openrouter.New(o)
	if err != nil {
		t.Fatal(err)
	}
	leader := make(chan error, 1)
	go func() {
		_, err := c.ListGuardrails(context.Background(), openrouter.ListGuardrailsParams{})
		leader <- err
	}()
	<-arrived
	return c, leader
}

// A value derived from the cached lists is shared until the oldest list it used is the TTL old (not
// the TTL after it was built), until a change through the key, or on a Fresh context.
func TestDerivedLivesAsLongAsWhatItRead(t *testing.T) {
	c, sb, at := cachedClient(t)
	ctx := openrouter.WithAPIKey(context.Background(), openrouter.Secret(sb.ManagementKey()))
	type count struct{ n int }
	builds := 0
	derive := func(ctx context.Context) *count {
		t.Helper()
		v, err := openrouter.Derived(ctx, c, "assignments", func(ctx context.Context) (*count, error) {
			builds++
			page, err := c.ListKeyAssignments(ctx, openrouter.PageParams{})
			if err != nil {
				return nil, err
			}
			return &count{len(page.Items)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := c.ListKeyAssignments(ctx, openrouter.PageParams{}); err != nil { // read at 0
		t.Fatal(err)
	}
	at.Add(int64(3 * time.Second))
	first := derive(ctx) // built at 3 s from the list read at 0
	if again := derive(ctx); again != first || builds != 1 {
		t.Fatalf("within the TTL: %d builds, the same value %v; want 1 and true", builds, again == first)
	}
	at.Add(int64(openrouter.DefaultControlsTTL - 3*time.Second)) // the list is the TTL old; the value only 2 s
	if derive(ctx) == first || builds != 2 {
		t.Errorf("once the list it used is the TTL old: %d builds, want 2", builds)
	}
	derive(openrouter.Fresh(ctx))
	if builds != 3 {
		t.Errorf("on a Fresh context: %d builds, want 3", builds)
	}
	kept := derive(ctx)
	if builds != 3 {
		t.Errorf("after a Fresh build: %d builds, want it kept (3)", builds)
	}
	keys, err := c.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v", err)
	}
	if _, err := c.UpdateKey(ctx, keys[0].Hash, openrouter.UpdateKeyRequest{Name: openrouter.Some(keys[0].Name)}); err != nil {
		t.Fatal(err)
	}
	if derive(ctx) == kept || builds != 4 {
		t.Errorf("after a change through the key: %d builds, want 4", builds)
	}
}
