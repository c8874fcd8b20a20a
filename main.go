// Command openrouter-keys-mcp is an MCP server that lets AI agents manage OpenRouter API keys.
//
//	openrouter-keys-mcp [stdio] [flags]   serve MCP over stdin/stdout (the default)
//	openrouter-keys-mcp http [flags]      serve MCP over streamable HTTP at /mcp, health at /healthz
//	openrouter-keys-mcp sandbox [flags]   serve only the OpenRouter emulator over HTTP, at /api/v1
//	openrouter-keys-mcp call TOOL [JSON]  run one tool and print its result
//	openrouter-keys-mcp tools             list the tools
//	openrouter-keys-mcp doctor            check the configuration and the key
//	openrouter-keys-mcp version
//
// main.go is the one place that knows the command line, the OpenRouter client, the tools and the
// transports: it reads flags and environment into a config, builds the pieces and runs one transport.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// version, commit and date are set at build time by the release (.goreleaser.yaml):
// -ldflags "-X main.version=1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>". Otherwise the module
// version and the VCS revision and time come from the build info (as go install and go build set them).
var (
	version = ""
	commit  = ""
	date    = ""
)

const name = mcpserver.Name

// defaultGOGC is the collector's target unless GOGC is set. The server keeps little (a few MB) and a
// call allocates about 100 KB, so at Go's default of 100 a loaded server collects some 50 times a
// second; at 200 it spends a quarter less CPU per call, for about 6 MB more at the peak of 64
// concurrent calls (BENCHMARKS.md).
const defaultGOGC = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	logger := newLogger(stderr, cfg)
	if cfg.command == "stdio" || cfg.command == "http" {
		warnPermissions(logger, cfg)
	}
	switch cfg.command {
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "call", "tools", "doctor":
		command := map[string]func(context.Context, config, io.Writer, io.Writer, zerolog.Logger) error{
			"call": runCall, "tools": runTools, "doctor": runDoctor,
		}[cfg.command]
		if err := command(ctx, cfg, stdout, stderr, logger); err != nil {
			if !errors.Is(err, errReported) {
				fmt.Fprintf(stderr, "%s %s: %v\n", name, cfg.command, err)
			}
			return 1
		}
		return 0
	case "sandbox":
		err = runSandbox(ctx, cfg, stderr, logger)
	case "http":
		err = runHTTP(ctx, cfg, stderr, logger)
	default:
		err = runStdio(ctx, cfg, stdin, stdout, logger)
	}
	if err != nil {
		logger.Error().Err(err).Msg("stopped")
		return 1
	}
	return 0
}

// newLogger logs to w (stderr) only: stdout belongs to the protocol. Every line passes through
// redactLine, a last line of defence should a key or a bearer token reach a log.
func newLogger(w io.Writer, cfg config) zerolog.Logger {
	out := io.Writer(redactingWriter{w: w, token: cfg.authToken.Reveal()})
	console := cfg.logFormat == "console"
	if cfg.logFormat == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			console = true
		}
	}
	if console {
		out = zerolog.ConsoleWriter{Out: out, NoColor: true}
	}
	return zerolog.New(out).Level(cfg.logLevel).With().Timestamp().Logger()
}

// redactingWriter masks secrets in every line: keys, bearer tokens, and the server's access token.
type redactingWriter struct {
	w     io.Writer
	token string // the server's access token, when it has one
}

// bearerShape matches the credential after "Bearer", in a header or an error string.
var bearerShape = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+`)

// mayNeedRedacting reports whether redactLine could change p: only a line holding "sk-or-" (where
// every key starts) or "bearer" in any case can match.
func mayNeedRedacting(p []byte) bool {
	if bytes.Contains(p, []byte("sk-or-")) {
		return true
	}
	for i := bytes.IndexAny(p, "bB"); i >= 0 && i+6 <= len(p); {
		if bytes.EqualFold(p[i:i+6], []byte("bearer")) {
			return true
		}
		j := bytes.IndexAny(p[i+1:], "bB")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// redactLine masks OpenRouter keys and bearer tokens.
func redactLine(s string) string {
	return bearerShape.ReplaceAllString(openrouter.Redact(s), "${1}[REDACTED]")
}

func (r redactingWriter) Write(p []byte) (int, error) {
	n := len(p) // what was written, as the caller counts it
	if r.token != "" && bytes.Contains(p, []byte(r.token)) {
		p = bytes.ReplaceAll(p, []byte(r.token), []byte("[REDACTED]"))
	}
	if !mayNeedRedacting(p) {
		// Nearly every line: nothing for the two regular expressions to match, and no copy.
		if _, err := r.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	if _, err := io.WriteString(r.w, redactLine(string(p))); err != nil {
		return 0, err
	}
	return n, nil
}

// newClient builds the OpenRouter client: on the real API, or on an emulator started on a loopback
// port of its own when --sandbox asks for it (and only then: never as a fallback).
func newClient(ctx context.Context, cfg config, logger zerolog.Logger, adjust ...func(*openrouter.Options)) (*openrouter.Client, *sandbox.Sandbox, error) {
	opts := openrouter.Options{BaseURL: cfg.baseURL, APIKey: cfg.key, UserAgent: userAgent()}
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

// warnSandbox says, with --sandbox, that the tools act on the emulator, and how it fails on purpose.
func warnSandbox(logger zerolog.Logger, cfg config, client *openrouter.Client) {
	if !cfg.sandbox {
		return
	}
	ev := logger.Warn().Str("base_url", client.BaseURL())
	if cfg.keyVar != "" {
		ev = ev.Str("ignored_key_from", cfg.keyVar)
	}
	ev.Msg(sandboxMode)
	logFaults(logger, cfg.faults)
}

func runStdio(ctx context.Context, cfg config, stdin io.Reader, stdout io.Writer, logger zerolog.Logger) error {
	client, _, err := newClient(ctx, cfg, logger)
	if err != nil {
		return err
	}
	s, err := mcpserver.New(client, serverOptions(cfg, logger))
	if err != nil {
		return err
	}
	// One line at start: MCP hosts show a server's stderr as errors, so what the user must know (the
	// sandbox, a missing key) rides on the line that says the server is up.
	ev, msg := logger.Info().Str("key_from", cfg.keyVar), "serving MCP on stdio"
	switch {
	case cfg.sandbox:
		ev, msg = logger.Warn(), msg+"; "+sandboxMode
		if cfg.keyVar != "" {
			ev = ev.Str("ignored_key_from", cfg.keyVar)
		}
		if !cfg.faults.IsZero() {
			ev, msg = ev.Str("faults", cfg.faults.String()), msg+"; SANDBOX FAULTS: the emulator fails on purpose"
		}
	case cfg.key == "":
		ev, msg = logger.Warn(), msg+fmt.Sprintf("; no OpenRouter key: set %s; every tool will answer with an error until then", keyVars[0])
	}
	ev.Str("version", versionString()).Str("base_url", client.BaseURL()).Msg(msg)
	return transport.ServeStdio(ctx, s, stdin, stdout, logger)
}

func runHTTP(ctx context.Context, cfg config, stderr io.Writer, logger zerolog.Logger) error {
	m, metricsURL, err := serveMetrics(ctx, cfg, logger)
	if err != nil {
		return err
	}
	client, emu, err := newClient(ctx, cfg, logger, m.observeClient)
	if err != nil {
		return err
	}
	warnSandbox(logger, cfg, client)
	sopts := serverOptions(cfg, logger)
	sopts.Observe = m.toolMiddleware()
	s, err := mcpserver.New(client, sopts)
	if err != nil {
		return err
	}
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
		IsSecret:                 func(s string) bool { return openrouter.LooksLikeSecret(s) || cfg.isAccessToken(s) },
		Loopback:                 isLoopbackAddr(cfg.addr),
		Version:                  versionString(),
		Logger:                   logger,
		OnRequest:                m.onRequest(),
	}
	switch {
	case cfg.keySource == keySourceCaller:
		opts.Auth = callerKey
		opts.Vouch = newKeyVouch(client).vouch
		opts.AuthHint = "send your OpenRouter management key as Authorization: Bearer sk-or-v1-..."
		if emu != nil {
			// Callers need a key the emulator knows; it guards nothing real.
			fmt.Fprintf(stderr, "sandbox management key: %s\n", emu.ManagementKey())
		}
	case cfg.authToken != "":
		opts.Auth = accessToken(cfg.authToken)
		opts.AuthHint = "send the server's access token as Authorization: Bearer <token>"
	}
	handler, closeSessions := transport.NewHTTPHandler(s, opts)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	ln = transport.LimitConns(ln, transport.ConnLimits{Max: cfg.maxConns, MaxPerAddr: cfg.maxConnsPerAddr}, logger)
	logger.Info().Str("version", versionString()).Str("url", "http://"+ln.Addr().String()+"/mcp").
		Str("key_source", cfg.keySource).Bool("access_token", cfg.authToken != "").Bool("stateful", cfg.stateful).
		Str("base_url", client.BaseURL()).Str("metrics_url", metricsURL).Msg("serving MCP over HTTP")
	return transport.ServeHTTP(ctx, ln, handler, logger, closeSessions)
}

// isAccessToken reports whether s holds the server's access token, which is a secret like a key: it is
// refused in tool arguments and in query strings, and masked in logs.
func (cfg config) isAccessToken(s string) bool {
	return cfg.authToken != "" && strings.Contains(s, cfg.authToken.Reveal())
}

// callerKey uses each request's bearer token as that request's OpenRouter key; the server holds none.
func callerKey(ctx context.Context, token string) (context.Context, error) {
	if !strings.HasPrefix(token, "sk-or-") || len(token) < 20 {
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

func runSandbox(ctx context.Context, cfg config, stderr io.Writer, logger zerolog.Logger) error {
	emu := sandbox.New(sandbox.Options{ManagementKey: string(cfg.key), Faults: cfg.faults})
	logFaults(logger, cfg.faults)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	base := "http://" + ln.Addr().String() + "/api/v1"
	if cfg.key == "" {
		// The sandbox's own key guards nothing real; the user needs it to call the emulator.
		fmt.Fprintf(stderr, "sandbox management key: %s\n", emu.ManagementKey())
	}
	logger.Info().Str("base_url", base).Msg("serving the OpenRouter emulator")
	return transport.ServeHTTP(ctx, ln, emu, logger, nil)
}

// logFaults says, when the sandbox is set to fail on purpose, how.
func logFaults(logger zerolog.Logger, faults sandbox.Faults) {
	if !faults.IsZero() {
		logger.Warn().Str("faults", faults.String()).Msg("SANDBOX FAULTS: the emulator fails on purpose")
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func versionLine() string {
	rev := commit
	if bi, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if date != "" {
		return fmt.Sprintf("%s %s (commit %s, built %s, %s)", name, versionString(), rev, date, runtime.Version())
	}
	return fmt.Sprintf("%s %s (commit %s, %s)", name, versionString(), rev, runtime.Version())
}

func userAgent() string { return name + "/" + versionString() }
