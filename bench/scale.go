package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// Scale is what issue #26 asks of a big account: reading all its keys through an upstream that takes
// Delay per GET (OpenRouter's list calls take a few hundred milliseconds), measured in process on the
// server that ships, against an in-process sandbox reached over loopback HTTP; and what each tool's
// result costs a model's context on that account.
type Scale struct {
	Keys        int
	Delay       time.Duration
	Reads       []ScaleRead
	ResultBytes []ToolBytes // on the one-workspace account
}

// ScaleRead is one timed read of every key.
type ScaleRead struct {
	What       string // audit_keys, or list_keys all (one call per workspace, made at once)
	Workspaces int
	Took       time.Duration
}

// ToolBytes is one result's size: its text and its structuredContent, as the reply carries them.
type ToolBytes struct {
	Call  string
	Bytes int
}

// scaleGoal is #26's bound on a read of 5,000 keys, in round trips of the upstream's delay.
const scaleGoal = 10

// measureScale times the audit and the full listing of keys keys, in one workspace and in five,
// with every GET delayed by delay.
func measureScale(ctx context.Context, keys int, delay time.Duration) (Scale, error) {
	sc := Scale{Keys: keys, Delay: delay}
	for _, workspaces := range []int{1, 5} {
		if err := sc.account(ctx, workspaces); err != nil {
			return sc, fmt.Errorf("%d workspaces: %w", workspaces, err)
		}
	}
	return sc, nil
}

// account measures one account of sc.Keys keys spread over workspaces workspaces.
func (sc *Scale) account(ctx context.Context, workspaces int) error {
	sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	// Each read is timed on a server of its own, as the server is made (with its cache of the controls),
	// so that none is helped by what the one before it cached.
	serve := func() (*mcpserver.Server, *openrouter.Client, error) {
		client, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey()),
			ControlsTTL: openrouter.DefaultControlsTTL})
		if err != nil {
			return nil, nil, err
		}
		s, err := NewInProcessServer(client, JSONLogger(io.Discard))
		return s, client, err
	}
	s, client, err := serve()
	if err != nil {
		return err
	}
	defer s.Close()
	ids, err := workspaceIDs(ctx, client, sb, workspaces)
	if err != nil {
		return err
	}
	for i := range sc.Keys {
		limit := float64(5 + i%50)
		if _, err := client.CreateKey(ctx, openrouter.CreateKeyRequest{
			Name: fmt.Sprintf("agent key %04d for the nightly batch", i), Limit: &limit, WorkspaceID: ids[i%len(ids)],
		}); err != nil {
			return fmt.Errorf("create key %d: %w", i, err)
		}
	}
	sb.SetFaults(sandbox.Faults{Shares: []sandbox.Share{{Fault: sandbox.Fault{Kind: sandbox.FaultDelay, Wait: sc.Delay, Method: "GET"}, Share: 1}}})

	t0 := time.Now()
	if _, err := callText(ctx, s, NewCall("audit_keys", map[string]any{})); err != nil {
		return err
	}
	sc.Reads = append(sc.Reads, ScaleRead{What: "audit_keys", Workspaces: workspaces, Took: time.Since(t0)})

	s, _, err = serve()
	if err != nil {
		return err
	}
	defer s.Close()
	t0 = time.Now()
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			_, errs[i] = callText(ctx, s, NewCall("list_keys", map[string]any{"all": true, "workspace_id": id}))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	sc.Reads = append(sc.Reads, ScaleRead{What: "list_keys all", Workspaces: workspaces, Took: time.Since(t0)})
	if workspaces == 1 {
		// Last: the calls that change keys add some.
		sb.SetFaults(sandbox.Faults{})
		sc.ResultBytes, err = resultBytes(ctx, s)
	}
	return err
}

// resultBytes calls each tool once, the mutating ones on keys of their own, and sizes its result.
func resultBytes(ctx context.Context, s *mcpserver.Server) ([]ToolBytes, error) {
	res, err := callResult(ctx, s, NewCall("list_keys", map[string]any{"page_size": 3}))
	if err != nil {
		return nil, err
	}
	var page struct {
		Keys []struct {
			Hash    string `json:"hash"`
			Creator string `json:"creator_user_id"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(res.StructuredContent, &page); err != nil || len(page.Keys) < 3 {
		return nil, fmt.Errorf("list_keys: %d keys, %v", len(page.Keys), err)
	}
	hash := func(i int) string { return page.Keys[i].Hash }
	calls := []struct {
		label string // the call as the report shows it
		call  Call
	}{
		{`list_keys {}`, NewCall("list_keys", map[string]any{})},
		{`list_keys {"all":true}`, NewCall("list_keys", map[string]any{"all": true})},
		{`audit_keys {}`, NewCall("audit_keys", map[string]any{})},
		{`list_workspaces {}`, NewCall("list_workspaces", map[string]any{})},
		{`get_activity {}`, NewCall("get_activity", map[string]any{})},
		{`get_credits {}`, NewCall("get_credits", map[string]any{})},
		{`list_guardrails {}`, NewCall("list_guardrails", map[string]any{})},
		{`list_members {}`, NewCall("list_members", map[string]any{})},
		{`list_members {"member":…}`, NewCall("list_members", map[string]any{"member": page.Keys[0].Creator})},
		{`query_spend {}`, NewCall("query_spend", map[string]any{})},
		{`plan_cleanup {"disable":["never_used"]}`, NewCall("plan_cleanup", map[string]any{"disable": []string{"never_used"}})},
		{`current_key {}`, NewCall("current_key", map[string]any{})},
		{`get_key {"hash":…}`, NewCall("get_key", map[string]any{"hash": hash(0)})},
		{`create_key {"name":…}`, NewCall("create_key", map[string]any{"name": "sized"})},
		{`update_key {"hash":…,"name":…}`, NewCall("update_key", map[string]any{"hash": hash(0), "name": "renamed"})},
		{`rotate_key {"hash":…}`, NewCall("rotate_key", map[string]any{"hash": hash(1)})},
		{`delete_key {"hash":…}`, NewCall("delete_key", map[string]any{"hash": hash(2)})},
	}
	var out []ToolBytes
	for _, c := range calls {
		res, err := callResult(ctx, s, c.call)
		if err != nil {
			return nil, err
		}
		n := len(res.StructuredContent)
		for _, block := range res.Content {
			n += len(block.Text)
		}
		out = append(out, ToolBytes{Call: c.label, Bytes: n})
	}
	return out, nil
}

// callResult makes one tools/call in process and returns its result; an error result is an error
// too, with the result.
func callResult(ctx context.Context, s *mcpserver.Server, call Call) (ToolResult, error) {
	reply, err := json.Marshal(s.HandleMessage(ctx, request(1, "tools/call", call.params)))
	if err != nil {
		return ToolResult{}, err
	}
	res, err := toolResult(reply)
	if err != nil {
		return res, fmt.Errorf("%s: %w", call.Tool, err)
	}
	return res, nil
}

// targets are #26's goals, as rows of the report's table.
func (sc Scale) targets() []Target {
	var ts []Target
	for _, r := range sc.Reads {
		trips := float64(r.Took) / float64(sc.Delay)
		what := fmt.Sprintf("%s over %d keys in %d workspace(s), %s a GET", r.What, sc.Keys, r.Workspaces, sc.Delay)
		if r.What == "list_keys all" && r.Workspaces > 1 {
			what += " (a call per workspace, at once)"
		}
		ts = append(ts, Target{What: what, Figure: fmt.Sprintf("%.1f round trips (%.2f s)", trips, r.Took.Seconds()),
			Goal: fmt.Sprintf("≤ %d round trips", scaleGoal), Met: trips <= scaleGoal})
	}
	for _, b := range sc.ResultBytes {
		ts = append(ts, Target{What: fmt.Sprintf("result bytes (text + structuredContent), %d keys: %s", sc.Keys, b.Call),
			Figure: fmt.Sprintf("%d B", b.Bytes), Goal: "< 24 KB", Met: b.Bytes < 24<<10})
	}
	return ts
}
