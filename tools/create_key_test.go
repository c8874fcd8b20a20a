package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// noDuplicatesFaults is 30% of faults on creates, more than half of them after the key was made (the
// answer is lost): the case where a client that retries a create makes a second key. The 429s are
// few and ask for 20 ms: a 429 holds every call with the key for the wait it asks (openrouter's
// breaker), and these calls are so quick that a longer hold would fail nearly all of them alike,
// leaving the other paths unexercised.
const noDuplicatesFaults = "429=20ms:1%,500:5%,502:2%,503=1s:2%,504:1%,html:1%,reset:3%," + // the create was not made
	"reset+after:4%,cut:3%,500+after:2%,502+after:1%,html=504+after:1%,malformed:2%,delay=1s+after:2%,seed=20260501"

// TestCreateNeverMakesTwoKeys: 500 create_key calls through the tools layer, with faults on the
// sandbox and refused connections on the way to it. Afterwards the sandbox holds exactly one key per
// successful call, at most one per call that answered "may have been created", and none for any other
// failure: never two for one call.
func TestCreateNeverMakesTwoKeys(t *testing.T) {
	plan, err := sandbox.ParseFaults(noDuplicatesFaults)
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true, Faults: plan})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	mgmt := sb.ManagementKey()

	// One dial in five is refused before anything is sent: the one failure a create may retry.
	var dials, refused atomic.Int32
	var dialer net.Dialer
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1)%5 == 0 {
			refused.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("connect: connection refused")}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	var retries atomic.Int32
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(mgmt),
		HTTPClient: &http.Client{Transport: tr}, Timeout: 200 * time.Millisecond,
		Retry: openrouter.RetryPolicy{OnRetry: func(context.Context, openrouter.RetryEvent) { retries.Add(1) }}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := tools.All(c, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var create server.ServerTool
	for _, st := range all {
		if st.Tool.Name == "create_key" {
			create = st
		}
	}

	const calls = 500
	type result struct {
		kind string // created, maybe, failed
		hash string
		text string
	}
	results := make([]result, calls)
	var wg sync.WaitGroup
	next := atomic.Int32{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				req := mcp.CallToolRequest{}
				req.Params.Name = "create_key"
				req.Params.Arguments = map[string]any{"name": fmt.Sprintf("call-%03d", i), "limit": rand.N(100)}
				res, err := create.Handler(context.Background(), req)
				if err != nil {
					results[i] = result{kind: "protocol error", text: err.Error()}
					continue
				}
				text := ""
				for _, c := range res.Content {
					if tc, ok := c.(mcp.TextContent); ok {
						text += tc.Text
					}
				}
				switch {
				case !res.IsError:
					var out struct {
						Key struct {
							Hash string `json:"hash"`
						} `json:"key"`
						Secret string `json:"secret"`
					}
					b, _ := json.Marshal(res.StructuredContent)
					_ = json.Unmarshal(b, &out)
					results[i] = result{kind: "created", hash: out.Key.Hash, text: text}
				case strings.Contains(text, "may have been created") && strings.Contains(text, "list_keys"):
					results[i] = result{kind: "maybe", text: text}
				default:
					results[i] = result{kind: "failed", text: text}
				}
			}
		}()
	}
	wg.Wait()

	// Count the keys per call, faults off.
	sb.SetFaults(sandbox.Faults{})
	byName := map[string][]string{}
	for offset := 0; ; offset += openrouter.PageSize {
		page, err := c.ListKeys(context.Background(), openrouter.ListKeysParams{Offset: &offset, IncludeDisabled: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page {
			byName[k.Name] = append(byName[k.Name], k.Hash)
		}
		if len(page) < openrouter.PageSize {
			break
		}
	}

	kinds := map[string]int{}
	maybeMade := 0
	for i, r := range results {
		name := fmt.Sprintf("call-%03d", i)
		keys := byName[name]
		kinds[r.kind]++
		switch {
		case len(keys) > 1:
			t.Errorf("%s (%s) made %d keys", name, r.kind, len(keys))
		case r.kind == "created" && (len(keys) != 1 || keys[0] != r.hash):
			t.Errorf("%s succeeded with key %s, but the sandbox holds %v", name, r.hash, keys)
		case r.kind == "maybe":
			maybeMade += len(keys)
		case r.kind == "failed" && len(keys) != 0:
			t.Errorf("%s failed without saying the key may exist (%q), but it does", name, r.text)
		case r.kind == "protocol error":
			t.Errorf("%s: protocol error %s", name, r.text)
		}
		if openrouter.LooksLikeSecret(r.text) && r.kind != "created" {
			t.Errorf("%s: an error result holds a secret: %q", name, r.text)
		}
	}
	if total := sb.KeyCount(mgmt); total != kinds["created"]+maybeMade {
		t.Errorf("the sandbox holds %d keys, want %d created + %d made by calls that said they may have been", total, kinds["created"], maybeMade)
	}
	if kinds["created"] == 0 || kinds["maybe"] == 0 || kinds["failed"] == 0 || refused.Load() == 0 {
		t.Errorf("the mix did not exercise every path: %v, %d refused dials", kinds, refused.Load())
	}

	injected := sb.InjectedFaults()
	names := make([]string, 0, len(injected))
	for k := range injected {
		names = append(names, k)
	}
	sort.Strings(names)
	var faultLine []string
	totalFaults := int64(0)
	for _, k := range names {
		faultLine = append(faultLine, fmt.Sprintf("%s=%d", k, injected[k]))
		totalFaults += injected[k]
	}
	t.Logf("%d create_key calls: %d created, %d \"may have been created\" (of which %d did make a key), %d failed; "+
		"%d faults injected (%s); %d dials refused, %d retries; %d keys in the sandbox, none twice",
		calls, kinds["created"], kinds["maybe"], maybeMade, kinds["failed"], totalFaults, strings.Join(faultLine, " "),
		refused.Load(), retries.Load(), sb.KeyCount(mgmt))
}
