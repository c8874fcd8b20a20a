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

func TestConfirmationStateIsBoundToToolArgumentsKeyAndTime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	q := question{tool: "delete_key", args: json.RawMessage(`{"hash":"` + strings.Repeat("a", 64) + `"}`), key: "k1"}
	c := newConfirmer(0, nil)
	state := c.seal(q, now)
	with := func(change func(*question)) question {
		c := q
		change(&c)
		return c
	}
	parts := strings.Split(state, ".")
	cases := []struct {
		name  string
		state string
		q     question
		at    time.Time
		ok    bool
	}{
		{"as asked", state, q, now.Add(time.Minute), true},
		{"another tool", state, with(func(c *question) { c.tool = "update_key" }), now, false},
		{"other arguments", state, with(func(c *question) { c.args = json.RawMessage(`{"hash":"` + strings.Repeat("b", 64) + `"}`) }), now, false},
		{"expired", state, q, now.Add(stateTTL + time.Second), false},
		{"forged", "9999999999.00", q, now, false},
		{"expiry moved", "9999999999." + strings.Join(parts[1:], "."), q, now, false},
		{"key state swapped", strings.Join([]string{parts[0], parts[1], "k2", parts[3]}, "."), q, now, false},
		{"nonce swapped", strings.Join([]string{parts[0], "00", parts[2], parts[3]}, "."), q, now, false},
		{"empty", "", q, now, false},
	}
	for _, tc := range cases {
		nonce, key, _, ok := c.open(tc.state, tc.q, tc.at)
		if ok != tc.ok || (ok && (nonce != parts[1] || key != "k1")) {
			t.Errorf("%s: open = %q %q %v, want ok=%v", tc.name, nonce, key, ok, tc.ok)
		}
	}
	if c.seal(q, now) == state {
		t.Error("two questions got the same state: each needs a nonce of its own")
	}
	// Replicas sharing a secret read each other's states; another process, or another secret, does not.
	secret := []byte("a secret the replicas share, 32+ bytes")
	a, b := newConfirmer(0, secret), newConfirmer(0, secret)
	shared := a.seal(q, now)
	if _, _, _, ok := b.open(shared, q, now); !ok {
		t.Error("a replica with the same secret refused the state")
	}
	for _, other := range []*confirmer{newConfirmer(0, nil), newConfirmer(0, []byte("another secret, as long as it is"))} {
		if _, _, _, ok := other.open(shared, q, now); ok {
			t.Error("a confirmer without the secret accepted the state")
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
