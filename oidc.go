package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// --auth oidc: each person signs in with the team's identity provider, and the scopes of their access
// token decide which tools they see and call; the server's OpenRouter key stays on the server.

const authOIDC = "oidc"

// defaultScopes name the scopes of the read, write and admin tiers of tools.
const defaultScopes = "keys:read,keys:write,keys:admin"

// oidcConfig is what --auth oidc and its flags decide.
type oidcConfig struct {
	on          bool
	issuer      string
	audience    string // the aud tokens must carry: the resource URL unless told otherwise
	resourceURL string // the public URL of /mcp
	scopes      map[tools.Tier]string
}

// parseOIDC reads --auth and the OIDC flags, refusing them in the modes they do not belong to.
func (cfg *config) parseOIDC() error {
	in := &cfg.in
	switch in.auth {
	case "":
		for _, f := range []struct{ name, v string }{{"--oidc-issuer", in.oidcIssuer}, {"--oidc-audience", in.oidcAudience}, {"--resource-url", in.resourceURL}} {
			if f.v != "" {
				return fmt.Errorf("%s is for --auth oidc: set --auth oidc (or %s=oidc) too", f.name, envAuth)
			}
		}
		return nil
	case authOIDC:
	default:
		return fmt.Errorf("invalid --auth %q: want oidc (or leave it unset for the access token of --auth-token-file)", in.auth)
	}
	o := &cfg.oidc
	o.on = true
	switch {
	case cfg.keySource != keySourceServer:
		return errors.New("--auth oidc lets people use the server's key: it needs --key-source=server and the server's key; " +
			"a signed-in person never sends an OpenRouter key")
	case cfg.authToken != "":
		return errors.New("--auth oidc and an access token (--auth-token-file) are two ways to let callers in: choose one")
	case in.oidcIssuer == "":
		return fmt.Errorf("--auth oidc needs --oidc-issuer (or %s): the identity provider's issuer URL", envOIDCIssuer)
	case in.resourceURL == "":
		return fmt.Errorf("--auth oidc needs --resource-url (or %s): the public URL of this server's /mcp, e.g. https://keys.example.com/mcp", envResourceURL)
	}
	if err := checkPublicURL("--oidc-issuer", in.oidcIssuer); err != nil {
		return err
	}
	if err := checkPublicURL("--resource-url", in.resourceURL); err != nil {
		return err
	}
	o.issuer, o.resourceURL, o.audience = in.oidcIssuer, in.resourceURL, cmpOr(in.oidcAudience, in.resourceURL)
	names := splitList(in.oidcScopes)
	if len(names) != 3 || len(slices.Compact(slices.Sorted(slices.Values(names)))) != 3 {
		return fmt.Errorf("invalid --oidc-scopes %q: want three different scopes, for the read, write and admin tools, e.g. %s", in.oidcScopes, defaultScopes)
	}
	o.scopes = map[tools.Tier]string{tools.TierRead: names[0], tools.TierWrite: names[1], tools.TierAdmin: names[2]}
	return nil
}

// manyCallers reports whether callers are told apart, each with a credential of their own (their
// OpenRouter key, or their sign-in): each then gets a share of the server, not all of it, as the one
// holder of a shared access token does.
func (cfg *config) manyCallers() bool {
	return cfg.keySource == keySourceCaller || cfg.oidc.on
}

// cmpOr is the first of a and b that is not empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkPublicURL accepts an https URL, or http on a loopback host (a provider on this machine, in
// tests): tokens and their keys must not travel in the clear.
func checkPublicURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("invalid %s %q: want an absolute URL such as https://id.example.com", flag, raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("invalid %s %q: want https (http only on localhost)", flag, raw)
	}
	return nil
}

// scopeNames are the scopes in the order read, write, admin.
func (o oidcConfig) scopeNames() []string {
	return []string{o.scopes[tools.TierRead], o.scopes[tools.TierWrite], o.scopes[tools.TierAdmin]}
}

// resource is the server's protected resource metadata.
func (o oidcConfig) resource() *transport.ProtectedResource {
	return &transport.ProtectedResource{
		Resource:               o.resourceURL,
		AuthorizationServers:   []string{o.issuer},
		ScopesSupported:        o.scopeNames(),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "OpenRouter keys",
	}
}

// scopeFor names the scope that permits a tool.
func (o oidcConfig) scopeFor(tiers map[string]tools.Tier) func(string) string {
	return func(tool string) string { return o.scopes[tiers[tool]] }
}

// personAuth lets in the person an access token names, with the tools its scopes permit. A token
// that permits none is refused with the scopes to ask for.
func (o oidcConfig) personAuth(v *accesstoken.Verifier, tiers map[string]tools.Tier) transport.Authenticator {
	return func(ctx context.Context, token string) (context.Context, error) {
		c, err := v.Verify(ctx, token)
		if err != nil {
			return nil, err
		}
		var permitted []string
		for _, name := range tools.Names() {
			if slices.Contains(c.Scopes, o.scopes[tiers[name]]) {
				permitted = append(permitted, name)
			}
		}
		if len(permitted) == 0 {
			return nil, &transport.ScopeError{Scope: strings.Join(o.scopeNames(), " ")}
		}
		ctx = transport.WithPrincipal(ctx, transport.Principal{Kind: transport.PrincipalPerson, ID: c.Subject, Email: c.Email})
		return transport.WithGrant(ctx, permitted), nil
	}
}
