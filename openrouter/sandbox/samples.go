package sandbox

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// Sample data: a fresh account holds keys worth auditing (near its limit,
// expired, never used, unused for months, disabled, with and without limits
// and expiry, in two workspaces), and the activity behind their usage, so a
// person or SDK pointed at the sandbox sees something realistic. The secrets
// are thrown away: nobody can use these keys, as with keys created in another
// session.

// sampleModel is a model the sample keys call, with the blended price that
// turns spend into tokens.
type sampleModel struct {
	slug, permaslug, provider, endpointID string
	usdPerMTok                            float64
	reasons                               bool // reasoning tokens are reported
}

var sampleModels = []sampleModel{
	{"openai/gpt-4.1", "openai/gpt-4.1-2025-04-14", "OpenAI", "7c1f0e2a-4b8d-4f3e-9a61-2d5b8c9e0f13", 4.0, false},
	{"anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", "Anthropic", "0b9e4d7c-1a2f-4c6e-8d3b-5f7a9c1e2d46", 6.0, true},
	{"google/gemini-2.5-flash", "google/gemini-2.5-flash", "Google", "e4a2c6b8-9d1f-4e3a-b5c7-8f0d2a4c6e81", 0.6, true},
	{"meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct", "DeepInfra", "5d3b1f9e-7c2a-4a8d-9e6b-0c4f2a8d6b37", 0.3, false},
}

// activity is what one key spent on one model on one completed UTC day.
type activity struct {
	day         time.Time // midnight UTC
	keyHash     string
	workspaceID string
	model       int // index in sampleModels
	usage, byok float64
	requests    int64
	prompt      int64
	completion  int64
	reasoning   int64
}

// activityPlan says how a sample key spent over the 30-day window.
type activityPlan struct {
	window, today float64 // USD over the completed days, and so far today
	byokShare     float64 // BYOK spend as a share of credit spend
	from, to      int     // active days, as days ago (from ≥ to ≥ 1)
	models        []int
	weekdays      bool // idle at weekends, like a CI job or a team
}

// addSampleKeys gives a fresh account the sample keys, their activity and
// some credits.
func (s *Sandbox) addSampleKeys(acct *account, now time.Time) {
	day := 24 * time.Hour
	at := func(ago time.Duration, micros int) time.Time {
		return now.Add(-ago).Truncate(time.Second).Add(time.Duration(micros) * time.Microsecond)
	}
	f := func(v float64) *float64 { return &v }
	tm := func(v time.Time) *time.Time { return &v }
	staging := acct.workspaces[1]

	s.mu.Lock()
	defer s.mu.Unlock()
	acct.totalCredits = 500
	staging.budgets = []workspaceBudget{{id: newUUID(), limit: 20, interval: ptrTo("monthly"), createdAt: staging.createdAt}}

	_, k := s.newKeyLocked(acct, "Legacy batch job", at(400*day, 881420))
	k.usage = usage{total: 48.9}
	k.lastUsedAt = tm(at(120*day, 17733))

	_, k = s.newKeyLocked(acct, "Old prototype", at(180*day, 120391))
	k.disabled = true
	k.limit, k.limitReset = f(10), ptrTo("monthly")
	k.usage = usage{total: 4.2176}
	k.updatedAt = tm(at(150*day, 4511))
	k.lastUsedAt = tm(at(151*day, 339102))

	_, k = s.newKeyLocked(acct, "Production chatbot", at(120*day, 363244))
	k.limit, k.limitReset = f(350), ptrTo("monthly")
	k.updatedAt = tm(at(119*day, 708154))
	s.spend(k, now, 331.143559902, 0, activityPlan{window: 41.6, today: 1.25, from: 30, to: 1, models: []int{0, 1}})
	k.lastUsedAt = tm(at(7*time.Minute, 52011))

	_, k = s.newKeyLocked(acct, "Contractor access", at(60*day, 230987))
	k.limit, k.limitReset = f(20), ptrTo("monthly")
	k.expiresAt = tm(at(10*day, 0).Truncate(time.Hour))
	s.spend(k, now, 6.4, 0, activityPlan{window: 3.1, from: 30, to: 11, models: []int{0}, weekdays: true})
	k.lastUsedAt = tm(at(11*day-3*time.Hour, 640222))

	_, k = s.newKeyLocked(acct, "Data team notebook", at(45*day, 512034))
	k.includeBYOKInLimit = true
	s.spend(k, now, 12.5, 17.38, activityPlan{window: 10.9, byokShare: 1.3, from: 30, to: 2, models: []int{2, 1}, weekdays: true})
	k.lastUsedAt = tm(at(2*day-5*time.Hour, 90817))

	_, k = s.newKeyLocked(acct, "CI pipeline", at(12*day, 48817))
	k.limit, k.limitReset = f(5), ptrTo("daily")
	k.expiresAt = tm(now.Add(365 * day).Truncate(time.Second))
	s.spend(k, now, -1, 0, activityPlan{window: 2.45, today: 0.4121, from: 11, to: 1, models: []int{3}, weekdays: true})
	k.lastUsedAt = tm(at(2*time.Hour, 771405))

	_, k = s.newKeyLocked(acct, "Unused test key", at(20*day, 318554))
	k.workspaceID = staging.id

	_, k = s.newKeyLocked(acct, "Staging agent", at(3*day, 904417))
	k.workspaceID = staging.id
	k.limit, k.limitReset = f(25), ptrTo("weekly")
	s.spend(k, now, -1, 0, activityPlan{window: 2.85, today: 0.4, from: 2, to: 1, models: []int{1, 2}})
	k.lastUsedAt = tm(at(25*time.Minute, 118200))
}

// spend records k's activity by plan and sets its usage figures from it,
// so that usage_daily, _weekly and _monthly are today's spend plus the
// activity of the completed days of the period. total (and byokTotal) is
// the lifetime figure, which includes spend from before the window; a
// negative total means the key is younger than the window, so its total is
// exactly its activity plus today.
func (s *Sandbox) spend(k *apiKey, now time.Time, total, byokTotal float64, plan activityPlan) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(k.name))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	today := now.UTC().Truncate(24 * time.Hour)

	type share struct {
		day   time.Time
		model int
		w     float64
	}
	var shares []share
	sum := 0.0
	for ago := plan.from; ago >= plan.to; ago-- {
		d := today.AddDate(0, 0, -ago)
		if plan.weekdays && (d.Weekday() == time.Saturday || d.Weekday() == time.Sunday) {
			continue
		}
		for i, m := range plan.models {
			w := (0.5 + rng.Float64()) / float64(i+1) // the first model carries most of the traffic
			shares = append(shares, share{d, m, w})
			sum += w
		}
	}
	u := usage{daily: plan.today, weekly: plan.today, monthly: plan.today}
	u.byokDaily = round6(plan.today * plan.byokShare)
	u.byokWeekly, u.byokMonthly = u.byokDaily, u.byokDaily
	window, byokWindow := 0.0, 0.0
	weekStart := startOfPeriod(now, "weekly")
	monthStart := startOfPeriod(now, "monthly")
	for _, sh := range shares {
		m := sampleModels[sh.model]
		a := activity{day: sh.day, keyHash: k.hash, workspaceID: k.workspaceID, model: sh.model}
		a.usage = round6(plan.window * sh.w / sum)
		a.byok = round6(a.usage * plan.byokShare)
		tokens := int64((a.usage + a.byok) / m.usdPerMTok * 1e6)
		a.prompt = tokens * 3 / 4
		a.completion = tokens - a.prompt
		if m.reasons {
			a.reasoning = a.completion / 5
		}
		a.requests = max(1, tokens/2600)
		k.owner.activity = append(k.owner.activity, a)
		window += a.usage
		byokWindow += a.byok
		if !sh.day.Before(weekStart) {
			u.weekly += a.usage
			u.byokWeekly += a.byok
		}
		if !sh.day.Before(monthStart) {
			u.monthly += a.usage
			u.byokMonthly += a.byok
		}
	}
	u.total, u.byok = total, byokTotal
	if total < 0 {
		u.total, u.byok = window+plan.today, byokWindow+u.byokDaily
	}
	if u.total < window+plan.today-1e-9 || u.byok < byokWindow+u.byokDaily-1e-9 {
		panic("sandbox: sample key " + k.name + " spent more in 30 days than in its lifetime")
	}
	k.usage = u
}

// round6 rounds to a millionth of a dollar, as activity figures look.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// startOfPeriod is when the current UTC day, week (from Monday) or month
// began, for usage_* figures and budget resets.
func startOfPeriod(now time.Time, interval string) time.Time {
	d := now.UTC().Truncate(24 * time.Hour)
	switch interval {
	case "weekly":
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "monthly":
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

// nextReset is when a period that resets by interval next starts over.
func nextReset(now time.Time, interval string) time.Time {
	start := startOfPeriod(now, interval)
	switch interval {
	case "weekly":
		return start.AddDate(0, 0, 7)
	case "monthly":
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

func ptrTo[T any](v T) *T { return &v }
