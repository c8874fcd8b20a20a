package openrouter_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// TestFaultsByEndpoint: every fault the sandbox injects, on every endpoint, through the real client
// over a socket: what the call returns, how many attempts it made, and what became of the account.
func TestFaultsByEndpoint(t *testing.T) {
	faults := []string{"429", "429=30s", "500", "502", "503", "504", "html", "reset",
		"500+after", "502+after", "reset+after", "cut", "malformed", "oversize", "delay=5s", "delay=5s+after"}
	endpoints := []struct {
		name, method string
		idempotent   bool
	}{
		{"list_keys", "GET", true}, {"get_key", "GET", true}, {"current_key", "GET", true},
		{"update_key", "PATCH", true}, {"delete_key", "DELETE", true}, {"create_key", "POST", false},
	}
	for _, ep := range endpoints {
		for _, spec := range faults {
			plan, err := sandbox.ParseFaults(spec)
			if err != nil {
				t.Fatal(err)
			}
			fault := plan.Script[0]
			fault.Method = ep.method
			after := fault.After || fault.Kind == sandbox.FaultCut || fault.Kind == sandbox.FaultMalformed || fault.Kind == sandbox.FaultOversize

			// What the policy promises.
			var wantAttempts, wantKeys int
			var wantErr string
			var wantUnknown bool
			switch {
			case ep.idempotent && spec == "429=30s":
				wantAttempts, wantErr = 1, "asked to wait 30 seconds"
			case ep.idempotent:
				wantAttempts = 2
			case strings.HasPrefix(spec, "429"):
				wantAttempts, wantErr = 1, "429"
			default: // a create that failed after it was sent: the key may exist, and does when the fault came after
				wantAttempts, wantErr, wantUnknown = 1, "may have been carried out", true
				if after {
					wantKeys = 1
				}
			}
			if !ep.idempotent && wantErr == "" {
				t.Fatal("bad table")
			}

			t.Run(ep.name+"/"+spec, func(t *testing.T) {
				t.Parallel()
				sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
				srv := httptest.NewServer(sb)
				t.Cleanup(srv.Close)
				mgmt := sb.ManagementKey()
				// The key to read, update or delete is made without HTTP, so the client's first request
				// goes out on a new connection (net/http resends a GET that meets a reset on a reused
				// one, which is right but would blur the count of our attempts).
				_, hash, err := sb.CreateInferenceKey(mgmt, "target")
				if err != nil {
					t.Fatal(err)
				}
				var retries atomic.Int32
				timeout := openrouter.DefaultTimeout
				if fault.Kind == sandbox.FaultDelay {
					timeout = time.Second // the attempt that meets the delay times out; the retry does not
				}
				c := mustNew(t, openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(mgmt),
					Timeout: timeout,
					Retry:   openrouter.RetryPolicy{OnRetry: func(context.Context, openrouter.RetryEvent) { retries.Add(1) }}})
				sb.InjectNext(fault)

				ctx := context.Background()
				var callErr error
				switch ep.name {
				case "list_keys":
					var keys []openrouter.Key
					keys, callErr = c.ListKeys(ctx, openrouter.ListKeysParams{})
					if callErr == nil && (len(keys) != 1 || keys[0].Hash != hash) {
						t.Errorf("ListKeys = %v, want the one key", hashesOf(keys))
					}
				case "get_key":
					var k *openrouter.Key
					k, callErr = c.GetKey(ctx, hash)
					if callErr == nil && k.Name != "target" {
						t.Errorf("GetKey = %+v", k)
					}
				case "current_key":
					var k *openrouter.CurrentKey
					k, callErr = c.CurrentKey(ctx)
					if callErr == nil && !k.IsManagementKey {
						t.Errorf("CurrentKey = %+v", k)
					}
				case "update_key":
					var k *openrouter.Key
					k, callErr = c.UpdateKey(ctx, hash, openrouter.UpdateKeyRequest{Name: openrouter.Some("renamed")})
					if callErr == nil && k.Name != "renamed" {
						t.Errorf("UpdateKey = %+v", k)
					}
				case "delete_key":
					callErr = c.DeleteKey(ctx, hash)
				case "create_key":
					var ck *openrouter.CreatedKey
					ck, callErr = c.CreateKey(ctx, openrouter.CreateKeyRequest{Name: "new"})
					if callErr == nil {
						t.Errorf("CreateKey succeeded (%s) through %s", ck.Key.Hash, spec)
					}
				}

				if got := int(retries.Load()) + 1; got != wantAttempts {
					t.Errorf("%d attempts, want %d (err: %v)", got, wantAttempts, callErr)
				}
				switch {
				case wantErr == "" && callErr != nil:
					t.Errorf("err = %v, want success", callErr)
				case wantErr != "" && (callErr == nil || !strings.Contains(callErr.Error(), wantErr)):
					t.Errorf("err = %v, want it to contain %q", callErr, wantErr)
				}
				if errors.Is(callErr, openrouter.ErrOutcomeUnknown) != wantUnknown {
					t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v (%v)", !wantUnknown, wantUnknown, callErr)
				}

				// The account afterwards.
				switch ep.name {
				case "create_key":
					if n := sb.KeyCount(mgmt) - 1; n != wantKeys {
						t.Errorf("%d keys made, want %d", n, wantKeys)
					}
				case "delete_key":
					if callErr == nil && sb.KeyCount(mgmt) != 0 {
						t.Errorf("DeleteKey succeeded but the key is still there")
					}
				default:
					if sb.KeyCount(mgmt) != 1 {
						t.Errorf("%d keys, want 1", sb.KeyCount(mgmt))
					}
				}
				if got := sb.InjectedFaults()[fault.String()]; got != 1 {
					t.Errorf("the sandbox injected %s %d times, want once", fault, got)
				}
				if fault.Kind == sandbox.FaultDelay {
					// The attempt timed out, and the sandbox saw the request go.
					waitFor(t, func() bool { return sb.Abandoned() == 1 }, "the sandbox to see the request abandoned")
				}
			})
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
