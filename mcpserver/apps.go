package mcpserver

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/views"
)

// The MCP Apps views (package views) are offered to a client only when it announces the
// io.modelcontextprotocol/ui extension with the views' MIME type: then initialize (or
// server/discover) declares the extension and resources, tools/list links each tool to its view in
// _meta.ui.resourceUri, and resources/list names the views. Any other client sees the server as it
// is without them.

// apps is the views and what the server needs to offer them.
type apps struct {
	views  []views.View
	byTool map[string]string // tool name -> its view's URI
	// onlyViews is set when the views are the server's only resources, so that a client without the
	// extension is not told of resources at all.
	onlyViews bool
}

func newApps() *apps {
	a := &apps{views: views.All(), byTool: map[string]string{}}
	for _, v := range a.views {
		for _, t := range v.Tools {
			a.byTool[t] = v.URI
		}
	}
	return a
}

// register adds the views as resources, once every other resource is registered.
func (a *apps) register(s *server.MCPServer) {
	before := len(s.ListResources())
	for _, v := range a.views {
		s.AddResource(mcp.Resource{URI: v.URI, Name: v.Name, Description: v.Description, MIMEType: views.MIMEType},
			func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: v.URI, MIMEType: views.MIMEType, Text: v.HTML}}, nil
			})
	}
	a.onlyViews = before == 0
}

// hooks adjusts what the handshake, discovery and resources/list tell a client to whether it
// announced the extension.
func (a *apps) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnSuccess(func(ctx context.Context, _ any, _ mcp.MCPMethod, message, result any) {
		switch r := result.(type) {
		case *mcp.InitializeResult:
			// The session does not hold the client's capabilities until the handshake is over.
			req, _ := message.(*mcp.InitializeRequest)
			a.declare(&r.Capabilities, req != nil && announces(req.Params.Capabilities))
		case *mcp.DiscoverResult:
			a.declare(&r.Capabilities, clientAnnounces(ctx))
		case *mcp.ListResourcesResult:
			if !clientAnnounces(ctx) {
				r.Resources = slices.DeleteFunc(r.Resources, func(res mcp.Resource) bool { return a.isView(res.URI) })
			}
		}
	})
	return h
}

// declare sets the server's capabilities for a client that announced the extension, or not.
func (a *apps) declare(caps *mcp.ServerCapabilities, announced bool) {
	if !announced {
		if a.onlyViews {
			caps.Resources = nil
		}
		return
	}
	ext := maps.Clone(caps.Extensions)
	if ext == nil {
		ext = map[string]any{}
	}
	ext[views.Extension] = map[string]any{}
	caps.Extensions = ext
}

// link is a tool filter: for a client that announced the extension, each tool with a view names
// it in _meta.ui.resourceUri.
func (a *apps) link(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	if !clientAnnounces(ctx) {
		return list
	}
	out := make([]mcp.Tool, len(list))
	for i, t := range list {
		if uri, ok := a.byTool[t.Name]; ok {
			meta := &mcp.Meta{AdditionalFields: map[string]any{}}
			if t.Meta != nil {
				meta.ProgressToken = t.Meta.ProgressToken
				maps.Copy(meta.AdditionalFields, t.Meta.AdditionalFields)
			}
			meta.AdditionalFields["ui"] = map[string]any{"resourceUri": uri}
			t.Meta = meta
		}
		out[i] = t
	}
	return out
}

func (a *apps) isView(uri string) bool {
	return slices.ContainsFunc(a.views, func(v views.View) bool { return v.URI == uri })
}

// clientAnnounces reports whether the client of this request announced the extension: in the
// request itself (protocol 2026-07-28), else in its session's handshake.
func clientAnnounces(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && announces(*info.ClientCapabilities)
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return announces(s.GetClientCapabilities())
	}
	return false
}

// announces reports whether capabilities announce the extension with the views' MIME type, as the
// extension requires of a client that can render them.
func announces(caps mcp.ClientCapabilities) bool {
	ext, ok := caps.Extensions[views.Extension]
	if !ok {
		return false
	}
	// The settings arrive decoded from JSON, or as Go values from an in-process client.
	raw, err := json.Marshal(ext)
	var settings struct {
		MIMETypes []string `json:"mimeTypes"`
	}
	if err != nil || json.Unmarshal(raw, &settings) != nil {
		return false
	}
	return slices.Contains(settings.MIMETypes, views.MIMEType)
}
