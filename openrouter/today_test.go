package openrouter_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// Tests of what OpenRouter's keys API gained after the 2026-08-22 spec (issue #11) and of the checks
// on what it answers (issue #14), with the real client against the sandbox over a loopback socket,
// or against stubs for answers the sandbox never gives.

// allKeys lists every key of every workspace, disabled and expired ones included.
func allKeys(t *testing.T, e *sandboxEnv) []openrouter.Key {
	t.Helper()
	ctx := context.Background()
	page, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatalf("ListWorkspaces: %v", err)
	}
	var keys []openrouter.Key
	for _, w := range page.Workspaces {
		ks, err := e.c.ListKeys(ctx, openrouter.ListKeysParams{WorkspaceID: w.ID, IncludeDisabled: true, IncludeExpired: true})
		if err != nil {
			t.Fatalf("ListKeys(%s): %v", w.Slug, err)
		}
		keys = append(keys, ks...)
	}
	return keys
}

func keyNamed(t *testing.T, keys []openrouter.Key, name string) openrouter.Key {
	t.Helper()
	for _, k := range keys {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no key named %q", name)
	return openrouter.Key{}
}

func TestHashPattern(t *testing.T) {
	re := regexp.MustCompile(openrouter.HashPattern)
	for _, s := range []string{stubHash, strings.ToUpper(stubHash), stubHash[1:], stubHash + "0", "", stubSecret, " " + stubHash} {
		if re.MatchString(s) != openrouter.ValidHash(s) {
			t.Errorf("HashPattern and ValidHash disagree on %q", s)
		}
	}
	// Every one-character change of a valid hash, to every byte value.
	for i := range len(stubHash) {
		for c := range 256 {
			s := stubHash[:i] + string(rune(c)) + stubHash[i+1:]
			if re.MatchString(s) != openrouter.ValidHash(s) {
				t.Fatalf("HashPattern and ValidHash disagree on %q", s)
			}
		}
	}
	if !openrouter.ValidHash(stubHash) || openrouter.ValidHash(strings.ToUpper(stubHash)) {
		t.Error("ValidHash: want lowercase hex only")
	}
}

// TestSampleDataIsWorthAuditing checks that the sandbox's sample keys give an audit something to find.
func TestSampleDataIsWorthAuditing(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	keys := allKeys(t, e)
	now := time.Now()
	workspaces := map[string]bool{}
	var expired, neverUsed, unusedForMonths, nearLimit, disabled, limited, unlimited, expiring int
	for _, k := range keys {
		workspaces[k.WorkspaceID] = true
		if k.ExpiresAt != nil {
			exp, err := time.Parse(time.RFC3339Nano, *k.ExpiresAt)
			if err != nil {
				t.Fatalf("%s: expires_at %q: %v", k.Name, *k.ExpiresAt, err)
			}
			if exp.Before(now) {
				expired++
			} else {
				expiring++
			}
		}
		if k.LastUsedAt == nil {
			neverUsed++
		} else if used, err := time.Parse(time.RFC3339Nano, *k.LastUsedAt); err != nil {
			t.Fatalf("%s: last_used_at %q: %v", k.Name, *k.LastUsedAt, err)
		} else if now.Sub(used) > 90*24*time.Hour {
			unusedForMonths++
		}
		if k.Disabled {
			disabled++
		}
		if k.Limit == nil {
			unlimited++
		} else {
			limited++
			if k.Usage >= 0.9**k.Limit {
				nearLimit++
			}
		}
	}
	for what, n := range map[string]int{"workspaces": len(workspaces) - 1, "expired": expired, "never used": neverUsed,
		"unused for months": unusedForMonths, "at or near the limit": nearLimit, "disabled": disabled, "with a limit": limited,
		"without a limit": unlimited, "expiring later": expiring, "without expiry": len(keys) - expired - expiring} {
		if n < 1 {
			t.Errorf("sample keys %s: none (%d keys)", what, len(keys))
		}
	}
}

func TestLastUsedAt(t *testing.T) {
	e := newSandbox(t, sandbox.Options{NoSampleKeys: true})
	ctx := context.Background()
	ck := e.create(t, openrouter.CreateKeyRequest{Name: "to use"})
	if ck.Key.LastUsedAt != nil {
		t.Errorf("a new key's LastUsedAt = %q, want nil", *ck.Key.LastUsedAt)
	}
	before := time.Now().Add(-time.Second)
	if _, err := e.c.CurrentKey(openrouter.WithAPIKey(ctx, ck.Secret)); err != nil {
		t.Fatalf("CurrentKey with the new key: %v", err)
	}
	// A refused request is a use too: the key authenticated it.
	if _, err := e.c.ListKeys(openrouter.WithAPIKey(ctx, ck.Secret), openrouter.ListKeysParams{}); openrouter.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("ListKeys with an inference key: %v, want 403", err)
	}
	k, err := e.c.GetKey(ctx, ck.Key.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedAt == nil {
		t.Fatal("LastUsedAt = nil after the key was used")
	}
	used, err := time.Parse(time.RFC3339Nano, *k.LastUsedAt)
	if err != nil || used.Before(before) || used.After(time.Now().Add(time.Second)) {
		t.Errorf("LastUsedAt = %q (%v), want about now", *k.LastUsedAt, err)
	}
	// The management key's own calls are not uses of the key they read.
	again, err := e.c.GetKey(ctx, ck.Key.Hash)
	if err != nil || *again.LastUsedAt != *k.LastUsedAt {
		t.Errorf("LastUsedAt moved when the management key read the key: %v, %v", again, err)
	}
}

func TestIncludeExpired(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	names := func(p openrouter.ListKeysParams) map[string]bool {
		keys, err := e.c.ListKeys(ctx, p)
		if err != nil {
			t.Fatalf("ListKeys(%+v): %v", p, err)
		}
		out := map[string]bool{}
		for _, k := range keys {
			out[k.Name] = true
		}
		return out
	}
	if names(openrouter.ListKeysParams{})["Contractor access"] {
		t.Error("the expired sample key is listed without IncludeExpired")
	}
	if !names(openrouter.ListKeysParams{IncludeExpired: true})["Contractor access"] {
		t.Error("the expired sample key is not listed with IncludeExpired")
	}
	if names(openrouter.ListKeysParams{IncludeExpired: true})["Old prototype"] {
		t.Error("IncludeExpired listed a disabled key too")
	}
}

func TestMoveKeyToAnotherWorkspace(t *testing.T) {
	e := newSandbox(t, sandbox.Options{NoSampleKeys: true})
	ctx := context.Background()
	page, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil || len(page.Workspaces) < 2 {
		t.Fatalf("ListWorkspaces = %+v, %v; want two workspaces", page, err)
	}
	from, to := page.Workspaces[0].ID, page.Workspaces[1].ID
	ck := e.create(t, openrouter.CreateKeyRequest{Name: "mover"})
	if ck.Key.WorkspaceID != from {
		t.Fatalf("created in %s, want the default workspace %s", ck.Key.WorkspaceID, from)
	}
	moved, err := e.c.UpdateKey(ctx, ck.Key.Hash, openrouter.UpdateKeyRequest{WorkspaceID: openrouter.Some(to)})
	if err != nil {
		t.Fatalf("UpdateKey(workspace_id): %v", err)
	}
	if moved.WorkspaceID != to || moved.Hash != ck.Key.Hash || moved.Label != ck.Key.Label {
		t.Errorf("moved key = {ws %s, hash %s, label %s}, want {%s, %s, %s}", moved.WorkspaceID, moved.Hash, moved.Label, to, ck.Key.Hash, ck.Key.Label)
	}
	cur, err := e.c.CurrentKey(openrouter.WithAPIKey(ctx, ck.Secret))
	if err != nil {
		t.Fatalf("the same secret after the move: %v", err)
	}
	if cur.WorkspaceID == nil || *cur.WorkspaceID != to {
		t.Errorf("CurrentKey.WorkspaceID = %v, want %s", cur.WorkspaceID, to)
	}
	inTo, err := e.c.ListKeys(ctx, openrouter.ListKeysParams{WorkspaceID: to})
	if err != nil || len(inTo) != 1 || inTo[0].Hash != ck.Key.Hash {
		t.Errorf("ListKeys(to) = %v, %v; want the moved key", hashesOf(inTo), err)
	}
	inFrom, err := e.c.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil || len(inFrom) != 0 {
		t.Errorf("ListKeys(from) = %v, %v; want none", hashesOf(inFrom), err)
	}

	_, err = e.c.UpdateKey(ctx, ck.Key.Hash, openrouter.UpdateKeyRequest{WorkspaceID: openrouter.Some("6f1c2a34-0000-4000-8000-000000000000")})
	if apiErr := apiError(t, err); apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "workspace_id") {
		t.Errorf("move to an unknown workspace = %d %q, want a 400 about workspace_id", apiErr.Status, apiErr.Message)
	}
	if k, err := e.c.GetKey(ctx, ck.Key.Hash); err != nil || k.WorkspaceID != to {
		t.Errorf("after a refused move the key is in %v (%v), want %s", k, err, to)
	}
}

func TestCurrentKeyBudgets(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	page, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	staging := page.Workspaces[1].ID
	ck := e.create(t, openrouter.CreateKeyRequest{Name: "budgeted", Limit: ptr(40.0), LimitReset: ptr(openrouter.ResetDaily), WorkspaceID: staging})
	cur, err := e.c.CurrentKey(openrouter.WithAPIKey(ctx, ck.Secret))
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]openrouter.KeyBudget{}
	for _, b := range cur.Budgets {
		scopes[b.Scope] = b
	}
	kl, ok := scopes[openrouter.ScopeKeyLimit]
	if !ok || kl.LimitUSD != 40 || kl.RemainingUSD != 40 || kl.ResetInterval == nil || *kl.ResetInterval != "daily" || kl.ResetsAt == nil {
		t.Errorf("key_limit layer = %+v (present %v), want limit 40, remaining 40, daily with resets_at", kl, ok)
	}
	ws, ok := scopes[openrouter.ScopeWorkspace]
	if !ok || ws.BudgetID == nil || ws.LimitUSD <= 0 || math.Abs(ws.RemainingUSD-(ws.LimitUSD-ws.SpendUSD)) > 1e-9 || ws.SpendUSD <= 0 {
		t.Errorf("workspace layer = %+v (present %v), want the sample workspace budget with its spend", ws, ok)
	}
	tight := cur.TightestBudget()
	if tight == nil || !reflect.DeepEqual(tight, cur.EffectiveBudget) || tight.Scope != openrouter.ScopeWorkspace {
		t.Errorf("TightestBudget = %+v, EffectiveBudget = %+v; want the workspace layer, which has less left", tight, cur.EffectiveBudget)
	}
	if tight.Exhausted() {
		t.Errorf("the workspace layer is exhausted: %+v", tight)
	}

	// A management key has no layers of its own.
	mine, err := e.c.CurrentKey(ctx)
	if err != nil || len(mine.Budgets) != 0 || mine.EffectiveBudget != nil || mine.TightestBudget() != nil {
		t.Errorf("management key's budgets = %+v / %+v (%v), want none", mine.Budgets, mine.EffectiveBudget, err)
	}
}

// TestCurrentKeyWithoutBudgets reads an answer from before budgets existed: both fields stay empty and
// are left out when the key is encoded again, so nobody reads "no budgets" into an old answer.
func TestCurrentKeyWithoutBudgets(t *testing.T) {
	c := replyClient(t, http.StatusOK, nil, `{"data":{"label":"sk-or-v1-207...0c0","limit":null,"usage":1,"is_management_key":false}}`)
	cur, err := c.CurrentKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cur.Budgets != nil || cur.EffectiveBudget != nil || cur.TightestBudget() != nil {
		t.Errorf("budgets from an answer without them: %+v / %+v", cur.Budgets, cur.EffectiveBudget)
	}
	b, _ := json.Marshal(cur)
	if strings.Contains(string(b), "budget") {
		t.Errorf("re-encoded CurrentKey mentions budgets: %s", b)
	}
	exhausted := replyClient(t, http.StatusOK, nil, `{"data":{"label":"x","budgets":[
		{"scope":"member","limit_usd":5,"spend_usd":5.5,"remaining_usd":-0.5,"reset_interval":null,"resets_at":null,"include_byok":false,"guardrail_id":"g","budget_id":null},
		{"scope":"brand_new_scope","limit_usd":9,"spend_usd":0,"remaining_usd":9,"reset_interval":"weekly","resets_at":"2026-12-07T00:00:00Z","include_byok":true,"guardrail_id":null,"budget_id":null}],
		"effective_budget":null}}`)
	cur, err = exhausted.CurrentKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tb := cur.TightestBudget(); tb == nil || tb.Scope != "member" || !tb.Exhausted() || cur.Budgets[1].Scope != "brand_new_scope" {
		t.Errorf("TightestBudget = %+v over %+v, want the exhausted member layer (and unknown scopes kept)", tb, cur.Budgets)
	}
}

func TestWorkspaces(t *testing.T) {
	e := newSandbox(t, sandbox.Options{NoSampleKeys: true})
	ctx := context.Background()
	all, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	if all.TotalCount != 2 || len(all.Workspaces) != 2 {
		t.Fatalf("ListWorkspaces = %d of %d, want 2 of 2", len(all.Workspaces), all.TotalCount)
	}
	second, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{Offset: ptr(1), Limit: ptr(1)})
	if err != nil || len(second.Workspaces) != 1 || second.TotalCount != 2 || second.Workspaces[0].ID != all.Workspaces[1].ID {
		t.Errorf("page offset 1, limit 1 = %+v, %v; want the second workspace of 2", second, err)
	}
	for _, w := range all.Workspaces {
		if w.ID == "" || w.Name == "" || w.Slug == "" || w.DefaultGuardrailID == "" || w.CreatedAt == "" {
			t.Errorf("workspace %+v lacks a required field", w)
		}
		for _, id := range []string{w.ID, w.Slug} {
			got, err := e.c.GetWorkspace(ctx, id)
			if err != nil || got.ID != w.ID {
				t.Errorf("GetWorkspace(%s) = %+v, %v; want %s", id, got, err, w.ID)
			}
		}
	}
	_, err = e.c.GetWorkspace(ctx, "no-such-workspace")
	apiErr := apiError(t, err)
	if apiErr.Status != http.StatusNotFound || apiErr.Path != "/workspaces/{id}" || !strings.Contains(apiErr.Explain(), "no workspace") {
		t.Errorf("GetWorkspace(unknown) = %d %s, explained %q", apiErr.Status, apiErr.Path, apiErr.Explain())
	}
	if _, err := e.c.GetWorkspace(ctx, ""); !errors.Is(err, openrouter.ErrInvalidWorkspace) {
		t.Errorf("GetWorkspace(\"\") = %v, want ErrInvalidWorkspace", err)
	}
	if _, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{Limit: ptr(101)}); openrouter.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("ListWorkspaces(limit 101) = %v, want 400", err)
	}
}

func TestCredits(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	cr, err := e.c.GetCredits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	keys := allKeys(t, e)
	for _, k := range keys {
		sum += k.Usage
	}
	if cr.TotalCredits <= 0 || math.Abs(cr.TotalUsage-sum) > 1e-9 || cr.Remaining() != cr.TotalCredits-cr.TotalUsage {
		t.Errorf("credits = %+v, remaining %v; want credits bought and usage = Σ keys' usage = %v", cr, cr.Remaining(), sum)
	}
	// A deleted key's spend stays spent.
	if err := e.c.DeleteKey(ctx, keyNamed(t, keys, "Production chatbot").Hash); err != nil {
		t.Fatal(err)
	}
	after, err := e.c.GetCredits(ctx)
	if err != nil || math.Abs(after.TotalUsage-cr.TotalUsage) > 1e-9 {
		t.Errorf("credits after a delete = %+v, %v; want usage unchanged at %v", after, err, cr.TotalUsage)
	}
	bad := replyClient(t, http.StatusOK, nil, `{"data":{"total_credits":10}}`)
	if _, err := bad.GetCredits(ctx); !errors.Is(err, openrouter.ErrMalformedResponse) {
		t.Errorf("GetCredits without total_usage = %v, want ErrMalformedResponse", err)
	}
}

// TestActivityAgreesWithUsage holds the sandbox's activity against its keys' usage figures: the
// completed days of this week and month plus today make usage_weekly and usage_monthly, and 30 days
// of activity plus today are never more than the lifetime usage.
func TestActivityAgreesWithUsage(t *testing.T) {
	e := newSandbox(t, sandbox.Options{})
	ctx := context.Background()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	weekStart := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	monthStart := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	const tolerance = 1e-6

	withActivity := 0
	for _, k := range allKeys(t, e) {
		rows, err := e.c.GetActivity(ctx, openrouter.ActivityParams{APIKeyHash: k.Hash})
		if err != nil {
			t.Fatalf("GetActivity(%s): %v", k.Name, err)
		}
		var all, week, month, byokWeek float64
		for _, r := range rows {
			d, err := time.Parse("2006-01-02", r.Date)
			if err != nil || !d.Before(today) || d.Before(today.AddDate(0, 0, -30)) {
				t.Errorf("%s: row dated %q (%v), want one of the last 30 completed days", k.Name, r.Date, err)
			}
			if r.Requests <= 0 || r.PromptTokens <= 0 || r.WorkspaceID != "" {
				t.Errorf("%s: row %+v: want requests and tokens, and no workspace_id without group_by", k.Name, r)
			}
			all += r.Usage
			if !d.Before(weekStart) {
				week += r.Usage
				byokWeek += r.BYOKUsageInference
			}
			if !d.Before(monthStart) {
				month += r.Usage
			}
		}
		if len(rows) > 0 {
			withActivity++
		}
		if math.Abs(k.UsageDaily+week-k.UsageWeekly) > tolerance || math.Abs(k.UsageDaily+month-k.UsageMonthly) > tolerance ||
			math.Abs(k.BYOKUsageDaily+byokWeek-k.BYOKUsageWeekly) > tolerance || k.UsageDaily+all > k.Usage+tolerance {
			t.Errorf("%s: usage %v daily %v weekly %v monthly %v (byok weekly %v) against activity: 30 days %v, week %v, month %v (byok week %v)",
				k.Name, k.Usage, k.UsageDaily, k.UsageWeekly, k.UsageMonthly, k.BYOKUsageWeekly, all, week, month, byokWeek)
		}
		if k.LastUsedAt == nil && len(rows) > 0 {
			t.Errorf("%s: never used, yet %d activity rows", k.Name, len(rows))
		}
	}
	if withActivity < 3 {
		t.Errorf("only %d sample keys have activity", withActivity)
	}

	// Filters: rows aggregated over keys add up the same however they are cut.
	total := func(p openrouter.ActivityParams) (float64, []openrouter.ActivityRow) {
		rows, err := e.c.GetActivity(ctx, p)
		if err != nil {
			t.Fatalf("GetActivity(%+v): %v", p, err)
		}
		s := 0.0
		for _, r := range rows {
			s += r.Usage
		}
		return s, rows
	}
	everything, _ := total(openrouter.ActivityParams{})
	grouped, rows := total(openrouter.ActivityParams{GroupBy: openrouter.GroupByWorkspace})
	page, err := e.c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		t.Fatal(err)
	}
	perWorkspace := 0.0
	for _, w := range page.Workspaces {
		s, _ := total(openrouter.ActivityParams{WorkspaceID: w.ID})
		perWorkspace += s
	}
	for _, r := range rows {
		if r.WorkspaceID == "" {
			t.Errorf("group_by=workspace row without workspace_id: %+v", r)
		}
	}
	yesterday := today.AddDate(0, 0, -1).Format("2006-01-02")
	_, oneDay := total(openrouter.ActivityParams{Date: yesterday})
	for _, r := range oneDay {
		if r.Date != yesterday {
			t.Errorf("Date filter %s returned a row of %s", yesterday, r.Date)
		}
	}
	if everything <= 0 || math.Abs(everything-grouped) > tolerance || math.Abs(everything-perWorkspace) > tolerance {
		t.Errorf("activity totals: all %v, grouped by workspace %v, Σ per workspace %v; want them equal and positive", everything, grouped, perWorkspace)
	}

	if _, err := e.c.GetActivity(ctx, openrouter.ActivityParams{APIKeyHash: stubSecret}); !errors.Is(err, openrouter.ErrInvalidHash) {
		t.Errorf("GetActivity with a secret as hash = %v, want ErrInvalidHash before sending", err)
	}
	if _, err := e.c.GetActivity(ctx, openrouter.ActivityParams{Date: "2001-01-01"}); openrouter.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("GetActivity for a day outside the window = %v, want 400", err)
	}
}

// TestForbiddenIsReadFromItsMessage: a 403 is explained as the wrong kind of key only when
// OpenRouter's message says so.
func TestForbiddenIsReadFromItsMessage(t *testing.T) {
	tests := []struct {
		message string
		method  string
		reason  openrouter.ForbiddenReason
		want    string
	}{
		{"Only management keys can perform this operation", http.MethodGet, openrouter.ForbiddenNotManagementKey, "not a management key"},
		{"Only provisioning keys can perform this operation", http.MethodPatch, openrouter.ForbiddenNotManagementKey, "not a management key"},
		{"Access denied: your IP address is not allowed for this account", http.MethodGet, openrouter.ForbiddenIPAllowlist, "IP allowlist"},
		{"Request blocked by IP allowlist", http.MethodPost, openrouter.ForbiddenIPAllowlist, "IP allowlist"},
		{"This management key may not be used from this IP address: it is not in the allowlist", http.MethodGet, openrouter.ForbiddenIPAllowlist, "IP allowlist"},
		{"Workspace budget exceeded; resets at 2026-12-01T00:00:00Z", http.MethodGet, openrouter.ForbiddenBudget, "budget"},
		{"Key limit exceeded", http.MethodGet, openrouter.ForbiddenBudget, "budget"},
		{"You may not move keys between these workspaces", http.MethodPatch, openrouter.ForbiddenOther, "does not allow this change"},
		{"Forbidden", http.MethodGet, openrouter.ForbiddenOther, "Read OpenRouter's message"},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 403, "message": tt.message}})
			c := replyClient(t, http.StatusForbidden, nil, string(body))
			var err error
			if tt.method == http.MethodPatch {
				_, err = c.UpdateKey(context.Background(), stubHash, openrouter.UpdateKeyRequest{Name: openrouter.Some("x")})
			} else {
				_, err = c.GetKey(context.Background(), stubHash)
			}
			if tt.method == http.MethodPost {
				_, err = c.CreateKey(context.Background(), openrouter.CreateKeyRequest{Name: "x"})
			}
			apiErr := apiError(t, err)
			if got := apiErr.ForbiddenReason(); got != tt.reason {
				t.Errorf("ForbiddenReason = %d, want %d", got, tt.reason)
			}
			x := apiErr.Explain()
			if !strings.Contains(x, tt.want) || !strings.Contains(x, tt.message) {
				t.Errorf("Explain() = %q, want it to say %q and quote OpenRouter", x, tt.want)
			}
			if tt.reason != openrouter.ForbiddenNotManagementKey && strings.Contains(x, "not a management key") {
				t.Errorf("Explain() = %q blames the kind of key for a 403 about something else", x)
			}
		})
	}
	conflict := replyClient(t, http.StatusConflict, nil, `{"error":{"code":409,"message":"Conflict"}}`)
	_, err := conflict.UpdateKey(context.Background(), stubHash, openrouter.UpdateKeyRequest{Disabled: openrouter.Some(true)})
	if x := apiError(t, err).Explain(); !strings.Contains(x, "conflicts with the key's current state") || !strings.Contains(x, "Read the key again") {
		t.Errorf("409 on PATCH explained as %q", x)
	}
	if r := (&openrouter.APIError{Status: 401, Message: "Only management keys"}).ForbiddenReason(); r != openrouter.ForbiddenOther {
		t.Errorf("ForbiddenReason of a 401 = %d, want ForbiddenOther", r)
	}
}

// TestMalformedAnswersAreRefused: what OpenRouter answers is checked before anyone relies on it.
func TestMalformedAnswersAreRefused(t *testing.T) {
	ctx := context.Background()
	badHash := strings.Replace(stubKeyJSON, stubHash, "ABC", 1)
	noWorkspace := strings.Replace(stubKeyJSON, `"workspace_id":"0df9e665-d932-5740-b2c7-b52af166bc11",`, "", 1)
	for name, body := range map[string]string{
		"list, bad hash":        `{"data":[` + stubKeyJSON + `,` + badHash + `]}`,
		"list, no workspace_id": `{"data":[` + noWorkspace + `]}`,
		"list, data an object":  `{"data":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := replyClient(t, http.StatusOK, nil, body).ListKeys(ctx, openrouter.ListKeysParams{})
			if !errors.Is(err, openrouter.ErrMalformedResponse) || errors.Is(err, openrouter.ErrOutcomeUnknown) {
				t.Errorf("ListKeys = %v, want ErrMalformedResponse (and not ErrOutcomeUnknown)", err)
			}
		})
	}
	for name, body := range map[string]string{"get, bad hash": `{"data":` + badHash + `}`, "get, no workspace_id": `{"data":` + noWorkspace + `}`} {
		t.Run(name, func(t *testing.T) {
			_, err := replyClient(t, http.StatusOK, nil, body).GetKey(ctx, stubHash)
			if !errors.Is(err, openrouter.ErrMalformedResponse) {
				t.Errorf("GetKey = %v, want ErrMalformedResponse", err)
			}
		})
	}

	creates := []struct {
		name       string
		body       string
		wantHash   string
		wantSecret string
	}{
		{"no secret", `{"data":` + stubKeyJSON + `}`, stubHash, ""},
		{"secret not shaped like a key", `{"data":` + stubKeyJSON + `,"key":"hunter2"}`, stubHash, "hunter2"},
		{"bad hash, secret kept", `{"data":` + badHash + `,"key":"` + stubSecret + `"}`, "", stubSecret},
		{"data not a key, secret kept", `{"data":[1,2],"key":"` + stubSecret + `"}`, "", stubSecret},
		{"no data, secret kept", `{"key":"` + stubSecret + `"}`, "", stubSecret},
		{"a field mistyped, hash and secret kept", `{"data":` + strings.Replace(stubKeyJSON, `"usage":0,`, `"usage":"0",`, 1) + `,"key":"` + stubSecret + `"}`, stubHash, stubSecret},
		{"secret not a string", `{"data":` + stubKeyJSON + `,"key":42}`, stubHash, ""},
		{"nothing", `{}`, "", ""},
	}
	for _, tt := range creates {
		t.Run("create, "+tt.name, func(t *testing.T) {
			ck, err := replyClient(t, http.StatusCreated, nil, tt.body).CreateKey(ctx, openrouter.CreateKeyRequest{Name: "x"})
			if ck != nil || err == nil {
				t.Fatalf("CreateKey = %+v, %v; want an error", ck, err)
			}
			var mce *openrouter.MalformedCreateError
			if !errors.As(err, &mce) {
				t.Fatalf("CreateKey error %q (%T) is not a *MalformedCreateError", err, err)
			}
			if !errors.Is(err, openrouter.ErrOutcomeUnknown) || !errors.Is(err, openrouter.ErrMalformedResponse) {
				t.Errorf("error %q does not wrap ErrOutcomeUnknown and ErrMalformedResponse", err)
			}
			if mce.Hash != tt.wantHash || mce.Secret.Reveal() != tt.wantSecret {
				t.Errorf("error holds hash %q, secret %q; want %q, %q", mce.Hash, mce.Secret.Reveal(), tt.wantHash, tt.wantSecret)
			}
			msg := err.Error()
			if openrouter.LooksLikeSecret(msg) || (tt.wantSecret != "" && strings.Contains(msg, tt.wantSecret)) {
				t.Errorf("the error shows the secret: %q", msg)
			}
			if tt.wantHash != "" && !strings.Contains(msg, tt.wantHash) {
				t.Errorf("error %q does not name the created key %s", msg, tt.wantHash)
			}
			if !strings.Contains(msg, "may exist") {
				t.Errorf("error %q does not say the key may exist", msg)
			}
		})
	}
}

// TestIPAllowlistIsNotAKeyProblem: the sandbox's IP allowlist refuses a management key with 403,
// and the client explains it as the address, not the kind of key.
func TestIPAllowlistIsNotAKeyProblem(t *testing.T) {
	e := newSandbox(t, sandbox.Options{NoSampleKeys: true})
	if err := e.sb.SetAllowedIPs(e.mgmt, netip.MustParsePrefix("192.0.2.0/24")); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.ListKeys(context.Background(), openrouter.ListKeysParams{})
	apiErr := apiError(t, err)
	x := apiErr.Explain()
	if apiErr.Status != http.StatusForbidden || apiErr.ForbiddenReason() != openrouter.ForbiddenIPAllowlist ||
		!strings.Contains(x, "IP allowlist") || strings.Contains(x, "not a management key") {
		t.Errorf("a 403 from the allowlist: %d, reason %d, explained %q", apiErr.Status, apiErr.ForbiddenReason(), x)
	}
}
