// Command openrouter-keys-mcp is an MCP server that lets AI agents manage OpenRouter API keys.
//
//	openrouter-keys-mcp [stdio] [flags]   serve MCP over stdin/stdout (the default)
//	openrouter-keys-mcp sandbox [flags]   serve only the OpenRouter emulator over HTTP, at /api/v1
//	openrouter-keys-mcp version
//
// main.go is the one place that knows the command line, the OpenRouter client, the tools and the
// transports: it reads flags and environment into a config, builds the pieces and runs one transport.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module version
// from the build info is used (as go install sets it).
var version = ""

const name = "openrouter-keys-mcp"

// Environment variables, each the twin of a flag (the key has no flag: argv is visible to every user
// of the machine).
const (
	envBaseURL   = "OPENROUTER_BASE_URL"
	envSandbox   = "OPENROUTER_KEYS_MCP_SANDBOX"
	envAddr      = "OPENROUTER_KEYS_MCP_ADDR"
	envLogLevel  = "OPENROUTER_KEYS_MCP_LOG_LEVEL"
	envLogFormat = "OPENROUTER_KEYS_MCP_LOG_FORMAT"
)

// keyVars are the variables the upstream key is read from, in order of preference.
var keyVars = []string{"OPENROUTER_MANAGEMENT_KEY", "OPENROUTER_PROVISIONING_KEY", "OPENROUTER_API_KEY"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// config is everything the command line and the environment decide.
type config struct {
	command   string
	baseURL   string
	sandbox   bool
	addr      string
	logLevel  zerolog.Level
	logFormat string
	key       openrouter.Secret
	keyVar    string // the variable the key came from
}

// errKeyInArgs refuses a key on the command line, where every user of the machine can read it, without
// repeating it.
var errKeyInArgs = fmt.Errorf("an API key was given as an argument: the key is never taken from the command "+
	"line, where other users of the machine can see it; set %s in the environment instead", keyVars[0])

// errUsage marks errors already explained to the user, with the usage, by the flag package.
var errUsage = errors.New("usage")

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
		}
		return 2
	}
	logger := newLogger(stderr, cfg)
	switch cfg.command {
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "sandbox":
		err = runSandbox(ctx, cfg, stderr, logger)
	default:
		err = runStdio(ctx, cfg, stdin, stdout, logger)
	}
	if err != nil {
		logger.Error().Err(err).Msg("stopped")
		return 1
	}
	return 0
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{command: "stdio"}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.command, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(name+" "+cfg.command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultAddr := "127.0.0.1:8081"
	switch cfg.command {
	case "stdio":
		fs.StringVar(&cfg.baseURL, "base-url", envOr(getenv, envBaseURL, openrouter.DefaultBaseURL), "OpenRouter API base URL (env "+envBaseURL+")")
		sandboxDefault, err := envBool(getenv, envSandbox)
		if err != nil {
			return cfg, err
		}
		fs.BoolVar(&cfg.sandbox, "sandbox", sandboxDefault, "use the built-in OpenRouter emulator instead of OpenRouter; no key needed (env "+envSandbox+")")
	case "sandbox":
		fs.StringVar(&cfg.addr, "addr", envOr(getenv, envAddr, defaultAddr), "listen address (env "+envAddr+")")
	case "version":
	default:
		if openrouter.LooksLikeSecret(cfg.command) {
			return cfg, errKeyInArgs
		}
		return cfg, fmt.Errorf("unknown command %q: want stdio, sandbox or version (see --help)", cfg.command)
	}
	level := fs.String("log-level", envOr(getenv, envLogLevel, "info"), "log level: trace, debug, info, warn, error (env "+envLogLevel+")")
	fs.StringVar(&cfg.logFormat, "log-format", envOr(getenv, envLogFormat, "auto"), "log format on stderr: json, console, or auto (console on a terminal) (env "+envLogFormat+")")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		if openrouter.LooksLikeSecret(fs.Arg(0)) {
			return cfg, errKeyInArgs
		}
		return cfg, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(*level))
	if err != nil || *level == "" || lvl == zerolog.NoLevel {
		return cfg, fmt.Errorf("invalid log level %q: want trace, debug, info, warn or error", *level)
	}
	cfg.logLevel = lvl
	switch cfg.logFormat {
	case "auto", "json", "console":
	default:
		return cfg, fmt.Errorf("invalid log format %q: want json, console or auto", cfg.logFormat)
	}
	if cfg.sandbox && baseURLSet(fs, getenv) {
		return cfg, fmt.Errorf("--sandbox and --base-url (or %s) cannot be used together: the sandbox is its own upstream", envBaseURL)
	}
	for _, v := range keyVars {
		if k := strings.TrimSpace(getenv(v)); k != "" {
			cfg.key, cfg.keyVar = openrouter.Secret(k), v
			break
		}
	}
	return cfg, nil
}

func baseURLSet(fs *flag.FlagSet, getenv func(string) string) bool {
	set := getenv(envBaseURL) != ""
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "base-url" })
	return set
}

func usage(fs *flag.FlagSet) {
	out := fs.Output()
	fmt.Fprintf(out, `Usage:
  %[1]s [stdio] [flags]   serve MCP over stdin/stdout (the default)
  %[1]s sandbox [flags]   serve only the built-in OpenRouter emulator over HTTP, at /api/v1
  %[1]s version           print the version

The OpenRouter key is read from %[2]s (or %[3]s, %[4]s), never from the command line.

Examples:
  %[2]s=sk-or-v1-... %[1]s
  %[1]s --sandbox          try every tool offline, no account needed

Flags of %[5]q:
`, name, keyVars[0], keyVars[1], keyVars[2], fs.Name())
	fs.PrintDefaults()
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func envBool(getenv func(string) string, key string) (bool, error) {
	v := getenv(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid %s=%q: want true or false", key, v)
	}
	return b, nil
}

// newLogger logs to w (stderr) only: stdout belongs to the protocol. Every line passes through
// openrouter.Redact, a last line of defence should a key-shaped string reach a log.
func newLogger(w io.Writer, cfg config) zerolog.Logger {
	out := io.Writer(redactingWriter{w})
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

type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, openrouter.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func runStdio(ctx context.Context, cfg config, stdin io.Reader, stdout io.Writer, logger zerolog.Logger) error {
	clientOpts := openrouter.Options{BaseURL: cfg.baseURL, APIKey: cfg.key, UserAgent: userAgent()}
	if cfg.sandbox {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start sandbox: %w", err)
		}
		emu := sandbox.New(sandbox.Options{})
		go func() { _ = transport.ServeHTTP(ctx, ln, emu, logger.With().Str("component", "sandbox").Logger()) }()
		clientOpts.BaseURL = "http://" + ln.Addr().String() + "/api/v1"
		clientOpts.APIKey = openrouter.Secret(emu.ManagementKey())
		ev := logger.Warn().Str("base_url", clientOpts.BaseURL)
		if cfg.keyVar != "" {
			ev = ev.Str("ignored_key_from", cfg.keyVar)
		}
		ev.Msg("SANDBOX MODE: tools act on the built-in OpenRouter emulator, not on a real account")
	} else if cfg.key == "" {
		logger.Warn().Msgf("no OpenRouter key: set %s; every tool will answer with an error until then", keyVars[0])
	}
	client, err := openrouter.New(clientOpts)
	if err != nil {
		return err
	}
	s, err := newMCPServer(client, cfg, logger)
	if err != nil {
		return err
	}
	logger.Info().Str("version", versionString()).Str("base_url", client.BaseURL()).Str("key_from", cfg.keyVar).Msg("serving MCP on stdio")
	return transport.ServeStdio(ctx, s, stdin, stdout, logger)
}

func newMCPServer(client *openrouter.Client, cfg config, logger zerolog.Logger) (*server.MCPServer, error) {
	all, err := tools.All(client)
	if err != nil {
		return nil, err
	}
	instructions := "Manage the OpenRouter API keys of one account: list, inspect, create, update (rename, " +
		"disable, set limits) and delete keys, and check the key in use with current_key. Keys are named by " +
		"their hash, never by their secret. A new key's secret is shown once, in create_key's result."
	title := "OpenRouter keys"
	if cfg.sandbox {
		instructions = "SANDBOX: this server is connected to a built-in emulator of OpenRouter, not to a real " +
			"account; nothing here affects real keys. " + instructions
		title += " (sandbox)"
	}
	s := server.NewMCPServer(name, versionString(),
		server.WithTitle(title),
		server.WithInstructions(instructions),
		server.WithToolCapabilities(false),
		server.WithToolHandlerMiddleware(tools.LogCalls(logger)),
		server.WithRecovery(),
	)
	s.AddTools(all...)
	return s, nil
}

func runSandbox(ctx context.Context, cfg config, stderr io.Writer, logger zerolog.Logger) error {
	emu := sandbox.New(sandbox.Options{ManagementKey: string(cfg.key)})
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
	return transport.ServeHTTP(ctx, ln, emu, logger)
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
	commit := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return fmt.Sprintf("%s %s (commit %s, %s)", name, versionString(), commit, runtime.Version())
}

func userAgent() string { return name + "/" + versionString() }
