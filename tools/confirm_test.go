package tools

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

func TestConfirmationStateIsBoundToToolArgumentsAndTime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	args := json.RawMessage(`{"hash":"` + strings.Repeat("a", 64) + `"}`)
	state := sealState("delete_key", args, now)
	cases := []struct {
		name  string
		state string
		tool  string
		args  json.RawMessage
		at    time.Time
		ok    bool
	}{
		{"as asked", state, "delete_key", args, now.Add(time.Minute), true},
		{"another tool", state, "update_key", args, now, false},
		{"other arguments", state, "delete_key", json.RawMessage(`{"hash":"` + strings.Repeat("b", 64) + `"}`), now, false},
		{"expired", state, "delete_key", args, now.Add(stateTTL + time.Second), false},
		{"forged", "9999999999.00", "delete_key", args, now, false},
		{"expiry moved", "9999999999." + strings.SplitN(state, ".", 2)[1], "delete_key", args, now, false},
		{"empty", "", "delete_key", args, now, false},
	}
	for _, tc := range cases {
		if got := openState(tc.state, tc.tool, tc.args, tc.at); got != tc.ok {
			t.Errorf("%s: openState = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestSecretFilesAreCreatedExclusivelyAndPrivately(t *testing.T) {
	dir := t.TempDir()
	k := &openrouter.CreatedKey{
		Key:    openrouter.Key{Name: "../../etc/passwd", Hash: strings.Repeat("c", 64)},
		Secret: openrouter.Secret("sk-or-v1-" + strings.Repeat("d", 64)),
	}
	path, err := writeSecret(dir, k)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir {
		t.Fatalf("the key's name led the file out of the directory: %s", path)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", info.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != k.Secret.Reveal()+"\n" {
		t.Errorf("content %q", b)
	}
	// A second secret never replaces the first.
	_, err = writeSecret(dir, k)
	if !errors.Is(err, os.ErrExist) || strings.Contains(err.Error(), k.Secret.Reveal()) {
		t.Errorf("second write: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != k.Secret.Reveal()+"\n" {
		t.Error("the first secret was overwritten")
	}
}
