package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ReleaseToolchain is the Go toolchain the release is built with (for example "go1.27.3"), read from
// the GOTOOLCHAIN entry of .goreleaser.yaml's env in the module at root: the one place it is named.
func ReleaseToolchain(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		return "", fmt.Errorf("release toolchain: %w", err)
	}
	var conf struct {
		Env []string `yaml:"env"`
	}
	if err := yaml.Unmarshal(b, &conf); err != nil {
		return "", fmt.Errorf("release toolchain: .goreleaser.yaml: %w", err)
	}
	for _, kv := range conf.Env {
		if v, ok := strings.CutPrefix(kv, "GOTOOLCHAIN="); ok && strings.HasPrefix(v, "go1.") {
			return v, nil
		}
	}
	return "", fmt.Errorf("release toolchain: .goreleaser.yaml's env names no GOTOOLCHAIN=go1.x")
}
