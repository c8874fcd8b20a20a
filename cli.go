package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// The commands for people: call runs one tool, tools lists them, doctor checks the set-up. They
// build the same MCP server as stdio and http and talk to it through an in-process MCP client, so a
// call here takes the same path as a call from an agent.

// errReported marks a failure the command has already told the user about; it only sets the exit code.
var errReported = errors.New("reported")

// inProcess builds the MCP server for cfg and connects an in-process client to it.
func inProcess(ctx context.Context, cfg config, logger zerolog.Logger) (*mcpclient.Client, error) {
	client, _, err := newClient(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	warnSandbox(logger, cfg, client)
	s, err := mcpserver.New(client, serverOptions(cfg, logger))
	if err != nil {
		return nil, err
	}
	return mcpserver.Connect(ctx, s, name+"-cli", versionString())
}

func runCall(ctx context.Context, cfg config, stdout, stderr io.Writer, logger zerolog.Logger) error {
	var args map[string]any
	if cfg.callArgs != "" {
		err := json.Unmarshal([]byte(cfg.callArgs), &args)
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			return fmt.Errorf(`the arguments must be a JSON object, e.g. '{"hash":"..."}': %v at character %d`, err, syntax.Offset)
		case err != nil || args == nil:
			return fmt.Errorf(`the arguments must be a JSON object, e.g. '{"hash":"..."}' (see: %s tools)`, name)
		}
	}
	c, err := inProcess(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	req := mcp.CallToolRequest{}
	req.Params.Name = cfg.callTool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return notOffered(ctx, c, cfg)
		}
		return err
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
		if res.IsError {
			return errReported
		}
		return nil
	}
	var text []string
	for _, content := range res.Content {
		if t, ok := content.(mcp.TextContent); ok {
			text = append(text, t.Text)
		}
	}
	if res.IsError {
		// A person reads the terminal, and a script tests the exit code: the error goes to stderr.
		fmt.Fprintf(stderr, "Error: %s\n", strings.Join(text, "\n"))
		return errReported
	}
	if secret := secretOf(res); secret != "" && len(text) > 0 {
		// The JSON after the summary is for models; a person needs the summary and the secret to copy.
		summary, _, _ := strings.Cut(text[0], "\n")
		fmt.Fprintln(stdout, strings.Replace(summary, tools.SecretInResult, "Store its secret now: it is shown only this once.", 1))
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stdout, "(%s call %s --json prints the whole result)\n", name, cfg.callTool)
		return nil
	}
	fmt.Fprintln(stdout, strings.Join(text, "\n"))
	return nil
}

// secretOf is the new key's secret in a create_key or rotate_key result, or "".
func secretOf(res *mcp.CallToolResult) string {
	b, _ := json.Marshal(res.StructuredContent)
	var sc struct {
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(b, &sc)
	return sc.Secret
}

// notOffered explains a call to a tool the server does not offer: one that does not exist, or one
// that the tool flags hide. It lists the tools offered, since only those can be called.
func notOffered(ctx context.Context, c *mcpclient.Client, cfg config) error {
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	var offered []string
	for _, t := range list.Tools {
		offered = append(offered, t.Name)
	}
	if !slices.Contains(tools.Names(), cfg.callTool) {
		return fmt.Errorf("no tool %q: the tools are %s", cfg.callTool, strings.Join(offered, ", "))
	}
	var by []string
	if cfg.selection.ReadOnly {
		by = append(by, "--read-only")
	}
	if len(cfg.selection.Include) > 0 {
		by = append(by, "--tools "+strings.Join(cfg.selection.Include, ","))
	}
	if len(cfg.selection.Exclude) > 0 {
		by = append(by, "--exclude-tools "+strings.Join(cfg.selection.Exclude, ","))
	}
	return fmt.Errorf("the tool %q is not offered with %s: the tools offered are %s",
		cfg.callTool, strings.Join(by, " and "), strings.Join(offered, ", "))
}

func runTools(ctx context.Context, cfg config, stdout, _ io.Writer, logger zerolog.Logger) error {
	c, err := inProcess(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list.Tools)
	}
	for _, t := range list.Tools {
		fmt.Fprintf(stdout, "%s — %s [%s]\n  %s\n", t.Name, t.Title, hintWords(t.Annotations), t.Description)
		var schema struct {
			Properties map[string]struct {
				Type        any    `json:"type"`
				Description string `json:"description"`
			} `json:"properties"`
			Required []string `json:"required"`
		}
		raw, _ := json.Marshal(t.InputSchema) // a client sees the schema decoded, not raw
		_ = json.Unmarshal(raw, &schema)
		names := make([]string, 0, len(schema.Properties))
		for n := range schema.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := schema.Properties[n]
			req := ""
			if slices.Contains(schema.Required, n) {
				req = ", required"
			}
			fmt.Fprintf(stdout, "    %s (%v%s): %s\n", n, p.Type, req, p.Description)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func hintWords(a mcp.ToolAnnotation) string {
	var w []string
	if a.ReadOnlyHint != nil && *a.ReadOnlyHint {
		w = append(w, "read-only")
	}
	if a.DestructiveHint != nil && *a.DestructiveHint {
		w = append(w, "destructive")
	}
	if a.IdempotentHint != nil && *a.IdempotentHint {
		w = append(w, "idempotent")
	}
	if len(w) == 0 {
		w = append(w, "changes keys")
	}
	return strings.Join(w, ", ")
}

// keyFormat is the shape of an OpenRouter key's secret.
var keyFormat = regexp.MustCompile(`^sk-or-v1-[0-9a-f]{64}$`)

// runDoctor checks the configuration and the key, says what is wrong and how to fix it, and fails
// unless all is well.
func runDoctor(ctx context.Context, cfg config, stdout, _ io.Writer, logger zerolog.Logger) error {
	ok := true
	good := func(format string, a ...any) { fmt.Fprintf(stdout, "ok       "+format+"\n", a...) }
	bad := func(format string, a ...any) {
		ok = false
		fmt.Fprintf(stdout, "PROBLEM  "+format+"\n", a...)
	}
	note := func(format string, a ...any) { fmt.Fprintf(stdout, "note     "+format+"\n", a...) }
	for _, p := range loosePermissions(cfg) {
		bad("%s", p)
	}

	switch {
	case cfg.sandbox:
		note("--sandbox: checking the built-in emulator, not a real OpenRouter account")
	case cfg.key == "":
		bad("no key: set %s to an OpenRouter management key (%s)", keyVars[0], "https://openrouter.ai/docs/guides/overview/auth/management-api-keys")
	default:
		good("key from %s", cfg.keyVar)
		if cfg.keyVar != keyVars[0] {
			note("%s is read only because %s is not set; prefer %s", cfg.keyVar, keyVars[0], keyVars[0])
		}
		if !keyFormat.MatchString(cfg.key.Reveal()) {
			// A placeholder pasted from a README (sk-or-v1-...) would otherwise show only as a 401.
			bad("the key in %s is not an OpenRouter key: one is sk-or-v1- followed by 64 hex characters; "+
				"copy the whole management key (https://openrouter.ai/docs/guides/overview/auth/management-api-keys)", cfg.keyVar)
		}
	}
	client, _, err := newClient(ctx, cfg, logger)
	if err != nil {
		bad("%v", err)
		return errReported
	}
	if cfg.sandbox || keyFormat.MatchString(cfg.key.Reveal()) {
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
	all, err := tools.All(client, tools.Options{})
	if err == nil {
		all, err = tools.Select(all, cfg.selection)
	}
	if err != nil {
		bad("%v", err)
	} else {
		var names []string
		for _, t := range all {
			names = append(names, t.Tool.Name)
		}
		good("tools offered: %s", strings.Join(names, ", "))
	}
	if p := cfg.policy.String(); p != "" {
		good("%s", p)
	}
	if cfg.confirm == tools.ConfirmNever {
		note("--confirm=never: deleting or disabling a key is never confirmed by a person")
	}
	if cfg.secretDir != "" {
		if f, err := os.CreateTemp(cfg.secretDir, ".doctor-*"); err != nil {
			bad("--secret-dir %s is not writable: %v", cfg.secretDir, err)
		} else {
			f.Close()
			os.Remove(f.Name())
			good("new secrets go to files in %s, not to the model", cfg.secretDir)
		}
	}
	if cfg.auditLog != "" {
		if f, err := os.OpenFile(cfg.auditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			bad("--audit-log %s cannot be opened: %v; every change to keys would be refused", cfg.auditLog, err)
		} else {
			f.Close()
			good("changes are recorded in %s", cfg.auditLog)
		}
	}
	if !ok {
		return errReported
	}
	fmt.Fprintln(stdout, "All is well.")
	return nil
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
