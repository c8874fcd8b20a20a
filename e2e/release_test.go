package e2e

// The release's metadata, held together: VERSION is the one source of the next release's version, and
// server.json (the MCP registry entry), mcpb/manifest.json (the Claude Desktop bundle) and the
// Dockerfile's labels must agree with it and with each other. server.json is checked against the
// registry's own JSON schema (testdata/registry/server.schema.json, the 2025-12-11 schema as the
// registry's validator embeds it).
//
// The committed server.json carries a zero fileSha256 for each bundle: a bundle's hash is known only
// once it is built, so .ci/mcpb writes dist/server.json with the real hashes and the release's version.
// With ORKM_RELEASE_DIST=<dist folder> (as .ci/release sets it), TestReleaseDist checks that file too:
// schema, version, and every hash against the bundle beside it.

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/bench"
	toolsPkg "github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// releaseRoot is the repository's root, seen from this package's folder.
const releaseRoot = ".."

// releasePlatforms are the release's targets (.goreleaser.yaml), each with a bundle of its own.
var releasePlatforms = []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64", "windows_arm64"}

// releaseTools are the tools the bundle's manifest declares.
var releaseTools = []string{"list_keys", "get_key", "create_key", "update_key", "delete_key", "current_key",
	"audit_keys", "get_credits", "get_activity", "list_workspaces", "rotate_key", "list_guardrails", "assign_guardrail",
	"list_members", "query_spend", "plan_cleanup", "apply_plan"}

var releaseSemver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

type releaseServerJSON struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Packages []struct {
		RegistryType         string `json:"registryType"`
		Identifier           string `json:"identifier"`
		Version              string `json:"version"`
		FileSha256           string `json:"fileSha256"`
		EnvironmentVariables []struct {
			Name       string `json:"name"`
			IsSecret   bool   `json:"isSecret"`
			IsRequired bool   `json:"isRequired"`
			Format     string `json:"format"`
		} `json:"environmentVariables"`
	} `json:"packages"`
}

type releaseManifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Server  struct {
		Type       string `json:"type"`
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command string            `json:"command"`
			Env     map[string]string `json:"env"`
		} `json:"mcp_config"`
	} `json:"server"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	UserConfig map[string]struct {
		Type      string `json:"type"`
		Sensitive bool   `json:"sensitive"`
		Required  bool   `json:"required"`
		Default   any    `json:"default"`
	} `json:"user_config"`
}

func releaseRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(releaseRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// releaseVersion is the content of VERSION: the version the next release will carry.
func releaseVersion(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(string(releaseRead(t, "VERSION")))
	if !releaseSemver.MatchString(v) {
		t.Fatalf("VERSION %q is not a semantic version without a v (e.g. 1.2.3)", v)
	}
	return v
}

// releaseValidate checks a server.json document against the registry's schema.
func releaseValidate(t *testing.T, doc []byte) {
	t.Helper()
	if err := releaseSchemaErr(t, doc); err != nil {
		t.Fatalf("does not satisfy the registry's schema:\n%v", err)
	}
}

func releaseSchemaErr(t *testing.T, doc []byte) error {
	t.Helper()
	f, err := os.Open(filepath.Join(releaseRoot, "testdata", "registry", "server.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func releaseDecode(t *testing.T, doc []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(v); err != nil {
		t.Fatal(err)
	}
}

// releaseCheckServer checks what both the committed and the released server.json must hold: the
// version everywhere, a bundle per platform at its release URL, the image tag, the key a secret.
func releaseCheckServer(t *testing.T, s releaseServerJSON, version string) {
	t.Helper()
	if s.Version != version {
		t.Errorf("server.json version %q, want %q", s.Version, version)
	}
	if s.Name != "io.github.orkeys/openrouter-keys-mcp" {
		t.Errorf("server.json name %q: the registry ties io.github.orkeys/ to the GitHub owner", s.Name)
	}
	var platforms []string
	oci := 0
	for _, p := range s.Packages {
		switch p.RegistryType {
		case "mcpb":
			want := "https://github.com/orkeys/openrouter-keys-mcp/releases/download/v" + version + "/openrouter-keys-mcp_" + version + "_"
			rest, ok := strings.CutPrefix(p.Identifier, want)
			plat, ok2 := strings.CutSuffix(rest, ".mcpb")
			if !ok || !ok2 {
				t.Errorf("bundle %s: want %s<os>_<arch>.mcpb", p.Identifier, want)
			}
			platforms = append(platforms, plat)
			if p.Version != version {
				t.Errorf("bundle %s: version %q, want %q", p.Identifier, p.Version, version)
			}
		case "oci":
			oci++
			if want := "ghcr.io/orkeys/openrouter-keys-mcp:" + version; p.Identifier != want {
				t.Errorf("image %q, want %q", p.Identifier, want)
			}
		default:
			t.Errorf("unexpected package type %q", p.RegistryType)
		}
		secret, sandbox := false, false
		for _, e := range p.EnvironmentVariables {
			switch e.Name {
			case "OPENROUTER_MANAGEMENT_KEY":
				secret = e.IsSecret
				if e.IsRequired {
					t.Errorf("%s: OPENROUTER_MANAGEMENT_KEY is required, but the sandbox needs none", p.Identifier)
				}
			case "OPENROUTER_KEYS_MCP_SANDBOX":
				sandbox = !e.IsRequired && e.Format == "boolean"
			}
		}
		if !secret {
			t.Errorf("%s: OPENROUTER_MANAGEMENT_KEY must be declared with isSecret", p.Identifier)
		}
		if !sandbox {
			t.Errorf("%s: OPENROUTER_KEYS_MCP_SANDBOX must be offered, an optional boolean, to try it without an account", p.Identifier)
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, releasePlatforms) {
		t.Errorf("bundles for %v, want one for each of %v", platforms, releasePlatforms)
	}
	if oci != 1 {
		t.Errorf("%d OCI images, want 1", oci)
	}
}

func TestReleaseServerJSON(t *testing.T) {
	version := releaseVersion(t)
	doc := releaseRead(t, "server.json")
	releaseValidate(t, doc)
	var s releaseServerJSON
	releaseDecode(t, doc, &s)
	releaseCheckServer(t, s, version)
	for _, p := range s.Packages {
		if p.RegistryType == "mcpb" && p.FileSha256 != strings.Repeat("0", 64) {
			t.Errorf("%s: the committed fileSha256 is a placeholder of 64 zeros (the release writes the real one into dist/server.json), not %q", p.Identifier, p.FileSha256)
		}
	}
	// The image says which registry entry it belongs to; the registry checks this label.
	if label := `io.modelcontextprotocol.server.name="` + s.Name + `"`; !strings.Contains(string(releaseRead(t, "Dockerfile")), label) {
		t.Errorf("Dockerfile lacks the LABEL %s", label)
	}
}

// The schema is really applied: a description over the registry's 100 characters fails.
func TestReleaseSchemaRejects(t *testing.T) {
	var m map[string]any
	releaseDecode(t, releaseRead(t, "server.json"), &m)
	m["description"] = strings.Repeat("x", 101)
	bad, _ := json.Marshal(m)
	if err := releaseSchemaErr(t, bad); err == nil || !strings.Contains(err.Error(), "description") {
		t.Errorf("a 101-character description: got %v, want a schema error about it", err)
	}
}

func TestReleaseManifest(t *testing.T) {
	version := releaseVersion(t)
	var m releaseManifest
	releaseDecode(t, releaseRead(t, "mcpb/manifest.json"), &m)
	if m.Version != version {
		t.Errorf("mcpb/manifest.json version %q, want %q (VERSION)", m.Version, version)
	}
	if m.Server.Type != "binary" || m.Server.EntryPoint != "server/openrouter-keys-mcp" ||
		m.Server.MCPConfig.Command != "${__dirname}/server/openrouter-keys-mcp" {
		t.Errorf("server %+v: want a binary at server/openrouter-keys-mcp (.ci/mcpb adds .exe for Windows)", m.Server)
	}
	var tools []string
	for _, tool := range m.Tools {
		tools = append(tools, tool.Name)
	}
	if !slices.Equal(tools, releaseTools) {
		t.Errorf("tools %v, want %v", tools, releaseTools)
	}
	// The bundle declares what the server offers: the same tools, whatever their order.
	if offered := slices.Sorted(slices.Values(toolsPkg.Names())); !slices.Equal(slices.Sorted(slices.Values(tools)), offered) {
		t.Errorf("mcpb/manifest.json declares %v, the server offers %v", tools, offered)
	}
	// The key is optional, for the sandbox. An optional setting needs a default: without one, Claude
	// Desktop passes the unreplaced "${user_config.…}" text when it is left empty (mcpb issue #250).
	key, ok := m.UserConfig["management_key"]
	if !ok || key.Type != "string" || !key.Sensitive || key.Required {
		t.Errorf("user_config.management_key %+v: want an optional, sensitive string", key)
	}
	for name, setting := range m.UserConfig {
		if !setting.Required && setting.Default == nil {
			t.Errorf("user_config.%s is optional without a default: left empty, the server would get its placeholder", name)
		}
	}
	if sb := m.UserConfig["sandbox"]; sb.Type != "boolean" || sb.Default != false || m.Server.MCPConfig.Env["OPENROUTER_KEYS_MCP_SANDBOX"] != "${user_config.sandbox}" {
		t.Errorf("user_config.sandbox %+v: want a boolean, off by default, passed as OPENROUTER_KEYS_MCP_SANDBOX", sb)
	}
	if b := releaseRead(t, "mcpb/manifest.json"); bytes.Contains(b, []byte("provisioning-keys")) {
		t.Errorf("mcpb/manifest.json links OpenRouter's old provisioning-keys page; it is settings/management-keys")
	}
	if got := m.Server.MCPConfig.Env["OPENROUTER_MANAGEMENT_KEY"]; got != "${user_config.management_key}" {
		t.Errorf("the key reaches the server as %q, want ${user_config.management_key} in env", got)
	}
	// Every setting reaches the server, through the environment only (never argv).
	for name := range m.UserConfig {
		ref := "${user_config." + name + "}"
		found := false
		for env, v := range m.Server.MCPConfig.Env {
			if v == ref && strings.HasPrefix(env, "OPENROUTER_") {
				found = true
			}
		}
		if !found {
			t.Errorf("user_config.%s is not passed to the server in an OPENROUTER_* variable", name)
		}
	}
}

// TestReleaseDist checks a release's dist/ folder, when ORKM_RELEASE_DIST names one (.ci/release): an
// archive per target with the binary, README.md and LICENSE, listed in checksums.txt; binaries built
// static (CGO_ENABLED=0, -trimpath, -s -w, the version and commit in -X); the host's binary, from its
// archive and from its bundle, prints the release's version; a bundle per target whose manifest has
// the release's version, its OS and an executable entry point; dist/server.json valid with the bundles'
// real hashes.
func TestReleaseDist(t *testing.T) {
	dist := os.Getenv("ORKM_RELEASE_DIST")
	if dist == "" {
		t.Skip("ORKM_RELEASE_DIST is not set: no release to check (.ci/release sets it)")
	}
	var meta struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	releaseDecode(t, releaseReadDist(t, dist, "metadata.json"), &meta)
	if !strings.HasPrefix(meta.Version, releaseVersion(t)) {
		t.Errorf("the release's version %q does not start with VERSION %q", meta.Version, releaseVersion(t))
	}
	sums := releaseChecksums(t, releaseReadDist(t, dist, "checksums.txt"))
	host := runtime.GOOS + "_" + runtime.GOARCH

	for _, plat := range releasePlatforms {
		goos, _, _ := strings.Cut(plat, "_")
		exe := "openrouter-keys-mcp"
		ext := ".tar.gz"
		if goos == "windows" {
			exe += ".exe"
			ext = ".zip"
		}
		t.Run("archive_"+plat, func(t *testing.T) {
			name := "openrouter-keys-mcp_" + meta.Version + "_" + plat + ext
			b := releaseReadDist(t, dist, name)
			if sum := sha256.Sum256(b); sums[name] != hex.EncodeToString(sum[:]) {
				t.Errorf("checksums.txt has %q for %s, the file's SHA-256 is %x", sums[name], name, sum)
			}
			files := releaseUnpack(t, name, b)
			for _, want := range []string{exe, "README.md", "LICENSE"} {
				if _, ok := files[want]; !ok {
					t.Errorf("%s lacks %s (has %v)", name, want, slices.Sorted(maps.Keys(files)))
				}
			}
			bin := releaseWriteBinary(t, files[exe].data)
			releaseCheckBuild(t, bin, files[exe].data, meta.Version, meta.Commit)
			if plat == host {
				releaseCheckRuns(t, bin, meta.Version, meta.Commit)
			}
		})
		t.Run("bundle_"+plat, func(t *testing.T) {
			name := "openrouter-keys-mcp_" + meta.Version + "_" + plat + ".mcpb"
			files := releaseUnpack(t, name, releaseReadDist(t, dist, name))
			var m releaseManifest
			var platforms struct {
				Compatibility struct {
					Platforms []string `json:"platforms"`
				} `json:"compatibility"`
			}
			releaseDecode(t, files["manifest.json"].data, &m)
			releaseDecode(t, files["manifest.json"].data, &platforms)
			wantOS := map[string]string{"darwin": "darwin", "linux": "linux", "windows": "win32"}[goos]
			if m.Version != meta.Version || !slices.Equal(platforms.Compatibility.Platforms, []string{wantOS}) ||
				m.Server.EntryPoint != "server/"+exe {
				t.Errorf("%s: version %q, platforms %v, entry point %q; want %q, [%s], server/%s",
					name, m.Version, platforms.Compatibility.Platforms, m.Server.EntryPoint, meta.Version, wantOS, exe)
			}
			f, ok := files["server/"+exe]
			if !ok {
				t.Fatalf("%s lacks server/%s", name, exe)
			}
			if goos != "windows" && f.mode&0o111 == 0 {
				t.Errorf("%s: server/%s is not executable (mode %v): Claude Desktop could not start it", name, exe, f.mode)
			}
			if plat == host {
				releaseCheckRuns(t, releaseWriteBinary(t, f.data), meta.Version, meta.Commit)
			}
		})
	}

	doc := releaseReadDist(t, dist, "server.json")
	releaseValidate(t, doc)
	var s releaseServerJSON
	releaseDecode(t, doc, &s)
	releaseCheckServer(t, s, meta.Version)
	for _, p := range s.Packages {
		if p.RegistryType != "mcpb" {
			continue
		}
		sum := sha256.Sum256(releaseReadDist(t, dist, path.Base(p.Identifier)))
		if got := hex.EncodeToString(sum[:]); got != p.FileSha256 {
			t.Errorf("server.json: %s has fileSha256 %s, but the bundle's is %s", path.Base(p.Identifier), p.FileSha256, got)
		}
	}
}

func releaseReadDist(t *testing.T, dist, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// releaseChecksums reads a sha256sum listing: file name to hex digest.
func releaseChecksums(t *testing.T, b []byte) map[string]string {
	t.Helper()
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[name] = sum
		}
	}
	return sums
}

type releaseFile struct {
	data []byte
	mode os.FileMode
}

// releaseUnpack reads the regular files of a .tar.gz or a zip (.zip, .mcpb) archive.
func releaseUnpack(t *testing.T, name string, b []byte) map[string]releaseFile {
	t.Helper()
	files := map[string]releaseFile{}
	if strings.HasSuffix(name, ".tar.gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(name, err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(name, err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(name, err)
			}
			files[h.Name] = releaseFile{data, h.FileInfo().Mode()}
		}
		return files
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(name, err)
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(name, err)
		}
		files[f.Name] = releaseFile{data, f.Mode()}
	}
	return files
}

func releaseWriteBinary(t *testing.T, data []byte) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "openrouter-keys-mcp")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// releaseCheckBuild reads a binary of any platform: built static and without paths (its build
// information: CGO_ENABLED=0, -trimpath; Go leaves -ldflags out of it under -trimpath), stripped (-s:
// no symbol table), and with the release's version and commit in it (-X).
func releaseCheckBuild(t *testing.T, bin string, data []byte, version, commit string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if want, err := bench.ReleaseToolchain(releaseRoot); err != nil {
		t.Error(err)
	} else if bi.GoVersion != want {
		t.Errorf("built with %s, want %s (.goreleaser.yaml's GOTOOLCHAIN)", bi.GoVersion, want)
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("CGO_ENABLED=%q -trimpath=%q, want 0 and true (a static, path-free build)", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	for _, want := range []string{version, commit} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the binary does not contain %q (-X main.version, main.commit)", want)
		}
	}
	symbols := -1
	if f, err := elf.NewFile(bytes.NewReader(data)); err == nil {
		symbols = 0
		if f.Section(".symtab") != nil {
			symbols = 1
		}
	} else if f, err := macho.NewFile(bytes.NewReader(data)); err == nil {
		symbols = 0 // the symbols a program defines; the ones it imports from libSystem stay
		if f.Symtab != nil {
			for _, sym := range f.Symtab.Syms {
				if sym.Sect != 0 {
					symbols++
				}
			}
		}
	} else if f, err := pe.NewFile(bytes.NewReader(data)); err == nil {
		symbols = len(f.Symbols)
	}
	if symbols != 0 {
		t.Errorf("the binary has a symbol table (%d), want it stripped (-s)", symbols)
	}
}

// releaseCheckRuns runs the host's binary: `version` names the release's version and commit.
func releaseCheckRuns(t *testing.T, bin, version, commit string) {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	want := fmt.Sprintf("openrouter-keys-mcp %s (commit %s, built ", version, commit)
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("version printed %q, want it to start with %q", out, want)
	}
	t.Logf("runs: %s", bytes.TrimSpace(out))
}

// The bundle's settings as Claude Desktop passes them, with the sandbox on and no key (every optional
// setting at its default): the server starts and its tools work.
func TestReleaseBundleSandboxWithoutKey(t *testing.T) {
	var m releaseManifest
	releaseDecode(t, releaseRead(t, "mcpb/manifest.json"), &m)
	var env []string
	for name, v := range m.Server.MCPConfig.Env {
		setting := strings.TrimSuffix(strings.TrimPrefix(v, "${user_config."), "}")
		value := fmt.Sprint(m.UserConfig[setting].Default)
		if setting == "sandbox" {
			value = "true"
		}
		env = append(env, name+"="+value)
	}
	code, stdout, stderr := runBinary(t, cleanEnv(env...), "doctor")
	if code != 0 || !strings.Contains(stdout, "--sandbox: checking the built-in emulator") || !strings.Contains(stdout, "All is well.") {
		t.Errorf("doctor with the bundle's sandbox setting and no key (%v): exit %d\n%s\n%s", env, code, stdout, stderr)
	}
}
