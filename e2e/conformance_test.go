package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The official MCP conformance suite (npm @modelcontextprotocol/conformance, pinned with its whole
// dependency tree in testdata/conformance) in server mode, against a binary built with
// -tags conformance: that build adds the tools, resources, prompts, completions and logging the
// suite's scenarios call by name (mcpserver/fixtures_conformance.go) beside our tools.
//
// The full active suite runs against `http --sandbox --stateful`: its sampling and elicitation
// scenarios are server-to-client requests in the 2025 protocol era, whose answers reach the server in
// a separate POST that only a session can route. The scenarios that need no such request also run
// against the default, stateless server.
//
// Every scenario must pass, except those listed in testdata/conformance-baseline.yml with the reason;
// a listed scenario that passes (a stale baseline) fails the test too.

const conformanceBaselineFile = "../testdata/conformance-baseline.yml"

// statelessScenarios run against the default stateless server too: the ones on our own server's
// surface (lifecycle, tools/list, tool results, transport and its DNS-rebinding guard).
var statelessScenarios = []string{
	"server-initialize", "ping", "tools-list", "tools-call-simple-text", "tools-call-error",
	"server-sse-multiple-streams", "dns-rebinding-protection",
}

type conformanceCheck struct {
	ID           string `json:"id"`
	Status       string `json:"status"` // SUCCESS, FAILURE, WARNING, INFO
	Description  string `json:"description"`
	ErrorMessage string `json:"errorMessage"`
	Details      any    `json:"details"`
}

type scenarioResult struct {
	name   string
	checks []conformanceCheck
}

func (r scenarioResult) count(status string) int {
	n := 0
	for _, c := range r.checks {
		if c.Status == status {
			n++
		}
	}
	return n
}

func (r scenarioResult) passed() bool { return r.count("FAILURE") == 0 }

type conformanceBaseline struct {
	ExpectedFailures []struct {
		Scenario string `yaml:"scenario"`
		Reason   string `yaml:"reason"`
	} `yaml:"expected_failures"`
}

func readConformanceBaseline(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(conformanceBaselineFile)
	if err != nil {
		t.Fatal(err)
	}
	var bl conformanceBaseline
	if err := yaml.Unmarshal(b, &bl); err != nil {
		t.Fatalf("%s: %v", conformanceBaselineFile, err)
	}
	out := map[string]string{}
	for _, e := range bl.ExpectedFailures {
		if e.Scenario == "" || strings.TrimSpace(e.Reason) == "" {
			t.Fatalf("%s: every entry needs a scenario and a reason: %+v", conformanceBaselineFile, e)
		}
		out[e.Scenario] = e.Reason
	}
	return out
}

// scenarioDir is how the suite names a scenario's results: server-<scenario>-<timestamp>.
var scenarioDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T[0-9-]+Z$`)

// runConformance runs the suite's server mode with args against url and reads every scenario's
// checks.json.
func runConformance(t *testing.T, node, cli, url string, args ...string) map[string]scenarioResult {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{cli, "server", "--url", url, "-o", out}, args...)...)
	cmd.Env = append(cleanEnv(), "NO_COLOR=1")
	output, err := cmd.CombinedOutput() // exits 1 when a scenario fails: the checks say which
	if ctx.Err() != nil {
		t.Fatalf("the conformance suite did not finish in time:\n%s", output)
	}
	entries, _ := os.ReadDir(out)
	results := map[string]scenarioResult{}
	for _, e := range entries {
		m := scenarioDir.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		b, rerr := os.ReadFile(filepath.Join(out, e.Name(), "checks.json"))
		if rerr != nil {
			t.Fatalf("scenario %s: %v", m[1], rerr)
		}
		var checks []conformanceCheck
		if jerr := json.Unmarshal(b, &checks); jerr != nil {
			t.Fatalf("scenario %s: checks.json: %v", m[1], jerr)
		}
		results[m[1]] = scenarioResult{name: m[1], checks: checks}
	}
	if len(results) == 0 {
		t.Fatalf("the conformance suite wrote no results (%v):\n%s", err, output)
	}
	return results
}

// logConformance prints one line per scenario, and one per check that failed or warned.
func logConformance(t *testing.T, results map[string]scenarioResult) {
	t.Helper()
	var names []string
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	passed := 0
	for _, n := range names {
		r := results[n]
		verdict := "FAIL"
		if r.passed() {
			verdict = "PASS"
			passed++
		}
		fmt.Fprintf(&b, "%s %s (%d ok", verdict, n, r.count("SUCCESS"))
		if w := r.count("WARNING"); w > 0 {
			fmt.Fprintf(&b, ", %d warning", w)
		}
		b.WriteString(")\n")
		for _, c := range r.checks {
			if c.Status == "FAILURE" || c.Status == "WARNING" {
				msg := c.ErrorMessage
				if msg == "" {
					msg = c.Description
				}
				if d, ok := c.Details.(map[string]any); ok && d["message"] != nil {
					msg += fmt.Sprintf(" [%v]", d["message"])
				}
				fmt.Fprintf(&b, "    %s %s: %s\n", c.Status, c.ID, msg)
			}
		}
	}
	fmt.Fprintf(&b, "%d of %d scenarios passed", passed, len(names))
	t.Logf("per-scenario results:\n%s", b.String())
}

func TestConformanceSuite(t *testing.T) {
	t.Parallel()
	node := node22(t)
	deps := npmCI(t, "conformance")
	cli := filepath.Join(deps, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	baseline := readConformanceBaseline(t)
	bin := buildTagged(t, "conformance")

	t.Run("stateful/all-active-scenarios", func(t *testing.T) {
		srv, url := startLogged(t, bin, cleanEnv(), "serving MCP over HTTP", "url", "http", "--sandbox", "--stateful", "--addr", "127.0.0.1:0")
		results := runConformance(t, node, cli, url)
		logConformance(t, results)
		for _, must := range append([]string{"tools-call-sampling", "tools-call-elicitation", "resources-read-text", "prompts-get-simple"}, statelessScenarios...) {
			if _, ok := results[must]; !ok {
				t.Errorf("scenario %s did not run: has the suite changed?", must)
			}
		}
		for name, r := range results {
			reason, expected := baseline[name]
			switch {
			case !r.passed() && !expected:
				for _, c := range r.checks {
					if c.Status == "FAILURE" {
						t.Errorf("scenario %s fails (not in %s): %s: %s", name, conformanceBaselineFile, c.ID, c.ErrorMessage)
					}
				}
			case r.passed() && expected:
				t.Errorf("scenario %s passes now: remove it from %s (it was there because: %s)", name, conformanceBaselineFile, reason)
			}
		}
		for name := range baseline {
			if _, ok := results[name]; !ok {
				t.Errorf("%s lists %s, which the suite did not run: remove it", conformanceBaselineFile, name)
			}
		}
		// The fixtures sit beside our tools; the suite's tools-list check saw all of them.
		if r := results["tools-list"]; len(r.checks) > 0 {
			d, _ := r.checks[0].Details.(map[string]any)
			listed, _ := d["tools"].([]any)
			for _, tool := range []string{"list_keys", "get_key", "create_key", "update_key", "delete_key", "current_key", "list_workspaces", "get_credits", "get_activity", "audit_keys", "rotate_key", "list_guardrails", "assign_guardrail", "list_members", "query_spend", "plan_cleanup", "apply_plan"} {
				if !slices.Contains(listed, any(tool)) {
					t.Errorf("tools-list did not see %s: %v", tool, listed)
				}
			}
		}
		if keyShape.MatchString(srv.stderr.String()) {
			t.Error("a key reached the server's log")
		}
	})

	t.Run("stateless/transport-scenarios", func(t *testing.T) {
		_, url := startLogged(t, bin, cleanEnv(), "serving MCP over HTTP", "url", "http", "--sandbox", "--addr", "127.0.0.1:0")
		results := map[string]scenarioResult{}
		for _, sc := range statelessScenarios {
			for name, r := range runConformance(t, node, cli, url, "--scenario", sc) {
				results[name] = r
			}
		}
		logConformance(t, results)
		for _, sc := range statelessScenarios {
			r, ok := results[sc]
			if !ok {
				t.Errorf("scenario %s did not run", sc)
				continue
			}
			for _, c := range r.checks {
				if c.Status == "FAILURE" {
					t.Errorf("stateless: scenario %s fails: %s: %s", sc, c.ID, c.ErrorMessage)
				}
			}
		}
	})
}

// TestShippedBinaryHasOnlyOurTools holds the conformance fixtures to the tagged build: the binary
// built without tags offers our tools and no resources (but the MCP Apps views, to a client that
// announces the extension), prompts, completions or logging.
func TestShippedBinaryHasOnlyOurTools(t *testing.T) {
	r := startRaw(t, cleanEnv(), "--sandbox")
	r.send(t,
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"prompts/list"}`,
		`{"jsonrpc":"2.0","id":4,"method":"resources/list"}`,
	)
	stop := time.AfterFunc(30*time.Second, func() { _ = r.cmd.Process.Kill() }) // never hang on a missing reply
	defer stop.Stop()
	replies := map[float64]json.RawMessage{}
	errs := map[float64]json.RawMessage{}
	for len(replies)+len(errs) < 4 && r.stdout.Scan() {
		var msg struct {
			ID     float64         `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(r.stdout.Bytes(), &msg); err != nil || msg.ID == 0 {
			continue
		}
		if msg.Error != nil {
			errs[msg.ID] = msg.Error
		} else {
			replies[msg.ID] = msg.Result
		}
	}
	var init struct {
		Capabilities map[string]json.RawMessage `json:"capabilities"`
	}
	if err := json.Unmarshal(replies[1], &init); err != nil {
		t.Fatalf("initialize: %v %s; stderr:\n%s", err, replies[1], r.stderr)
	}
	for _, c := range []string{"resources", "prompts", "completions", "logging"} {
		if _, ok := init.Capabilities[c]; ok {
			t.Errorf("the shipped binary declares the %s capability: %s", c, replies[1])
		}
	}
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(replies[2], &list); err != nil {
		t.Fatalf("tools/list: %v %s", err, replies[2])
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	if want := []string{"apply_plan", "assign_guardrail", "audit_keys", "create_key", "current_key", "delete_key", "get_activity", "get_credits", "get_key", "list_guardrails", "list_keys", "list_members", "list_workspaces", "plan_cleanup", "query_spend", "rotate_key", "update_key"}; !slices.Equal(names, want) {
		t.Errorf("tools/list: %v, want exactly %v", names, want)
	}
	if _, ok := errs[3]; !ok {
		t.Errorf("prompts/list answered %s; the shipped binary has no prompts", replies[3])
	}
	// Its only resources are the MCP Apps views, which a client that did not announce the extension
	// is not told of: it finds none (mcp-go answers the list once any resource is registered).
	if _, ok := errs[4]; !ok && string(replies[4]) != `{"resources":[]}` {
		t.Errorf("resources/list answered %s; the shipped binary has no resources for this client", replies[4])
	}
}
