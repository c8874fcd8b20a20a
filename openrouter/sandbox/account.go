package sandbox

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The account endpoints next to the keys: workspaces, credits, activity,
// and the budget layers GET /key reports. All but GET /key need a
// management key.

const (
	msgActivityDate     = "date must be a UTC day of the last 30 completed days, as YYYY-MM-DD"
	msgActivityHash     = "api_key_hash must be a key hash: 64 lowercase hex characters"
	msgActivityGroupBy  = "group_by must be workspace"
	activityWindowDays  = 30
	activityDayTemplate = "2006-01-02"
)

var dayPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// workspace is one workspace of an account.
type workspace struct {
	id, name, slug string
	description    *string
	createdBy      string
	createdAt      time.Time
	budgets        []workspaceBudget
	includeBYOK    bool // BYOK spend counts toward the budgets
}

// workspaceBudget is a spending cap on a whole workspace; a nil interval
// is a lifetime budget.
type workspaceBudget struct {
	id        string
	limit     float64
	interval  *string
	createdAt time.Time
}

func newWorkspace(id, name, slug string, description *string, createdBy string, createdAt time.Time) *workspace {
	return &workspace{id: id, name: name, slug: slug, description: description, createdBy: createdBy, createdAt: createdAt}
}

// defaultGuardrailID is derived from the workspace id, as OpenRouter
// documents ("deterministic ID derived from the workspace ID").
func (w *workspace) defaultGuardrailID() string {
	sum := sha256.Sum256([]byte("guardrail:" + w.id))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (w *workspace) wire() wireWorkspace {
	created := formatTime(w.createdAt)
	return wireWorkspace{
		ID:                              w.id,
		Name:                            w.name,
		Slug:                            w.slug,
		Description:                     clonePtr(w.description),
		DefaultTextModel:                nil,
		DefaultImageModel:               nil,
		DefaultProviderSort:             nil,
		DefaultGuardrailID:              w.defaultGuardrailID(),
		IncludeBYOKInBudgets:            w.includeBYOK,
		IOLoggingAPIKeyIDs:              nil,
		IOLoggingSamplingRate:           1,
		IsDataDiscountLoggingEnabled:    true,
		IsObservabilityBroadcastEnabled: false,
		IsObservabilityIOLoggingEnabled: false,
		CreatedAt:                       created,
		UpdatedAt:                       &created,
		CreatedBy:                       ptrTo(w.createdBy),
	}
}

// findWorkspace finds a workspace of acct by id (any case) or slug.
func (acct *account) findWorkspace(idOrSlug string) *workspace {
	for _, w := range acct.workspaces {
		if strings.EqualFold(w.id, idOrSlug) || w.slug == idOrSlug {
			return w
		}
	}
	return nil
}

// listWorkspaces answers GET /workspaces: creation order, offset and limit.
func (s *Sandbox) listWorkspaces(c *call) (int, any, *apiError) {
	offset, limit, aerr := paging(c.r.URL.Query())
	if aerr != nil {
		return 0, nil, aerr
	}
	data := page(c.acct.workspaces, offset, limit, (*workspace).wire)
	return http.StatusOK, wireWorkspaceList{Data: data, TotalCount: len(c.acct.workspaces)}, nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(v string, present bool, def, lo, hi int, msg string) (int, *apiError) {
	if !present {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || !digitsPattern.MatchString(v) || n < lo || n > hi {
		return 0, badRequest(msg)
	}
	return n, nil
}

// getWorkspace answers GET /workspaces/{id}, by id or slug.
func (s *Sandbox) getWorkspace(c *call) (int, any, *apiError) {
	w := c.acct.findWorkspace(c.r.PathValue("id"))
	if w == nil {
		return 0, nil, errNotFound
	}
	return http.StatusOK, wireWorkspaceResponse{Data: w.wire()}, nil
}

// getCredits answers GET /credits: what the account bought, and what its
// keys (deleted ones too) have used.
func (s *Sandbox) getCredits(c *call) (int, any, *apiError) {
	used := c.acct.deletedUsage
	for _, k := range c.acct.keysInOrder() {
		used += k.usage.total
	}
	return http.StatusOK, wireCreditsResponse{Data: wireCredits{TotalCredits: c.acct.totalCredits, TotalUsage: used}}, nil
}

// activityKey groups activity into the rows GET /activity returns.
type activityKey struct {
	day       time.Time
	model     int
	workspace string
}

// getActivity answers GET /activity: the last 30 completed UTC days,
// filtered by date, key, workspace (and user), one row per day × model ×
// endpoint, split per workspace with group_by=workspace.
func (s *Sandbox) getActivity(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	today := c.now.Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -activityWindowDays)
	var day *time.Time
	if q.Has("date") {
		v := q.Get("date")
		d, err := time.Parse(activityDayTemplate, v)
		if err != nil || !dayPattern.MatchString(v) || d.Before(first) || !d.Before(today) {
			return 0, nil, badRequest(msgActivityDate)
		}
		day = &d
	}
	keyHash := q.Get("api_key_hash")
	if q.Has("api_key_hash") && !hashPattern.MatchString(keyHash) {
		return 0, nil, badRequest(msgActivityHash)
	}
	wsID := ""
	if q.Has("workspace_id") {
		ws, aerr := resolveWorkspace(c.acct, q.Get("workspace_id"))
		if aerr != nil {
			return 0, nil, aerr
		}
		wsID = ws
	}
	byWorkspace := false
	if q.Has("group_by") {
		if q.Get("group_by") != "workspace" {
			return 0, nil, badRequest(msgActivityGroupBy)
		}
		byWorkspace = true
	}
	// An organization member's id filters; an individual account has only
	// its own user, so any other id matches nothing.
	otherUser := q.Has("user_id") && q.Get("user_id") != c.acct.userID

	rows := map[activityKey]*wireActivity{}
	for _, a := range c.acct.activity {
		if otherUser || a.day.Before(first) || !a.day.Before(today) || (day != nil && !a.day.Equal(*day)) ||
			(keyHash != "" && a.keyHash != keyHash) || (wsID != "" && a.workspaceID != wsID) {
			continue
		}
		k := activityKey{day: a.day, model: a.model}
		if byWorkspace {
			k.workspace = a.workspaceID
		}
		r := rows[k]
		if r == nil {
			m := sampleModels[a.model]
			r = &wireActivity{Date: a.day.Format(activityDayTemplate), Model: m.slug, ModelPermaslug: m.permaslug,
				EndpointID: m.endpointID, ProviderName: m.provider}
			if byWorkspace {
				r.WorkspaceID = a.workspaceID
			}
			rows[k] = r
		}
		r.Usage += a.usage
		r.BYOKUsageInference += a.byok
		r.Requests += a.requests
		r.PromptTokens += a.prompt
		r.CompletionTokens += a.completion
		r.ReasoningTokens += a.reasoning
	}
	out := make([]wireActivity, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b wireActivity) int {
		return cmp.Or(cmp.Compare(b.Date, a.Date), cmp.Compare(a.Model, b.Model), cmp.Compare(a.WorkspaceID, b.WorkspaceID))
	})
	return http.StatusOK, wireActivityResponse{Data: out}, nil
}

// budgets lists the layers that apply to k's requests: its own limit
// (key_limit) and its workspace's budgets. The tightest (least remaining)
// is reported as effective; OpenRouter does not document how it picks that
// layer, so this is the sandbox's reading.
func (k *apiKey) budgets(now time.Time) ([]wireKeyBudget, *wireKeyBudget) {
	out := []wireKeyBudget{}
	if k.limit != nil {
		b := wireKeyBudget{Scope: "key_limit", LimitUSD: *k.limit, SpendUSD: k.usage.total,
			RemainingUSD: *k.limitRemaining(), ResetInterval: clonePtr(k.limitReset), IncludeBYOK: k.includeBYOKInLimit}
		if k.limitReset != nil {
			b.ResetsAt = ptrTo(formatTime(nextReset(now, *k.limitReset)))
		}
		out = append(out, b)
	}
	if ws := k.owner.findWorkspace(k.workspaceID); ws != nil {
		for _, wb := range ws.budgets {
			spent := k.owner.workspaceSpend(ws, wb.interval)
			b := wireKeyBudget{Scope: "workspace", LimitUSD: wb.limit, SpendUSD: spent, RemainingUSD: wb.limit - spent,
				ResetInterval: clonePtr(wb.interval), IncludeBYOK: ws.includeBYOK, BudgetID: ptrTo(wb.id)}
			if wb.interval != nil {
				b.ResetsAt = ptrTo(formatTime(nextReset(now, *wb.interval)))
			}
			out = append(out, b)
		}
	}
	// A guardrail with a budget: the key's own (scope api_key), else its
	// workspace's default (workspace_default_key), measured on the key's
	// spend, the sandbox's reading of a guardrail's budget.
	for _, g := range k.owner.guardrailsOn(k) {
		if g.guardrail.limitUSD == nil {
			continue
		}
		limit, interval := *g.guardrail.limitUSD, g.guardrail.resetInterval
		spent := k.usage.inPeriod(interval, g.guardrail.includeBYOK)
		b := wireKeyBudget{Scope: g.scope, LimitUSD: limit, SpendUSD: spent, RemainingUSD: limit - spent,
			ResetInterval: clonePtr(interval), IncludeBYOK: g.guardrail.includeBYOK, GuardrailID: ptrTo(g.guardrail.id)}
		if interval != nil {
			b.ResetsAt = ptrTo(formatTime(nextReset(now, *interval)))
		}
		out = append(out, b)
	}
	var effective *wireKeyBudget
	for i := range out {
		if effective == nil || out[i].RemainingUSD < effective.RemainingUSD {
			effective = &out[i]
		}
	}
	if effective != nil {
		effective = ptrTo(*effective)
	}
	return out, effective
}

// workspaceSpend is what the keys now in ws spent in the current period of
// interval (lifetime when nil), BYOK included when ws says so.
func (acct *account) workspaceSpend(ws *workspace, interval *string) float64 {
	total := 0.0
	for _, k := range acct.keysInOrder() {
		if k.workspaceID != ws.id {
			continue
		}
		total += k.usage.inPeriod(interval, ws.includeBYOK)
	}
	return total
}

// inPeriod is the spend in the current period of interval (lifetime when
// nil), BYOK spend included when byok is set.
func (u usage) inPeriod(interval *string, byok bool) float64 {
	spent, b := u.total, u.byok
	if interval != nil {
		switch *interval {
		case "daily":
			spent, b = u.daily, u.byokDaily
		case "weekly":
			spent, b = u.weekly, u.byokWeekly
		case "monthly":
			spent, b = u.monthly, u.byokMonthly
		}
	}
	if byok {
		spent += b
	}
	return spent
}

// keysInOrder is acct's keys in creation order, so that sums over them come
// out the same float on every call.
func (acct *account) keysInOrder() []*apiKey {
	return slices.SortedFunc(maps.Values(acct.keys), func(a, b *apiKey) int { return cmp.Compare(a.seq, b.seq) })
}
