package sandbox_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// TestConcurrentUse runs creates, updates, reads and deletes from 8
// goroutines at once (meant for -race) and checks that the counts add up:
// every goroutine creates 50 keys and deletes every other one.
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker = 8, 50
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	mgmt := "Bearer " + e.mgmt

	var wg sync.WaitGroup
	var mu sync.Mutex
	requests := int64(0)
	survivors := map[string]bool{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := int64(0)
			// expect reports a wrong status; t.Errorf is safe from
			// goroutines, t.Fatal is not.
			expect := func(r response, err error, status int, what string) bool {
				sent++
				if err != nil {
					t.Errorf("worker %d: %s: %v", w, what, err)
					return false
				}
				if r.status != status {
					t.Errorf("worker %d: %s: status %d, want %d; body %s", w, what, r.status, status, r.raw)
					return false
				}
				return true
			}
			for i := range perWorker {
				name := fmt.Sprintf("w%d-%d", w, i)
				r, err := e.send("POST", "/api/v1/keys", mgmt, map[string]any{"name": name, "limit": float64(i)})
				if !expect(r, err, http.StatusCreated, "create "+name) {
					continue
				}
				secret := r.body["key"].(string)
				path := "/api/v1/keys/" + r.body["data"].(map[string]any)["hash"].(string)

				r, err = e.send("PATCH", path, mgmt, map[string]any{"name": name + "-renamed", "limit_reset": "daily"})
				if expect(r, err, http.StatusOK, "update "+name) && r.body["data"].(map[string]any)["name"] != name+"-renamed" {
					t.Errorf("worker %d: update %s: name = %v", w, name, r.body["data"].(map[string]any)["name"])
				}
				r, err = e.send("GET", "/api/v1/key", "Bearer "+secret, nil)
				expect(r, err, http.StatusOK, "current "+name)
				if i%2 == 0 {
					r, err = e.send("DELETE", path, mgmt, nil)
					expect(r, err, http.StatusOK, "delete "+name)
					r, err = e.send("GET", "/api/v1/key", "Bearer "+secret, nil)
					expect(r, err, http.StatusUnauthorized, "deleted "+name)
				} else {
					mu.Lock()
					survivors[name+"-renamed"] = true
					mu.Unlock()
				}
				if i%10 == 0 {
					r, err = e.send("GET", "/api/v1/keys?offset=0", mgmt, nil)
					expect(r, err, http.StatusOK, "list")
				}
			}
			mu.Lock()
			requests += sent
			mu.Unlock()
		}()
	}
	wg.Wait()

	want := workers * perWorker / 2
	if n := e.sb.KeyCount(e.mgmt); n != want {
		t.Errorf("KeyCount = %d, want %d", n, want)
	}
	if n := e.sb.Requests(); n != requests {
		t.Errorf("Requests() = %d, want %d sent", n, requests)
	}
	seen := map[string]bool{}
	for offset := 0; ; offset += 100 {
		page := e.list(t, e.mgmt, fmt.Sprintf("?offset=%d", offset))
		for _, k := range page {
			seen[k["name"].(string)] = true
		}
		if len(page) < 100 {
			break
		}
	}
	if len(seen) != len(survivors) {
		t.Errorf("listed %d distinct keys, want %d", len(seen), len(survivors))
	}
	for name := range survivors {
		if !seen[name] {
			t.Errorf("surviving key %s not listed", name)
		}
	}
}
