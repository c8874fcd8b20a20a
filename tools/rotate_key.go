package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// How rotate_key retires the old key.
const (
	retireDisable = "disable"
	retireDelete  = "delete"
	retireKeep    = "keep"
)

// rotateKeyArgs names the key to rotate, the successor's name and how to retire the old key.
type rotateKeyArgs struct {
	hashArgs
	Name   string `json:"name,omitempty" jsonschema:"a name for the successor; default the old key's name"`
	Retire string `json:"retire,omitempty" jsonschema:"what becomes of the old key (default disable)"`
}

// retire is the retirement asked for, disable when none was.
func (in rotateKeyArgs) retire() string {
	if in.Retire == "" {
		return retireDisable
	}
	return in.Retire
}

// retiredKey is what became of the old key.
type retiredKey struct {
	Hash        string `json:"hash" jsonschema:"the old key's hash"`
	Retired     string `json:"retired" jsonschema:"disabled, deleted, or kept (the old key still works)"`
	RetireError string `json:"retire_error,omitempty" jsonschema:"why retiring failed: the successor exists and the old key is still active"`
}

// successor is the new key.
type successor struct {
	Key openrouter.Key `json:"key"`
}

// rotateKeyResult is rotate_key's structuredContent.
type rotateKeyResult struct {
	Old        retiredKey         `json:"old"`
	New        *successor         `json:"new,omitempty" jsonschema:"the successor; absent when the user declined"`
	Secret     string             `json:"secret,omitempty" jsonschema:"the successor's secret (sk-or-v1-...): shown this once only"`
	SecretFile string             `json:"secret_file,omitempty" jsonschema:"the file (mode 0600) the secret was written to instead, when the server keeps secrets out of the conversation"`
	Controls   *successorControls `json:"controls,omitempty" jsonschema:"which of the old key's guardrail and BYOK allow-lists the successor has and lacks"`
	Note       string             `json:"note,omitempty" jsonschema:"what the server's policy set that the old key did not have"`
	Declined   bool               `json:"declined,omitempty" jsonschema:"true when the user was asked to confirm and said no; nothing was changed"`
}

func (r rotateKeyResult) auditKey() (string, string) { return r.Old.Hash, "" }

func (r rotateKeyResult) auditSuccessor() string {
	if r.New == nil {
		return ""
	}
	return r.New.Key.Hash
}

var rotateKey = spec[rotateKeyArgs, rotateKeyResult]{
	name:  "rotate_key",
	title: "Rotate an API key",
	description: "Replace a key with a new one with the same settings (limit and reset, BYOK, workspace, expiry), " +
		"guardrail and BYOK access, then retire the old one (retire). Returns the new " +
		"secret, shown once. Nothing is retired unless the successor has every control; the result says which it " +
		"has. The user may be asked to confirm.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(false), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		requireHash(s)
		property(s, "name").MinLength = jsonschema.Ptr(1)
		property(s, "retire").Enum = []any{retireDisable, retireDelete, retireKeep}
	},
	subject: func(in rotateKeyArgs) (string, string) { return in.Hash, "" },
	admit: func(p Policy, in *rotateKeyArgs, _ time.Time) error {
		if in.retire() == retireKeep && p.MaxLimit != nil {
			return refusal("--max-limit", formatUSD(*p.MaxLimit), "keeping the old key beside its successor would give one "+
				"key's capped allowance twice; give retire disable or delete")
		}
		if in.Name != "" {
			return p.checkName(in.Name)
		}
		return nil
	},
	confirm: &confirmation[rotateKeyArgs, rotateKeyResult]{
		when: func(_ *openrouter.Key, in rotateKeyArgs) bool { return in.retire() != retireKeep },
		message: func(k *openrouter.Key, in rotateKeyArgs) string {
			return fmt.Sprintf("Rotate the OpenRouter API key %q (%s)? A new key with the same settings is made, and the "+
				"old one is then %sd: everything still using it stops working.", k.Name, k.Label, in.retire())
		},
		declined: func(k *openrouter.Key, _ rotateKeyArgs) rotateKeyResult {
			return rotateKeyResult{Old: retiredKey{Hash: k.Hash, Retired: "kept"}, Declined: true}
		},
	},
	callOn: func(ctx context.Context, d *deps, in rotateKeyArgs, old *openrouter.Key) (rotateKeyResult, error) {
		req, err := successorOf(old, in.Name)
		if err != nil {
			return rotateKeyResult{}, err
		}
		note, err := admitNewKey(d.opts.Policy, &req, time.Now())
		if err != nil {
			return rotateKeyResult{}, err
		}
		controls, err := controlsOf(ctx, d.client, old)
		if err != nil {
			return rotateKeyResult{}, err
		}
		if g, policy := controls.guardrail, d.opts.Policy.Guardrail; g != nil && policy != "" && g.ID != policy {
			return rotateKeyResult{}, refusal("--guardrail", policy, fmt.Sprintf("the key is bound by guardrail %q (%s), and a "+
				"key holds one guardrail, so its successor could not have both; assign_guardrail can give the old key the "+
				"policy's guardrail first", g.Name, g.ID))
		}
		created, err := d.client.CreateKey(ctx, req)
		if err != nil {
			return rotateKeyResult{}, keepUnverifiedSecret(d, req.Name, err)
		}
		if err := guardNewKey(ctx, d, created.Key.Hash); err != nil {
			return rotateKeyResult{}, err // the successor was deleted again: nothing changed
		}
		out := rotateKeyResult{Old: retiredKey{Hash: old.Hash, Retired: "kept"}, New: &successor{Key: created.Key}, Note: note}
		if out.Secret, out.SecretFile, err = keepSecret(ctx, d, created); err != nil {
			return rotateKeyResult{}, err // the successor was deleted again: nothing changed
		}
		// From here the successor exists and its secret is with the caller: a failure to give it the old
		// key's controls or to retire the old key is reported in the result, never as an error that
		// would lose the secret. The old key is retired only once the successor has every control.
		given := giveControls(ctx, d.client, old, controls, created.Key.Hash, created.Key.CreatorUserID, d.opts.Policy.Guardrail)
		out.Controls = &given
		if len(given.Lacks) > 0 {
			return out, nil
		}
		switch in.retire() {
		case retireDisable:
			_, err = d.client.UpdateKey(ctx, old.Hash, openrouter.UpdateKeyRequest{Disabled: openrouter.Some(true)})
			out.Old.Retired = "disabled"
		case retireDelete:
			err = d.client.DeleteKey(ctx, old.Hash)
			out.Old.Retired = "deleted"
		}
		if err != nil {
			out.Old.Retired, out.Old.RetireError = "kept", explain(err)
		}
		return out, nil
	},
	summary: func(in rotateKeyArgs, out rotateKeyResult) string {
		if out.Declined {
			return fmt.Sprintf("Nothing was changed: the user declined to rotate key %s.", in.Hash)
		}
		s := fmt.Sprintf("Rotated key %s: the successor %q has hash %s. ", in.Hash, out.New.Key.Name, out.New.Key.Hash)
		if out.Controls != nil {
			s += out.Controls.String()
		}
		switch {
		case out.Controls != nil && len(out.Controls.Lacks) > 0:
			// Controls.String said why the old key was kept.
		case out.Old.RetireError != "":
			s += "WARNING: the old key could not be " + in.retire() + "d and is still active (" + out.Old.RetireError + ") " +
				"Retire it with update_key or delete_key once the successor is in place. "
		case out.Old.Retired == "kept":
			s += "The old key was kept and still works. "
		default:
			s += "The old key was " + out.Old.Retired + ". "
		}
		return s + secretWhere(out.SecretFile, out.Note)
	},
	failed: func(in rotateKeyArgs, err error) string {
		return strings.TrimSpace("The old key " + in.Hash + " was not changed. " + createMayExist(in.Name, err))
	},
}

// successorOf is the create request for a key with old's settings, named name (or old's name).
func successorOf(old *openrouter.Key, name string) (openrouter.CreateKeyRequest, error) {
	req := openrouter.CreateKeyRequest{
		Name:               old.Name,
		Limit:              old.Limit,
		IncludeBYOKInLimit: old.IncludeBYOKInLimit,
		WorkspaceID:        old.WorkspaceID,
	}
	if name != "" {
		req.Name = name
	}
	if old.LimitReset != nil {
		reset := openrouter.LimitReset(*old.LimitReset)
		req.LimitReset = &reset
	}
	if expires, ok := parseTime(old.ExpiresAt); ok {
		if !expires.After(time.Now()) {
			return req, invalidArgs(fmt.Sprintf("the key expired at %s, so its expiry cannot be carried over; "+
				"make a new key with create_key instead", expires.UTC().Format(time.RFC3339)))
		}
		// OpenRouter answers with fractions and an offset, and takes only UTC with seconds.
		at := expires.UTC().Format(time.RFC3339)
		req.ExpiresAt = &at
	}
	return req, nil
}
