package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// The commands for people: call runs one tool, tools lists them, doctor checks the set-up. They
// build the same MCP server as stdio and http and talk to it through an in-process MCP client, so a
// call here takes the same path as a call from an agent.

// errReported marks a failure the command has already told the user about; it only sets the exit code.
var errReported = errors.New("reported")

// inProcess builds the MCP server for cfg, connects an in-process client to it and hands the client to
// use; the client and the server are closed when use returns.
func inProcess(ctx context.Context, cfg config, logger zerolog.Logger, use func(*mcpclient.Client) error) error {
	return serve(ctx, cfg, logger, nil, func(s *mcpserver.Server, client *openrouter.Client, _ *sandbox.Sandbox) error {
		warnSandbox(logger, cfg, client)
		c, err := mcpserver.Connect(ctx, s, name+"-cli", versionString())
		if err != nil {
			return err
		}
		defer c.Close()
		return use(c)
	})
}

// errNoKeyHere is call without a key, said to the person at the terminal; the tools would say it to
// a model, about "the user" and their client's configuration.
var errNoKeyHere = fmt.Errorf("no OpenRouter key: set %s in the environment to a management key "+
	"(https://openrouter.ai/docs/guides/overview/auth/management-api-keys), or add --sandbox to try the tool "+
	"on the built-in emulator, without an account", keyVars[0])

// toPeople turns what the tools tell a model about "the user" into words to the person reading them.
var toPeople = strings.NewReplacer("The user must", "You must", "the user must", "you must", "their client sends", "your client sends")

func runCall(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	if cfg.key == "" && !cfg.sandbox {
		return errNoKeyHere
	}
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
	return inProcess(ctx, cfg, logger, func(c *mcpclient.Client) error { return call(ctx, cfg, c, args, std) })
}

// call makes the call and prints its result: for people, or as JSON with --json.
func call(ctx context.Context, cfg config, c *mcpclient.Client, args map[string]any, std streams) error {
	stdout, stderr := std.out, std.err
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
		fmt.Fprintf(stderr, "Error: %s\n", toPeople.Replace(strings.Join(text, "\n")))
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

func runTools(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	return inProcess(ctx, cfg, logger, func(c *mcpclient.Client) error { return listTools(ctx, cfg, c, std.out) })
}

// listTools prints the tools offered: for people, or their MCP definitions with --json.
func listTools(ctx context.Context, cfg config, c *mcpclient.Client, stdout io.Writer) error {
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
