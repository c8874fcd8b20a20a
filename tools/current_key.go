package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// currentKeyResult is current_key's structuredContent.
type currentKeyResult struct {
	Key openrouter.CurrentKey `json:"key"`
}

var currentKey = spec[noArgs, currentKeyResult]{
	name:  "current_key",
	title: "Show the key in use",
	description: "Describe the OpenRouter key this server uses: its masked label, whether it is a " +
		"management key (is_management_key; the other tools need one), its spending limit and usage in USD, its " +
		"expiry, and its budget layers (budgets; the text says which binds first). Works with any valid key. Use it first when other tools fail with 401 or 403.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	call: func(ctx context.Context, d *deps, _ noArgs) (currentKeyResult, error) {
		k, err := d.client.CurrentKey(ctx)
		if err != nil {
			return currentKeyResult{}, err
		}
		return currentKeyResult{Key: *k}, nil
	},
	summary: func(_ noArgs, out currentKeyResult) string {
		if out.Key.IsManagementKey {
			return "The server uses management key " + out.Key.Label + "; it can manage keys." + budgetSummary(out.Key)
		}
		return "The server uses key " + out.Key.Label + ", which is NOT a management key: the other tools will fail with 403." +
			budgetSummary(out.Key)
	},
}

// budgetSummary says which budget layer binds first and which are used up, that none applies when
// OpenRouter reported an empty list, or nothing when it did not report them: a 403 for a spent budget
// is then explained before the model has to guess.
func budgetSummary(k openrouter.CurrentKey) string {
	tightest := k.TightestBudget()
	switch {
	case tightest == nil && k.Budgets != nil:
		return " No budget layer applies to it (OpenRouter reported budgets: [])."
	case tightest == nil:
		return "" // OpenRouter did not report the layers: nothing can be said of them
	}
	layers := "1 budget layer"
	if len(k.Budgets) > 1 {
		layers = fmt.Sprintf("%d budget layers", len(k.Budgets))
	}
	s := fmt.Sprintf(" Of %s, %s binds first: $%.2f of $%.2f left", layers, tightest.Scope, tightest.RemainingUSD,
		tightest.LimitUSD)
	if tightest.ResetsAt != nil {
		s += ", resets " + *tightest.ResetsAt
	}
	var exhausted []string
	for _, b := range k.Budgets {
		if b.Exhausted() {
			exhausted = append(exhausted, b.Scope)
		}
	}
	if len(exhausted) == 0 {
		return s + "; none is exhausted."
	}
	return s + ". Exhausted: " + strings.Join(exhausted, ", ") + "; requests with this key are refused (403) until " +
		"the layer resets or its limit is raised."
}
