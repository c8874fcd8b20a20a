package tools

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// writeSecret writes a new key's secret to a file of its own in dir, readable by the owner only, and
// returns its path. The file must not exist yet: a secret never overwrites another.
func writeSecret(dir string, k *openrouter.CreatedKey) (string, error) {
	return writeSecretFile(dir, k.Key.Name, k.Key.Hash, k.Secret)
}

// writeSecretFile writes secret to a new file in dir named after the key's name and hash (a random
// stand-in when the hash is not known). Only the base name is built from the key, and only from safe
// characters, so the file is always in dir.
func writeSecretFile(dir, name, hash string, secret openrouter.Secret) (string, error) {
	if !openrouter.ValidHash(hash) {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		hash = "unknown-" + hex.EncodeToString(b)
	}
	path := filepath.Join(dir, secretFileName(name, hash))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, unwrapPath(err))
	}
	_, err = f.WriteString(secret.Reveal() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return path, nil
}

// secretFileName names the file after the key, so a person can tell the files apart, keeping only
// characters that are safe in any file name; the hash makes it unique.
func secretFileName(name, hash string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, name)
	safe = strings.Trim(safe, "-")
	if len(safe) > 40 {
		safe = safe[:40]
	}
	if safe == "" {
		safe = "key"
	}
	return fmt.Sprintf("%s-%s.key", safe, hash[:min(len(hash), 20)])
}

// unwrapPath drops the path os repeats in its errors; the caller names the path once.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// CheckSecretDir says what stops new secrets from being written to files in dir: it is not a
// directory, or a file cannot be made in it. The server refuses to start with such a directory, rather
// than delete every key it creates.
func CheckSecretDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case err == nil && !info.IsDir():
		return fmt.Errorf("--secret-dir %s is a file, not a directory: name a directory (mode 0700 is best)", dir)
	case err != nil:
		return fmt.Errorf("--secret-dir %s: not a directory: create it first (mode 0700 is best)", dir)
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return fmt.Errorf("--secret-dir %s is not writable: %v", dir, unwrapPath(err))
	}
	f.Close()
	return os.Remove(f.Name())
}
