package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/accesstoken"
	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// The serving commands (stdio, http, sandbox) and what they share with the commands for people: the
// OpenRouter client, the server's options, and the line each says when it starts.

// newClient builds the OpenRouter client: on the real API, or on an emulator started on a loopback
// port of its own when --sandbox asks for it (and only then: never as a fallback).
func newClient(ctx context.Context, cfg config, logger zerolog.Logger, adjust ...func(*openrouter.Options)) (*openrouter.Client, *sandbox.Sandbox, error) {
	opts := openrouter.Options{BaseURL: cfg.baseURL, APIKey: cfg.key, UserAgent: userAgent(), ControlsTTL: openrouter.DefaultControlsTTL}
	opts.Retry.OnRetry = func(ctx context.Context, ev openrouter.RetryEvent) {
		l := zerolog.Ctx(ctx) // the request's logger, with its id, when the transport set one
		if l.GetLevel() == zerolog.Disabled {
			l = &logger
		}
		l.Info().Str("method", ev.Method).Str("path", ev.Path).Int("attempt", ev.Attempt).Dur("wait", ev.Wait).
			Str("error", ev.Err.Error()).Msg("OpenRouter call failed; retrying")
	}
	var emu *sandbox.Sandbox
	if cfg.sandbox {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("start sandbox: %w", err)
		}
		emu = sandbox.New(sandbox.Options{Faults: cfg.faults})
		go func() { _ = transport.ServeHTTP(ctx, ln, emu, logger.With().Str("component", "sandbox").Logger(), nil) }()
		opts.BaseURL = "http://" + ln.Addr().String() + "/api/v1"
		opts.APIKey = openrouter.Secret(emu.ManagementKey())
	}
	for _, f := range adjust {
		f(&opts)
	}
	client, err := openrouter.New(opts)
	return client, emu, err
}

// sandboxMode is said on stderr by every command that acts on the emulator.
const sandboxMode = "SANDBOX MODE: tools act on the built-in OpenRouter emulator, not on a real account"

// startLine is the line a command that serves or calls the tools logs when it starts, msg and the
// event to add to: what the user must know (the emulator, its faults, a missing key when noKeyMatters)
// rides on it, since MCP hosts show a stdio server's stderr as errors. Commands for people log only
// the warnings (they log at warn).
func startLine(logger zerolog.Logger, cfg config, msg string, noKeyMatters bool) (*zerolog.Event, string) {
	ev := logger.Info().Str("key_from", cfg.keyVar)
	switch {
	case cfg.sandbox:
		ev, msg = logger.Warn(), join(msg, sandboxMode)
		if cfg.keyVar != "" {
			ev = ev.Str("ignored_key_from", cfg.keyVar)
		}
		if !cfg.faults.IsZero() {
			ev, msg = ev.Str("faults", cfg.faults.String()), msg+"; "+faultsMode
		}
	case cfg.key == "" && noKeyMatters:
		ev, msg = logger.Warn(), msg+fmt.Sprintf("; no OpenRouter key: set %s; every tool will answer with an error until then", keyVars[0])
	}
	return ev, msg
}

// warnSandbox says, with --sandbox, on a line of its own, that the tools act on the emulator, and how
// it fails on purpose: for the commands whose start line must stay as it is (http) or have none.
func warnSandbox(logger zerolog.Logger, cfg config, client *openrouter.Client) {
	if cfg.sandbox {
		ev, msg := startLine(logger, cfg, "", false)
		ev.Str("base_url", client.BaseURL()).Msg(msg)
	}
}

// faultsMode is said when the emulator is set to fail on purpose.
const faultsMode = "SANDBOX FAULTS: the emulator fails on purpose"

// join puts a note after msg, or stands alone when there is no msg.
func join(msg, note string) string {
	if msg == "" {
		return note
	}
	return msg + "; " + note
}

// serve builds the MCP server for cfg on its OpenRouter client and hands it to serveOn, closing it
// (its audit log) once serveOn returns. m, when metrics are served, observes the client and the tools;
// traces, when on, follow every request into OpenRouter and are flushed when serveOn returns.
func serve(ctx context.Context, cfg config, logger zerolog.Logger, m *serverMetrics, serveOn func(*mcpserver.Server, *openrouter.Client, *sandbox.Sandbox) error) error {
	tr, err := startTraces(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopTraces(ctx, tr, logger)
	client, emu, err := newClient(ctx, cfg, logger, m.observeClient, traceClient(tr))
	if err != nil {
		return err
	}
	warnPermissions(logger, cfg)
	sopts := serverOptions(cfg, logger)
	sopts.Observe = m.toolMiddleware()
	sopts.Tools.OnConfirm = m.onConfirm()
	sopts.Tools.OnPolicyRefusal = m.onPolicyRefusal()
	sopts.Traces = tr
	s, err := mcpserver.New(client, sopts)
	if err != nil {
		return err
	}
	defer s.Close()
	return serveOn(s, client, emu)
}

func runStdio(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	return serve(ctx, cfg, logger, nil, func(s *mcpserver.Server, client *openrouter.Client, _ *sandbox.Sandbox) error {
		ev, msg := startLine(logger, cfg, "serving MCP on stdio", true)
		ev.Str("version", versionString()).Str("base_url", client.BaseURL()).Msg(msg)
		if f, ok := std.in.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			// A person started it by hand: without a word it would wait in silence for MCP messages, and
			// answer what they type with JSON parse errors. An MCP host never gives it a terminal.
			fmt.Fprint(std.err, terminalHint)
		}
		return transport.ServeStdio(ctx, s.MCPServer, std.in, std.out, logger)
	})
}

// terminalHint is said on stderr when the stdio server's input is a terminal.
const terminalHint = name + ` is waiting for an MCP client on stdin/stdout; what you type here is not MCP.
  To see it work, run instead:  ` + name + ` call list_keys --sandbox   (or: go run . call list_keys --sandbox)
  The commands and examples:    ` + name + ` --help
  To connect an MCP client, set this binary's absolute path as the client's command. Ctrl-C stops it.
`

// listen listens on cfg.addr. An address in use, or not an address, is the user's to change: it is
// said in one line that names --addr, not logged as a failure of the server.
func listen(cfg config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.addr)
	var addrErr *net.AddrError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		suggestion := "127.0.0.1:8090"
		if host, port, err := net.SplitHostPort(cfg.addr); err == nil {
			if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65535 {
				suggestion = net.JoinHostPort(host, strconv.Itoa(n+1))
			}
		}
		return nil, usageError{fmt.Errorf("%s is in use by another program (another copy of this server?): stop it, or "+
			"listen elsewhere with --addr (or %s), e.g. --addr %s", cfg.addr, envAddr, suggestion)}
	case errors.As(err, &addrErr):
		return nil, usageError{fmt.Errorf("cannot listen on %q: %v; want host:port in --addr (or %s), e.g. --addr 127.0.0.1:8080",
			cfg.addr, addrErr.Err, envAddr)}
	case err != nil:
		return nil, fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	return ln, nil
}

func runHTTP(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	m, metricsURL, err := serveMetrics(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, logger, m, func(s *mcpserver.Server, client *openrouter.Client, emu *sandbox.Sandbox) error {
		opts := transport.HTTPOptions{
			ToolNames:                tools.Names(),
			Stateful:                 cfg.stateful,
			AllowedOrigins:           cfg.allowedOrigins,
			MaxInFlight:              cfg.maxInFlight,
			MaxSessions:              cfg.maxSessions,
			MaxInFlightPerCredential: cfg.maxInFlightPer,
			MaxSessionsPerCredential: cfg.maxSessionsPer,
			RatePerPrincipal:         float64(cfg.ratePer),
			BurstPerPrincipal:        cfg.burstPer,
			OnRequest:                m.onRequest(),
			IsSecret:                 func(s string) bool { return openrouter.LooksLikeSecret(s) || cfg.isAccessToken(s) },
			Loopback:                 isLoopbackAddr(cfg.addr),
			Version:                  versionString(),
			Logger:                   logger,
		}
		switch {
		case cfg.keySource == keySourceCaller:
			opts.Auth = callerKey
			opts.Vouch = newKeyVouch(client).vouch
			opts.AuthHint = "send your OpenRouter management key as Authorization: Bearer sk-or-v1-..."
			if emu != nil {
				// Callers need a key the emulator knows; it guards nothing real.
				printSandboxKey(std.err, emu)
			}
		case cfg.oidc.on:
			v, err := accesstoken.New(ctx, accesstoken.Config{Issuer: cfg.oidc.issuer, Audience: cfg.oidc.audience})
			if err != nil {
				return fmt.Errorf("--auth oidc: %w", err)
			}
			tiers := tools.Tiers()
			opts.Auth = cfg.oidc.personAuth(v, tiers)
			opts.AuthHint = "sign in with " + cfg.oidc.issuer + " and send its access token as Authorization: Bearer <token>"
			opts.Resource = cfg.oidc.resource()
			opts.ScopeFor = cfg.oidc.scopeFor(tiers)
		case cfg.authToken != "":
			opts.Auth = accessToken(cfg.authToken)
			opts.AuthHint = "send the server's access token as Authorization: Bearer <token>"
		}
		handler, closeSessions := transport.NewHTTPHandler(s.MCPServer, opts)
		ln, err := listen(cfg)
		if err != nil {
			return err
		}
		ln = transport.LimitConns(ln, transport.ConnLimits{Max: cfg.maxConns, MaxPerAddr: cfg.maxConnsPerAddr}, logger)
		warnSandbox(logger, cfg, client)
		logger.Info().Str("version", versionString()).Str("url", "http://"+ln.Addr().String()+"/mcp").
			Str("key_source", cfg.keySource).Bool("access_token", cfg.authToken != "").Str("oidc_issuer", cfg.oidc.issuer).
			Str("resource_url", cfg.oidc.resourceURL).Bool("stateful", cfg.stateful).
			Str("base_url", client.BaseURL()).Str("metrics_url", metricsURL).Msg("serving MCP over HTTP")
		return transport.ServeHTTP(ctx, ln, handler, logger, closeSessions)
	})
}

// printSandboxKey says the emulator's management key, which a user needs to call it. It is not logged:
// it is for the person at the terminal, and it guards nothing real.
func printSandboxKey(stderr io.Writer, emu *sandbox.Sandbox) {
	fmt.Fprintf(stderr, "sandbox management key: %s\n", emu.ManagementKey())
}

// isAccessToken reports whether s holds the server's access token, or with --auth oidc something shaped
// like a person's access token: secrets like a key, they are refused in tool arguments and in query
// strings, and masked in logs.
func (cfg config) isAccessToken(s string) bool {
	return (cfg.authToken != "" && strings.Contains(s, cfg.authToken.Reveal())) || (cfg.oidc.on && accesstoken.LooksLikeJWT(s))
}

// callerKey uses each request's bearer token as that request's OpenRouter key; the server holds none.
func callerKey(ctx context.Context, token string) (context.Context, error) {
	if !openrouter.IsKey(token) {
		return nil, errors.New("the bearer token is not an OpenRouter key")
	}
	return openrouter.WithAPIKey(ctx, openrouter.Secret(token)), nil
}

// accessToken lets in callers presenting the server's access token. Comparing digests keeps the
// comparison constant-time whatever the token's length.
func accessToken(want openrouter.Secret) transport.Authenticator {
	wantSum := sha256.Sum256([]byte(want.Reveal()))
	return func(ctx context.Context, token string) (context.Context, error) {
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], wantSum[:]) != 1 {
			return nil, errors.New("wrong access token")
		}
		return transport.WithPrincipal(ctx, transport.Principal{Kind: transport.PrincipalSharedToken}), nil
	}
}

// serverOptions is what the command line decides about the MCP server.
func serverOptions(cfg config, logger zerolog.Logger) mcpserver.Options {
	return mcpserver.Options{
		Version: versionString(),
		Sandbox: cfg.sandbox,
		Tools: tools.Options{Confirm: cfg.confirm, SecretDir: cfg.secretDir, Policy: cfg.policy, Secret: cfg.isAccessToken,
			ConfirmSecret: []byte(cfg.confirmSecret.Reveal())},
		Selection: cfg.selection,
		AuditLog:  cfg.auditLog,
		Logger:    logger,
	}
}

func runSandbox(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error {
	emu := sandbox.New(sandbox.Options{ManagementKey: string(cfg.key), Faults: cfg.faults})
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	if cfg.key == "" {
		printSandboxKey(std.err, emu)
	}
	if !cfg.faults.IsZero() {
		logger.Warn().Str("faults", cfg.faults.String()).Msg(faultsMode)
	}
	logger.Info().Str("base_url", "http://"+ln.Addr().String()+"/api/v1").Msg("serving the OpenRouter emulator")
	return transport.ServeHTTP(ctx, ln, emu, logger, nil)
}
