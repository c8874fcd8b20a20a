package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const installChromium = "install Chromium (Debian: apt-get install -y chromium), or set CHROMIUM to a Chromium binary"

// lookChromium finds the Chromium the browser tests drive: $CHROMIUM, else Debian's /usr/bin/chromium
// or one on PATH. puppeteer-core never downloads a browser of its own.
func lookChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return lookTool(t, "chromium", installChromium)
}

// TestViewsInABrowser renders the MCP Apps views in headless Chromium through the SDK's own host
// side (AppBridge), with the binary over stdio on its sandbox: testdata/apps-host/views.mjs reads
// each view over MCP, feeds it a real result and checks what a person sees (the audit's kinds, the
// spend bars' heights, Apply calling apply_plan and its outcomes), that a key named as markup shows
// as text, and that no request leaves the page. With ORKM_SCREENSHOTS set to a directory it leaves a
// PNG of each view there (the README's).
func TestViewsInABrowser(t *testing.T) {
	t.Parallel()
	node := node22(t)
	chromium := lookChromium(t)
	if _, err := exec.LookPath(chromium); err != nil {
		missingTool(t, "Chromium at "+chromium, installChromium)
	}
	script := npmScript(t, "apps-host", "views.mjs")
	assets, err := filepath.Abs(filepath.Join("..", "testdata", "apps-host"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--binary", binary, "--chromium", chromium, "--assets", assets}
	if dir := os.Getenv("ORKM_SCREENSHOTS"); dir != "" {
		args = append(args, "--screenshots", dir)
	}
	var sum struct {
		Audit struct {
			Kinds    []string `json:"kinds"`
			Findings int      `json:"findings"`
		} `json:"audit"`
		Spend struct {
			Bars int `json:"bars"`
		} `json:"spend"`
		Plan struct {
			Outcomes []string `json:"outcomes"`
		} `json:"plan"`
	}
	runScript(t, node, &sum, script, args...)
	if len(sum.Audit.Kinds) == 0 || sum.Spend.Bars == 0 || len(sum.Plan.Outcomes) == 0 {
		t.Errorf("a view showed nothing: %+v", sum)
	}
}
