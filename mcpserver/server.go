// Package mcpserver builds the MCP server of openrouter-keys-mcp: its name, version, instructions, the
// tools it offers and how they behave, and the middleware every call passes through. It is the one
// place that does so: the command line (stdio, http, call, tools, doctor), the benchmarks and the
// tests all run the server it builds, so none of them keeps a second list of server options.
package mcpserver

import (
	"context"
	"errors"
	"fmt"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/traces"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// Name is the server's name, as MCP clients see it.
const Name = "openrouter-keys-mcp"

// Options are what the command line decides about the server. The zero value offers every tool, asks
// before destructive calls when the client can ask, returns new secrets inline and audits nothing.
type Options struct {
	Version   string          // the server's version, as MCP clients see it
	Sandbox   bool            // the client talks to the built-in emulator: say so in the title and instructions
	Tools     tools.Options   // how the tools behave (confirmation, secret directory, policy)
	Selection tools.Selection // which tools are offered
	AuditLog  string          // when set, the file every change to keys is recorded in
	Logger    zerolog.Logger  // where each tool call is logged, when the request carries no logger of its own
	// Observe, when set, wraps every tool call too (metrics).
	Observe server.ToolHandlerMiddleware
	// Traces, when set, opens a span for every request (nil: no tracing, at no cost).
	Traces *traces.Tracing
}

// fixtures is set only in test builds (go build -tags conformance, fixtures_conformance.go): the extra
// server options and registrations that the MCP conformance suite's scenarios need. The shipped
// binary has none.
var fixtures struct {
	options  []server.ServerOption
	register func(*server.MCPServer)
}

// Server is the MCP server, with what it holds open: Close it when it is done serving.
type Server struct {
	*server.MCPServer
	audit *tools.AuditLog // nil without an audit log
}

// Close closes the audit log, once every call has ended.
func (s *Server) Close() error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Close()
}

// New builds the MCP server on client. An error is a configuration the server must not start with: an
// audit log that cannot be opened, or a selection that leaves no tool.
func New(client *openrouter.Client, o Options) (*Server, error) {
	toolOpts := o.Tools
	toolOpts.Principal = func(ctx context.Context) string { return transport.PrincipalFrom(ctx).String() }
	if o.AuditLog != "" {
		audit, err := tools.OpenAuditLog(o.AuditLog, callerOf, o.Tools.Secret)
		if err != nil {
			return nil, err
		}
		toolOpts.Audit = audit
	}
	offered, err := offer(client, toolOpts, o.Selection)
	if err != nil {
		if toolOpts.Audit != nil {
			err = errors.Join(err, toolOpts.Audit.Close())
		}
		return nil, err
	}
	title, instructions := describe(o.Sandbox, o.Tools.Policy)
	ui := newApps()
	hooks := ui.hooks()
	serverOpts := append([]server.ServerOption{
		server.WithTitle(title),
		server.WithInstructions(instructions),
		server.WithToolCapabilities(false),
		server.WithElicitation(),
		server.WithToolHandlerMiddleware(tools.LogCalls(o.Logger)),
		server.WithRecovery(),
		// An HTTP request may narrow, never widen, the tools offered; the filter covers list and call.
		server.WithToolFilter(func(ctx context.Context, list []mcp.Tool) []mcp.Tool {
			n := transport.NarrowingFrom(ctx)
			return tools.Narrow(list, n.ReadOnly, n.Tools)
		}),
		server.WithToolFilter(ui.link),
		server.WithHooks(hooks),
	}, fixtures.options...)
	serverOpts = append(serverOpts, o.Traces.ServerOptions(hooks)...)
	if o.Observe != nil {
		serverOpts = append(serverOpts, server.WithToolHandlerMiddleware(o.Observe))
	}
	version := o.Version
	if version == "" {
		version = "dev"
	}
	s := server.NewMCPServer(Name, version, serverOpts...)
	s.AddTools(offered...)
	if fixtures.register != nil {
		fixtures.register(s)
	}
	ui.register(s)
	return &Server{MCPServer: s, audit: toolOpts.Audit}, nil
}

// offer builds the tools and selects those offered, refusing a selection that leaves none.
func offer(client *openrouter.Client, opts tools.Options, sel tools.Selection) ([]server.ServerTool, error) {
	all, err := tools.All(client, opts)
	if err != nil {
		return nil, err
	}
	offered, err := tools.Select(all, sel)
	if err != nil {
		return nil, err
	}
	if len(offered) == 0 {
		return nil, errors.New("the tool selection leaves no tool to offer: loosen --read-only, --tools or --exclude-tools")
	}
	return offered, nil
}

// describe is the server's title and the instructions the model reads first, which state the policy.
func describe(sandbox bool, policy tools.Policy) (title, instructions string) {
	title = "OpenRouter keys"
	instructions = "Manage the OpenRouter API keys of one account: list, inspect, create, update (rename, " +
		"disable, set limits), rotate and delete keys, check the key in use with current_key, audit every key " +
		"in one call with audit_keys, clean up many keys in one reviewed step (plan_cleanup, shown to the user, then " +
		"apply_plan), see and assign guardrails, see members and the keys each made, and read " +
		"the account's workspaces, credits and spend (query_spend for any range). Every tool but current_key " +
		"needs a management key. Keys are named by their hash, never by their secret. A new key's secret is shown once, in create_key's or rotate_key's " +
		"result (or written to a file, when the server keeps secrets out of the conversation)."
	if p := policy.String(); p != "" {
		instructions += " " + p
	}
	if sandbox {
		title += " (sandbox)"
		instructions = "SANDBOX: this server is connected to a built-in emulator of OpenRouter, not to a real " +
			"account; nothing here affects real keys. " + instructions
	}
	return title, instructions
}

// callerOf tells the audit log who is calling, as far as the transport knows.
func callerOf(ctx context.Context) tools.Caller {
	remote, id := transport.RequestInfo(ctx)
	p := transport.PrincipalFrom(ctx)
	return tools.Caller{Principal: p.String(), Email: p.Email, Remote: remote, RequestID: id}
}

// Connect starts an in-process MCP client on s and initializes it as clientName, so that a caller in
// this process (the call, tools and doctor commands) takes the same path as an agent.
func Connect(ctx context.Context, s *Server, clientName, version string) (*mcpclient.Client, error) {
	c, err := mcpclient.NewInProcessClient(s.MCPServer)
	if err != nil {
		return nil, fmt.Errorf("in-process client: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("in-process client: %w", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: clientName, Version: version}
	if _, err := c.Initialize(ctx, init); err != nil {
		c.Close()
		return nil, fmt.Errorf("in-process client: %w", err)
	}
	return c, nil
}
