package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// sdkDir holds flow.mjs and the exact version of OpenRouter's official TypeScript SDK it runs on
// (package.json and package-lock.json).
const sdkDir = "../../testdata/or-sdk"

// TestOfficialTypeScriptSDK is issue #11's done-when: OpenRouter's own SDK (@openrouter/sdk), pointed
// at the sandbox, passes its create/get/update/list/delete/current flow, and reads credits, activity
// and workspaces, parsing every answer with its zod schemas. It needs Node >= 20 and npm (the package
// is installed once into a cache); without them it is skipped, except under CI, where it fails.
func TestOfficialTypeScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the Node.js run of the official SDK")
	}
	node := needTool(t, "node")
	needTool(t, "npm")
	out, err := exec.Command(node, "-p", "process.versions.node.split('.')[0]").Output()
	if major, _ := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || major < 20 {
		missing(t, "Node.js >= 20")
	}
	modules := installSDK(t)
	// flow.mjs imports the SDK by name: run a copy beside a link to the installed node_modules.
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join(sdkDir, "flow.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flow.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}

	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "flow.mjs"), srv.URL+"/api/v1")
	cmd.Env = append(os.Environ(), "OPENROUTER_MANAGEMENT_KEY="+sb.ManagementKey())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var sum struct {
		OK    bool `json:"ok"`
		Steps []struct {
			Step string `json:"step"`
			OK   bool   `json:"ok"`
		} `json:"steps"`
		Errors []string `json:"errors"`
	}
	line := strings.TrimSpace(stdout.String())
	if err := json.Unmarshal([]byte(line), &sum); err != nil {
		t.Fatalf("flow.mjs printed no summary (%v): %q\nstderr:\n%s", runErr, line, stderr.String())
	}
	t.Logf("%s", line)
	if runErr != nil || !sum.OK || len(sum.Errors) > 0 {
		t.Errorf("the official SDK's flow failed (%v):\n%s\nstderr:\n%s", runErr, strings.Join(sum.Errors, "\n"), stderr.String())
	}
	if len(sum.Steps) != 16 {
		t.Errorf("%d steps ran, want 16", len(sum.Steps))
	}
}

// needTool finds a program on PATH or skips (fails under CI).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name)
	}
	return p
}

func missing(t *testing.T, what string) {
	t.Helper()
	msg := what + " is not available; install Node.js >= 20 with npm (Debian: apt-get install -y nodejs npm) to run this test"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so it fails instead of skipping)")
	}
	t.Skip(msg)
}

// installSDK runs npm ci for sdkDir once per lock file, in $ORKM_TEST_CACHE (or the user cache), and
// returns the node_modules directory. It installs into a fresh directory and renames it into place, so
// an interrupted or concurrent install never leaves half a tree behind.
func installSDK(t *testing.T) string {
	t.Helper()
	var files []byte
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(sdkDir, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	cache := os.Getenv("ORKM_TEST_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory (set ORKM_TEST_CACHE): %v", err)
		}
		cache = filepath.Join(base, "openrouter-keys-mcp-test")
	}
	sum := sha256.Sum256(files)
	dir := filepath.Join(cache, "or-sdk-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(dir); err == nil {
		return filepath.Join(dir, "node_modules")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(cache, "or-sdk.tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, _ := os.ReadFile(filepath.Join(sdkDir, name))
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil { // not a concurrent install that got there first
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "node_modules")
}
