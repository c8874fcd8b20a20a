//go:build conformance

// The fixtures the official MCP conformance suite (npm @modelcontextprotocol/conformance, server mode)
// expects besides our own tools: the test_* tools, resources, prompts, completions and logging its
// scenarios call by name. They are compiled only with -tags conformance (e2e/conformance_test.go builds
// such a binary); the shipped binary has none of them (TestShippedBinaryHasOnlyOurTools).
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func init() {
	fixtures.options = []server.ServerOption{
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(fixtureCompletions{}),
		server.WithLogging(),
		server.WithElicitation(),
	}
	fixtures.register = registerConformanceFixtures
}

// A 1x1 PNG and a silent WAV, base64.
const (
	fixturePNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	fixtureWAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
)

func registerConformanceFixtures(s *server.MCPServer) {
	s.EnableSampling()
	registerFixtureTools(s)
	registerFixtureResources(s)
	registerFixturePrompts(s)
}

func fixtureTool(name, description string, opts ...mcp.ToolOption) mcp.Tool {
	return mcp.NewTool(name, append([]mcp.ToolOption{mcp.WithDescription(description)}, opts...)...)
}

func fixtureText(text string) *mcp.CallToolResult { return mcp.NewToolResultText(text) }

func registerFixtureTools(s *server.MCPServer) {
	s.AddTool(fixtureTool("test_simple_text", "Returns simple text (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return fixtureText("This is a simple text response for testing."), nil
		})
	s.AddTool(fixtureTool("test_image_content", "Returns an image (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent(fixturePNG, "image/png")}}, nil
		})
	s.AddTool(fixtureTool("test_audio_content", "Returns audio (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewAudioContent(fixtureWAV, "audio/wav")}}, nil
		})
	s.AddTool(fixtureTool("test_embedded_resource", "Returns an embedded resource (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.TextResourceContents{
				URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
			})}}, nil
		})
	s.AddTool(fixtureTool("test_multiple_content_types", "Returns text, an image and a resource (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				mcp.NewTextContent("Multiple content types test:"),
				mcp.NewImageContent(fixturePNG, "image/png"),
				mcp.NewEmbeddedResource(mcp.TextResourceContents{
					URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`,
				}),
			}}, nil
		})
	s.AddTool(fixtureTool("test_error_handling", "Always fails (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("This tool intentionally returns an error for testing"), nil
		})
	s.AddTool(fixtureTool("test_tool_with_logging", "Sends three log messages (conformance fixture)"),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if err := s.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcp.LoggingLevelInfo, "conformance", msg)); err != nil {
					return nil, err
				}
			}
			return fixtureText("Tool with logging executed successfully"), nil
		})
	s.AddTool(fixtureTool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100 (conformance fixture)"),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var token mcp.ProgressToken
			if req.Params.Meta != nil {
				token = req.Params.Meta.ProgressToken
			}
			for i, p := range []int{0, 50, 100} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if token == nil {
					continue
				}
				if err := s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
					"progressToken": token, "progress": p, "total": 100,
				}); err != nil {
					return nil, err
				}
			}
			return fixtureText("Progress reported"), nil
		})
	s.AddTool(fixtureTool("test_sampling", "Asks the client's LLM (conformance fixture)",
		mcp.WithString("prompt", mcp.Description("The prompt to send to the LLM"), mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := s.RequestSampling(ctx, mcp.CreateMessageRequest{
				Request: mcp.Request{Method: string(mcp.MethodSamplingCreateMessage)},
				CreateMessageParams: mcp.CreateMessageParams{
					Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(req.GetString("prompt", ""))}},
					MaxTokens: 100,
				},
			})
			if err != nil {
				return mcp.NewToolResultError("sampling failed: " + err.Error()), nil
			}
			text := ""
			if tc, ok := res.Content.(mcp.TextContent); ok {
				text = tc.Text
			}
			return fixtureText("LLM response: " + text), nil
		})
	elicit := func(ctx context.Context, message string, schema map[string]any) (*mcp.CallToolResult, error) {
		res, err := s.RequestElicitation(ctx, mcp.ElicitationRequest{
			Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
			Params:  mcp.ElicitationParams{Message: message, RequestedSchema: schema},
		})
		if err != nil {
			return mcp.NewToolResultError("elicitation failed: " + err.Error()), nil
		}
		content, _ := json.Marshal(res.Content)
		return fixtureText(fmt.Sprintf("Elicitation completed: action=%s, content=%s", res.Action, content)), nil
	}
	str := func(extra map[string]any) map[string]any {
		m := map[string]any{"type": "string"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	titled := func(consts ...string) []any {
		var out []any
		for i, c := range consts {
			out = append(out, map[string]any{"const": c, "title": fmt.Sprintf("Choice %d", i+1)})
		}
		return out
	}
	s.AddTool(fixtureTool("test_elicitation", "Asks the user for a name and an email (conformance fixture)",
		mcp.WithString("message", mcp.Description("The message to show the user"), mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return elicit(ctx, req.GetString("message", ""), map[string]any{
				"type": "object",
				"properties": map[string]any{
					"username": str(map[string]any{"description": "User's response"}),
					"email":    str(map[string]any{"description": "User's email address"}),
				},
				"required": []string{"username", "email"},
			})
		})
	s.AddTool(fixtureTool("test_elicitation_sep1034_defaults", "Elicitation with defaults (conformance fixture)"),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return elicit(ctx, "Check these details", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"name":     str(map[string]any{"default": "John Doe"}),
					"age":      map[string]any{"type": "integer", "default": 30},
					"score":    map[string]any{"type": "number", "default": 95.5},
					"status":   str(map[string]any{"enum": []string{"active", "inactive", "pending"}, "default": "active"}),
					"verified": map[string]any{"type": "boolean", "default": true},
				},
			})
		})
	s.AddTool(fixtureTool("test_elicitation_sep1330_enums", "Elicitation with every enum form (conformance fixture)"),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return elicit(ctx, "Pick options", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"untitledSingle": str(map[string]any{"enum": []string{"option1", "option2", "option3"}}),
					"titledSingle":   str(map[string]any{"oneOf": titled("value1", "value2", "value3")}),
					"legacyEnum": str(map[string]any{"enum": []string{"opt1", "opt2", "opt3"},
						"enumNames": []string{"Option One", "Option Two", "Option Three"}}),
					"untitledMulti": map[string]any{"type": "array", "items": str(map[string]any{"enum": []string{"option1", "option2", "option3"}})},
					"titledMulti":   map[string]any{"type": "array", "items": map[string]any{"anyOf": titled("value1", "value2", "value3")}},
				},
			})
		})
	schema2020 := json.RawMessage(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
		"properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
		"additionalProperties": false
	}`)
	s.AddTool(fixtureTool("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", func(t *mcp.Tool) {
		// NewTool presets InputSchema; a raw schema must replace it, not sit beside it.
		t.InputSchema = mcp.ToolInputSchema{}
		t.RawInputSchema = schema2020
	}), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return fixtureText("ok"), nil
	})
	s.AddTool(fixtureTool("test_reconnection", "A call that takes a moment, for SSE polling (conformance fixture)"),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			time.Sleep(100 * time.Millisecond)
			return fixtureText("Reconnection test completed"), nil
		})
}

func registerFixtureResources(s *server.MCPServer) {
	text := func(uri, mime, body string) server.ResourceHandlerFunc {
		return func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: mime, Text: body}}, nil
		}
	}
	s.AddResource(mcp.NewResource("test://static-text", "static-text",
		mcp.WithResourceDescription("A static text resource (conformance fixture)"), mcp.WithMIMEType("text/plain")),
		text("test://static-text", "text/plain", "This is the content of the static text resource."))
	s.AddResource(mcp.NewResource("test://static-binary", "static-binary",
		mcp.WithResourceDescription("A static PNG (conformance fixture)"), mcp.WithMIMEType("image/png")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: fixturePNG}}, nil
		})
	s.AddResource(mcp.NewResource("test://watched-resource", "watched-resource",
		mcp.WithResourceDescription("A resource to subscribe to (conformance fixture)"), mcp.WithMIMEType("text/plain")),
		text("test://watched-resource", "text/plain", "Watched resource content."))
	s.AddResourceTemplate(mcp.NewResourceTemplate("test://template/{id}/data", "template-data",
		mcp.WithTemplateDescription("Data for an id (conformance fixture)"), mcp.WithTemplateMIMEType("application/json")),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimSuffix(strings.TrimPrefix(req.Params.URI, "test://template/"), "/data")
			body, _ := json.Marshal(map[string]any{"id": id, "templateTest": true, "data": "Data for ID: " + id})
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(body)}}, nil
		})
}

func registerFixturePrompts(s *server.MCPServer) {
	user := func(c mcp.Content) mcp.PromptMessage { return mcp.PromptMessage{Role: mcp.RoleUser, Content: c} }
	s.AddPrompt(mcp.NewPrompt("test_simple_prompt", mcp.WithPromptDescription("A prompt without arguments (conformance fixture)")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent("This is a simple prompt for testing."))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_arguments", mcp.WithPromptDescription("A prompt with two arguments (conformance fixture)"),
		mcp.WithArgument("arg1", mcp.ArgumentDescription("First test argument"), mcp.RequiredArgument()),
		mcp.WithArgument("arg2", mcp.ArgumentDescription("Second test argument"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text := fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", req.Params.Arguments["arg1"], req.Params.Arguments["arg2"])
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent(text))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_embedded_resource", mcp.WithPromptDescription("A prompt embedding a resource (conformance fixture)"),
		mcp.WithArgument("resourceUri", mcp.ArgumentDescription("URI of the resource to embed"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: req.Params.Arguments["resourceUri"], MIMEType: "text/plain", Text: "Embedded resource content for testing."})),
				user(mcp.NewTextContent("Please process the embedded resource above.")),
			}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_image", mcp.WithPromptDescription("A prompt with an image (conformance fixture)")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewImageContent(fixturePNG, "image/png")),
				user(mcp.NewTextContent("Please analyze the image above.")),
			}}, nil
		})
}

// fixtureCompletions completes test_prompt_with_arguments' arguments from a fixed list.
type fixtureCompletions struct{}

func (fixtureCompletions) CompletePromptArgument(_ context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	values := []string{}
	if prompt == "test_prompt_with_arguments" {
		for _, v := range []string{"paris", "park", "party", "test", "testing"} {
			if strings.HasPrefix(v, arg.Value) {
				values = append(values, v)
			}
		}
	}
	return &mcp.Completion{Values: values, Total: len(values)}, nil
}
