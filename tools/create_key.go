package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// createKeyResult is create_key's structuredContent: the secret inline, or where it was written.
type createKeyResult struct {
	Key        openrouter.Key `json:"key"`
	Secret     string         `json:"secret,omitempty" jsonschema:"the new key's secret (sk-or-v1-...): shown this once only, OpenRouter cannot show it again"`
	SecretFile string         `json:"secret_file,omitempty" jsonschema:"the file (mode 0600) the secret was written to instead, when the server keeps secrets out of the conversation"`
}

func (r createKeyResult) auditKey() (string, string) { return r.Key.Hash, r.Key.Name }

var createKey = spec[openrouter.CreateKeyRequest, createKeyResult]{
	name:  "create_key",
	title: "Create an API key",
	description: "Create a new OpenRouter API key, optionally with a spending limit in USD that resets daily, " +
		"weekly or monthly (at midnight UTC; weeks run Monday to Sunday) and an expiry time. The result holds the " +
		"key's secret, which is shown only this once and can never be read back: hand it to the user or where " +
		"it is needed straight away, and do not repeat it elsewhere (when the server is set to keep secrets out " +
		"of the conversation, the result names the file it was written to instead). Each call makes a new key, " +
		"so do not call again to retry unless list_keys shows the key was not created. Needs a management key.",
	hints:   mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(false), IdempotentHint: hint(false), OpenWorldHint: hint(false)},
	subject: func(in openrouter.CreateKeyRequest) (string, string) { return "", in.Name },
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
		property(s, "expires_at").Pattern = utcTimePattern
		property(s, "workspace_id").Pattern = uuidPattern
	},
	call: func(ctx context.Context, d *deps, in openrouter.CreateKeyRequest) (createKeyResult, error) {
		created, err := d.client.CreateKey(ctx, in)
		if err != nil {
			return createKeyResult{}, err
		}
		if d.opts.SecretDir == "" {
			// The one place a secret leaves the server: to the caller who just created it.
			return createKeyResult{Key: created.Key, Secret: created.Secret.Reveal()}, nil
		}
		path, err := writeSecret(d.opts.SecretDir, created)
		if err != nil {
			return createKeyResult{}, rollBack(ctx, d.client, created.Key.Hash, err)
		}
		return createKeyResult{Key: created.Key, SecretFile: path}, nil
	},
	summary: func(_ openrouter.CreateKeyRequest, out createKeyResult) string {
		if out.SecretFile != "" {
			return fmt.Sprintf("Created key %q (hash %s). Its secret was written to %s and is not in this result.",
				out.Key.Name, out.Key.Hash, out.SecretFile)
		}
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

// rollBack deletes a key whose secret could not be kept: a key nobody can use is worse than none. It
// goes on even if the call was cancelled, for the same reason.
func rollBack(ctx context.Context, c *openrouter.Client, hash string, cause error) error {
	if err := c.DeleteKey(context.WithoutCancel(ctx), hash); err != nil {
		return toolError(fmt.Sprintf("The key was created (hash %s) but its secret could not be saved (%v), and "+
			"deleting it again failed too (%v). Nobody has its secret: delete it with delete_key.", hash, cause,
			openrouter.Redact(err.Error())))
	}
	return toolError(fmt.Sprintf("The key's secret could not be saved (%v), so the key was deleted again; nothing "+
		"was left behind. The server's operator must fix the secret directory.", cause))
}
