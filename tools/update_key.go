package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// updateKeyResult is update_key's structuredContent.
type updateKeyResult struct {
	Key      openrouter.Key `json:"key"`
	Declined bool           `json:"declined,omitempty" jsonschema:"true when the user was asked to confirm and said no; key is then as it was"`
}

func (r updateKeyResult) auditKey() (string, string) { return r.Key.Hash, r.Key.Name }

// updateKeyArgs names a key and what to change; fields left out (or null) stay as they are. Clearing
// is explicit: remove_limit, and limit_reset "never".
type updateKeyArgs struct {
	hashArgs
	openrouter.UpdateKeyRequest
	RemoveLimit bool `json:"remove_limit,omitempty" jsonschema:"true removes the key's spending limit (leave limit out)"`
}

// neverReset is the limit_reset value that stops resets; OpenRouter takes it as null.
const neverReset = "never"

// request is the PATCH body: the explicit clearing arguments become OpenRouter's nulls.
func (in updateKeyArgs) request() openrouter.UpdateKeyRequest {
	r := in.UpdateKeyRequest
	if in.RemoveLimit {
		r.Limit = openrouter.Null[float64]()
	}
	if r.LimitReset.Set && r.LimitReset.Value == neverReset {
		r.LimitReset = openrouter.Null[openrouter.LimitReset]()
	}
	return r
}

// limitAfter is a key's spending limit as an update would leave it.
type limitAfter struct {
	limit *float64 // nil: none
	reset *string  // nil: never
	byok  bool     // whether BYOK usage counts
}

// limitAfter is k's limit once in is made; with no limit arguments, k's limit as it is.
func (in updateKeyArgs) limitAfter(k *openrouter.Key) limitAfter {
	a := limitAfter{limit: k.Limit, reset: k.LimitReset, byok: k.IncludeBYOKInLimit}
	switch {
	case in.RemoveLimit:
		a.limit = nil
	case in.Limit.Set:
		a.limit = &in.Limit.Value
	}
	if in.LimitReset.Set {
		a.reset = nil
		if in.LimitReset.Value != neverReset {
			r := string(in.LimitReset.Value)
			a.reset = &r
		}
	}
	if in.IncludeBYOKInLimit.Set {
		a.byok = in.IncludeBYOKInLimit.Value
	}
	return a
}

// spent is what k has spent against the limit in its current period: the day, week or month it
// resets on, or all time; BYOK usage included when it counts.
func (a limitAfter) spent(k *openrouter.Key) float64 {
	usage, byok := k.Usage, k.BYOKUsage
	if a.reset != nil {
		switch openrouter.LimitReset(*a.reset) {
		case openrouter.ResetDaily:
			usage, byok = k.UsageDaily, k.BYOKUsageDaily
		case openrouter.ResetWeekly:
			usage, byok = k.UsageWeekly, k.BYOKUsageWeekly
		case openrouter.ResetMonthly:
			usage, byok = k.UsageMonthly, k.BYOKUsageMonthly
		}
	}
	if a.byok {
		usage += byok
	}
	return usage
}

// exhausted reports whether a key with this limit can spend nothing more: a limit of 0 included.
func (a limitAfter) exhausted(k *openrouter.Key) bool {
	return a.limit != nil && a.spent(k) >= *a.limit
}

// disables reports whether the update disables the key.
func (in updateKeyArgs) disables() bool { return in.Disabled.Set && in.Disabled.Value }

// exhausts reports whether the update leaves a key that could spend with a limit it has reached: it
// stops the key as surely as disabling it.
func (in updateKeyArgs) exhausts(k *openrouter.Key) bool {
	return in.limitAfter(k).exhausted(k) && !updateKeyArgs{}.limitAfter(k).exhausted(k)
}

// moves reports whether the update moves the key to another workspace.
func (in updateKeyArgs) moves(k *openrouter.Key) bool {
	return in.WorkspaceID.Set && in.WorkspaceID.Value != k.WorkspaceID
}

// letsSpend reports whether the update may let the key spend more, or elsewhere: everything but a
// rename and disabling.
func (in updateKeyArgs) letsSpend() bool {
	return in.Limit.Set || in.RemoveLimit || in.LimitReset.Set || in.IncludeBYOKInLimit.Set ||
		(in.Disabled.Set && !in.Disabled.Value) || in.WorkspaceID.Set
}

var updateKey = spec[updateKeyArgs, updateKeyResult]{
	name:  "update_key",
	title: "Update an API key",
	description: "Change a key: rename, disable or re-enable it, set or remove its USD limit, its reset or BYOK " +
		"counting, or move it to another workspace. Only what is given changes; null or absent means unchanged. " +
		"Disabling, a limit already spent (0 included) or a move may be confirmed with the user. Returns the key.",
	hints:   mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	subject: func(in updateKeyArgs) (string, string) { return in.Hash, "" },
	confirm: &confirmation[updateKeyArgs, updateKeyResult]{
		// What stops a key, or moves it, needs a human; renames and limits that leave room do not.
		when: func(k *openrouter.Key, in updateKeyArgs) bool { return in.disables() || in.exhausts(k) || in.moves(k) },
		message: func(k *openrouter.Key, in updateKeyArgs) string {
			var acts []string
			if in.disables() {
				acts = append(acts, "disable it: every request made with it will fail until it is enabled again")
			}
			if in.exhausts(k) {
				a := in.limitAfter(k)
				acts = append(acts, fmt.Sprintf("give it a limit of %s USD, which it has already spent (%s USD in the "+
					"limit's period): every request made with it will fail until the limit resets or is raised",
					formatUSD(*a.limit), strconv.FormatFloat(a.spent(k), 'f', 2, 64)))
			}
			if in.moves(k) {
				acts = append(acts, fmt.Sprintf("move it from workspace %s to workspace %s: it leaves its workspace's "+
					"guardrails and budgets for the other's", k.WorkspaceID, in.WorkspaceID.Value))
			}
			return fmt.Sprintf("Change the OpenRouter API key %q (%s): %s?", k.Name, k.Label, strings.Join(acts, "; and "))
		},
		declined: func(k *openrouter.Key, _ updateKeyArgs) updateKeyResult {
			return updateKeyResult{Key: *k, Declined: true}
		},
	},
	constrainInput: func(s *jsonschema.Schema) {
		requireHash(s)
		property(s, "name").MinLength = jsonschema.Ptr(1)
		limit := property(s, "limit")
		limit.Minimum = jsonschema.Ptr(0.0)
		limit.Description = "a new spending limit in USD (remove_limit removes it)"
		property(s, "workspace_id").Pattern = uuidPattern
		reset := property(s, "limit_reset")
		reset.Enum = append(reset.Enum, neverReset)
		reset.Description = "at midnight UTC; never stops resetting"
	},
	refuse: func(in updateKeyArgs) error {
		if in.RemoveLimit && in.Limit.Set {
			return invalidArgs("give either limit or remove_limit, not both")
		}
		if in.Empty() && !in.RemoveLimit {
			return errNothingToUpdate
		}
		return nil
	},
	admit: func(p Policy, in *updateKeyArgs, _ time.Time) error {
		if in.Name.Set {
			if err := p.checkName(in.Name.Value); err != nil {
				return err
			}
		}
		switch {
		case in.RemoveLimit:
			return p.checkLimit(nil)
		case in.Limit.Set:
			return p.checkLimit(&in.Limit.Value)
		}
		return nil
	},
	admitTarget: func(p Policy, in updateKeyArgs, k *openrouter.Key) error {
		// A rename or disabling never lets a key spend more; anything else is held to the cap as the key
		// will be, so that re-enabling or moving a key whose limit is above it is refused too.
		if !in.letsSpend() {
			return nil
		}
		a := in.limitAfter(k)
		if err := p.checkLimit(a.limit); err != nil {
			return err
		}
		if err := p.checkReset(a.reset); err != nil {
			return err
		}
		return p.checkBYOK(a.byok)
	},
	callOn: func(ctx context.Context, d *deps, in updateKeyArgs, old *openrouter.Key) (updateKeyResult, error) {
		k, err := d.client.UpdateKey(ctx, in.Hash, in.request())
		if err != nil {
			return updateKeyResult{}, err
		}
		if in.Name.Set && in.Name.Value != old.Name {
			d.renames.record(old.Hash, old.Name, time.Now())
		}
		return updateKeyResult{Key: *k}, nil
	},
	summary: func(_ updateKeyArgs, out updateKeyResult) string {
		if out.Declined {
			return fmt.Sprintf("Nothing was changed: the user declined the change to key %q (%s).", out.Key.Name, out.Key.Label)
		}
		return fmt.Sprintf("Updated key %q (%s).", out.Key.Name, out.Key.Label)
	},
}
