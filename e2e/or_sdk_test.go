package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// sandboxProcess is a running `openrouter-keys-mcp sandbox` and the management key it made and printed.
type sandboxProcess struct {
	base, key string
}

var printedKey = regexp.MustCompile(`sandbox management key: (sk-or-v1-[0-9a-f]{64})`)

// startSandboxProcess starts the sandbox command on a free port, without a key in its environment, so
// that it makes one and prints it on stderr.
func startSandboxProcess(t *testing.T) sandboxProcess {
	t.Helper()
	srv, base := startLogged(t, binary, cleanEnv(), "serving the OpenRouter emulator", "base_url", "sandbox", "--addr", "127.0.0.1:0")
	m := printedKey.FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("the sandbox printed no management key:\n%s", srv.stderr)
	}
	return sandboxProcess{base: base, key: m[1]}
}

// sampleHashes lists the sandbox's keys of its default workspace, name to hash.
func (p sandboxProcess) sampleHashes(t *testing.T) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("GET", p.base+"/keys?include_disabled=true&include_expired=true", nil)
	req.Header.Set("Authorization", "Bearer "+p.key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct{ Name, Hash string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /keys: %d %v", resp.StatusCode, err)
	}
	out := map[string]string{}
	for _, k := range page.Data {
		out[k.Name] = k.Hash
	}
	return out
}

// TestOfficialSDKAgainstTheSandboxCommand is issue #20's independent client against the process, not
// only the handler: OpenRouter's TypeScript SDK (testdata/or-sdk) runs its key flow and drives
// guardrails, assignments, BYOK allow-lists, members and analytics against `openrouter-keys-mcp
// sandbox`. And issue #25's first item: two sandbox processes, each with its own management key, hold
// the same sample hashes, so a hash copied from one run still names the key in the next.
func TestOfficialSDKAgainstTheSandboxCommand(t *testing.T) {
	t.Parallel()
	a, b := startSandboxProcess(t), startSandboxProcess(t)
	ha, hb := a.sampleHashes(t), b.sampleHashes(t)
	if len(ha) < 5 || ha["Production chatbot"] == "" {
		t.Fatalf("sample keys of the default workspace: %v", ha)
	}
	for name, h := range ha {
		if hb[name] != h {
			t.Errorf("%s: hash %s in one sandbox, %s in the other", name, h, hb[name])
		}
	}

	node := lookTool(t, "node", installNode)
	if nodeMajor(t, node) < 20 {
		missingTool(t, "Node.js >= 20", installNode)
	}
	flow := npmScript(t, "or-sdk", "flow.mjs")
	var sum struct {
		Steps []struct {
			Step string `json:"step"`
			OK   bool   `json:"ok"`
		} `json:"steps"`
	}
	runScriptEnv(t, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+a.key), node, &sum, flow, a.base)
	if len(sum.Steps) != 16 {
		t.Errorf("%d steps ran, want 16", len(sum.Steps))
	}
}
