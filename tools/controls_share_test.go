package tools

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// TestControlsAreBuiltOnceAndShared: with the client's cache on, the calls within its TTL that ask
// about the same workspaces share one build of the controls (rebuilt for other workspaces and on a
// Fresh context), and the views of keys by one creator, or bound by one guardrail the same way, share
// that creator's and that guardrail's view.
func TestControlsAreBuiltOnceAndShared(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := openrouter.New(openrouter.Options{BaseURL: srv.URL + "/api/v1", APIKey: openrouter.Secret(sb.ManagementKey()),
		ControlsTTL: openrouter.DefaultControlsTTL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(ctx context.Context, workspaces ...string) *controls {
		t.Helper()
		ctl, err := readControls(ctx, c, workspaces)
		if err != nil {
			t.Fatal(err)
		}
		return ctl
	}
	first := read(ctx, "")
	if read(ctx, "") != first {
		t.Error("a second read within the TTL built the controls anew")
	}
	if read(openrouter.Fresh(ctx), "") == first {
		t.Error("a Fresh read shared the cached controls")
	}
	keys, err := c.ListKeys(ctx, openrouter.ListKeysParams{})
	if err != nil {
		t.Fatal(err)
	}
	ws := workspacesOf(keys)
	all := read(ctx, ws...)
	if all == read(ctx, "") {
		t.Fatal("the controls of other workspaces are the default workspace's")
	}
	views, _ := viewsWith(all, nil, keys)
	creators, guardrails := map[string]*creatorRef{}, map[boundBy]*guardrailRef{}
	shared := 0
	for _, v := range views {
		if v.Creator != nil && !v.Creator.Left {
			if seen, ok := creators[v.Creator.ID]; ok {
				shared++
				if seen != v.Creator {
					t.Errorf("two keys of %s have views of their creator of their own", v.Creator.ID)
				}
			}
			creators[v.Creator.ID] = v.Creator
		}
		if v.Guardrail != nil {
			b := boundBy{v.Guardrail.ID, v.Guardrail.Via}
			if seen, ok := guardrails[b]; ok {
				shared++
				if seen != v.Guardrail {
					t.Errorf("two keys bound by %v have views of the guardrail of their own", b)
				}
			}
			guardrails[b] = v.Guardrail
		}
	}
	if shared == 0 {
		t.Fatal("the sample keys share no creator nor guardrail: the test checks nothing")
	}
}
