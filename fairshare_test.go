package main

import (
	"io"
	"strings"
	"testing"
)

func TestRatePerCallerDefaults(t *testing.T) {
	key := "OPENROUTER_MANAGEMENT_KEY=sk-or-v1-" + "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		env         []string
		args        []string
		rate, burst int
	}{
		{nil, []string{"--key-source", "caller"}, defaultRatePerCaller, 2 * defaultRatePerCaller},
		{[]string{key}, []string{"--key-source", "server", "--auth-token-file", ""}, 0, 0},
		{nil, []string{"--key-source", "caller", "--rate-per-caller", "-1"}, 0, 0},
		{nil, []string{"--key-source", "caller", "--rate-per-caller", "5", "--burst-per-caller", "7"}, 5, 7},
		{[]string{"OPENROUTER_KEYS_MCP_RATE_PER_CALLER=3"}, []string{"--key-source", "caller"}, 3, 6},
	} {
		env := map[string]string{}
		for _, kv := range tc.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		cfg, err := parseConfig(append([]string{"http"}, tc.args...), func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Errorf("%v %v: %v", tc.env, tc.args, err)
			continue
		}
		if cfg.ratePer != tc.rate || cfg.burstPer != tc.burst {
			t.Errorf("%v %v: rate %d burst %d, want %d %d", tc.env, tc.args, cfg.ratePer, cfg.burstPer, tc.rate, tc.burst)
		}
	}
	if _, err := parseConfig([]string{"http", "--rate-per-caller", "-2"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--rate-per-caller -2 accepted")
	}
}
