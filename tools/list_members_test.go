package tools_test

import (
	"strings"
	"testing"
)

// TestListMembersAnswersTheOffBoardingQuestion: members with the keys they made, the creator who left
// among them, and one member's keys by email or id.
func TestListMembersAnswersTheOffBoardingQuestion(t *testing.T) {
	e := newEnv(t, "management")
	res := e.call(t, "list_members", `{}`)
	sc := e.checked(t, "list_members", res)
	members := sc["members"].([]any)
	if len(members) != 4 {
		t.Fatalf("%d members and former creators, want 3 and 1: %v", len(members), members)
	}
	counts := map[string]float64{}
	var departed map[string]any
	for _, m := range members {
		m := m.(map[string]any)
		name, _ := m["name"].(string)
		counts[name] = m["keys"].(float64)
		if m["left"] == true {
			departed = m
		}
	}
	if counts["Alex Morgan"] != 3 || counts["Priya Shah"] != 2 || counts["Sam Lee"] != 2 || departed == nil || departed["keys"] != 1.0 {
		t.Errorf("keys per creator: %v, departed %v", counts, departed)
	}
	if !strings.Contains(text(res), `"Priya Shah" | priya.shah@example.com | user_`) || !strings.Contains(text(res), "\n- | - | user_") {
		t.Errorf("text:\n%s", text(res))
	}

	res = e.call(t, "list_members", `{"member":"PRIYA.SHAH@example.com"}`)
	keys := e.checked(t, "list_members", res)["keys"].([]any)
	if len(keys) != 2 || !strings.Contains(text(res), `2 keys created by "Priya Shah" (priya.shah@example.com)`) {
		t.Errorf("Priya's keys: %s", text(res))
	}
	res = e.call(t, "list_members", `{"member":"`+departed["id"].(string)+`"}`)
	keys = e.checked(t, "list_members", res)["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["name"] != "Legacy batch job" || !strings.Contains(text(res), "who left the organization") {
		t.Errorf("a departed member's keys: %s", text(res))
	}
	if res := e.call(t, "list_members", `{"member":"nobody@example.com"}`); !res.IsError || !strings.Contains(text(res), "known only by id") {
		t.Errorf("an unknown member: %s", text(res))
	}
}
