package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
)

// A command is one way to run the binary: its flags (groups of flags with their environment twins and
// the checks of what they were given), the arguments it takes, and its runner. Every command is one
// entry of commands; parseConfig and run read the table and know no command by name.
type command struct {
	name     string
	synopsis string // what follows the binary's name in the usage
	summary  string
	examples string // for --help; %[1]s is the binary's name
	flags    []flagGroup
	args     func(cfg *config, positional []string) error // nil: no arguments
	// forPeople: a person reads the terminal, so the default log level is warn and a failure is one
	// plain line on stderr; otherwise the command serves, and a failure is logged.
	forPeople bool
	run       func(ctx context.Context, cfg config, std streams, logger zerolog.Logger) error
}

// streams are the process's standard streams.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// defaultCommand runs when the first argument is a flag or there is none.
const defaultCommand = "stdio"

// commands is the command line, in the order the usage lists it.
var commands = []command{
	{
		name: "stdio", synopsis: "[stdio] [flags]", summary: "serve MCP over stdin/stdout (the default)",
		examples: `  OPENROUTER_MANAGEMENT_KEY=sk-or-v1-... %[1]s      serve MCP on stdin/stdout for an MCP client
  %[1]s --sandbox                                      the same on the built-in emulator, no account needed
  %[1]s --read-only                                    offer only the tools that change nothing`,
		flags: []flagGroup{toolFlags, traceFlags, faultFlags},
		run:   runStdio,
	},
	{
		name: "http", synopsis: "http [flags]", summary: "serve MCP over streamable HTTP at /mcp, health at /healthz",
		examples: `  %[1]s http --sandbox                      MCP at http://127.0.0.1:8080/mcp on the emulator
  %[1]s http --key-source caller            each caller sends its own key: Authorization: Bearer sk-or-v1-...
  %[1]s http --addr 0.0.0.0:8080 --auth-token-file token.txt
                                            the server's key, for callers with the access token
  %[1]s http --addr 0.0.0.0:8080 --auth oidc --oidc-issuer https://id.example.com --resource-url https://keys.example.com/mcp
                                            the server's key, for people signed in with the identity provider`,
		flags: []flagGroup{toolFlags, httpFlags, traceFlags, faultFlags},
		run:   runHTTP,
	},
	{
		name: "sandbox", synopsis: "sandbox [flags]", summary: "serve only the built-in OpenRouter emulator over HTTP, at /api/v1",
		examples: `  %[1]s sandbox                            the emulator at http://127.0.0.1:8081/api/v1; prints its key
  OPENROUTER_MANAGEMENT_KEY=sk-or-v1-... %[1]s sandbox --addr 127.0.0.1:9000`,
		flags: []flagGroup{sandboxFlags, faultFlags},
		run:   runSandbox,
	},
	{
		name: "call", synopsis: "call TOOL [JSON]", summary: "run one tool, as an MCP call would, and print its result (--json for scripts)",
		examples: `  %[1]s call list_keys --sandbox
  %[1]s call create_key '{"name":"ci","limit":5,"limit_reset":"daily"}' --sandbox
  %[1]s call get_key '{"hash":"<64 hex>"}' --json`,
		flags: []flagGroup{toolFlags, jsonFlag, faultFlags},
		args: func(cfg *config, positional []string) error {
			if len(positional) != 1 && len(positional) != 2 {
				return fmt.Errorf("call takes a tool name and, optionally, its arguments as JSON: call get_key '{\"hash\":\"...\"}'")
			}
			cfg.callTool = positional[0]
			if len(positional) == 2 {
				cfg.callArgs = positional[1]
			}
			return nil
		},
		forPeople: true,
		run:       runCall,
	},
	{
		name: "tools", synopsis: "tools", summary: "list the tools and their arguments",
		examples: `  %[1]s tools                              the tools, their hints and arguments
  %[1]s tools --read-only                  only the tools offered with --read-only
  %[1]s tools --json                       the tools' MCP definitions, with their schemas, for scripts`,
		flags:     []flagGroup{toolFlags, jsonFlag, faultFlags},
		forPeople: true,
		run:       runTools,
	},
	{
		name: "doctor", synopsis: "doctor", summary: "check the configuration and the key",
		examples: `  %[1]s doctor                             check the key and the configuration; exit 0 when all is well
  %[1]s doctor --sandbox                   the same on the built-in emulator, no account needed
  %[1]s doctor --read-only --max-limit 5   check a configuration before giving it to an MCP client
  %[1]s doctor --auth oidc --oidc-issuer https://id.example.com --resource-url https://keys.example.com/mcp
                                           also check the identity provider's discovery, keys and audience`,
		flags:     []flagGroup{toolFlags, httpFlags, faultFlags},
		forPeople: true,
		run:       runDoctor,
	},
	{
		name: "version", synopsis: "version", summary: "print the version",
		examples: `  %[1]s version`,
		run: func(_ context.Context, _ config, std streams, _ zerolog.Logger) error {
			_, err := fmt.Fprintln(std.out, versionLine())
			return err
		},
	},
}

// lookupCommand returns the command named name, or nil.
func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// commandList names the commands, for errors: "stdio, http, ... or version".
func commandList() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
