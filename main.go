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
// This package is the one place that knows the command line, the OpenRouter client, the tools and the
// transports. commands.go is the table of commands (each with its flags, arguments and runner);
// config.go reads flags and environment into a config through it; serve.go runs the serving commands,
// cli.go call and tools, doctor.go doctor; logger.go keeps secrets out of the logs.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
)

// version, commit and date are set at build time by the release (.goreleaser.yaml):
// -ldflags "-X main.version=1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>". Otherwise the module
// version (go install of a tagged release) and the VCS revision come from the build info, and a build
// from a clone (go build, go run) says the version it leads to: VERSION's, with +dev.
var (
	version = ""
	commit  = ""
	date    = ""
)

// nextVersion is the VERSION file: the version the next release will carry.
//
//go:embed VERSION
var nextVersion string

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

// run is main without the process: it returns the exit code. The command's entry in the table says
// how it runs.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	cmd := lookupCommand(cfg.command)
	logger := newLogger(stderr, cfg)
	err = cmd.run(ctx, cfg, streams{in: stdin, out: stdout, err: stderr}, logger)
	var mistake usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &mistake):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	case !cmd.forPeople:
		logger.Error().Err(err).Msg("stopped")
	case !errors.Is(err, errReported):
		fmt.Fprintf(stderr, "%s %s: %v\n", name, cfg.command, err)
	}
	return 1
}

// usageError is a failure the command line can fix (an address in use, say): one line on stderr and
// exit code 2, as for a flag's mistake, even from a command that serves and logs.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	// A pseudo-version (v0.0.0-<time>-<commit>, what go build stamps in a clone) names no release.
	if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" && !strings.HasPrefix(bi.Main.Version, "v0.0.0-") {
		return bi.Main.Version
	}
	return strings.TrimSpace(nextVersion) + "+dev"
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
