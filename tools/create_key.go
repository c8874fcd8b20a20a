package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// createKeyResult is create_key's structuredContent.
type createKeyResult struct {
	Key    openrouter.Key `json:"key"`
	Secret string         `json:"secret" jsonschema:"the new key's secret (sk-or-v1-...): shown this once only, OpenRouter cannot show it again"`
}

var createKey = spec[openrouter.CreateKeyRequest, createKeyResult]{
	name:  "create_key",
	title: "Create an API key",
	description: "Create a new OpenRouter API key, optionally with a spending limit in USD that resets daily, " +
		"weekly or monthly (at midnight UTC; weeks run Monday to Sunday) and an expiry time. The result holds the " +
		"key's secret, which is shown only this once and can never be read back: hand it to the user or where " +
		"it is needed straight away, and do not repeat it elsewhere. Each call makes a new key, so do not call " +
		"again to retry unless list_keys shows the key was not created. Needs a management key.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(false), IdempotentHint: hint(false), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
		property(s, "expires_at").Pattern = utcTimePattern
		property(s, "workspace_id").Pattern = uuidPattern
	},
	call: func(ctx context.Context, c *openrouter.Client, in openrouter.CreateKeyRequest) (createKeyResult, error) {
		created, err := c.CreateKey(ctx, in)
		if err != nil {
			return createKeyResult{}, err
		}
		// The one place a secret leaves the server: to the caller who just created it.
		return createKeyResult{Key: created.Key, Secret: created.Secret.Reveal()}, nil
	},
	summary: func(_ openrouter.CreateKeyRequest, out createKeyResult) string {
		return fmt.Sprintf("Created key %q (hash %s). Its secret is in this result and will never be shown again: "+
			"give it to the user or store it now.", out.Key.Name, out.Key.Hash)
	},
	failed: func(in openrouter.CreateKeyRequest, err error) string {
		if errors.Is(err, openrouter.ErrOutcomeUnknown) {
			return fmt.Sprintf("The key may have been created even so. Before trying again, call list_keys and look "+
				"for a new key named %q, so that a retry does not make a second key.", in.Name)
		}
		return ""
	},
}
