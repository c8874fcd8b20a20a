package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// The kinds of finding, worst first: the order of the report.
var findingKinds = []string{"expired", "over_limit", "near_limit", "expiring_soon", "disabled", "unused", "never_used", "no_limit", "no_expiry"}

const (
	maxAuditKeys     = 5000 // keys one audit reads; beyond, the audit stops and says how to narrow it
	maxAuditFindings = 500  // findings one result lists (worst first); the summary counts them all
	auditConcurrency = 4    // workspaces read at once: enough to hide latency, gentle on the rate limit
	maxKindLines     = 8    // keys the text names per kind
)

// auditKeysArgs are audit_keys' arguments: which workspaces and kinds, and the thresholds.
type auditKeysArgs struct {
	WorkspaceIDs []string `json:"workspace_ids,omitempty" jsonschema:"audit only these workspaces (UUIDs); default every workspace"`
	Kinds        []string `json:"kinds,omitempty" jsonschema:"report only these kinds of finding; default all"`
	auditThresholds
}

// auditThresholds are the thresholds of the kinds of finding, shared by audit_keys and plan_cleanup.
type auditThresholds struct {
	UnusedDays   int     `json:"unused_days,omitempty" jsonschema:"unused: no use for this many days (default 30)"`
	NearLimitPct float64 `json:"near_limit_pct,omitempty" jsonschema:"near_limit: this percentage of the limit used (default 90)"`
	ExpiringDays int     `json:"expiring_days,omitempty" jsonschema:"expiring_soon: expires within this many days (default 7)"`
}

// constrainAudited sets what tags cannot say of the workspaces and thresholds of an audit.
func constrainAudited(s *jsonschema.Schema) {
	ws := property(s, "workspace_ids")
	ws.Items.Pattern = uuidPattern
	ws.MaxItems = jsonschema.Ptr(100)
	property(s, "unused_days").Minimum = jsonschema.Ptr(1.0)
	pct := property(s, "near_limit_pct")
	pct.Minimum, pct.Maximum = jsonschema.Ptr(1.0), jsonschema.Ptr(100.0)
	property(s, "expiring_days").Minimum = jsonschema.Ptr(1.0)
}

// finding is one thing wrong with one key.
type finding struct {
	Hash        string `json:"hash" jsonschema:"the key's hash"`
	Name        string `json:"name" jsonschema:"the key's name"`
	WorkspaceID string `json:"workspace_id" jsonschema:"the workspace the key is in"`
	Kind        string `json:"kind" jsonschema:"what is wrong: expired, over_limit, near_limit, expiring_soon, disabled, unused, never_used, no_limit or no_expiry"`
	Detail      string `json:"detail" jsonschema:"the figures behind the finding"`
}

// auditKeysResult is audit_keys' structuredContent.
type auditKeysResult struct {
	Findings          []finding      `json:"findings" jsonschema:"the findings, worst kind first; a key may have several"`
	FindingsOmitted   int            `json:"findings_omitted,omitempty" jsonschema:"findings left out of the list past the first 500 (summary counts them all)"`
	KeysChecked       int            `json:"keys_checked" jsonschema:"keys examined, disabled and expired ones included"`
	WorkspacesChecked int            `json:"workspaces_checked" jsonschema:"workspaces whose keys were examined"`
	Summary           map[string]int `json:"summary" jsonschema:"how many findings of each kind"`
}

var auditKeys = spec[auditKeysArgs, auditKeysResult]{
	name:  "audit_keys",
	title: "Audit all API keys",
	description: "Check every key of every workspace (disabled and expired ones included) in one call and report " +
		"what needs attention, worst first (the kinds are those of the kinds argument). Use it for \"which keys are " +
		"stale, expired or near their limit?\", then act on a key by its hash. Needs a management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		constrainAudited(s)
		kinds := property(s, "kinds")
		kinds.Items.Enum = make([]any, len(findingKinds))
		for i, k := range findingKinds {
			kinds.Items.Enum[i] = k
		}
	},
	call: func(ctx context.Context, d *deps, in auditKeysArgs) (auditKeysResult, error) {
		keys, workspaces, err := auditedKeys(ctx, d.client, in.WorkspaceIDs)
		if err != nil {
			return auditKeysResult{}, err
		}
		rules := in.rules(time.Now())
		out := auditKeysResult{KeysChecked: len(keys), WorkspacesChecked: workspaces, Summary: map[string]int{}}
		for _, k := range keys {
			for _, f := range rules.check(k) {
				if len(in.Kinds) == 0 || slices.Contains(in.Kinds, f.Kind) {
					out.Findings = append(out.Findings, f)
					out.Summary[f.Kind]++
				}
			}
		}
		slices.SortStableFunc(out.Findings, func(a, b finding) int {
			return cmp.Or(cmp.Compare(slices.Index(findingKinds, a.Kind), slices.Index(findingKinds, b.Kind)),
				cmp.Compare(a.Name, b.Name), cmp.Compare(a.Hash, b.Hash))
		})
		if len(out.Findings) > maxAuditFindings {
			out.FindingsOmitted = len(out.Findings) - maxAuditFindings
			out.Findings = out.Findings[:maxAuditFindings]
		}
		if out.Findings == nil {
			out.Findings = []finding{}
		}
		return out, nil
	},
	text: func(_ auditKeysArgs, out auditKeysResult) string {
		var b strings.Builder
		fmt.Fprintf(&b, "Audited %s in %s: ", count(out.KeysChecked, "key"), count(out.WorkspacesChecked, "workspace"))
		if len(out.Summary) == 0 {
			b.WriteString("nothing to report.")
			return b.String()
		}
		var counts []string
		for _, kind := range findingKinds {
			if n := out.Summary[kind]; n > 0 {
				counts = append(counts, kind+" "+strconv.Itoa(n))
			}
		}
		b.WriteString(strings.Join(counts, ", ") + ".")
		shown := map[string]int{}
		for _, f := range out.Findings {
			if shown[f.Kind]++; shown[f.Kind] == 1 {
				fmt.Fprintf(&b, "\n%s (%d):", f.Kind, out.Summary[f.Kind])
			}
			if shown[f.Kind] <= maxKindLines {
				fmt.Fprintf(&b, "\n- %q %s: %s", f.Name, f.Hash, f.Detail)
			} else if shown[f.Kind] == maxKindLines+1 {
				fmt.Fprintf(&b, "\n- and %d more (in the structured content)", out.Summary[f.Kind]-maxKindLines)
			}
		}
		if out.FindingsOmitted > 0 {
			fmt.Fprintf(&b, "\n%d findings past the first %d are not listed; narrow the audit with kinds or workspace_ids.",
				out.FindingsOmitted, maxAuditFindings)
		}
		return b.String()
	},
}

// auditRules are the thresholds of one audit, at one moment.
type auditRules struct {
	now               time.Time
	unusedSince       time.Time
	expiringBefore    time.Time
	nearLimitFraction float64
	unusedDays        int
}

// auditedKeys reads every key of the workspaces given (default every workspace of the account), and
// says how many workspaces that was.
func auditedKeys(ctx context.Context, c *openrouter.Client, workspaceIDs []string) ([]openrouter.Key, int, error) {
	workspaces := slices.Compact(slices.Sorted(slices.Values(workspaceIDs))) // each once
	if len(workspaces) == 0 {
		all, total, err := readWorkspaces(ctx, c)
		if err != nil {
			return nil, 0, fmt.Errorf("list workspaces: %w", err)
		}
		if total > len(all) {
			return nil, 0, toolError(fmt.Sprintf("The account has %d workspaces, more than one call reads (%d). "+
				"Give a few at a time with workspace_ids (list_workspaces names them).", total, len(all)))
		}
		for _, w := range all {
			workspaces = append(workspaces, w.ID)
		}
	}
	keys, err := keysOf(ctx, c, workspaces)
	return keys, len(workspaces), err
}

func (in auditThresholds) rules(now time.Time) auditRules {
	days, pct, expiring := cmp.Or(in.UnusedDays, 30), cmp.Or(in.NearLimitPct, 90), cmp.Or(in.ExpiringDays, 7)
	return auditRules{
		now:               now,
		unusedSince:       now.AddDate(0, 0, -days),
		expiringBefore:    now.AddDate(0, 0, expiring),
		nearLimitFraction: pct / 100,
		unusedDays:        days,
	}
}

// check returns what is wrong with one key.
func (r auditRules) check(k openrouter.Key) []finding {
	var out []finding
	add := func(kind, detail string) {
		out = append(out, finding{Hash: k.Hash, Name: k.Name, WorkspaceID: k.WorkspaceID, Kind: kind, Detail: detail})
	}
	if expires, ok := parseTime(k.ExpiresAt); !ok {
		add("no_expiry", "never expires")
	} else if !expires.After(r.now) {
		add("expired", "expired "+day(expires))
	} else if expires.Before(r.expiringBefore) {
		add("expiring_soon", "expires "+expires.UTC().Format(time.RFC3339))
	}
	if k.Limit == nil {
		add("no_limit", "no spending limit")
	} else if limit := *k.Limit; limit > 0 || k.LimitRemaining != nil {
		used := limit - deref(k.LimitRemaining, limit)
		detail := fmt.Sprintf("used %.2f of %s USD", used, formatUSD(limit))
		if k.LimitReset != nil {
			detail += " since the last " + *k.LimitReset + " reset"
		}
		switch {
		case used >= limit:
			add("over_limit", detail+": requests are refused")
		case limit > 0 && used/limit >= r.nearLimitFraction:
			add("near_limit", fmt.Sprintf("%s (%d%%)", detail, int(100*used/limit)))
		}
	}
	if k.Disabled {
		add("disabled", "disabled")
	}
	if used, ok := parseTime(k.LastUsedAt); !ok {
		add("never_used", "never used; created "+k.CreatedAt[:min(10, len(k.CreatedAt))])
	} else if used.Before(r.unusedSince) {
		add("unused", fmt.Sprintf("last used %s, over %d days ago", day(used), r.unusedDays))
	}
	return out
}

// errTooManyKeys stops an audit that would read more than maxAuditKeys.
var errTooManyKeys = toolError(fmt.Sprintf("The account has more than %d keys in the workspaces asked for, more than "+
	"one call reads. Give fewer workspaces at a time with workspace_ids (list_workspaces names them).", maxAuditKeys))

// keysOf reads every key of the workspaces, disabled and expired ones included, a few workspaces at a
// time, reporting progress as pages arrive.
func keysOf(ctx context.Context, c *openrouter.Client, workspaces []string) ([]openrouter.Key, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		keys []openrouter.Key
		wg   sync.WaitGroup
		sem  = make(chan struct{}, auditConcurrency)
	)
	for _, ws := range workspaces {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for offset := 0; ctx.Err() == nil; {
				p := openrouter.ListKeysParams{Offset: &offset, IncludeDisabled: true, IncludeExpired: true, WorkspaceID: ws}
				page, err := c.ListKeys(ctx, p)
				if err != nil {
					cancel(fmt.Errorf("list the keys of workspace %s: %w", ws, err))
					return
				}
				offset += len(page)
				mu.Lock()
				keys = append(keys, page...)
				n := len(keys)
				if n <= maxAuditKeys {
					// Under the lock, so that the counts reach the client in increasing order.
					progress(ctx, n, fmt.Sprintf("read %d keys", n))
				}
				mu.Unlock()
				if n > maxAuditKeys {
					cancel(errTooManyKeys)
					return
				}
				if len(page) < openrouter.PageSize {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return keys, nil
}

// day is a time's UTC date.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
