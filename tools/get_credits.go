package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// creditsResult is get_credits' structuredContent: GET /credits's figures and what they leave.
type creditsResult struct {
	openrouter.Credits
	Remaining float64 `json:"remaining" jsonschema:"total_credits minus total_usage, in USD"`
}

var getCredits = spec[noArgs, creditsResult]{
	name:  "get_credits",
	title: "Show the account's credits",
	description: "Show the OpenRouter account's credit balance in USD: credits bought, used, and remaining. " +
		"Requests to paid models fail, whatever the key's own limit, once nothing remains.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	call: func(ctx context.Context, d *deps, _ noArgs) (creditsResult, error) {
		c, err := d.client.GetCredits(ctx)
		if err != nil {
			return creditsResult{}, err
		}
		return creditsResult{Credits: *c, Remaining: roundUSD(c.Remaining())}, nil
	},
	summary: func(_ noArgs, out creditsResult) string {
		return fmt.Sprintf("$%.2f of $%.2f in credits remain ($%.2f used).", out.Remaining, out.TotalCredits, out.TotalUsage)
	},
}
