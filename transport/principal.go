package transport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// PrincipalKind says how a request's principal was known.
type PrincipalKind string

// The kinds of principal.
const (
	// PrincipalAnonymous is every request of a server that asks for no credential: they share one.
	PrincipalAnonymous PrincipalKind = "anonymous"
	// PrincipalCredential is a bearer credential known only by its digest (a caller's own OpenRouter
	// key, say).
	PrincipalCredential PrincipalKind = "credential"
	// PrincipalSharedToken is everyone holding the server's access token: they are one principal.
	PrincipalSharedToken PrincipalKind = "shared-token"
	// PrincipalPerson is a person signed in with the identity provider, known by the subject of their
	// access tokens: one person's several tokens (refreshed, or one per client) are one principal.
	PrincipalPerson PrincipalKind = "person"
)

// Principal is whom a request acts for, as far as fair shares are concerned: the rate and the call
// slots of one principal are its own. It is comparable, and carries no secret: a credential is known
// by a prefix of its SHA-256 digest.
type Principal struct {
	Kind  PrincipalKind
	ID    string
	Email string // a person's, when their token says it: for records, not for telling people apart
}

// String names the principal in logs and records: "person:<sub>", "credential:<digest>",
// "shared-token" or "anonymous".
func (p Principal) String() string {
	if p.ID == "" {
		return string(p.Kind)
	}
	return string(p.Kind) + ":" + p.ID
}

// CredentialPrincipal is the principal of a bearer credential known only by its digest.
func CredentialPrincipal(token string) Principal {
	sum := sha256.Sum256([]byte(token))
	return Principal{Kind: PrincipalCredential, ID: hex.EncodeToString(sum[:16])}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. An Authenticator calls it to say whom a request acts for;
// when it does not, the request's principal is its bearer credential (CredentialPrincipal).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of the request ctx belongs to; anonymous when none was set
// (over stdio, or without authentication).
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Principal{Kind: PrincipalAnonymous}
}
