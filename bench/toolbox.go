package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// Toolbox is what issues #12 and #20 ask of the key-hygiene tools, measured in process on the server that
// ships, against an in-process sandbox reached over loopback HTTP.
type Toolbox struct {
	Tools              int     // tools offered
	ToolsListPerTool   int     // bytes of the model-facing part of tools/list (all but outputSchema), per tool
	ToolsListTotal     int     // the same, for all the tools together
	ListKeysTextPerKey int     // bytes of list_keys' text block per key, for a page of 100 keys
	AuditKeys          int     // keys audited
	AuditWorkspaces    int     // workspaces they are spread over
	AuditTime          Stats   // one audit_keys call, over AuditRuns runs
	AuditRuns          int     // how many audits were timed
	AuditAllocMB       float64 // bytes allocated by one audit, in MB, the sandbox's included
	StdioAuditKeys     int     // keys a stdio server process audited, for its peak RSS
	StdioAuditPeakRSS  int64   // that process's peak resident set, bytes
	PlanTime           Stats   // one plan_cleanup call over the same keys (issue 21), over AuditRuns runs
	ApplyActions       int     // actions in each plan applied
	ApplyTime          Stats   // one apply_plan call of such a plan, over AuditRuns runs
	AssignPlanTime     Stats   // one plan_cleanup call assigning a guardrail, which reads the controls too
	AssignActions      int     // assignments in each such plan applied
	AssignApplyTime    Stats   // one apply_plan call of such a plan
}

// measureToolbox measures the context cost of the tools and one audit of keys keys in workspaces
// workspaces, runs times. The sandbox holds its sample data (guardrails, their assignments, members)
// and every other key made here is assigned a guardrail, so that the audit reads the controls too.
func measureToolbox(ctx context.Context, keys, workspaces, runs int) (Toolbox, error) {
	tb := Toolbox{AuditKeys: keys, AuditWorkspaces: workspaces, AuditRuns: runs}
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	client, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey())})
	if err != nil {
		return tb, err
	}
	s, err := NewInProcessServer(client, JSONLogger(io.Discard))
	if err != nil {
		return tb, err
	}
	defer s.Close()
	if tb.Tools, tb.ToolsListTotal, err = toolsListCost(ctx, s); err != nil {
		return tb, err
	}
	tb.ToolsListPerTool = tb.ToolsListTotal / tb.Tools
	ids, err := workspaceIDs(ctx, client, sb, workspaces)
	if err != nil {
		return tb, err
	}
	guardrails, err := client.ListGuardrails(ctx, openrouter.ListGuardrailsParams{})
	if err != nil || len(guardrails.Items) == 0 {
		return tb, fmt.Errorf("the sample guardrail: %v", err)
	}
	var guarded []string
	for i := range keys {
		limit := float64(5 + i%50)
		k, err := client.CreateKey(ctx, openrouter.CreateKeyRequest{
			Name: fmt.Sprintf("agent key %04d for the nightly batch", i), Limit: &limit, WorkspaceID: ids[i%len(ids)],
		})
		if err != nil {
			return tb, fmt.Errorf("create key %d: %w", i, err)
		}
		if i%2 == 0 {
			guarded = append(guarded, k.Key.Hash)
		}
	}
	for len(guarded) > 0 {
		n := min(50, len(guarded))
		if _, err := client.AssignKeys(ctx, guardrails.Items[0].ID, guarded[:n]); err != nil {
			return tb, fmt.Errorf("assign the guardrail: %w", err)
		}
		guarded = guarded[n:]
	}
	text, err := callText(ctx, s, NewCall("list_keys", map[string]any{"workspace_id": ids[0], "page_size": 100}))
	if err != nil {
		return tb, err
	}
	tb.ListKeysTextPerKey = len(text) / min(100, (keys+len(ids)-1)/len(ids))

	audit := NewCall("audit_keys", map[string]any{})
	var lat []time.Duration
	for range runs {
		t0 := time.Now()
		if _, err := callText(ctx, s, audit); err != nil {
			return tb, err
		}
		lat = append(lat, time.Since(t0))
	}
	tb.AuditTime = Summarize(lat)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := callText(ctx, s, audit); err != nil {
		return tb, err
	}
	runtime.ReadMemStats(&after)
	tb.AuditAllocMB = float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
	// The guardrail goes to the never-used keys that lack it (half of them hold it already), before the
	// plans that disable them: a disabled key is given a guardrail all the same, but this way each
	// assignment plan is timed on keys as the audit saw them.
	assign := map[string]any{"assign_guardrail": []string{"never_used"}, "guardrail_id": guardrails.Items[0].ID}
	if tb.AssignPlanTime, tb.AssignApplyTime, tb.AssignActions, err = timePlans(ctx, s, runs, assign); err != nil {
		return tb, err
	}
	tb.PlanTime, tb.ApplyTime, tb.ApplyActions, err = timePlans(ctx, s, runs, map[string]any{"disable": []string{"never_used"}})
	return tb, err
}

// timePlans times plan_cleanup with args (over every key made above, which were never used), and
// apply_plan of each plan: each apply does a batch, so the next plan holds the next.
func timePlans(ctx context.Context, s *mcpserver.Server, runs int, args map[string]any) (plans, applies Stats, actions int, err error) {
	var planLat, applyLat []time.Duration
	for range runs {
		t0 := time.Now()
		res, err := callResult(ctx, s, NewCall("plan_cleanup", args))
		if err != nil || res.IsError {
			return plans, applies, 0, fmt.Errorf("plan_cleanup: %v %v", err, res.Content)
		}
		planLat = append(planLat, time.Since(t0))
		var plan struct {
			Actions   []json.RawMessage `json:"actions"`
			PlanToken string            `json:"plan_token"`
		}
		if err := json.Unmarshal(res.StructuredContent, &plan); err != nil {
			return plans, applies, 0, fmt.Errorf("plan_cleanup's result: %w", err)
		}
		token := plan.PlanToken
		if actions = len(plan.Actions); token == "" {
			return plans, applies, 0, fmt.Errorf("plan_cleanup %v planned nothing", args)
		}
		t0 = time.Now()
		if _, err := callText(ctx, s, NewCall("apply_plan", map[string]any{"plan_token": token})); err != nil {
			return plans, applies, 0, err
		}
		applyLat = append(applyLat, time.Since(t0))
	}
	return Summarize(planLat), Summarize(applyLat), actions, nil
}

// workspaceIDs returns n workspace ids of the account, adding workspaces to the sandbox as needed.
func workspaceIDs(ctx context.Context, c *openrouter.Client, sb *sandbox.Sandbox, n int) ([]string, error) {
	page, err := c.ListWorkspaces(ctx, openrouter.ListWorkspacesParams{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, w := range page.Workspaces {
		ids = append(ids, w.ID)
	}
	for i := len(ids); i < n; i++ {
		id, err := sb.AddWorkspace(sb.ManagementKey(), fmt.Sprintf("Team %d", i))
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids[:n], nil
}

// toolsListCost is the number of tools and the size of what a model reads of them in tools/list: the
// reply as sent, less the output schemas, which describe results, not calls.
func toolsListCost(ctx context.Context, s *mcpserver.Server) (tools, total int, err error) {
	reply, err := json.Marshal(s.HandleMessage(ctx, request(1, "tools/list", []byte(`{}`))))
	if err != nil {
		return 0, 0, err
	}
	var msg struct {
		Result struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(reply, &msg); err != nil || len(msg.Result.Tools) == 0 {
		return 0, 0, fmt.Errorf("tools/list: %v: %.200s", err, reply)
	}
	for _, t := range msg.Result.Tools {
		delete(t, "outputSchema")
		b, err := json.Marshal(t)
		if err != nil {
			return 0, 0, err
		}
		total += len(b)
	}
	return len(msg.Result.Tools), total, nil
}

// callText makes one tools/call in process and returns its text block; an error result is an error.
func callText(ctx context.Context, s *mcpserver.Server, call Call) (string, error) {
	res, err := callResult(ctx, s, call)
	var text string
	for _, c := range res.Content {
		text += c.Text
	}
	if res.IsError {
		return "", fmt.Errorf("%s: %s", call.Tool, text)
	}
	return text, err
}

// targets are #12's budgets, as rows of the report's table.
func (tb Toolbox) targets() []Target {
	if tb.Tools == 0 {
		return nil
	}
	return []Target{
		{What: "tools/list, model-facing bytes per tool (all but outputSchema)", Figure: fmt.Sprintf("%d B over %d tools", tb.ToolsListPerTool, tb.Tools),
			Goal: "≤ 1,000 B", Met: tb.ToolsListPerTool <= 1000},
		{What: "tools/list, model-facing bytes in all", Figure: fmt.Sprintf("%d B", tb.ToolsListTotal), Goal: "≤ 16,000 B", Met: tb.ToolsListTotal <= 16000},
		{What: "list_keys text per key (a page of 100)", Figure: fmt.Sprintf("%d B", tb.ListKeysTextPerKey), Goal: "≤ 260 B", Met: tb.ListKeysTextPerKey <= 260},
		{What: fmt.Sprintf("audit_keys over %d keys in %d workspaces, half with a guardrail, with members, in process (median of %d)", tb.AuditKeys, tb.AuditWorkspaces, tb.AuditRuns),
			Figure: ms(tb.AuditTime.Median), Goal: "< 1 s", Met: tb.AuditTime.Median > 0 && tb.AuditTime.Median < time.Second},
		{What: fmt.Sprintf("peak RSS of the stdio server auditing %d keys, release", tb.StdioAuditKeys), Figure: mb(tb.StdioAuditPeakRSS), Goal: "< 40 MB",
			Met: tb.StdioAuditPeakRSS > 0 && tb.StdioAuditPeakRSS < 40<<20},
		{What: fmt.Sprintf("plan_cleanup over %d keys in %d workspaces, in process (median of %d)", tb.AuditKeys, tb.AuditWorkspaces, tb.AuditRuns),
			Figure: ms(tb.PlanTime.Median), Goal: "< 1 s", Met: tb.PlanTime.Median > 0 && tb.PlanTime.Median < time.Second},
		{What: fmt.Sprintf("apply_plan of %d actions against the sandbox, in process (median of %d)", tb.ApplyActions, tb.AuditRuns),
			Figure: ms(tb.ApplyTime.Median), Goal: "< 2 s", Met: tb.ApplyTime.Median > 0 && tb.ApplyTime.Median < 2*time.Second},
		{What: fmt.Sprintf("plan_cleanup assigning a guardrail, over %d keys in %d workspaces with the controls, in process (median of %d)", tb.AuditKeys, tb.AuditWorkspaces, tb.AuditRuns),
			Figure: ms(tb.AssignPlanTime.Median), Goal: "< 1 s", Met: tb.AssignPlanTime.Median > 0 && tb.AssignPlanTime.Median < time.Second},
		{What: fmt.Sprintf("apply_plan of %d guardrail assignments against the sandbox, in process (median of %d)", tb.AssignActions, tb.AuditRuns),
			Figure: ms(tb.AssignApplyTime.Median), Goal: "< 2 s", Met: tb.AssignApplyTime.Median > 0 && tb.AssignApplyTime.Median < 2*time.Second},
	}
}
