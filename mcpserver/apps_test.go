package mcpserver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/mcpserver"
	"github.com/orkeys/openrouter-keys-mcp/views"
)

// seen is what one client is told by the server: the handshake's capabilities, tools/list,
// resources/list and a tool's result, each as JSON.
type seen struct {
	caps      mcp.ServerCapabilities
	tools     []mcp.Tool
	resources []mcp.Resource
	audit     string
}

// look connects an in-process client with the given extensions, in the era of version (the
// handshake's newest or, with "", the stateless 2026-07-28 one), and records what it sees.
func look(t *testing.T, s *mcpserver.Server, extensions map[string]any, version string) seen {
	t.Helper()
	ctx := context.Background()
	c, err := mcpclient.NewInProcessClient(s.MCPServer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "host", Version: "1"}
	init.Params.Capabilities.Extensions = extensions
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if version != "" && res.ProtocolVersion != version {
		t.Fatalf("negotiated %s, want %s", res.ProtocolVersion, version)
	}
	var out seen
	out.caps = res.Capabilities
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out.tools = list.Tools
	if res.Capabilities.Resources != nil {
		rl, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out.resources = rl.Resources
	}
	call := mcp.CallToolRequest{}
	call.Params.Name = "list_workspaces"
	r, err := c.CallTool(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	out.audit = string(b)
	return out
}

var announced = map[string]any{views.Extension: map[string]any{"mimeTypes": []any{views.MIMEType}}}

// A client that announces the MCP Apps extension is told of it, of the views as resources and of
// each tool's view; any other client sees the server exactly as it is without views: no
// extension, no resources, no _meta on tools, the same results.
func TestViewsAreDeclaredOnlyToClientsThatAnnounceTheExtension(t *testing.T) {
	for _, era := range []struct{ name, version string }{{"handshake", "2025-11-25"}, {"stateless", ""}} {
		t.Run(era.name, func(t *testing.T) {
			s, err := mcpserver.New(client(t), mcpserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			plain := look(t, s, nil, era.version)
			// Announcing the extension without the views' MIME type is not enough.
			other := look(t, s, map[string]any{views.Extension: map[string]any{"mimeTypes": []any{"text/html"}}}, era.version)
			host := look(t, s, announced, era.version)

			for name, c := range map[string]seen{"no extension": plain, "another MIME type": other} {
				if c.caps.Resources != nil || c.caps.Extensions[views.Extension] != nil {
					t.Errorf("%s: capabilities declare resources or the extension: %+v", name, c.caps)
				}
				for _, tool := range c.tools {
					if tool.Meta != nil {
						t.Errorf("%s: %s carries _meta %+v", name, tool.Name, tool.Meta)
					}
				}
			}
			// What the server declared before it had views: tools and elicitation, nothing else.
			for _, c := range []seen{plain, other} {
				if b, _ := json.Marshal(c.caps); string(b) != `{"tools":{},"elicitation":{}}` {
					t.Errorf("capabilities without the extension: %s", b)
				}
			}

			if host.caps.Resources == nil || host.caps.Extensions[views.Extension] == nil {
				t.Errorf("a host with the extension is not told of it: %+v", host.caps)
			}
			want := map[string]string{}
			for _, v := range views.All() {
				for _, tool := range v.Tools {
					want[tool] = v.URI
				}
			}
			if len(host.tools) != len(plain.tools) {
				t.Fatalf("%d tools for the host, %d without the extension", len(host.tools), len(plain.tools))
			}
			for i, tool := range host.tools {
				var uri string
				if tool.Meta != nil {
					ui, _ := tool.Meta.AdditionalFields["ui"].(map[string]any)
					uri, _ = ui["resourceUri"].(string)
				}
				if uri != want[tool.Name] {
					t.Errorf("%s: _meta.ui.resourceUri %q, want %q", tool.Name, uri, want[tool.Name])
				}
				// Apart from _meta, the host's list is the plain one.
				tool.Meta = nil
				a, _ := json.Marshal(tool)
				b, _ := json.Marshal(plain.tools[i])
				if string(a) != string(b) {
					t.Errorf("%s differs beyond _meta:\n%s\n%s", tool.Name, a, b)
				}
			}
			if len(host.resources) != len(views.All()) {
				t.Errorf("resources/list for the host: %+v, want the %d views", host.resources, len(views.All()))
			}
			for _, r := range host.resources {
				if r.MIMEType != views.MIMEType || !strings.HasPrefix(r.URI, "ui://") {
					t.Errorf("resource %+v: want a ui:// URI of type %s", r, views.MIMEType)
				}
			}
			if host.audit != plain.audit {
				t.Errorf("a tool's result differs with the extension:\n%s\n%s", host.audit, plain.audit)
			}
		})
	}
}

// Each view reads as the resource its tools name, whole, with the extension's MIME type.
func TestViewsReadAsResources(t *testing.T) {
	s, err := mcpserver.New(client(t), mcpserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := mcpserver.Connect(ctx, s, "host", "1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, v := range views.All() {
		req := mcp.ReadResourceRequest{}
		req.Params.URI = v.URI
		res, err := c.ReadResource(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", v.URI, err)
		}
		text, ok := res.Contents[0].(mcp.TextResourceContents)
		if len(res.Contents) != 1 || !ok || text.MIMEType != views.MIMEType || text.Text != v.HTML || text.URI != v.URI {
			t.Errorf("%s: read %+v", v.URI, res.Contents)
		}
	}
}
