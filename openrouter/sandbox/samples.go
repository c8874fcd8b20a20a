package sandbox

import (
	"encoding/hex"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// Sample data: a fresh account holds keys worth auditing (near its limit,
// expired, never used, unused for months, disabled, with and without limits
// and expiry, in two workspaces, one made by someone who has left), the
// 90 days of activity behind their usage, and the controls beside them, so
// a person or SDK pointed at the sandbox sees something realistic. The
// sample keys have no secret (their hashes are drawn, not computed from
// one): nobody can use them, as with keys created in another session.

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

// activityPlan says how a sample key spent over the 90 days of history
// the sandbox keeps: the 30-day window that GET /activity shows, and the
// 60 days before it that only POST /analytics/query reaches.
type activityPlan struct {
	window, today float64 // USD over the window's completed days, and so far today
	history       float64 // USD over the 60 days before the window
	byokShare     float64 // BYOK spend as a share of credit spend
	from, to      int     // active days of the window, as days ago (from ≥ to ≥ 1)
	since         int     // active days of the history: from since days ago to 31 (0: none)
	models        []int
	weekdays      bool // idle at weekends, like a CI job or a team
}

// The sample account's people: the owner (the account's user) and the
// other creators of the sample keys, one of whom has left the organization.
var sampleMembers = []struct {
	first, last, email, role string
	left                     bool
}{
	{"Alex", "Morgan", "alex.morgan@example.com", "org:admin", false},
	{"Priya", "Shah", "priya.shah@example.com", "org:member", false},
	{"Sam", "Lee", "sam.lee@example.com", "org:member", false},
	{"Jordan", "Blake", "jordan.blake@example.com", "org:member", true},
}

// addSampleKeys gives a fresh account the sample keys, their activity, the
// controls beside them (guardrails, a BYOK credential, members) and some
// credits. Every id is drawn from ids, in a fixed order, so that the sample
// data is the same in every sandbox.
func (s *Sandbox) addSampleKeys(acct *account, now time.Time, ids io.Reader) {
	day := 24 * time.Hour
	at := func(ago time.Duration, micros int) time.Time {
		return now.Add(-ago).Truncate(time.Second).Add(time.Duration(micros) * time.Microsecond)
	}
	f := func(v float64) *float64 { return &v }
	tm := func(v time.Time) *time.Time { return &v }
	def, staging := acct.workspaces[0], acct.workspaces[1]

	s.mu.Lock()
	defer s.mu.Unlock()
	acct.totalCredits = 500
	staging.budgets = []workspaceBudget{{id: newUUID(ids), limit: 20, interval: ptrTo("monthly"), createdAt: staging.createdAt}}

	// people[i] is the user id of sampleMembers[i]; the first is the owner.
	people := []string{acct.userID}
	owner := acct.members[0]
	owner.firstName, owner.lastName, owner.email = ptrTo(sampleMembers[0].first), ptrTo(sampleMembers[0].last), sampleMembers[0].email
	for i, m := range sampleMembers[1:] {
		id := newUserID(ids)
		people = append(people, id)
		if !m.left {
			acct.members = append(acct.members, &member{id: id, email: m.email, firstName: ptrTo(m.first), lastName: ptrTo(m.last),
				role: m.role, joinedAt: acct.workspaces[0].createdAt.Add(time.Duration(i+1) * 30 * day)})
		}
	}
	key := func(name string, created time.Time, creator int) *apiKey {
		hash := hex.EncodeToString(readN(ids, 32))
		label := hex.EncodeToString(readN(ids, 3))
		k := s.addKeyLocked(acct, hash, "sk-or-v1-"+label[:3]+"..."+label[3:], name, created)
		k.creatorUserID = ptrTo(people[creator])
		return k
	}

	k := key("Legacy batch job", at(400*day, 881420), 3)
	k.usage = usage{total: 48.9}
	k.lastUsedAt = tm(at(120*day, 17733))

	k = key("Old prototype", at(180*day, 120391), 0)
	k.disabled = true
	k.limit, k.limitReset = f(10), ptrTo("monthly")
	k.usage = usage{total: 4.2176}
	k.updatedAt = tm(at(150*day, 4511))
	k.lastUsedAt = tm(at(151*day, 339102))

	production := key("Production chatbot", at(120*day, 363244), 0)
	production.limit, production.limitReset = f(350), ptrTo("monthly")
	production.updatedAt = tm(at(119*day, 708154))
	s.spend(production, now, 331.143559902, 0, activityPlan{window: 41.6, today: 1.25, history: 95.3, since: 90, from: 30, to: 1, models: []int{0, 1}})
	production.lastUsedAt = tm(at(7*time.Minute, 52011))

	k = key("Contractor access", at(60*day, 230987), 2)
	k.limit, k.limitReset = f(20), ptrTo("monthly")
	k.expiresAt = tm(at(10*day, 0).Truncate(time.Hour))
	s.spend(k, now, 6.4, 0, activityPlan{window: 3.1, history: 2.2, since: 59, from: 30, to: 11, models: []int{0}, weekdays: true})
	k.lastUsedAt = tm(at(11*day-3*time.Hour, 640222))

	notebook := key("Data team notebook", at(45*day, 512034), 1)
	notebook.includeBYOKInLimit = true
	s.spend(notebook, now, 12.5, 17.38, activityPlan{window: 10.9, history: 1.4, since: 44, byokShare: 1.3, from: 30, to: 2, models: []int{2, 1}, weekdays: true})
	notebook.lastUsedAt = tm(at(2*day-5*time.Hour, 90817))

	k = key("CI pipeline", at(12*day, 48817), 0)
	k.limit, k.limitReset = f(5), ptrTo("daily")
	k.expiresAt = tm(now.Add(365 * day).Truncate(time.Second))
	s.spend(k, now, -1, 0, activityPlan{window: 2.45, today: 0.4121, from: 11, to: 1, models: []int{3}, weekdays: true})
	k.lastUsedAt = tm(at(2*time.Hour, 771405))

	k = key("Unused test key", at(20*day, 318554), 2)
	k.workspaceID = staging.id

	k = key("Staging agent", at(3*day, 904417), 1)
	k.workspaceID = staging.id
	k.limit, k.limitReset = f(25), ptrTo("weekly")
	s.spend(k, now, -1, 0, activityPlan{window: 2.85, today: 0.4, from: 2, to: 1, models: []int{1, 2}})
	k.lastUsedAt = tm(at(25*time.Minute, 118200))

	// Two guardrails: one that binds the production key (and whatever Sam
	// Lee creates), and the default workspace's own, which binds every key
	// in it but sets no budget, so keys without a limit stay unbounded.
	guard := &guardrail{id: newUUID(ids), name: "Production policy", description: ptrTo("Budget and model rules for customer-facing traffic"),
		workspaceID: ptrTo(def.id), limitUSD: f(300), resetInterval: ptrTo("monthly"),
		allowedModels:    []string{sampleModels[0].permaslug, sampleModels[1].permaslug},
		allowedProviders: []string{"openai", "anthropic"}, zdr: ptrTo(false),
		builtins:  []builtinFilter{{slug: "email", action: "redact"}},
		createdAt: at(119*day, 12001), updatedAt: tm(at(40*day, 55170))}
	defaults := &guardrail{id: def.defaultGuardrailID(), name: "Workspace " + def.id + " Default", workspaceID: ptrTo(def.id),
		zdr: ptrTo(false), builtins: []builtinFilter{{slug: "regex-prompt-injection", action: "flag", scanScope: ptrTo("all_messages")}},
		createdAt: def.createdAt, updatedAt: tm(at(90*day, 300417))}
	acct.guardrails = []*guardrail{guard, defaults}
	acct.keyAssignments = []*keyAssignment{{id: newUUID(ids), keyHash: production.hash, guardrailID: guard.id, assignedBy: ptrTo(acct.userID), createdAt: at(119*day, 20777)}}
	acct.memberAssignments = []*memberAssignment{{id: newUUID(ids), userID: people[2], guardrailID: guard.id, assignedBy: ptrTo(acct.userID), createdAt: at(60*day, 910331)}}

	// A provider key of the data team that only their notebook may use, and
	// a shared one that any key may.
	acct.byok = []*byokCredential{
		{id: newUUID(ids), provider: "google-ai-studio", workspaceID: ptrTo(def.id), label: "AIza...x4Qe", name: ptrTo("Data team Gemini"),
			allowedKeyHashes: []string{notebook.hash}, createdAt: at(44*day, 71922)},
		{id: newUUID(ids), provider: "anthropic", workspaceID: ptrTo(def.id), label: "sk-ant-...9fKd", name: ptrTo("Shared Anthropic fallback"),
			isFallback: true, createdAt: at(100*day, 412009)},
	}
}

// readN returns n bytes drawn from src.
func readN(src io.Reader, n int) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(src, b)
	return b
}

// spend records k's activity by plan and sets its usage figures from it,
// so that usage_daily, _weekly and _monthly are today's spend plus the
// activity of the completed days of the period. total (and byokTotal) is
// the lifetime figure, which includes spend from before the 90 days; a
// negative total means the key is younger than the window, so its total is
// exactly its activity plus today.
func (s *Sandbox) spend(k *apiKey, now time.Time, total, byokTotal float64, plan activityPlan) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(k.name))
	today := now.UTC().Truncate(24 * time.Hour)
	// The window and the history draw from streams of their own, so that
	// adding the history left the window's figures as they were.
	window := s.record(k, today, plan, plan.from, plan.to, plan.window, rand.New(rand.NewPCG(h.Sum64(), 0x5eed)))
	history := s.record(k, today, plan, plan.since, activityWindowDays+1, plan.history, rand.New(rand.NewPCG(h.Sum64(), 0x90d)))

	u := usage{daily: plan.today, weekly: plan.today, monthly: plan.today}
	u.byokDaily = round6(plan.today * plan.byokShare)
	u.byokWeekly, u.byokMonthly = u.byokDaily, u.byokDaily
	weekStart := startOfPeriod(now, "weekly")
	monthStart := startOfPeriod(now, "monthly")
	spent, byokSpent := 0.0, 0.0
	for _, a := range append(window, history...) {
		spent += a.usage
		byokSpent += a.byok
		if !a.day.Before(weekStart) {
			u.weekly += a.usage
			u.byokWeekly += a.byok
		}
		if !a.day.Before(monthStart) {
			u.monthly += a.usage
			u.byokMonthly += a.byok
		}
	}
	u.total, u.byok = total, byokTotal
	if total < 0 {
		u.total, u.byok = spent+plan.today, byokSpent+u.byokDaily
	}
	if u.total < spent+plan.today-1e-9 || u.byok < byokSpent+u.byokDaily-1e-9 {
		panic("sandbox: sample key " + k.name + " spent more in 90 days than in its lifetime")
	}
	k.usage = u
}

// record spreads amount over the active days from days ago down to to days
// ago (none when from < to) and plan's models, adds the records to k's
// account and returns them.
func (s *Sandbox) record(k *apiKey, today time.Time, plan activityPlan, from, to int, amount float64, rng *rand.Rand) []activity {
	type share struct {
		day   time.Time
		model int
		w     float64
	}
	var shares []share
	sum := 0.0
	for ago := from; ago >= to; ago-- {
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
	out := make([]activity, 0, len(shares))
	for _, sh := range shares {
		m := sampleModels[sh.model]
		a := activity{day: sh.day, keyHash: k.hash, workspaceID: k.workspaceID, model: sh.model}
		a.usage = round6(amount * sh.w / sum)
		a.byok = round6(a.usage * plan.byokShare)
		tokens := int64((a.usage + a.byok) / m.usdPerMTok * 1e6)
		a.prompt = tokens * 3 / 4
		a.completion = tokens - a.prompt
		if m.reasons {
			a.reasoning = a.completion / 5
		}
		a.requests = max(1, tokens/2600)
		out = append(out, a)
	}
	k.owner.activity = append(k.owner.activity, out...)
	return out
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
