package openrouter_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// someID is a well-formed guardrail or credential id that names nothing.
const someID = "550e8400-e29b-41d4-a716-446655440000"

// controlsCalls are the calls of the controls beside the keys, on hash where they take one.
func controlsCalls(hash string) []namedCall {
	call := func(name string, do func(ctx context.Context, c *openrouter.Client) error) namedCall {
		return namedCall{name, do}
	}
	return []namedCall{
		call("ListGuardrails", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
			return err
		}),
		call("GetGuardrail", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.GetGuardrail(ctx, someID)
			return err
		}),
		call("ListKeyAssignments", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListKeyAssignments(ctx, openrouter.PageParams{})
			return err
		}),
		call("ListGuardrailKeyAssignments", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListGuardrailKeyAssignments(ctx, someID, openrouter.PageParams{})
			return err
		}),
		call("AssignKeys", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.AssignKeys(ctx, someID, []string{hash})
			return err
		}),
		call("UnassignKeys", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.UnassignKeys(ctx, someID, []string{hash})
			return err
		}),
		call("ListMemberAssignments", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListMemberAssignments(ctx, openrouter.PageParams{})
			return err
		}),
		call("ListGuardrailMemberAssignments", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListGuardrailMemberAssignments(ctx, someID, openrouter.PageParams{})
			return err
		}),
		call("ListBYOK", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListBYOK(ctx, openrouter.ListBYOKParams{})
			return err
		}),
		call("GetBYOK", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.GetBYOK(ctx, someID)
			return err
		}),
		call("UpdateBYOKAllowLists", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.UpdateBYOKAllowLists(ctx, someID, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value([]string{hash})})
			return err
		}),
		call("ListMembers", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListMembers(ctx, openrouter.PageParams{})
			return err
		}),
		call("GetAnalyticsMeta", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.GetAnalyticsMeta(ctx)
			return err
		}),
		call("QueryAnalytics", func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.QueryAnalytics(ctx, openrouter.AnalyticsQuery{Metrics: []string{openrouter.MetricTotalUsage}})
			return err
		}),
	}
}

// sampleKeys maps the names of the sandbox's sample keys to their hashes.
func sampleKeys(t *testing.T, e *sandboxEnv) map[string]openrouter.Key {
	t.Helper()
	ctx := context.Background()
	ws, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]openrouter.Key{}
	for _, w := range ws.Workspaces {
		keys, err := e.c.ListKeys(ctx, openrouter.ListKeysParams{WorkspaceID: w.ID, IncludeDisabled: true, IncludeExpired: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			out[k.Name] = k
		}
	}
	return out
}

// TestGuardrailsThroughTheClient: the guardrail calls against the sandbox, over a socket.
func TestGuardrailsThroughTheClient(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	keys := sampleKeys(t, e)

	page, err := e.c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{PageParams: openrouter.PageParams{Limit: ptr(1)}})
	if err != nil || len(page.Items) != 1 || page.TotalCount != 2 {
		t.Fatalf("ListGuardrails(limit 1) = %+v, %v; want one of two", page, err)
	}
	guard := page.Items[0]
	if guard.LimitUSD == nil || guard.ResetInterval == nil || *guard.ResetInterval != "monthly" || len(guard.AllowedModels) == 0 {
		t.Errorf("the production guardrail = %+v, want a monthly budget and allowed models", guard)
	}
	rest, err := e.c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{PageParams: openrouter.PageParams{Offset: ptr(1)}})
	if err != nil || len(rest.Items) != 1 || rest.Items[0].LimitUSD != nil {
		t.Errorf("second page = %+v, %v; want the workspace default, without a budget", rest, err)
	}
	got, err := e.c.GetGuardrail(ctx, guard.ID)
	if err != nil || got.Name != guard.Name {
		t.Errorf("GetGuardrail = %+v, %v", got, err)
	}

	n, err := e.c.AssignKeys(ctx, guard.ID, []string{keys["CI pipeline"].Hash, keys["Staging agent"].Hash})
	if err != nil || n != 2 {
		t.Fatalf("AssignKeys = %d, %v; want 2", n, err)
	}
	assigned, err := e.c.ListGuardrailKeyAssignments(ctx, guard.ID, openrouter.PageParams{})
	if err != nil || assigned.TotalCount != 3 {
		t.Fatalf("ListGuardrailKeyAssignments = %+v, %v; want the production key and the two", assigned, err)
	}
	n, err = e.c.UnassignKeys(ctx, guard.ID, []string{keys["CI pipeline"].Hash, keys["Legacy batch job"].Hash})
	if err != nil || n != 1 {
		t.Errorf("UnassignKeys = %d, %v; want 1 (the other was not assigned)", n, err)
	}
	all, err := e.c.ListKeyAssignments(ctx, openrouter.PageParams{})
	var names []string
	for _, a := range all.Items {
		names = append(names, a.KeyName)
	}
	if err != nil || !slices.Equal(sortedCopy(names), []string{"Production chatbot", "Staging agent"}) {
		t.Errorf("ListKeyAssignments: %v, %v", names, err)
	}

	_, err = e.c.AssignKeys(ctx, guard.ID, []string{randomHash(t)})
	if ae := apiError(t, err); ae.Status != http.StatusBadRequest || ae.Path != "/guardrails/{id}/assignments/keys" {
		t.Errorf("assigning an unknown key: %v, want a 400 on /guardrails/{id}/assignments/keys", err)
	}
	members, err := e.c.ListMemberAssignments(ctx, openrouter.PageParams{})
	if err != nil || members.TotalCount != 1 {
		t.Errorf("ListMemberAssignments = %+v, %v", members, err)
	}
	mine, err := e.c.ListGuardrailMemberAssignments(ctx, guard.ID, openrouter.PageParams{})
	if err != nil || mine.TotalCount != 1 || mine.Items[0].UserID != members.Items[0].UserID {
		t.Errorf("ListGuardrailMemberAssignments = %+v, %v", mine, err)
	}
}

// TestBYOKThroughTheClient: the allow-lists change, an unknown hash is OpenRouter's 400, null lifts
// the restriction, and a deleted key leaves the list.
func TestBYOKThroughTheClient(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	keys := sampleKeys(t, e)
	page, err := e.c.ListBYOK(ctx, openrouter.ListBYOKParams{Provider: "google-ai-studio"})
	if err != nil || len(page.Items) != 1 || !slices.Equal(page.Items[0].AllowedAPIKeyHashes, []string{keys["Data team notebook"].Hash}) {
		t.Fatalf("ListBYOK(google-ai-studio) = %+v, %v; want the data team's credential", page, err)
	}
	id := page.Items[0].ID
	both := []string{keys["Data team notebook"].Hash, keys["CI pipeline"].Hash}
	b, err := e.c.UpdateBYOKAllowLists(ctx, id, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value(both)})
	if err != nil || !slices.Equal(b.AllowedAPIKeyHashes, both) || b.AllowedModels != nil {
		t.Fatalf("UpdateBYOKAllowLists = %+v, %v", b, err)
	}
	_, err = e.c.UpdateBYOKAllowLists(ctx, id, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value([]string{randomHash(t)})})
	if ae := apiError(t, err); ae.Status != http.StatusBadRequest || ae.Path != "/byok/{id}" {
		t.Errorf("an unknown hash: %v, want OpenRouter's 400", err)
	}
	if err := e.c.DeleteKey(ctx, keys["CI pipeline"].Hash); err != nil {
		t.Fatal(err)
	}
	if b, err = e.c.GetBYOK(ctx, id); err != nil || !slices.Equal(b.AllowedAPIKeyHashes, both[:1]) {
		t.Errorf("after deleting a key: %+v, %v; want it off the allow-list", b, err)
	}
	b, err = e.c.UpdateBYOKAllowLists(ctx, id, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Null[[]string](),
		AllowedModels: openrouter.Value([]string{"google/gemini-2.5-flash"})})
	if err != nil || b.AllowedAPIKeyHashes != nil || !slices.Equal(b.AllowedModels, []string{"google/gemini-2.5-flash"}) {
		t.Errorf("clearing the key allow-list: %+v, %v", b, err)
	}
}

// TestMembersThroughTheClient: whose keys are these? One sample key's creator has left.
func TestMembersThroughTheClient(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	page, err := e.c.ListMembers(context.Background(), openrouter.PageParams{Limit: ptr(100)})
	if err != nil || page.TotalCount != 3 || page.Items[0].Role != openrouter.RoleAdmin {
		t.Fatalf("ListMembers = %+v, %v; want three, the admin first", page, err)
	}
	var orphans []string
	for name, k := range sampleKeys(t, e) {
		if !slices.ContainsFunc(page.Items, func(m openrouter.Member) bool { return k.CreatorUserID != nil && m.ID == *k.CreatorUserID }) {
			orphans = append(orphans, name)
		}
	}
	if !slices.Equal(orphans, []string{"Legacy batch job"}) {
		t.Errorf("keys whose creator is not a member: %v", orphans)
	}
}

// TestAnalyticsThroughTheClient: spend by key over 90 days, and by key over 30 days as GetActivity
// reports it.
func TestAnalyticsThroughTheClient(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	meta, err := e.c.GetAnalyticsMeta(ctx)
	if err != nil || !slices.ContainsFunc(meta.Metrics, func(m openrouter.AnalyticsMetric) bool { return m.Name == openrouter.MetricTotalUsage }) ||
		!slices.ContainsFunc(meta.Dimensions, func(d openrouter.AnalyticsName) bool { return d.Name == openrouter.DimensionAPIKey }) {
		t.Fatalf("GetAnalyticsMeta = %+v, %v", meta, err)
	}
	prod := sampleKeys(t, e)["Production chatbot"]
	today := time.Now().UTC().Truncate(24 * time.Hour)
	spend := func(days int) (float64, int) {
		res, err := e.c.QueryAnalytics(ctx, openrouter.AnalyticsQuery{
			Metrics: []string{openrouter.MetricTotalUsage}, Dimensions: []string{openrouter.DimensionAPIKey}, Granularity: openrouter.GranularityDay,
			TimeRange: &openrouter.TimeRange{Start: today.AddDate(0, 0, -days), End: today},
			Filters:   []openrouter.AnalyticsFilter{{Field: openrouter.DimensionAPIKey, Operator: "eq", Value: prod.Hash}},
		})
		if err != nil || res.RowCount != len(res.Rows) || res.Truncated {
			t.Fatalf("QueryAnalytics(%d days) = %+v, %v", days, res, err)
		}
		sum := 0.0
		for _, r := range res.Rows {
			sum += r[openrouter.MetricTotalUsage].(float64)
		}
		return sum, len(res.Rows)
	}
	month, _ := spend(30)
	quarter, days := spend(90)
	rows, err := e.c.GetActivity(ctx, openrouter.ActivityParams{APIKeyHash: prod.Hash})
	if err != nil {
		t.Fatal(err)
	}
	activity := 0.0
	for _, r := range rows {
		activity += r.Usage
	}
	if math.Abs(month-activity) > 1e-6 || quarter <= month || quarter > prod.Usage || days != 90 {
		t.Errorf("production key: 30 days %v (activity %v), 90 days %v over %d days, lifetime %v", month, activity, quarter, days, prod.Usage)
	}
}

// TestControlsRefuseBadArgumentsBeforeSending: ids, hashes, pages, allow-lists and queries are checked
// at the boundary; nothing reaches OpenRouter.
func TestControlsRefuseBadArgumentsBeforeSending(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	hash := randomHash(t)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"guardrail id", func() error { _, err := e.c.GetGuardrail(ctx, "default"); return err }(), openrouter.ErrInvalidID},
		{"assign, guardrail id", func() error { _, err := e.c.AssignKeys(ctx, "../keys", []string{hash}); return err }(), openrouter.ErrInvalidID},
		{"assign nothing", func() error { _, err := e.c.AssignKeys(ctx, someID, nil); return err }(), openrouter.ErrInvalidHash},
		{"assign a secret", func() error { _, err := e.c.AssignKeys(ctx, someID, []string{testKey}); return err }(), openrouter.ErrInvalidHash},
		{"member assignments of", func() error {
			_, err := e.c.ListGuardrailMemberAssignments(ctx, "", openrouter.PageParams{})
			return err
		}(), openrouter.ErrInvalidID},
		{"page limit", func() error { _, err := e.c.ListMembers(ctx, openrouter.PageParams{Limit: ptr(101)}); return err }(), openrouter.ErrInvalidPage},
		{"page offset", func() error {
			_, err := e.c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{PageParams: openrouter.PageParams{Offset: ptr(-1)}})
			return err
		}(), openrouter.ErrInvalidPage},
		{"byok id", func() error { _, err := e.c.GetBYOK(ctx, hash); return err }(), openrouter.ErrInvalidID},
		{"no allow-list", func() error {
			_, err := e.c.UpdateBYOKAllowLists(ctx, someID, openrouter.BYOKAllowListsUpdate{})
			return err
		}(), openrouter.ErrInvalidAllowList},
		{"empty key allow-list", func() error {
			_, err := e.c.UpdateBYOKAllowLists(ctx, someID, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value([]string{})})
			return err
		}(), openrouter.ErrInvalidAllowList},
		{"secret in an allow-list", func() error {
			_, err := e.c.UpdateBYOKAllowLists(ctx, someID, openrouter.BYOKAllowListsUpdate{AllowedAPIKeyHashes: openrouter.Value([]string{testKey})})
			return err
		}(), openrouter.ErrInvalidHash},
		{"no metrics", func() error { _, err := e.c.QueryAnalytics(ctx, openrouter.AnalyticsQuery{}); return err }(), openrouter.ErrInvalidQuery},
		{"range backwards", func() error {
			now := time.Now()
			_, err := e.c.QueryAnalytics(ctx, openrouter.AnalyticsQuery{Metrics: []string{"total_usage"}, TimeRange: &openrouter.TimeRange{Start: now, End: now.Add(-time.Hour)}})
			return err
		}(), openrouter.ErrInvalidQuery},
	} {
		if !errors.Is(tc.err, tc.want) || strings.Contains(tc.err.Error(), testKeyHex) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if n := e.sb.Requests(); n != 0 {
		t.Errorf("%d requests reached the sandbox", n)
	}
}

// TestBYOKSecretsNeverPassThrough: the allow-list update carries exactly the lists set (the type has
// no field for the provider key), and a label that is not masked is not passed on.
func TestBYOKSecretsNeverPassThrough(t *testing.T) {
	const providerKey = "sk-proj-a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8"
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"id":"`+someID+`","provider":"openai","workspace_id":null,"label":"`+providerKey+`",
			"name":null,"disabled":false,"is_fallback":false,"allowed_api_key_hashes":null,"allowed_models":null,
			"allowed_user_ids":["user_1"],"sort_order":0,"created_at":"2026-01-01T00:00:00Z"}}`)
	}))
	t.Cleanup(srv.Close)
	c := mustNew(t, openrouter.Options{BaseURL: srv.URL, APIKey: testKey})
	b, err := c.UpdateBYOKAllowLists(context.Background(), someID, openrouter.BYOKAllowListsUpdate{
		AllowedAPIKeyHashes: openrouter.Null[[]string](), AllowedUserIDs: openrouter.Value([]string{"user_1"})})
	if err != nil {
		t.Fatal(err)
	}
	if body != `{"allowed_api_key_hashes":null,"allowed_user_ids":["user_1"]}` {
		t.Errorf("PATCH body = %s", body)
	}
	if b.Label != "[REDACTED]" || strings.Contains(b.Label, "a1b2") {
		t.Errorf("label = %q: an unmasked provider key passed through", b.Label)
	}
}

// TestControlsRejectMalformedAnswers: a success whose body lacks what the callers rely on is
// ErrMalformedResponse, not a page of empty items.
func TestControlsRejectMalformedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		call       func(context.Context, *openrouter.Client) error
	}{
		{"guardrails without total_count", `{"data":[]}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
			return err
		}},
		{"guardrail without id", `{"data":[{"name":"x"}],"total_count":1}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
			return err
		}},
		{"assignment without a hash", `{"data":[{"guardrail_id":"g","key_hash":"nope"}],"total_count":1}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListKeyAssignments(ctx, openrouter.PageParams{})
			return err
		}},
		{"assign without a count", `{"assigned":2}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.AssignKeys(ctx, someID, []string{strings.Repeat("ab", 32)})
			return err
		}},
		{"member without id", `{"data":[{"email":"a@b"}],"total_count":1}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.ListMembers(ctx, openrouter.PageParams{})
			return err
		}},
		{"analytics without metadata", `{"data":{"data":[]}}`, func(ctx context.Context, c *openrouter.Client) error {
			_, err := c.QueryAnalytics(ctx, openrouter.AnalyticsQuery{Metrics: []string{"total_usage"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c := mustNew(t, openrouter.Options{BaseURL: srv.URL, APIKey: testKey})
			if err := tc.call(context.Background(), c); !errors.Is(err, openrouter.ErrMalformedResponse) {
				t.Errorf("error = %v, want ErrMalformedResponse", err)
			}
		})
	}
}
