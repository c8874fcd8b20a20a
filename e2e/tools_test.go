package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/bench"
)

// Helpers for the end-to-end tests that drive the server with programs from outside Go: the official
// MCP conformance suite and TypeScript SDK (Node, packages from npm) and nginx.

// missingTool skips a test that needs a program the machine lacks, saying how to install it. Under CI
// (CI set) it fails instead, so that a CI run cannot pass by skipping.
func missingTool(t *testing.T, tool, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available; to run this test: %s", tool, install)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so a missing tool fails the test instead of skipping it)", msg)
	}
	t.Skip(msg)
}

// lookTool finds a program on PATH, or skips (fails under CI) with how to install it.
func lookTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingTool(t, name, install)
	}
	return p
}

const installNode = "install Node.js >= 20 with npm (Debian: apt-get install -y nodejs npm)"

// npmCI installs the exact dependency tree of testdata/<name>/package-lock.json into the tool cache
// shared with bench (bench.NPMCI), once per lock file, and returns the directory holding node_modules.
func npmCI(t *testing.T, name string) string {
	t.Helper()
	lookTool(t, "npm", installNode)
	dir, err := bench.NPMCI(filepath.Join("..", "testdata", name), name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// npmScript returns the path of a copy of testdata/<name>/<file> beside a link to the packages npmCI
// installed for it.
func npmScript(t *testing.T, name, file string) string {
	t.Helper()
	lookTool(t, "npm", installNode)
	script, err := bench.NPMScript(filepath.Join("..", "testdata", name), name, file, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return script
}

// runScript runs a Node script that prints a one-line JSON summary holding ok and errors, decodes that
// line into sum and logs it. The test fails when the script does, or when a key's secret reaches its
// output.
func runScript(t *testing.T, node string, sum any, script string, args ...string) {
	t.Helper()
	runScriptEnv(t, cleanEnv(), node, sum, script, args...)
}

// runScriptEnv is runScript with the script's environment.
func runScriptEnv(t *testing.T, env []string, node string, sum any, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	name := filepath.Base(script)
	line := strings.TrimSpace(stdout.String())
	var result struct {
		OK     bool     `json:"ok"`
		Errors []string `json:"errors"`
	}
	if json.Unmarshal([]byte(line), &result) != nil || json.Unmarshal([]byte(line), sum) != nil {
		t.Fatalf("%s printed no summary (%v): %q\nstderr:\n%s", name, runErr, line, stderr.String())
	}
	t.Logf("%s", line)
	if runErr != nil || !result.OK || len(result.Errors) > 0 {
		t.Errorf("%s failed (%v):\n%s\nstderr:\n%s", name, runErr, strings.Join(result.Errors, "\n"), stderr.String())
	}
	if keyShape.MatchString(stdout.String() + stderr.String()) {
		t.Errorf("a key's secret reached %s's output:\n%s\n%s", name, stdout.String(), stderr.String())
	}
}

// nodeMajor is the major version of a node binary.
func nodeMajor(t *testing.T, node string) int {
	t.Helper()
	major, err := bench.NodeMajor(node)
	if err != nil {
		t.Fatal(err)
	}
	return major
}

// node22 returns a Node >= 22: the machine's own if it is new enough, else one installed from npm into
// the tool cache (bench.Node22; linux/amd64 only).
func node22(t *testing.T) string {
	t.Helper()
	node := lookTool(t, "node", installNode)
	if nodeMajor(t, node) >= 22 {
		return node
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		missingTool(t, "Node.js >= 22", "install Node.js 22 or newer")
	}
	lookTool(t, "npm", installNode)
	node, err := bench.Node22(node)
	if err != nil {
		t.Fatal(err)
	}
	return node
}

// startLogged starts bin with args and waits for the JSON log line whose message is message, returning
// that line's field (the address the process serves on). It is stopped when the test ends.
func startLogged(t *testing.T, bin string, env []string, message, field string, args ...string) (*rawServer, string) {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--log-format", "json")...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &rawServer{cmd: cmd, stderr: &lockedBuffer{}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, r.stderr))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == message {
				if v, ok := line[field].(string); ok && v != "" {
					found <- v
					break
				}
			}
		}
		_, _ = io.Copy(r.stderr, stderr)
	}()
	select {
	case v := <-found:
		return r, v
	case <-time.After(60 * time.Second):
		t.Fatalf("%s %v did not log %q; stderr:\n%s", bin, args, message, r.stderr)
		return nil, ""
	}
}

// buildTagged builds the binary with build tags (and the race detector, as TestMain does) into the
// test's temporary directory.
func buildTagged(t *testing.T, tags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "openrouter-keys-mcp-"+tags)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-race", "-tags", tags, "-o", bin, "..").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", tags, err, out)
	}
	return bin
}
