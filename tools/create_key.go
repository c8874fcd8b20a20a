package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// createKeyResult is create_key's structuredContent: the secret inline, or where it was written.
type createKeyResult struct {
	Key        openrouter.Key `json:"key"`
	Secret     string         `json:"secret,omitempty" jsonschema:"the new key's secret (sk-or-v1-...): shown this once only, OpenRouter cannot show it again"`
	SecretFile string         `json:"secret_file,omitempty" jsonschema:"the file (mode 0600) the secret was written to instead, when the server keeps secrets out of the conversation"`
	Note       string         `json:"note,omitempty" jsonschema:"what the server's policy set that the call did not ask for"`
}

// createKeyArgs is POST /keys's body, and what the policy set in it.
type createKeyArgs struct {
	openrouter.CreateKeyRequest
	policyNote string // what the policy set that the call did not ask for; "" when nothing
}

func (r createKeyResult) auditKey() (string, string) { return r.Key.Hash, r.Key.Name }

var createKey = spec[createKeyArgs, createKeyResult]{
	name:  "create_key",
	title: "Create an API key",
	description: "Create an API key, optionally with a USD spending limit (resetting daily, weekly or monthly) and " +
		"an expiry. The result holds its secret, shown only this once: hand it to the user or where it is needed " +
		"now, and do not repeat it (nor the file it was written to, when the server keeps secrets out of the " +
		"conversation). Each call makes a new key: before retrying, check list_keys that it was not made.",
	hints:   mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(false), IdempotentHint: hint(false), OpenWorldHint: hint(false)},
	subject: func(in createKeyArgs) (string, string) { return "", in.Name },
	admit: func(p Policy, in *createKeyArgs, now time.Time) (err error) {
		in.policyNote, err = admitNewKey(p, &in.CreateKeyRequest, now)
		return err
	},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "limit").Minimum = jsonschema.Ptr(0.0)
		property(s, "expires_at").Pattern = utcTimePattern
		property(s, "workspace_id").Pattern = uuidPattern
	},
	call: func(ctx context.Context, d *deps, in createKeyArgs) (createKeyResult, error) {
		created, err := d.client.CreateKey(ctx, in.CreateKeyRequest)
		if err != nil {
			return createKeyResult{}, keepUnverifiedSecret(d, in.Name, err)
		}
		if err := guardNewKey(ctx, d, created.Key.Hash); err != nil {
			return createKeyResult{}, err
		}
		out := createKeyResult{Key: created.Key, Note: in.policyNote}
		out.Secret, out.SecretFile, err = keepSecret(ctx, d, created)
		return out, err
	},
	summary: func(_ createKeyArgs, out createKeyResult) string {
		return fmt.Sprintf("Created key %q (hash %s). %s", out.Key.Name, out.Key.Hash, secretWhere(out.SecretFile, out.Note))
	},
	failed: func(in createKeyArgs, err error) string { return createMayExist(in.Name, err) },
}
