package tools_test

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestQuerySpendReachesBeyondThirtyDays: 90 days of spend by key agree with the sum by day, name the
// keys, and reach further back than get_activity's 30 days.
func TestQuerySpendReachesBeyondThirtyDays(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "query_spend", `{"days":90}`)
	byKey := e.checked(t, "query_spend", res)
	rows := byKey["rows"].([]any)
	top := rows[0].(map[string]any)
	if top["name"] != "Production chatbot" || len(rows) < 5 || !strings.Contains(text(res), `"Production chatbot" `) {
		t.Errorf("spend by key, largest first: %s", text(res))
	}
	byDay := e.checked(t, "query_spend", e.call(t, "query_spend", `{"days":90,"group_by":"day"}`))
	if a, b := byKey["usage"].(float64), byDay["usage"].(float64); math.Abs(a-b) > 1e-6 || a < 150 {
		t.Errorf("usage by key %v, by day %v", a, b)
	}
	days := byDay["rows"].([]any)
	first := days[0].(map[string]any)["group"].(string)
	if d, err := time.Parse(time.DateOnly, first); err != nil || time.Since(d) < 60*24*time.Hour {
		t.Errorf("the first day with spend is %s: want history from before the last 30 days", first)
	}
	month := e.checked(t, "query_spend", e.call(t, "query_spend", `{"days":90,"hash":"`+top["group"].(string)+`","group_by":"model"}`))
	if math.Abs(month["usage"].(float64)-top["usage"].(float64)) > 1e-6 {
		t.Errorf("one key's spend by model %v, by key %v", month["usage"], top["usage"])
	}
	for _, args := range []string{`{"start":"2026-05-01","end":"2026-04-01"}`, `{"start":"2024-01-01","end":"2026-01-01"}`} {
		if res := e.call(t, "query_spend", args); !res.IsError || !strings.Contains(text(res), "at most 366 days") {
			t.Errorf("%s: %s", args, text(res))
		}
	}
}
