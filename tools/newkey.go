package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// What making a new key takes, for create_key and rotate_key alike: the policy on its settings, its
// secret kept (inline or in a file) or the key rolled back, and what to say when the outcome is unknown.

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

// guardNewKey assigns the policy's guardrail (--guardrail) to a key this server just made; a key it
// cannot be assigned to is deleted again, so that no key escapes the policy.
func guardNewKey(ctx context.Context, d *deps, hash string) error {
	g := d.opts.Policy.Guardrail
	if g == "" {
		return nil
	}
	_, err := d.client.AssignKeys(ctx, g, []string{hash})
	if err == nil {
		return nil
	}
	if derr := d.client.DeleteKey(context.WithoutCancel(ctx), hash); derr != nil {
		return toolError(fmt.Sprintf("The key was created (hash %s), but the server's policy guardrail (--guardrail %s) could "+
			"not be assigned to it (%s), and deleting it again failed too (%s). Delete it with delete_key.", hash, g,
			explain(err), explain(derr)))
	}
	return toolError(fmt.Sprintf("The server's policy guardrail (--guardrail %s) could not be assigned to the new key (%s), "+
		"so the key was deleted again; nothing was left behind. Try again later; if it persists, the server's operator "+
		"must check the guardrail (doctor does).", g, explain(err)))
}
