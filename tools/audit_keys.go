package tools

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
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
var findingKinds = []string{"expired", "over_limit", "near_limit", "unbounded", "orphaned", "byok_stale", "expiring_soon", "disabled",
	"unused", "never_used", "no_limit", "no_expiry"}

// controlKinds are the kinds that need the controls beside the keys (guardrails, members, BYOK).
var controlKinds = []string{"unbounded", "orphaned", "byok_stale"}

// maxKindLines is how many keys the text names per kind.
const maxKindLines = 8

// auditKeysArgs are audit_keys' arguments: which workspaces and kinds, and the thresholds.
type auditKeysArgs struct {
	WorkspaceIDs []string `json:"workspace_ids,omitempty" jsonschema:"only these workspaces (UUIDs); default all"`
	Kinds        []string `json:"kinds,omitempty" jsonschema:"only these kinds; default all"`
	auditThresholds
	pageArgs
}

// auditThresholds are the thresholds of the kinds of finding, shared by audit_keys and plan_cleanup.
type auditThresholds struct {
	UnusedDays   int     `json:"unused_days,omitempty" jsonschema:"unused: days without use (default 30)"`
	NearLimitPct float64 `json:"near_limit_pct,omitempty" jsonschema:"near_limit: percent used (default 90)"`
	ExpiringDays int     `json:"expiring_days,omitempty" jsonschema:"expiring_soon: days ahead (default 7)"`
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
	Kind        string `json:"kind" jsonschema:"what is wrong: expired, over_limit, near_limit, unbounded (neither a limit nor a guardrail with a budget), orphaned (its creator is no longer a member), byok_stale (a BYOK allow-list names this hash, whose key no longer exists), expiring_soon, disabled, unused, never_used, no_limit or no_expiry"`
	Detail      string `json:"detail" jsonschema:"the figures behind the finding"`
	Guardrail   string `json:"guardrail,omitempty" jsonschema:"the guardrail that binds the key, when one does"`
	Creator     string `json:"creator,omitempty" jsonschema:"who created the key: a name, an email, or the id of one who left"`
}

// auditKeysResult is audit_keys' structuredContent.
type auditKeysResult struct {
	Findings          []finding      `json:"findings" jsonschema:"the findings, worst kind first; a key may have several; as many as fit in about 24 KB (or page_size), from cursor on"`
	NextCursor        *string        `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next findings; null when this result lists the last"`
	KeysChecked       int            `json:"keys_checked" jsonschema:"keys examined, disabled and expired ones included"`
	WorkspacesChecked int            `json:"workspaces_checked" jsonschema:"workspaces whose keys were examined"`
	Summary           map[string]int `json:"summary" jsonschema:"how many findings of each kind"`
	Note              string         `json:"note,omitempty" jsonschema:"why some kinds were not checked, when they were not"`
}

var auditKeys = spec[auditKeysArgs, auditKeysResult]{
	name:  "audit_keys",
	title: "Audit all API keys",
	description: "Check every key of every workspace (disabled and expired included) and report what needs " +
		"attention, worst first, with each key's guardrail and creator: which keys are stale, unbounded, " +
		"orphaned, near their limit?",
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
		checkControls := len(in.Kinds) == 0 || slices.ContainsFunc(in.Kinds, func(k string) bool { return slices.Contains(controlKinds, k) })
		read, err := keysBeside(ctx, d.client, in.WorkspaceIDs, besideKeys{controls: checkControls, allowLists: checkControls})
		if err != nil {
			return auditKeysResult{}, err
		}
		keys, ctlErr := read.keys, read.besideErr
		rules := in.rules(time.Now())
		out := auditKeysResult{KeysChecked: len(keys), WorkspacesChecked: len(read.workspaces), Summary: map[string]int{}}
		var all []finding
		if checkControls {
			if ctlErr == nil {
				all, ctlErr = staleAllowLists(ctx, d.client, read.creds, keys)
			}
			if ctlErr != nil {
				out.Note = strings.Join(controlKinds, ", ") + " were not checked: " + explain(ctlErr)
			} else {
				rules.controls = read.ctl
			}
		}
		for _, k := range keys {
			all = append(all, rules.check(k)...)
		}
		for _, f := range all {
			if len(in.Kinds) == 0 || slices.Contains(in.Kinds, f.Kind) {
				out.Findings = append(out.Findings, f)
				out.Summary[f.Kind]++
			}
		}
		slices.SortStableFunc(out.Findings, func(a, b finding) int {
			return cmp.Or(cmp.Compare(slices.Index(findingKinds, a.Kind), slices.Index(findingKinds, b.Kind)),
				cmp.Compare(a.Name, b.Name), cmp.Compare(a.Hash, b.Hash))
		})
		if out.Findings == nil {
			out.Findings = []finding{}
		}
		return out, nil
	},
	text: func(_ auditKeysArgs, out auditKeysResult) string {
		var b strings.Builder
		if out.Note != "" {
			b.WriteString("Note: " + out.Note + "\n")
		}
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
				if f.Guardrail != "" || f.Creator != "" {
					fmt.Fprintf(&b, " (guardrail %s; by %s)", cmp.Or(f.Guardrail, "none"), cmp.Or(f.Creator, "unknown"))
				}
			}
		}
		for _, kind := range findingKinds {
			if n := shown[kind]; n > maxKindLines {
				fmt.Fprintf(&b, "\n%d more %s in the structured content.", n-maxKindLines, kind)
			}
		}
		total := 0
		for _, n := range out.Summary {
			total += n
		}
		b.WriteString(moreText(len(out.Findings), total, out.NextCursor, "kinds or workspace_ids"))
		return b.String()
	},
	items: func(out auditKeysResult) int { return len(out.Findings) },
	window: func(_ auditKeysArgs, out auditKeysResult, from, to int, next *string) auditKeysResult {
		out.Findings, out.NextCursor = out.Findings[from:to], next
		return out
	},
}

// auditRules are the thresholds of one audit, at one moment.
type auditRules struct {
	now               time.Time
	unusedSince       time.Time
	expiringBefore    time.Time
	nearLimitFraction float64
	unusedDays        int
	controls          *controls // the guardrails and members, nil when they could not be read
}

// auditedKeys reads every key of the workspaces given (default every workspace of the account),
// disabled and expired ones included, and says which workspaces those were, each once.
func auditedKeys(ctx context.Context, c *openrouter.Client, workspaceIDs []string) ([]openrouter.Key, []string, error) {
	r, err := keysBeside(ctx, c, workspaceIDs, besideKeys{})
	return r.keys, r.workspaces, err
}

// besideKeys says what keysBeside reads beside the keys.
type besideKeys struct {
	controls   bool // the guardrails, their assignments and the members
	allowLists bool // the BYOK credentials' allow-lists (with controls)
}

// keysRead is what keysBeside read.
type keysRead struct {
	keys       []openrouter.Key
	workspaces []string    // each once
	ctl        *controls   // when asked for and read
	creds      []allowList // when asked for and read
	besideErr  error       // the failure to read what was asked for beside the keys
}

// keysBeside reads every key of the workspaces given (as auditedKeys) and what want asks for beside
// them, in the same budget of requests in flight: what does not depend on the workspaces (the
// assignments, the members, the default workspace's keys) is read while the workspaces are listed, the
// rest while the keys are walked, so that the call takes little more than the round trips of the keys.
// A failure to read the keys stops the rest; besideErr is a failure to read the rest alone, which the
// caller may report and go on without.
func keysBeside(ctx context.Context, c *openrouter.Client, workspaceIDs []string, want besideKeys) (r keysRead, err error) {
	besideCtx, stopBeside := context.WithCancel(ctx)
	defer stopBeside()
	var read *controlsRead
	if want.controls {
		read = startControls(besideCtx, c)
	}
	count := newReadCount(ctx)
	def := startEveryWorkspace(ctx, c, workspaceIDs, count)
	if r.workspaces, err = auditedWorkspaces(ctx, c, workspaceIDs); err == nil {
		var creds sync.WaitGroup
		if want.controls {
			read.guardrailsOf(r.workspaces)
			if want.allowLists {
				creds.Go(func() { r.creds, r.besideErr = readAllowLists(besideCtx, c, r.workspaces) })
			}
		}
		r.keys, err = keysOf(ctx, c, r.workspaces, def, count)
		if err != nil {
			stopBeside()
		}
		creds.Wait()
	} else {
		def.stopIf()
		stopBeside()
	}
	if want.controls {
		var readErr error
		r.ctl, readErr = read.wait()
		r.besideErr = cmp.Or(readErr, r.besideErr)
	}
	return r, err
}

// startEveryWorkspace starts walking the default workspace's keys when every workspace is to be
// read (no workspaceIDs given), before they are listed; nil otherwise.
func startEveryWorkspace(ctx context.Context, c *openrouter.Client, workspaceIDs []string, count *readCount) *defaultKeys {
	if len(workspaceIDs) > 0 {
		return nil
	}
	return startDefaultKeys(ctx, c, count)
}

// auditedWorkspaces are the workspaces given, each once, or by default every workspace of the account.
func auditedWorkspaces(ctx context.Context, c *openrouter.Client, workspaceIDs []string) ([]string, error) {
	workspaces := slices.Compact(slices.Sorted(slices.Values(workspaceIDs))) // each once
	if len(workspaces) > 0 {
		return workspaces, nil
	}
	all, total, err := readWorkspaces(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	if total > len(all) {
		return nil, toolError(fmt.Sprintf("The account has %d workspaces, more than one call reads (%d). "+
			"Give a few at a time with workspace_ids (list_workspaces names them).", total, len(all)))
	}
	for _, w := range all {
		workspaces = append(workspaces, w.ID)
	}
	return workspaces, nil
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
	var guardrail, creator string
	if r.controls != nil {
		if g := r.controls.binding(&k); g != nil {
			guardrail = guardrailText(g)
		}
		if c := r.controls.creator(&k); c != nil {
			creator = creatorText(c)
		}
		out = append(out, r.controlFindings(k)...)
	}
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
	for i := range out {
		out[i].Guardrail, out[i].Creator = guardrail, creator
	}
	return out
}

// controlFindings are what the controls beside k say is wrong with it: no bound on its spend, or a
// creator who has left.
func (r auditRules) controlFindings(k openrouter.Key) []finding {
	var out []finding
	add := func(kind, detail string) {
		out = append(out, finding{Hash: k.Hash, Name: k.Name, WorkspaceID: k.WorkspaceID, Kind: kind, Detail: detail})
	}
	if k.Limit == nil && !k.Disabled && !slices.ContainsFunc(r.controls.bindings(&k), func(g guardrailRef) bool { return g.LimitUSD != nil }) {
		add("unbounded", "no spending limit, and no guardrail with a budget binds it")
	}
	if c := r.controls.creator(&k); c != nil && c.Left {
		add("orphaned", "created by "+c.ID+", who is no longer a member of the organization")
	}
	return out
}

// allowList is a BYOK credential of a workspace, whose allow-list names keys by hash.
type allowList struct {
	workspace string
	cred      openrouter.BYOKCredential
}

// readAllowLists reads the BYOK credentials of the workspaces, all at once within the key's budget
// of requests in flight (the client reads each page in its lane).
func readAllowLists(ctx context.Context, c *openrouter.Client, workspaces []string) ([]allowList, error) {
	byWorkspace := make([][]openrouter.BYOKCredential, len(workspaces))
	errs := make([]error, len(workspaces))
	var wg sync.WaitGroup
	for i, ws := range workspaces {
		wg.Go(func() {
			byWorkspace[i], errs[i] = readAll(ctx, func(ctx context.Context, p openrouter.PageParams) (*openrouter.Page[openrouter.BYOKCredential], error) {
				return c.ListBYOK(ctx, openrouter.ListBYOKParams{PageParams: p, WorkspaceID: ws})
			})
		})
	}
	wg.Wait()
	var out []allowList
	for i, ws := range workspaces {
		if errs[i] != nil {
			return nil, fmt.Errorf("read BYOK credentials: %w", errs[i])
		}
		for _, cred := range byWorkspace[i] {
			out = append(out, allowList{workspace: ws, cred: cred})
		}
	}
	return out, nil
}

// staleAllowLists finds the hashes that the BYOK allow-lists name but whose keys no longer exist. A
// hash that is not among the audited keys is looked up, since it may be a key of a workspace not
// audited.
func staleAllowLists(ctx context.Context, c *openrouter.Client, lists []allowList, keys []openrouter.Key) ([]finding, error) {
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[k.Hash] = true
	}
	var out []finding
	for _, l := range lists {
		cred := l.cred
		for _, h := range cred.AllowedAPIKeyHashes {
			if known[h] {
				continue
			}
			if _, err := c.GetKey(ctx, h); openrouter.StatusOf(err) != http.StatusNotFound {
				if err != nil {
					return nil, fmt.Errorf("look up a key of a BYOK allow-list: %w", err)
				}
				known[h] = true // a key of a workspace not audited
				continue
			}
			name := cred.Provider
			if cred.Name != nil {
				name = *cred.Name
			}
			out = append(out, finding{Hash: h, Name: name, WorkspaceID: l.workspace, Kind: "byok_stale", Detail: fmt.Sprintf(
				"the allow-list of BYOK credential %q (%s, id %s) names this key, which no longer exists", name, cred.Provider, cred.ID)})
		}
	}
	return out, nil
}

// errTooManyKeys stops a call that would read more than maxWalkKeys.
var errTooManyKeys = toolError(fmt.Sprintf("The account has more than %d keys in the workspaces asked for, more than "+
	"one call reads. Give fewer workspaces at a time with workspace_ids (list_workspaces names them).", maxWalkKeys))

// day is a time's UTC date.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
