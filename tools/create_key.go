package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// admitNewKey holds a new key's name, limit, reset, BYOK counting and expiry to the policy, giving it
// the policy's expiry when it has none and BYOK counting under a cap: shared by create_key and
// rotate_key. The note says what the policy set, "" when nothing.
func admitNewKey(p Policy, r *openrouter.CreateKeyRequest, now time.Time) (note string, err error) {
	if err := p.checkName(r.Name); err != nil {
		return "", err
	}
	if err := p.checkLimit(r.Limit); err != nil {
		return "", err
	}
	if r.LimitReset != nil {
		if err := p.checkReset((*string)(r.LimitReset)); err != nil {
			return "", err
		}
	}
	var notes []string
	if p.MaxLimit != nil && !r.IncludeBYOKInLimit {
		// Absent and false are one value in POST /keys's body, so this is set, not refused as an update is.
		r.IncludeBYOKInLimit = true
		notes = append(notes, "include_byok_in_limit was set to true by the server's policy (--max-limit), so that "+
			"BYOK usage counts against the capped limit")
	}
	var expiryByPolicy bool
	if r.ExpiresAt, expiryByPolicy, err = p.expiry(r.ExpiresAt, now); err != nil {
		return "", err
	}
	if expiryByPolicy {
		notes = append(notes, fmt.Sprintf("expires_at was not given, so the server's policy (--max-expiry %s) set it to %s",
			FormatExpiry(p.MaxExpiry), *r.ExpiresAt))
	}
	return strings.Join(notes, "; "), nil
}

func (r createKeyResult) auditKey() (string, string) { return r.Key.Hash, r.Key.Name }

var createKey = spec[createKeyArgs, createKeyResult]{
	name:  "create_key",
	title: "Create an API key",
	description: "Create a new OpenRouter API key, optionally with a spending limit in USD that resets daily, " +
		"weekly or monthly (at midnight UTC; weeks run Monday to Sunday) and an expiry time. The result holds the " +
		"key's secret, which is shown only this once and can never be read back: hand it to the user or where " +
		"it is needed straight away, and do not repeat it elsewhere (when the server is set to keep secrets out " +
		"of the conversation, the result names the file it was written to instead). Each call makes a new key, " +
		"so do not call again to retry unless list_keys shows the key was not created. Needs a management key.",
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
		out := createKeyResult{Key: created.Key, Note: in.policyNote}
		out.Secret, out.SecretFile, err = keepSecret(ctx, d, created)
		return out, err
	},
	summary: func(_ createKeyArgs, out createKeyResult) string {
		return fmt.Sprintf("Created key %q (hash %s). %s", out.Key.Name, out.Key.Hash, secretWhere(out.SecretFile, out.Note))
	},
	failed: func(in createKeyArgs, err error) string { return createMayExist(in.Name, err) },
}

// createMayExist warns, after a create whose outcome is unknown, that the key may exist and how to
// find it before trying again; "" for other errors.
func createMayExist(name string, err error) string {
	if !errors.Is(err, openrouter.ErrOutcomeUnknown) {
		return ""
	}
	if name == "" {
		return "The new key may have been created even so. Before trying again, call list_keys and look for it, " +
			"so that a retry does not make a second key."
	}
	return fmt.Sprintf("The new key may have been created even so. Before trying again, call list_keys and look "+
		"for a new key named %q, so that a retry does not make a second key.", name)
}

// keepSecret hands a new key's secret to the caller, or writes it to the secret directory when the
// server keeps secrets out of the conversation. A key whose secret cannot be kept is deleted again.
func keepSecret(ctx context.Context, d *deps, created *openrouter.CreatedKey) (secret, file string, err error) {
	if d.opts.SecretDir == "" {
		// The one place a secret leaves the server: to the caller who just created it.
		return created.Secret.Reveal(), "", nil
	}
	path, err := writeSecret(d.opts.SecretDir, created)
	if err != nil {
		return "", "", rollBack(ctx, d.client, created.Key.Hash, err)
	}
	return "", path, nil
}

// keepUnverifiedSecret saves, when the server keeps secrets in files, a secret that came with a
// malformed answer to a create: the key may exist, and this may be the only copy of its secret. It is
// never shown to the model, since nothing vouches for it; without a secret directory it is dropped,
// and the advice to look for the key (createMayExist) stands.
func keepUnverifiedSecret(d *deps, name string, err error) error {
	var bad *openrouter.MalformedCreateError
	if !errors.As(err, &bad) || bad.Secret == "" {
		return err
	}
	if d.opts.SecretDir == "" {
		return fmt.Errorf("%w; that secret is not shown, since nothing vouches for it: if list_keys shows the key, "+
			"delete it and create another", err)
	}
	path, werr := writeSecretFile(d.opts.SecretDir, name, bad.Hash, bad.Secret)
	if werr != nil {
		return fmt.Errorf("%w; the secret that came with the answer could not be saved either: %v", err, werr)
	}
	return fmt.Errorf("%w; the secret that came with the answer was saved, unverified, to %s", err, path)
}

// SecretInResult is the sentence of create_key's and rotate_key's summary that says the secret is in
// the result; the call command, which prints the secret itself, says it to a person instead.
const SecretInResult = "Its secret is in this result and will never be shown again: give it to the user or store it now."

// secretWhere tells where a new key's secret is, for the summary line, with any policy note.
func secretWhere(file, note string) string {
	where := SecretInResult
	if file != "" {
		where = fmt.Sprintf("Its secret was written to %s and is not in this result.", file)
	}
	if note != "" {
		where += " Note: " + note + "."
	}
	return where
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
