// Package accesstoken verifies OAuth 2.1 access tokens that an OpenID Connect issuer signs as JWTs,
// for a resource server: the signature against the issuer's published keys, the issuer, the audience
// (the resource's own URL, RFC 8707), the validity window, and an allow-list of algorithms. It reads
// who the token speaks for and the scopes it grants, and knows nothing of what they permit.
package accesstoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Algorithms are the signature algorithms accepted: asymmetric ones only. "none" and the HMAC family
// are never accepted: an HS256 token "signed" with the issuer's public key would otherwise verify.
var Algorithms = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// Skew is the clock difference tolerated past a token's expiry (go-oidc allows five minutes more
// before its not-before time).
const Skew = 30 * time.Second

// Config says whose tokens are accepted, and for whom.
type Config struct {
	Issuer   string       // the issuer's URL, exactly as its tokens' iss claim and its discovery document say it
	Audience string       // the value the aud claim must hold: the resource's URL
	Client   *http.Client // for discovery and keys; nil: a client with a 10 s timeout
	// MinRefresh is the least time between two fetches of the issuer's keys, however many tokens
	// name a key it does not know; DefaultMinRefresh when zero.
	MinRefresh time.Duration
}

// Claims are what a verified token says of its holder.
type Claims struct {
	Subject string   // sub: the person (or client) the token speaks for, stable at the issuer
	Email   string   // email, when the issuer puts it in access tokens
	Scopes  []string // from scope (space-separated, RFC 9068) or scp (a string or a list)
}

// Verifier verifies the access tokens of one issuer for one audience. It is safe for concurrent use.
type Verifier struct {
	verifier *oidc.IDTokenVerifier
	keys     *keySet
}

// New reads the issuer's discovery document (which must name the issuer exactly) and fetches its
// keys once, so that a wrong issuer or an unreachable key set stops the server from starting.
func New(ctx context.Context, c Config) (*Verifier, error) {
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("access tokens: an issuer and an audience are needed")
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	d, err := Discover(ctx, client, c.Issuer)
	if err != nil {
		return nil, err
	}
	keys := newKeySet(d.JWKSURI, client, c.MinRefresh)
	if _, err := keys.refresh(ctx, true); err != nil {
		return nil, err
	}
	v := oidc.NewVerifier(c.Issuer, keys, &oidc.Config{
		ClientID:             c.Audience,
		SupportedSigningAlgs: Algorithms,
		Now:                  func() time.Time { return time.Now().Add(-Skew) },
	})
	return &Verifier{verifier: v, keys: keys}, nil
}

// Discovery is what the issuer's discovery document says that a resource server needs.
type Discovery struct {
	Issuer  string
	JWKSURI string
}

// Discover reads the issuer's OpenID Connect discovery document, which must name the issuer exactly
// and its key set.
func Discover(ctx context.Context, client *http.Client, issuer string) (Discovery, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return Discovery{}, fmt.Errorf("access tokens: discovery at %s: %w", issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return Discovery{}, fmt.Errorf("access tokens: the discovery document of %s names no jwks_uri", issuer)
	}
	return Discovery{Issuer: issuer, JWKSURI: meta.JWKSURI}, nil
}

// Verify checks raw and returns what it says. The error says why a token was refused, never what it
// held.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	t, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return Claims{}, refusal(err)
	}
	if t.Subject == "" {
		return Claims{}, errors.New("the access token names no subject")
	}
	var extra struct {
		Email string `json:"email"`
		Scope string `json:"scope"`
		Scp   any    `json:"scp"`
	}
	if err := t.Claims(&extra); err != nil {
		return Claims{}, errors.New("the access token's claims cannot be read")
	}
	return Claims{Subject: t.Subject, Email: extra.Email, Scopes: scopes(extra.Scope, extra.Scp)}, nil
}

// refusal says in a few words why go-oidc refused a token. Its own texts name no token content, but
// are long and speak of ID tokens.
func refusal(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return errors.New("the access token has expired")
	case strings.Contains(msg, "different provider"):
		return errors.New("the access token was issued by another issuer")
	case strings.Contains(msg, "expected audience"):
		return errors.New("the access token is not meant for this server (aud)")
	case strings.Contains(msg, "nbf"):
		return errors.New("the access token is not valid yet (nbf)")
	case strings.Contains(msg, "malformed jwt"):
		return errors.New("the access token is not a JWT signed with an accepted algorithm")
	case strings.Contains(msg, "verify signature"):
		return errors.New("the access token's signature does not verify against the issuer's keys")
	}
	return errors.New("the access token is invalid")
}

// scopes reads the granted scopes from scope (RFC 9068's space-separated string) and scp (which some
// issuers send as a list, others as a string).
func scopes(scope string, scp any) []string {
	out := strings.Fields(scope)
	switch s := scp.(type) {
	case string:
		out = append(out, strings.Fields(s)...)
	case []any:
		for _, v := range s {
			if str, ok := v.(string); ok {
				out = append(out, str)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// jwtShape is a compact JWS whose header and payload are JSON objects (base64url of `{"`): what an
// access token looks like wherever it was pasted.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.`)

// LooksLikeJWT reports whether s holds something shaped like a signed JWT, so that an access token is
// refused where no credential belongs (a query string, a tool's arguments) and kept out of logs.
func LooksLikeJWT(s string) bool { return jwtShape.MatchString(s) }
