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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// releaseRoot is the repository's root, seen from this package's folder.
const releaseRoot = ".."

// releasePlatforms are the release's targets (.goreleaser.yaml), each with a bundle of its own.
var releasePlatforms = []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64", "windows_arm64"}

// releaseTools are the tools the bundle's manifest declares.
var releaseTools = []string{"list_keys", "get_key", "create_key", "update_key", "delete_key", "current_key",
	"audit_keys", "get_credits", "get_activity", "list_workspaces", "rotate_key"}

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
			Name     string `json:"name"`
			IsSecret bool   `json:"isSecret"`
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
		secret := false
		for _, e := range p.EnvironmentVariables {
			if e.Name == "OPENROUTER_MANAGEMENT_KEY" {
				secret = e.IsSecret
			}
		}
		if !secret {
			t.Errorf("%s: OPENROUTER_MANAGEMENT_KEY must be declared with isSecret", p.Identifier)
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
	key, ok := m.UserConfig["management_key"]
	if !ok || key.Type != "string" || !key.Sensitive || !key.Required {
		t.Errorf("user_config.management_key %+v: want a required, sensitive string", key)
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

// TestReleaseDist checks a release's dist/ folder, when ORKM_RELEASE_DIST names one (.ci/release).
func TestReleaseDist(t *testing.T) {
	dist := os.Getenv("ORKM_RELEASE_DIST")
	if dist == "" {
		t.Skip("ORKM_RELEASE_DIST is not set: no release to check (.ci/release sets it)")
	}
	var meta struct {
		Version string `json:"version"`
	}
	mb, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	releaseDecode(t, mb, &meta)
	doc, err := os.ReadFile(filepath.Join(dist, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	releaseValidate(t, doc)
	var s releaseServerJSON
	releaseDecode(t, doc, &s)
	releaseCheckServer(t, s, meta.Version)
	for _, p := range s.Packages {
		if p.RegistryType != "mcpb" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dist, path.Base(p.Identifier)))
		if err != nil {
			t.Error(err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != p.FileSha256 {
			t.Errorf("%s: fileSha256 %s, but the bundle's is %s", path.Base(p.Identifier), p.FileSha256, got)
		}
	}
	if !strings.HasPrefix(meta.Version, releaseVersion(t)) {
		t.Errorf("the release's version %q does not start with VERSION %q", meta.Version, releaseVersion(t))
	}
}
