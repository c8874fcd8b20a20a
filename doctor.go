package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken"
	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// runDoctor checks the configuration and the key, says what is wrong and how to fix it, and fails
// unless all is well.
func runDoctor(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	stdout := std.out
	problems := 0
	good := func(format string, a ...any) { fmt.Fprintf(stdout, "ok       "+format+"\n", a...) }
	bad := func(format string, a ...any) {
		problems++
		fmt.Fprintf(stdout, "PROBLEM  "+format+"\n", a...)
	}
	// failed ends a run that found problems with their count, so that the last line says how it went.
	failed := func() error {
		them := "them"
		if problems == 1 {
			them = "it"
		}
		fmt.Fprintf(stdout, "%s found: fix %s, then run doctor again.\n", plural(problems, "problem"), them)
		return errReported
	}
	note := func(format string, a ...any) { fmt.Fprintf(stdout, "note     "+format+"\n", a...) }
	for _, p := range loosePermissions(cfg) {
		bad("%s", p)
	}

	switch {
	case cfg.sandbox:
		note("--sandbox: checking the built-in emulator, not a real OpenRouter account")
	case cfg.key == "":
		bad("no key: set %s to an OpenRouter management key (%s), or try everything without an account: %s doctor --sandbox",
			keyVars[0], "https://openrouter.ai/docs/guides/overview/auth/management-api-keys", name)
	default:
		good("key from %s", cfg.keyVar)
		if cfg.keyVar != keyVars[0] {
			note("%s is read only because %s is not set; prefer %s", cfg.keyVar, keyVars[0], keyVars[0])
		}
		if !openrouter.IsKey(cfg.key.Reveal()) {
			// A placeholder pasted from a README (sk-or-v1-...) would otherwise show only as a 401.
			bad("the key in %s is not an OpenRouter key: one is sk-or-v1- followed by 64 hex characters; "+
				"copy the whole management key (https://openrouter.ai/docs/guides/overview/auth/management-api-keys)", cfg.keyVar)
		}
	}
	client, _, err := newClient(ctx, cfg, logger)
	if err != nil {
		bad("%v", err)
		return failed()
	}
	if cfg.sandbox || openrouter.IsKey(cfg.key.Reveal()) {
		k, err := client.CurrentKey(ctx)
		switch status := openrouter.StatusOf(err); {
		case err == nil && k.IsManagementKey:
			good("OpenRouter at %s accepts the key %s, a management key", client.BaseURL(), k.Label)
			describeLimits(good, k)
		case err == nil:
			bad("the key %s is valid but is not a management key: only current_key will work; the other tools get 403. "+
				"Create a management key (https://openrouter.ai/docs/guides/overview/auth/management-api-keys) and set %s to it",
				k.Label, keyVars[0])
		case status == 401:
			bad("OpenRouter rejected the key (401): it is wrong, disabled or expired; set %s to a valid management key", keyVars[0])
		case status != 0:
			bad("OpenRouter answered %v; try again later", err)
		default:
			// The error already says "cannot reach OpenRouter", once per layer that wrapped it: say it once.
			msg := err.Error()
			msg = msg[max(0, strings.LastIndex(msg, "cannot reach OpenRouter")):]
			bad("%s; the base URL is %s. Check the network, a proxy, or --base-url", msg, client.BaseURL())
		}
	}
	// The server the other commands serve, built the same way: what fails here fails them.
	if err := offered(ctx, cfg, client, logger, good); err != nil {
		bad("the server cannot start: %v", err)
	} else if cfg.auditLog != "" {
		good("changes are recorded in %s", cfg.auditLog)
	}
	if p := cfg.policy.String(); p != "" {
		good("%s", p)
	}
	if id := cfg.policy.Guardrail; id != "" {
		// A guardrail that does not exist would make every create_key fail and delete its key again.
		switch g, err := client.GetGuardrail(ctx, id); {
		case err == nil:
			good("--guardrail %s is the guardrail %q: every new key is assigned it", id, g.Name)
		case openrouter.StatusOf(err) == 404:
			bad("--guardrail %s: OpenRouter has no guardrail with that id; every key created would be deleted again. "+
				"list_guardrails shows the guardrails' ids", id)
		default:
			bad("--guardrail %s could not be checked: %v", id, err)
		}
	}
	if cfg.confirm == tools.ConfirmNever {
		note("--confirm=never: deleting or disabling a key is never confirmed by a person")
	}
	if cfg.oidc.on {
		checkOIDC(ctx, cfg.oidc, good, bad, note)
	}
	if cfg.secretDir != "" {
		// Checked with the other flags (tools.CheckSecretDir): doctor runs only when it passed.
		good("new secrets go to files in %s, not to the model", cfg.secretDir)
	}
	if problems > 0 {
		return failed()
	}
	fmt.Fprintln(stdout, "All is well.")
	return nil
}

// offered builds the MCP server for cfg on client, as every command does, and says which tools it
// offers, as an MCP client lists them.
func offered(ctx context.Context, cfg config, client *openrouter.Client, logger zerolog.Logger, good func(string, ...any)) error {
	s, err := mcpserver.New(client, serverOptions(cfg, logger))
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := mcpserver.Connect(ctx, s, name+"-doctor", versionString())
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	var names []string // in the tools' own order, which the MCP listing does not keep
	for _, n := range tools.Names() {
		if slices.ContainsFunc(list.Tools, func(t mcp.Tool) bool { return t.Name == n }) {
			names = append(names, n)
		}
	}
	good("tools offered: %s", strings.Join(names, ", "))
	return nil
}

// checkOIDC checks --auth oidc end to end, one line each: the issuer's discovery document, its keys,
// and that the audience tokens must carry is the resource clients ask tokens for.
func checkOIDC(ctx context.Context, o oidcConfig, good, bad, note func(string, ...any)) {
	client := &http.Client{Timeout: 10 * time.Second}
	d, err := accesstoken.Discover(ctx, client, o.issuer)
	if err != nil {
		bad("%v: check --oidc-issuer; it must be the issuer exactly as its tokens' iss says, no trailing slash unless it has one", err)
		return
	}
	good("OIDC discovery at %s names the issuer and its keys at %s", o.issuer, d.JWKSURI)
	if n, err := accesstoken.Keys(ctx, client, d.JWKSURI); err != nil {
		bad("%v", err)
	} else {
		good("the issuer publishes %d signing keys", n)
	}
	switch {
	case o.audience == o.resourceURL:
		good("access tokens must be for %s (aud), the resource URL clients ask tokens for; scopes %s", o.audience, strings.Join(o.scopeNames(), ", "))
	default:
		note("access tokens must carry aud %s, but clients ask for tokens for the resource %s (RFC 8707): "+
			"the identity provider must put %s in them, or drop --oidc-audience", o.audience, o.resourceURL, o.audience)
	}
	if !strings.HasSuffix(o.resourceURL, "/mcp") {
		note("--resource-url %s does not end in /mcp, where this server serves MCP: a proxy must map it", o.resourceURL)
	}
}

// plural says n things: "1 problem", "2 problems".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func describeLimits(good func(string, ...any), k *openrouter.CurrentKey) {
	limit := "no spending limit"
	if k.Limit != nil {
		limit = fmt.Sprintf("limit %g USD", *k.Limit)
		if k.LimitRemaining != nil {
			limit += fmt.Sprintf(", %.2f left", *k.LimitRemaining)
		}
	}
	expiry := "does not expire"
	if k.ExpiresAt != nil {
		expiry = "expires " + *k.ExpiresAt
	}
	good("%s; used %.2f USD in all; %s", limit, k.Usage, expiry)
}
