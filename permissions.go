package main

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/rs/zerolog"
)

// loosePermissions lists, as sentences saying what to do, the places holding secrets that other
// users of the machine can reach: the access token's file, the confirmation secret's file, and the
// directory new keys' secrets are written to. Start-up warns about each; doctor fails on them.
func loosePermissions(cfg config) []string {
	var found []string
	check := func(path, what string, mask fs.FileMode) {
		if path == "" {
			return
		}
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm()&mask == 0 {
			return // a missing path is reported where it is read
		}
		found = append(found, fmt.Sprintf("%s %s has mode %04o: other users of this machine can read it; "+
			"run chmod %s %s", what, path, info.Mode().Perm(), map[bool]string{true: "700", false: "600"}[info.IsDir()], path))
	}
	check(cfg.in.tokenFile, "--auth-token-file", 0o004)
	check(cfg.in.confirmFile, "--confirm-secret-file", 0o004)
	check(cfg.secretDir, "--secret-dir", 0o005)
	return found
}

// warnPermissions says at start-up what loosePermissions finds.
func warnPermissions(logger zerolog.Logger, cfg config) {
	for _, p := range loosePermissions(cfg) {
		logger.Warn().Msg(p)
	}
}
