package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// TestTheCapIsWhatAKeyMaySpend: --max-limit 5 is the most a key may spend, not 5 USD a period: every
// path that would let a key spend more than that is refused, with advice, and each passes once the
// advice is followed.
func TestTheCapIsWhatAKeyMaySpend(t *testing.T) {
	five := 5.0
	e := newEnvOpts(t, "management", tools.Options{Policy: tools.Policy{MaxLimit: &five}})
	c := mustClient(t, e)
	ctx := context.Background()
	refused := func(t *testing.T, tool, args, advice string) {
		t.Helper()
		res := e.call(t, tool, args)
		if !res.IsError || !strings.Contains(text(res), "--max-limit 5") || !strings.Contains(text(res), advice) {
			t.Errorf("%s %s: want a --max-limit refusal advising %q, got %s", tool, args, advice, text(res))
		}
	}
	allowed := func(t *testing.T, tool, args string) map[string]any {
		t.Helper()
		res := e.call(t, tool, args)
		if res.IsError {
			t.Fatalf("%s %s: %s", tool, args, text(res))
		}
		return structured(t, res)
	}
	// made outside the policy, by a person: over the cap, resetting daily, BYOK not counted
	made := func(t *testing.T, name string, limit float64, reset openrouter.LimitReset, byok bool) string {
		t.Helper()
		r := openrouter.CreateKeyRequest{Name: name, Limit: &limit, IncludeBYOKInLimit: byok}
		if reset != "" {
			r.LimitReset = &reset
		}
		k, err := c.CreateKey(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return k.Key.Hash
	}

	t.Run("resets", func(t *testing.T) {
		refused(t, "create_key", `{"name":"daily","limit":5,"limit_reset":"daily"}`, `limit_reset "never"`)
		refused(t, "create_key", `{"name":"monthly","limit":5,"limit_reset":"monthly"}`, `limit_reset "never"`)
		capped := made(t, "capped", 5, openrouter.ResetMonthly, true)
		refused(t, "update_key", `{"hash":"`+capped+`","limit_reset":"weekly"}`, `limit_reset "never"`)
		allowed(t, "update_key", `{"hash":"`+capped+`","limit_reset":"never"}`)
		monthly := newEnvWith(t, e.sb, c, tools.Options{Policy: tools.Policy{MaxLimit: &five, LimitResets: []openrouter.LimitReset{openrouter.ResetMonthly}}})
		if res := monthly.call(t, "create_key", `{"name":"monthly","limit":5,"limit_reset":"monthly"}`); res.IsError {
			t.Errorf("--max-limit-reset monthly: %s", text(res))
		}
		if res := monthly.call(t, "create_key", `{"name":"daily","limit":5,"limit_reset":"daily"}`); !res.IsError {
			t.Error("--max-limit-reset monthly allowed a daily reset")
		}
	})
	t.Run("BYOK", func(t *testing.T) {
		sc := allowed(t, "create_key", `{"name":"new","limit":5}`)
		if sc["key"].(map[string]any)["include_byok_in_limit"] != true || !strings.Contains(sc["note"].(string), "include_byok_in_limit") {
			t.Errorf("a capped new key must count BYOK usage, and the note say so: %v", sc)
		}
		hash := sc["key"].(map[string]any)["hash"].(string)
		refused(t, "update_key", `{"hash":"`+hash+`","include_byok_in_limit":false}`, "include_byok_in_limit true")
		loose := made(t, "byok-off", 5, "", false)
		refused(t, "update_key", `{"hash":"`+loose+`","limit":4}`, "include_byok_in_limit true")
		allowed(t, "update_key", `{"hash":"`+loose+`","limit":4,"include_byok_in_limit":true}`)
	})
	t.Run("re-enable", func(t *testing.T) {
		big := made(t, "big", 50, "", true)
		if _, err := c.UpdateKey(ctx, big, openrouter.UpdateKeyRequest{Disabled: openrouter.Some(true)}); err != nil {
			t.Fatal(err)
		}
		refused(t, "update_key", `{"hash":"`+big+`","disabled":false}`, "above the maximum of 5 USD")
		allowed(t, "update_key", `{"hash":"`+big+`","name":"big-renamed"}`) // a rename lets it spend nothing
		allowed(t, "update_key", `{"hash":"`+big+`","disabled":false,"limit":5}`)
	})
	t.Run("move", func(t *testing.T) {
		ws, err := e.sb.AddWorkspace(e.sb.ManagementKey(), "elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		big := made(t, "big-mover", 50, "", true)
		refused(t, "update_key", `{"hash":"`+big+`","workspace_id":"`+ws+`"}`, "above the maximum of 5 USD")
		allowed(t, "update_key", `{"hash":"`+big+`","workspace_id":"`+ws+`","limit":2}`)
	})
	t.Run("rotation", func(t *testing.T) {
		capped := made(t, "rotated", 5, "", true)
		refused(t, "rotate_key", `{"hash":"`+capped+`","retire":"keep"}`, "retire disable or delete")
		daily := made(t, "rotated-daily", 5, openrouter.ResetDaily, true)
		refused(t, "rotate_key", `{"hash":"`+daily+`"}`, `limit_reset "never"`)
		sc := allowed(t, "rotate_key", `{"hash":"`+capped+`","retire":"disable"}`)
		if sc["new"].(map[string]any)["key"].(map[string]any)["limit"] != 5.0 {
			t.Errorf("the successor: %v", sc["new"])
		}
	})
	t.Run("said to the model", func(t *testing.T) {
		p := tools.Policy{MaxLimit: &five, LimitResets: []openrouter.LimitReset{openrouter.ResetMonthly}}.String()
		for _, want := range []string{"at most 5 USD (--max-limit)", "resets monthly or never (--max-limit-reset)", "include_byok_in_limit true", "re-enabled or moved", "rotate_key cannot keep"} {
			if !strings.Contains(p, want) {
				t.Errorf("the policy as the model reads it lacks %q: %s", want, p)
			}
		}
	})
}

func TestParseLimitResets(t *testing.T) {
	got, err := tools.ParseLimitResets("monthly, never,monthly,weekly")
	if err != nil || len(got) != 2 || got[0] != openrouter.ResetMonthly || got[1] != openrouter.ResetWeekly {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := tools.ParseLimitResets("never"); err != nil || len(got) != 0 {
		t.Errorf("never: %v, %v", got, err)
	}
	if _, err := tools.ParseLimitResets("hourly"); err == nil || !strings.Contains(err.Error(), "daily, weekly, monthly or never") {
		t.Errorf("hourly: %v", err)
	}
}
