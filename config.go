package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/traces"
	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// Environment variables, each the twin of a flag. The upstream key has no flag: argv is visible to
// every user of the machine.
const (
	envBaseURL        = "OPENROUTER_BASE_URL"
	envSandbox        = "OPENROUTER_KEYS_MCP_SANDBOX"
	envAddr           = "OPENROUTER_KEYS_MCP_ADDR"
	envLogLevel       = "OPENROUTER_KEYS_MCP_LOG_LEVEL"
	envLogFormat      = "OPENROUTER_KEYS_MCP_LOG_FORMAT"
	envStateful       = "OPENROUTER_KEYS_MCP_STATEFUL"
	envKeySource      = "OPENROUTER_KEYS_MCP_KEY_SOURCE"
	envAuthToken      = "OPENROUTER_KEYS_MCP_AUTH_TOKEN"
	envAuthTokenFile  = "OPENROUTER_KEYS_MCP_AUTH_TOKEN_FILE"
	envConfirmSecret  = "OPENROUTER_KEYS_MCP_CONFIRM_SECRET"
	envConfirmFile    = "OPENROUTER_KEYS_MCP_CONFIRM_SECRET_FILE"
	envAllowedOrigins = "OPENROUTER_KEYS_MCP_ALLOWED_ORIGINS"
	envMaxInFlight    = "OPENROUTER_KEYS_MCP_MAX_IN_FLIGHT"
	envMaxSessions    = "OPENROUTER_KEYS_MCP_MAX_SESSIONS"
	envMaxInFlightPer = "OPENROUTER_KEYS_MCP_MAX_IN_FLIGHT_PER_CALLER"
	envMaxSessionsPer = "OPENROUTER_KEYS_MCP_MAX_SESSIONS_PER_CALLER"
	envMaxConns       = "OPENROUTER_KEYS_MCP_MAX_CONNS"
	envMaxConnsPer    = "OPENROUTER_KEYS_MCP_MAX_CONNS_PER_ADDR"
	envRatePer        = "OPENROUTER_KEYS_MCP_RATE_PER_CALLER"
	envBurstPer       = "OPENROUTER_KEYS_MCP_BURST_PER_CALLER"
	envMetricsAddr    = "OPENROUTER_KEYS_MCP_METRICS_ADDR"
	envReadOnly       = "OPENROUTER_KEYS_MCP_READ_ONLY"
	envTools          = "OPENROUTER_KEYS_MCP_TOOLS"
	envExcludeTools   = "OPENROUTER_KEYS_MCP_EXCLUDE_TOOLS"
	envConfirm        = "OPENROUTER_KEYS_MCP_CONFIRM"
	envSecretDir      = "OPENROUTER_KEYS_MCP_SECRET_DIR"
	envAuditLog       = "OPENROUTER_KEYS_MCP_AUDIT_LOG"
	envSandboxFaults  = "OPENROUTER_KEYS_MCP_SANDBOX_FAULTS"
	envMaxLimit       = "OPENROUTER_KEYS_MCP_MAX_LIMIT"
	envMaxExpiry      = "OPENROUTER_KEYS_MCP_MAX_EXPIRY"
	envMaxLimitReset  = "OPENROUTER_KEYS_MCP_MAX_LIMIT_RESET"
	envManagedPrefix  = "OPENROUTER_KEYS_MCP_MANAGED_PREFIX"
	envMaxBatch       = "OPENROUTER_KEYS_MCP_MAX_BATCH"
	envGuardrail      = "OPENROUTER_KEYS_MCP_GUARDRAIL"
	envAuth           = "OPENROUTER_KEYS_MCP_AUTH"
	envOIDCIssuer     = "OPENROUTER_KEYS_MCP_OIDC_ISSUER"
	envOIDCAudience   = "OPENROUTER_KEYS_MCP_OIDC_AUDIENCE"
	envOIDCScopes     = "OPENROUTER_KEYS_MCP_OIDC_SCOPES"
	envResourceURL    = "OPENROUTER_KEYS_MCP_RESOURCE_URL"
	envOTLPEndpoint   = "OPENROUTER_KEYS_MCP_OTLP_ENDPOINT"
)

// keyVars are the variables the upstream key is read from, in order of preference.
var keyVars = []string{"OPENROUTER_MANAGEMENT_KEY", "OPENROUTER_PROVISIONING_KEY", "OPENROUTER_API_KEY"}

// Where the HTTP transport takes the upstream key from.
const (
	keySourceCaller = "caller" // each request's bearer token is the caller's own OpenRouter key
	keySourceServer = "server" // the server's key; callers present an access token of ours
)

// minTokenLength keeps access tokens out of guessing range.
const minTokenLength = 16

// config is everything the command line and the environment decide.
type config struct {
	command   string
	baseURL   string
	sandbox   bool // the tools act on the built-in emulator (always, for the sandbox command)
	addr      string
	logLevel  zerolog.Level
	logFormat string
	key       openrouter.Secret
	keyVar    string         // the variable the key came from
	faults    sandbox.Faults // failures the sandbox injects (stdio and http with --sandbox, and sandbox)

	// which tools, and how they behave (stdio and http)
	selection tools.Selection
	confirm   tools.ConfirmMode
	secretDir string
	auditLog  string
	policy    tools.Policy
	// confirmSecret signs confirmation states; replicas share it, so an answer may reach any of them
	confirmSecret openrouter.Secret

	// traces (stdio and http): --otlp-endpoint, and where spans go when tracing is on at all
	otlpEndpoint string
	tracing      bool
	traceExport  traces.Export

	// call only
	callTool string
	callArgs string
	jsonOut  bool // call, tools: print JSON for scripts

	// http only
	stateful       bool
	keySource      string
	authToken      openrouter.Secret
	allowedOrigins []string
	maxInFlight    int
	maxSessions    int
	// per caller (credential): zero until parseHTTP settles the default of the key source
	maxInFlightPer  int
	maxSessionsPer  int
	maxConns        int
	maxConnsPerAddr int
	ratePer         int // requests a second of one caller; settled by parseRate
	burstPer        int
	metricsAddr     string // "" serves no metrics
	oidc            oidcConfig

	in flagInput // what flags and variables said, before their checks turn it into the fields above
}

// flagInput holds flag values as given, for the checks that read them.
type flagInput struct {
	tokenFile, confirmFile, origins, keySource, include, exclude, confirm, faults, maxLimit, maxLimitReset, maxExpiry, maxBatch string
	auth, oidcIssuer, oidcAudience, oidcScopes, resourceURL                                                                     string
}

// A flagGroup is flags that go together, each defined with its environment twin, and the check of what
// they were given, run once the whole command line is read.
type flagGroup struct {
	define func(fs *flag.FlagSet, e *envReader, cfg *config)
	check  func(cfg *config, fs *flag.FlagSet, getenv func(string) string) error
}

// errKeyInArgs refuses a key on the command line, where every user of the machine can read it, without
// repeating it.
var errKeyInArgs = fmt.Errorf("an API key was given as an argument: the key is never taken from the command "+
	"line, where other users of the machine can see it; set %s in the environment instead", keyVars[0])

// errKeyInToolArgs refuses a secret in a tool's arguments, where a key is named by its hash: most likely
// a key's secret pasted where its hash belongs.
var errKeyInToolArgs = errors.New("the arguments hold a secret key (sk-or-v1-...): tools name a key by its hash, " +
	"the 64 hex characters that list_keys shows, never by its secret. Nothing was sent. A secret typed on the " +
	"command line stays in the shell's history and is visible to other users of the machine")

// parseConfig reads the command line and the environment; flags win over their variables. It finds the
// command in the table and runs its flag groups: it knows no command by name.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{command: defaultCommand}
	named := len(args) > 0 && !strings.HasPrefix(args[0], "-")
	if named {
		cfg.command, args = args[0], args[1:]
	}
	cmd := lookupCommand(cfg.command)
	if cmd == nil {
		if openrouter.LooksLikeSecret(cfg.command) {
			return cfg, errKeyInArgs
		}
		return cfg, fmt.Errorf("unknown command %q: want %s (see --help)", cfg.command, commandList())
	}
	fs := flag.NewFlagSet(name+" "+cfg.command, flag.ContinueOnError)
	// The flag package would print a mistake with the whole usage after it: parseInterspersed says it
	// in one line instead, and --help prints our usage, which writes flags as --flag.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e := envReader{getenv: getenv, twins: map[string]string{}}
	for _, g := range cmd.flags {
		g.define(fs, &e, &cfg)
	}
	defaultLevel := "info"
	if cmd.forPeople {
		defaultLevel = "warn" // a person is reading the terminal: only what needs their attention
	}
	var level string
	e.stringVar(fs, &level, "log-level", envLogLevel, defaultLevel, "log level: trace, debug, info, warn, error")
	e.stringVar(fs, &cfg.logFormat, "log-format", envLogFormat, "auto", "log format on stderr: json, console, or auto (console on a terminal)")
	if e.err != nil {
		return cfg, e.err
	}
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stderr, fs, cmd, named)
	}
	if err != nil {
		return cfg, err
	}
	for _, p := range positional {
		switch {
		case openrouter.LooksLikeSecret(p) && strings.HasPrefix(strings.TrimSpace(p), "{"):
			return cfg, errKeyInToolArgs
		case openrouter.LooksLikeSecret(p):
			return cfg, errKeyInArgs
		}
	}
	switch {
	case cmd.args != nil:
		if err := cmd.args(&cfg, positional); err != nil {
			return cfg, err
		}
	case len(positional) > 0:
		return cfg, fmt.Errorf("unexpected argument %q (see --help)", positional[0])
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" || lvl == zerolog.NoLevel {
		return cfg, e.named(fs, &invalidValue{"log-level", level, "want trace, debug, info, warn or error"})
	}
	cfg.logLevel = lvl
	switch cfg.logFormat {
	case "auto", "json", "console":
	default:
		return cfg, e.named(fs, &invalidValue{"log-format", cfg.logFormat, "want json, console or auto"})
	}
	for _, v := range keyVars {
		if k := strings.TrimSpace(getenv(v)); k != "" {
			cfg.key, cfg.keyVar = openrouter.Secret(k), v
			break
		}
	}
	for _, g := range cmd.flags {
		if g.check == nil {
			continue
		}
		if err := g.check(&cfg, fs, getenv); err != nil {
			return cfg, e.named(fs, err)
		}
	}
	return cfg, nil
}

// toolFlags are the flags of every command that serves or calls the tools: the upstream, which tools,
// how they behave and the policy.
var toolFlags = flagGroup{
	define: func(fs *flag.FlagSet, e *envReader, cfg *config) {
		in := &cfg.in
		e.stringVar(fs, &cfg.baseURL, "base-url", envBaseURL, openrouter.DefaultBaseURL, "OpenRouter API base URL")
		e.boolVar(fs, &cfg.sandbox, "sandbox", envSandbox, "use the built-in OpenRouter emulator instead of OpenRouter; no key needed")
		e.boolVar(fs, &cfg.selection.ReadOnly, "read-only", envReadOnly, "offer only the tools that change nothing: list_keys, get_key, current_key, list_workspaces, get_credits, get_activity, audit_keys, list_guardrails, list_members, query_spend, plan_cleanup")
		e.stringVar(fs, &in.include, "tools", envTools, "", "comma-separated tools to offer; default all")
		e.stringVar(fs, &in.exclude, "exclude-tools", envExcludeTools, "", "comma-separated tools not to offer")
		e.stringVar(fs, &in.confirm, "confirm", envConfirm, "auto", "ask the user before a key is deleted, disabled, stopped by its limit or moved: auto (when the client can ask) or never")
		e.stringVar(fs, &cfg.secretDir, "secret-dir", envSecretDir, "", "write each new key's secret to a file in this directory instead of returning it to the model")
		e.stringVar(fs, &cfg.auditLog, "audit-log", envAuditLog, "", "append a JSON line for every change to keys to this file")
		e.twins["confirm-secret-file"] = envConfirmFile
		fs.StringVar(&in.confirmFile, "confirm-secret-file", e.str(envConfirmFile, ""), "file holding a secret that replicas behind one address share, so that a confirmation answered on one is accepted by another (env "+envConfirmFile+", or the secret itself in "+envConfirmSecret+")")
		e.stringVar(fs, &in.maxLimit, "max-limit", envMaxLimit, "", "policy: refuse keys without a spending limit or with one above this many USD")
		e.stringVar(fs, &in.maxLimitReset, "max-limit-reset", envMaxLimitReset, "", "policy: the resets a limit may have under --max-limit, comma-separated (daily, weekly, monthly); by default never, so --max-limit is the most a key ever spends")
		e.stringVar(fs, &in.maxExpiry, "max-expiry", envMaxExpiry, "", "policy: new keys expire within this duration (30d, 12h); a key created without expires_at gets it")
		e.stringVar(fs, &in.maxBatch, "max-batch", envMaxBatch, "", fmt.Sprintf("policy: the most actions one plan_cleanup plan holds (default %d)", tools.DefaultMaxBatch))
		e.stringVar(fs, &cfg.policy.ManagedPrefix, "managed-prefix", envManagedPrefix, "", "policy: only keys whose name starts with this may be created, changed or deleted")
		e.stringVar(fs, &cfg.policy.Guardrail, "guardrail", envGuardrail, "", "policy: assign this guardrail (its id) to every key the server creates, deleting a key it cannot be assigned to; assign_guardrail may not remove or replace it")
	},
	check: func(cfg *config, fs *flag.FlagSet, getenv func(string) string) error {
		if cfg.sandbox && (getenv(envBaseURL) != "" || flagSet(fs, "base-url")) {
			return fmt.Errorf("--sandbox and --base-url (or %s) cannot be used together: the sandbox is its own upstream", envBaseURL)
		}
		if err := cfg.parseTools(); err != nil {
			return err
		}
		if err := cfg.parsePolicy(); err != nil {
			return err
		}
		secret, err := readSecret(getenv(envConfirmSecret), cfg.in.confirmFile, "--confirm-secret-file", "the confirmation secret")
		cfg.confirmSecret = secret
		return err
	},
}

// httpFlags are the HTTP transport's: where it listens, whose key is used, how callers are let in.
var httpFlags = flagGroup{
	define: func(fs *flag.FlagSet, e *envReader, cfg *config) {
		in := &cfg.in
		e.stringVar(fs, &cfg.addr, "addr", envAddr, "127.0.0.1:8080", "listen address")
		e.boolVar(fs, &cfg.stateful, "stateful", envStateful, "keep MCP sessions; for a single instance only")
		e.stringVar(fs, &in.keySource, "key-source", envKeySource, "", "whose OpenRouter key is used: caller (each request's bearer token) or server (the server's key; callers need an access token). Default: server when the server has a key, else caller")
		e.twins["auth-token-file"] = envAuthTokenFile
		fs.StringVar(&in.tokenFile, "auth-token-file", e.str(envAuthTokenFile, ""), "file holding the access token callers must present in server key mode (env "+envAuthTokenFile+", or the token itself in "+envAuthToken+")")
		e.stringVar(fs, &in.origins, "allowed-origins", envAllowedOrigins, "", "comma-separated browser origins allowed to call the server, e.g. http://localhost:6274")
		e.intVar(fs, &cfg.maxInFlight, "max-in-flight", envMaxInFlight, transport.DefaultMaxInFlight, "MCP requests served at once; more get 429")
		e.intVar(fs, &cfg.maxSessions, "max-sessions", envMaxSessions, transport.DefaultMaxSessions, "with --stateful, live sessions at most; more initializes get 503")
		e.intVar(fs, &cfg.maxInFlightPer, "max-in-flight-per-caller", envMaxInFlightPer, 0, "MCP requests served at once for one bearer token; 0: a quarter of --max-in-flight with --key-source caller or --auth oidc, all of it otherwise")
		e.intVar(fs, &cfg.maxSessionsPer, "max-sessions-per-caller", envMaxSessionsPer, 0, "with --stateful, live sessions of one bearer token; 0: a tenth of --max-sessions with --key-source caller or --auth oidc, all of them otherwise")
		e.intVar(fs, &cfg.maxConns, "max-conns", envMaxConns, transport.DefaultMaxConns, "open connections at most; more are answered 503 unless an idle one can be closed")
		e.intVar(fs, &cfg.maxConnsPerAddr, "max-conns-per-addr", envMaxConnsPer, transport.DefaultMaxConnsPerAddr, "open connections from one non-loopback address; behind a proxy, raise it to --max-conns")
		e.intVar(fs, &cfg.ratePer, "rate-per-caller", envRatePer, 0, "requests a second one caller may send to /mcp on average; more get 429 with Retry-After; 0: "+strconv.Itoa(defaultRatePerCaller)+" with --key-source caller or --auth oidc, no limit otherwise; -1: no limit")
		e.intVar(fs, &cfg.burstPer, "burst-per-caller", envBurstPer, 0, "requests one caller may send at once above --rate-per-caller; 0: twice the rate")
		e.stringVar(fs, &cfg.metricsAddr, "metrics-addr", envMetricsAddr, "", "serve Prometheus metrics at http://ADDR/metrics, on a listener of their own; off when empty")
		e.stringVar(fs, &in.auth, "auth", envAuth, "", "how callers of the server's key sign in: oidc (each person's access token from --oidc-issuer); default the access token of --auth-token-file")
		e.stringVar(fs, &in.oidcIssuer, "oidc-issuer", envOIDCIssuer, "", "with --auth oidc, the identity provider's issuer URL, as its tokens' iss says")
		e.stringVar(fs, &in.resourceURL, "resource-url", envResourceURL, "", "with --auth oidc, the public URL of this server's /mcp, e.g. https://keys.example.com/mcp")
		e.stringVar(fs, &in.oidcAudience, "oidc-audience", envOIDCAudience, "", "with --auth oidc, the aud access tokens must carry; default --resource-url")
		e.stringVar(fs, &in.oidcScopes, "oidc-scopes", envOIDCScopes, defaultScopes, "with --auth oidc, the scopes that permit the read, write and admin tools, comma-separated in that order")
	},
	check: func(cfg *config, _ *flag.FlagSet, getenv func(string) string) error { return cfg.parseHTTP(getenv) },
}

// traceFlags are the serving commands': where traces go. The standard OTEL_* variables are read too.
var traceFlags = flagGroup{
	define: func(fs *flag.FlagSet, e *envReader, cfg *config) {
		e.stringVar(fs, &cfg.otlpEndpoint, "otlp-endpoint", envOTLPEndpoint, "", "export traces over OTLP/HTTP to this collector, e.g. http://otel-collector:4318 (spans go to /v1/traces under it); off when empty, unless "+traces.EnvEndpoint+" or "+traces.EnvTracesEndpoint+" is set")
	},
	check: func(cfg *config, _ *flag.FlagSet, getenv func(string) string) error {
		if ep := cfg.otlpEndpoint; ep != "" {
			// The URL may carry the collector's password: the error shows it redacted, or not at all.
			u, err := url.Parse(ep)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				shown := "not a URL"
				if err == nil {
					shown = u.Redacted()
				}
				return &invalidValue{"otlp-endpoint", shown, "want the collector's OTLP/HTTP URL, e.g. http://otel-collector:4318"}
			}
		}
		export, on, err := traces.ExportFrom(cfg.otlpEndpoint, getenv)
		cfg.traceExport, cfg.tracing = export, on
		return err
	},
}

// sandboxFlags are the sandbox command's: it is the emulator, and listens on its own address.
var sandboxFlags = flagGroup{
	define: func(fs *flag.FlagSet, e *envReader, cfg *config) {
		cfg.sandbox = true
		e.stringVar(fs, &cfg.addr, "addr", envAddr, "127.0.0.1:8081", "listen address")
	},
}

// jsonFlag is --json, for the commands that print for people and, with it, for scripts.
var jsonFlag = flagGroup{
	define: func(fs *flag.FlagSet, _ *envReader, cfg *config) {
		fs.BoolVar(&cfg.jsonOut, "json", false, "print JSON, for scripts, instead of text for people")
	},
}

// faultFlags make the emulator fail on purpose; they need the emulator.
var faultFlags = flagGroup{
	define: func(fs *flag.FlagSet, e *envReader, cfg *config) {
		e.stringVar(fs, &cfg.in.faults, "sandbox-faults", envSandboxFaults, "", "make the sandbox fail on purpose, for testing clients: "+
			sandbox.FaultSpecHelp)
	},
	check: func(cfg *config, _ *flag.FlagSet, _ func(string) string) error {
		if cfg.in.faults == "" {
			return nil
		}
		if !cfg.sandbox {
			return fmt.Errorf("--sandbox-faults (or %s) needs --sandbox: faults are injected by the built-in emulator only", envSandboxFaults)
		}
		faults, err := sandbox.ParseFaults(cfg.in.faults)
		if err != nil {
			return &invalidValue{"sandbox-faults", cfg.in.faults, err.Error()}
		}
		cfg.faults = faults
		return nil
	},
}

// parseInterspersed parses flags wherever they stand among the positional arguments, so that both
// "call list_keys --sandbox" and "call --sandbox list_keys" work.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%s (see %s --help)", dashes.Replace(err.Error()), fs.Name())
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dashes writes the flag named in the flag package's errors as --flag, the way the help writes it.
var dashes = strings.NewReplacer("defined: -", "defined: --", "argument: -", "argument: --", "flag -", "flag --")

// parseTools reads which tools to offer and how they behave.
func (cfg *config) parseTools() error {
	cfg.selection.Include = splitList(cfg.in.include)
	cfg.selection.Exclude = splitList(cfg.in.exclude)
	if err := cfg.selection.Check(); err != nil {
		return err
	}
	mode, err := tools.ParseConfirmMode(cfg.in.confirm)
	if err != nil {
		return &invalidValue{"confirm", cfg.in.confirm, "want auto or never"}
	}
	cfg.confirm = mode
	if cfg.secretDir != "" {
		if err := tools.CheckSecretDir(cfg.secretDir); err != nil {
			return err
		}
	}
	if cfg.auditLog != "" {
		if info, err := os.Stat(filepath.Dir(cfg.auditLog)); err != nil || !info.IsDir() {
			return fmt.Errorf("--audit-log %s: its directory does not exist: create it first", cfg.auditLog)
		}
	}
	return nil
}

// parsePolicy reads the bounds on what the agent may do with keys.
func (cfg *config) parsePolicy() error {
	maxLimit, maxLimitReset, maxExpiry := cfg.in.maxLimit, cfg.in.maxLimitReset, cfg.in.maxExpiry
	if maxLimit != "" {
		v, err := strconv.ParseFloat(maxLimit, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return &invalidValue{"max-limit", maxLimit, "want an amount in USD, e.g. 10 or 2.50"}
		}
		cfg.policy.MaxLimit = &v
	}
	if maxLimitReset != "" {
		if maxLimit == "" {
			return &invalidValue{"max-limit-reset", maxLimitReset, "it says which resets --max-limit allows; give --max-limit too"}
		}
		resets, err := tools.ParseLimitResets(maxLimitReset)
		if err != nil {
			return &invalidValue{"max-limit-reset", maxLimitReset, err.Error()}
		}
		cfg.policy.LimitResets = resets
	}
	if b := cfg.in.maxBatch; b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("invalid --max-batch %q: want a whole number of actions from 1 to 1000", b)
		}
		cfg.policy.MaxBatch = n
	}
	if maxExpiry != "" {
		d, err := tools.ParseExpiry(maxExpiry)
		if err != nil {
			return &invalidValue{"max-expiry", maxExpiry, err.Error()}
		}
		cfg.policy.MaxExpiry = d
	}
	if g := cfg.policy.Guardrail; g != "" && !guardrailID.MatchString(g) {
		return fmt.Errorf("invalid --guardrail %q: want a guardrail's id, a UUID (list_guardrails shows them)", g)
	}
	return nil
}

// guardrailID is the shape of a guardrail's id.
var guardrailID = regexp.MustCompile(`^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$`)

// splitList reads a comma-separated list, ignoring blanks.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseHTTP settles whose key is used and how callers are let in, refusing combinations that would
// expose the server's key.
func (cfg *config) parseHTTP(getenv func(string) string) error {
	keySource, tokenFile, origins := cfg.in.keySource, cfg.in.tokenFile, cfg.in.origins
	hasKey := cfg.key != "" || cfg.sandbox
	switch keySource {
	case "":
		cfg.keySource = keySourceCaller
		if hasKey {
			cfg.keySource = keySourceServer
		}
	case keySourceCaller, keySourceServer:
		cfg.keySource = keySource
	default:
		return &invalidValue{"key-source", keySource, "want caller or server"}
	}
	token, err := readSecret(getenv(envAuthToken), tokenFile, "--auth-token-file", "the access token")
	if err != nil {
		return err
	}
	cfg.authToken = token
	if err := cfg.parseOIDC(); err != nil {
		return err
	}
	switch cfg.keySource {
	case keySourceServer:
		if !hasKey {
			return fmt.Errorf("--key-source=server needs the server's key: set %s (or use --sandbox)", keyVars[0])
		}
		if token == "" && !cfg.oidc.on && !isLoopbackAddr(cfg.addr) {
			return fmt.Errorf("refusing to serve the server's OpenRouter key on %s without an access token: anyone who "+
				"can reach that address could manage the account's keys. Set --auth-token-file (or %s), listen on "+
				"127.0.0.1, use --auth oidc so each person signs in, or use --key-source=caller so each caller brings their "+
				"own key", cfg.addr, envAuthToken)
		}
	case keySourceCaller:
		if token != "" {
			return fmt.Errorf("an access token is only for --key-source=server: in caller mode the bearer token is the caller's own OpenRouter key")
		}
	}
	for _, o := range splitList(origins) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return &invalidValue{"allowed-origins", origins, fmt.Sprintf("the origin %q is not scheme://host[:port], e.g. http://localhost:6274", o)}
		}
		cfg.allowedOrigins = append(cfg.allowedOrigins, strings.TrimSuffix(o, "/"))
	}
	if cfg.maxInFlight < 1 {
		return &invalidValue{"max-in-flight", strconv.Itoa(cfg.maxInFlight), "want a positive number, e.g. 64"}
	}
	if cfg.maxSessions < 1 {
		return &invalidValue{"max-sessions", strconv.Itoa(cfg.maxSessions), "want a positive number, e.g. 1000"}
	}
	return cfg.parseShares()
}

// parseShares settles what one caller may hold, and the connection caps. Callers bringing their own
// keys each get a share; with the server's key every caller presents the same access token, so one
// share is the whole.
func (cfg *config) parseShares() error {
	for _, f := range []struct {
		name   string
		v, min int
	}{{"max-in-flight-per-caller", cfg.maxInFlightPer, 0}, {"max-sessions-per-caller", cfg.maxSessionsPer, 0},
		{"max-conns", cfg.maxConns, 1}, {"max-conns-per-addr", cfg.maxConnsPerAddr, 1}} {
		if f.v < f.min {
			return &invalidValue{f.name, strconv.Itoa(f.v), fmt.Sprintf("want a whole number of at least %d", f.min)}
		}
	}
	if cfg.maxInFlightPer == 0 {
		cfg.maxInFlightPer = cfg.maxInFlight
		if cfg.manyCallers() {
			cfg.maxInFlightPer = max(cfg.maxInFlight/4, 1)
		}
	}
	if cfg.maxSessionsPer == 0 {
		cfg.maxSessionsPer = cfg.maxSessions
		if cfg.manyCallers() {
			cfg.maxSessionsPer = max(cfg.maxSessions/10, 1)
		}
	}
	return cfg.parseRate()
}

// readSecret reads a secret given in an environment variable (value) or, winning over it, in a file
// named by flag; "" when neither is set. A secret shorter than minTokenLength is refused.
func readSecret(value, file, flag, what string) (openrouter.Secret, error) {
	secret := strings.TrimSpace(value)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		if secret = strings.TrimSpace(string(b)); secret == "" {
			return "", fmt.Errorf("%s %s is empty", flag, file)
		}
	}
	if secret != "" && len(secret) < minTokenLength {
		return "", fmt.Errorf("%s is too short: use at least %d random characters (e.g. openssl rand -hex 32)", what, minTokenLength)
	}
	return openrouter.Secret(secret), nil
}

// isLoopbackAddr reports whether a listen address only accepts connections from this machine.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// envReader reads flag defaults from the environment, keeping the first malformed value's error, and
// remembers each flag's variable, so that a value the checks refuse is reported under the name the
// user set: the flag when it was given, else its variable (which a Claude Desktop setting may have set).
type envReader struct {
	getenv func(string) string
	err    error
	twins  map[string]string // flag name to its environment variable
}

// stringVar defines a string flag whose default comes from env.
func (e *envReader) stringVar(fs *flag.FlagSet, p *string, name, env, def, usage string) {
	e.twins[name] = env
	fs.StringVar(p, name, e.str(env, def), usage+" (env "+env+")")
}

// boolVar defines a boolean flag whose default comes from env.
func (e *envReader) boolVar(fs *flag.FlagSet, p *bool, name, env, usage string) {
	e.twins[name] = env
	fs.BoolVar(p, name, e.bool(env), usage+" (env "+env+")")
}

// intVar defines an integer flag whose default comes from env.
func (e *envReader) intVar(fs *flag.FlagSet, p *int, name, env string, def int, usage string) {
	e.twins[name] = env
	fs.IntVar(p, name, e.int(env, def), usage+" (env "+env+")")
}

// invalidValue is a flag's value that its check refused, and what is wanted instead, with an example.
type invalidValue struct {
	flag, value, want string
}

func (v *invalidValue) Error() string {
	return fmt.Sprintf("invalid --%s %q: %s", v.flag, v.value, v.want)
}

// named reports an invalidValue under its environment variable when the flag was not given on the
// command line: a user who never typed --max-expiry must not be told about it.
func (e *envReader) named(fs *flag.FlagSet, err error) error {
	var v *invalidValue
	if !errors.As(err, &v) || flagSet(fs, v.flag) || e.twins[v.flag] == "" || e.getenv(e.twins[v.flag]) == "" {
		return err
	}
	return e.invalidEnv(e.twins[v.flag], v.value, v.want)
}

// invalidEnv is the error for a malformed environment variable, naming the bundle's setting that sets
// it, if one does.
func (e *envReader) invalidEnv(env, value, want string) error {
	if title, ok := bundleSettings[env]; ok {
		return fmt.Errorf("invalid %s %q (in Claude Desktop: the extension's %q setting): %s", env, value, title, want)
	}
	return fmt.Errorf("invalid %s %q: %s", env, value, want)
}

// bundleSettings are the titles of the Claude Desktop extension's settings (mcpb/manifest.json's
// user_config) by the variable each sets; a test holds them to the manifest.
var bundleSettings = map[string]string{
	envSandbox:       "Try with the built-in sandbox",
	envReadOnly:      "Read-only",
	envMaxLimit:      "Largest spending limit (USD)",
	envMaxExpiry:     "Longest expiry",
	envManagedPrefix: "Managed name prefix",
}

func (e *envReader) str(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (e *envReader) bool(key string) bool {
	v := e.getenv(key)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil && e.err == nil {
		e.err = e.invalidEnv(key, v, "want true or false")
	}
	return b
}

func (e *envReader) int(key string, def int) int {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = e.invalidEnv(key, v, "want a whole number, e.g. "+strconv.Itoa(def))
	}
	return n
}

// usage is a command's --help: the binary's --help lists every command; a command's own lists only it.
func usage(out io.Writer, fs *flag.FlagSet, cmd *command, named bool) {
	fmt.Fprintln(out, "Usage:")
	for _, c := range commands {
		if !named || c.name == cmd.name {
			fmt.Fprintf(out, "  %s %-22s%s\n", name, c.synopsis, c.summary)
		}
	}
	if named {
		fmt.Fprintf(out, "\n%s --help lists every command.\n", name)
	}
	fmt.Fprintf(out, "\nThe OpenRouter key is read from %s (or %s, %s), never from the command line.\n\nExamples:\n",
		keyVars[0], keyVars[1], keyVars[2])
	fmt.Fprintf(out, cmd.examples+"\n\nFlags of %[2]q:\n", name, fs.Name())
	// flag.PrintDefaults writes -flag; the README and the errors write --flag.
	fs.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		switch {
		case f.DefValue == "" || f.DefValue == "false":
		case arg == "string":
			text += fmt.Sprintf(" (default %q)", f.DefValue)
		default:
			text += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(out, "%s\n    \t%s\n", line, text)
	})
}
