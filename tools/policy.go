package tools

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Policy bounds what an agent may do with the management key, whatever it asks: whoever installs the
// server sets it (--max-limit, --max-expiry, --managed-prefix, --max-batch), and every tool that makes or changes
// keys is held to it before anything is sent to OpenRouter. Reads are not limited. The zero value
// bounds nothing.
type Policy struct {
	// MaxLimit, when set, caps what one key may spend: every key this server makes, re-enables, moves
	// or changes the limit of must have a limit of at most MaxLimit USD, counting BYOK usage, that
	// resets no more often than LimitResets allow (by default never: MaxLimit is the most the key
	// ever spends). A key without a limit is refused, and rotate_key may not keep the old key beside
	// its successor, which would give one key's allowance twice.
	MaxLimit *float64
	// LimitResets are the resets a limit may have under MaxLimit (--max-limit-reset); a limit that
	// never resets is always allowed. Empty: only that.
	LimitResets []openrouter.LimitReset
	// MaxExpiry, when not zero, is how far ahead a new key may expire; a new key without an expiry gets
	// now + MaxExpiry.
	MaxExpiry time.Duration
	// ManagedPrefix, when set, is the prefix of the names of the keys the agent may create, change,
	// rotate or delete; a key cannot be renamed out of it.
	ManagedPrefix string
	// MaxBatch is the most actions one cleanup plan may hold (--max-batch); 0 is DefaultMaxBatch, so
	// that no plan is ever unbounded.
	MaxBatch int
	// Guardrail, when set, is the id of a guardrail every key this server makes (create_key, rotate_key's
	// successor) is assigned; a key whose assignment fails is deleted again. assign_guardrail may not
	// remove it from keys or replace it.
	Guardrail string
}

// DefaultMaxBatch is the most actions a cleanup plan holds unless the operator says otherwise: enough
// for a real clean-up, few enough that a person reads every line before it is applied.
const DefaultMaxBatch = 25

// batch is the most actions one plan holds.
func (p Policy) batch() int {
	if p.MaxBatch > 0 {
		return p.MaxBatch
	}
	return DefaultMaxBatch
}

// String says what the policy allows, in one sentence for the model, the MCP instructions and doctor;
// empty when it bounds nothing.
func (p Policy) String() string {
	var rules []string
	if p.MaxLimit != nil {
		rules = append(rules, fmt.Sprintf("every key must have a spending limit of at most %s USD (--max-limit) that %s, "+
			"with BYOK usage counted (include_byok_in_limit true), also when it is re-enabled or moved; rotate_key cannot "+
			"keep the old key", formatUSD(*p.MaxLimit), p.resetsAllowed()))
	}
	if p.MaxExpiry != 0 {
		rules = append(rules, fmt.Sprintf("new keys expire within %s; a key created without expires_at gets that expiry (--max-expiry)", FormatExpiry(p.MaxExpiry)))
	}
	if p.ManagedPrefix != "" {
		rules = append(rules, fmt.Sprintf("only keys whose name starts with %q may be created, changed or deleted, and a key cannot be renamed out of that prefix (--managed-prefix)", p.ManagedPrefix))
	}
	if p.MaxBatch != 0 {
		rules = append(rules, fmt.Sprintf("a cleanup plan holds at most %d actions (--max-batch)", p.MaxBatch))
	}
	if p.Guardrail != "" {
		rules = append(rules, fmt.Sprintf("every new key is assigned guardrail %s, which may not be removed or replaced (--guardrail)", p.Guardrail))
	}
	if len(rules) == 0 {
		return ""
	}
	return "The server's policy: " + strings.Join(rules, "; ") + "."
}

// policyRefusal is a call, or an action of a plan, that the policy does not allow.
type policyRefusal struct{ rule, value, what string }

func refusal(rule, value, what string) error { return policyRefusal{rule, value, what} }

// Error is the refusal as a call's result: nothing was sent to OpenRouter.
func (r policyRefusal) Error() string {
	return fmt.Sprintf("Refused by the server's policy (%s %s): %s. Nothing was sent to OpenRouter. "+
		"Change the request to fit the policy; only the server's operator can change the policy itself.", r.rule, r.value, r.what)
}

// skipReason says briefly why the policy leaves a key out of a plan.
func skipReason(err error) string {
	var r policyRefusal
	if errors.As(err, &r) {
		return fmt.Sprintf("policy %s %s: %s", r.rule, r.value, r.what)
	}
	return explain(err)
}

// checkLimit holds a key's limit to MaxLimit: limit is the limit it will have (nil: none).
func (p Policy) checkLimit(limit *float64) error {
	if p.MaxLimit == nil {
		return nil
	}
	max := formatUSD(*p.MaxLimit)
	if limit == nil {
		return refusal("--max-limit", max, "every key must have a spending limit; give limit (at most "+max+" USD)")
	}
	if *limit > *p.MaxLimit {
		return refusal("--max-limit", max, fmt.Sprintf("a limit of %s USD is above the maximum of %s USD", formatUSD(*limit), max))
	}
	return nil
}

// resetsAllowed says which resets a capped limit may have, as a phrase.
func (p Policy) resetsAllowed() string {
	if len(p.LimitResets) == 0 {
		return "never resets"
	}
	names := make([]string, len(p.LimitResets))
	for i, r := range p.LimitResets {
		names[i] = string(r)
	}
	return "resets " + strings.Join(names, " or ") + " or never (--max-limit-reset)"
}

// checkReset holds a capped limit's reset to LimitResets: reset is the one it will have (nil: never).
func (p Policy) checkReset(reset *string) error {
	if p.MaxLimit == nil || reset == nil || slices.Contains(p.LimitResets, openrouter.LimitReset(*reset)) {
		return nil
	}
	return refusal("--max-limit", formatUSD(*p.MaxLimit), fmt.Sprintf("the cap is the most a key may spend, and a limit "+
		"that resets %s would allow it again every period; the limit must %s: give limit_reset %q", *reset,
		strings.TrimPrefix(p.resetsAllowed(), "resets "), neverReset))
}

// checkBYOK holds a capped key to counting BYOK usage: byok is whether it will.
func (p Policy) checkBYOK(byok bool) error {
	if p.MaxLimit == nil || byok {
		return nil
	}
	return refusal("--max-limit", formatUSD(*p.MaxLimit), "usage billed to the user's own provider keys (BYOK) must count "+
		"against a capped limit, or the cap would not bound it: give include_byok_in_limit true")
}

// ParseLimitResets reads --max-limit-reset: a comma-separated list of daily, weekly, monthly and
// never (never is always allowed, and alone means only never).
func ParseLimitResets(s string) ([]openrouter.LimitReset, error) {
	var out []openrouter.LimitReset
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch r := openrouter.LimitReset(f); {
		case f == neverReset || f == "":
		case slices.Contains(openrouter.LimitResets, r):
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		default:
			return nil, fmt.Errorf("invalid reset %q: want a comma-separated list of daily, weekly, monthly or never", f)
		}
	}
	return out, nil
}

// expiry holds a new key's expiry to MaxExpiry. It returns the expiry the key gets: the one given, or
// now + MaxExpiry when none was given (defaulted is then true).
func (p Policy) expiry(given *string, now time.Time) (expiresAt *string, defaulted bool, err error) {
	if p.MaxExpiry == 0 {
		return given, false, nil
	}
	latest := now.Add(p.MaxExpiry).UTC().Truncate(time.Second)
	if given == nil {
		s := latest.Format(time.RFC3339)
		return &s, true, nil
	}
	t, err := time.Parse(time.RFC3339, *given)
	if err != nil {
		return nil, false, invalidArgs("`expires_at` must be an ISO 8601 UTC time with seconds, e.g. 2027-12-31T23:59:59Z")
	}
	if t.After(latest) {
		return nil, false, refusal("--max-expiry", FormatExpiry(p.MaxExpiry), fmt.Sprintf("expires_at may be at most %s from now (%s)",
			FormatExpiry(p.MaxExpiry), latest.Format(time.RFC3339)))
	}
	return given, false, nil
}

// checkName holds the name a key is given (on creation or by a rename) to ManagedPrefix.
func (p Policy) checkName(name string) error {
	if p.ManagedPrefix == "" || strings.HasPrefix(name, p.ManagedPrefix) {
		return nil
	}
	return refusal("--managed-prefix", strconv.Quote(p.ManagedPrefix), fmt.Sprintf("key names must start with %q", p.ManagedPrefix))
}

// checkTarget holds an existing key that a call would change, rotate or delete to ManagedPrefix.
func (p Policy) checkTarget(k *openrouter.Key) error {
	if p.ManagedPrefix == "" || k == nil || strings.HasPrefix(k.Name, p.ManagedPrefix) {
		return nil
	}
	return refusal("--managed-prefix", strconv.Quote(p.ManagedPrefix), fmt.Sprintf("the key %q is not one this server manages "+
		"(its name does not start with %q); it may be read, not changed", k.Name, p.ManagedPrefix))
}

// ParseExpiry reads --max-expiry: a Go duration (720h) or a number of days (30d), at least a minute.
// Its errors say what is wanted, not the value: the caller names the value and where it came from.
func ParseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.IsNaN(n) || n > 3650 {
			return 0, errors.New("want a number of days up to 3650 (30d) or a Go duration (12h, 90m)")
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a number of days (30d) or a Go duration (12h, 90m)")
		}
	}
	if d < time.Minute {
		return 0, errors.New("want at least a minute, e.g. 30d or 12h")
	}
	return d, nil
}

// FormatExpiry writes a duration as ParseExpiry reads it, in days when it is whole days.
func FormatExpiry(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// formatUSD writes an amount without trailing zeros.
func formatUSD(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
