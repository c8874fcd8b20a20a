package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("an-access-token-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := config{in: flagInput{tokenFile: token, confirmFile: token}, secretDir: secrets}
	if found := loosePermissions(cfg); len(found) != 0 {
		t.Errorf("private files: %q", found)
	}
	for _, p := range []string{token, secrets} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	found := loosePermissions(cfg)
	if len(found) != 3 || !strings.Contains(found[0], "chmod 600 "+token) || !strings.Contains(found[2], "chmod 700 "+secrets) {
		t.Errorf("world-readable files: %q", found)
	}
	// doctor fails on them; a server starts, saying so.
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	if code := run(context.Background(), []string{"doctor", "--sandbox", "--secret-dir", secrets}, nil, &stdout, &stderr, getenv); code != 1 ||
		!strings.Contains(stdout.String(), "PROBLEM  --secret-dir") {
		t.Errorf("doctor with a world-readable --secret-dir: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stderr.Reset()
	run(ctx, []string{"--sandbox", "--secret-dir", secrets}, strings.NewReader(""), &stdout, &stderr, getenv)
	if !strings.Contains(stderr.String(), "other users of this machine can read it") {
		t.Errorf("no warning at start-up: %s", stderr.String())
	}
}
