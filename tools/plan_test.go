package tools

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAPlanTokenIsSignedAndExpires(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newConfirmer(0, []byte("a secret the replicas share, 32+ bytes"))
	p := plan{ID: "p1", Expires: now.Add(planTTL).Unix(), Actions: []plannedAction{{Hash: strings.Repeat("a", 64), State: "s", Action: actionDisable}}}
	token, err := c.sealPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := newConfirmer(0, []byte("a secret the replicas share, 32+ bytes")).openPlan(token, "", now); err != nil || got.ID != "p1" {
		t.Fatalf("a replica sharing the secret: %v %v", got, err)
	}
	if _, err := c.openPlan(token, "", now.Add(planTTL+time.Second)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("past its expiry: %v", err)
	}
	if _, err := newConfirmer(0, nil).openPlan(token, "", now); !errors.Is(err, errPlanForged) {
		t.Errorf("another server: %v", err)
	}
	// A confirmation state, signed with the same key, is not a plan token.
	state := c.seal(question{tool: "apply_plan", args: json.RawMessage(`{}`), key: "k"}, now)
	if _, err := c.openPlan(state, "", now); !errors.Is(err, errPlanForged) {
		t.Errorf("a confirmation state opened as a plan: %v", err)
	}
}

func TestAnApplyCountsOnlyWhatItSawBeforeReading(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := &plan{ID: "p", Expires: now.Add(planTTL).Unix(), Actions: make([]plannedAction, 2)}
	runs := newPlanRuns()
	seen := runs.statuses(p)
	run, err := runs.claim(p, now, seen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runs.claim(p, now, seen); !errors.Is(err, errPlanBusy) {
		t.Errorf("a second apply while one runs: %v", err)
	}
	runs.set(run, 0, done, "a")
	runs.release(run)
	// An apply that read the keys before the first one did its work must not do it again.
	if _, err := runs.claim(p, now, seen); !errors.Is(err, errPlanMoved) {
		t.Errorf("an apply that saw the plan before another's work: %v", err)
	}
	run, err = runs.claim(p, now, runs.statuses(p))
	if err != nil {
		t.Fatal(err)
	}
	runs.set(run, 1, done, "b")
	runs.release(run)
	if _, err := runs.claim(p, now, runs.statuses(p)); !errors.Is(err, errPlanApplied) {
		t.Errorf("a plan done in full: %v", err)
	}
}
