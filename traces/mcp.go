package traces

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	mcptracing "github.com/mark3labs/mcp-go/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The attributes of an MCP server span, as the semantic conventions for MCP name them.
const (
	attrMethod          = "mcp.method.name"
	attrTool            = "gen_ai.tool.name"
	attrSession         = "mcp.session.id"
	attrProtocolVersion = "mcp.protocol.version"
	attrRequestID       = "jsonrpc.request.id"
	attrErrorType       = "error.type"
)

// The attributes mcp-go sets on the span it opens for each request, by their names there.
const (
	mcpgoMethod   = "mcp.method"
	mcpgoTool     = "mcp.tool.name"
	mcpgoSession  = "mcp.session.id"
	mcpgoProtocol = "mcp.protocol.version"
)

// maxRequestID is the longest JSON-RPC request id kept on a span; a longer one is not an id a client
// means to be read.
const maxRequestID = 128

// ServerOptions are the options that have mcp-go open a span for every MCP request through t, with
// its parent taken from params._meta or, over HTTP, the request's headers; hooks are the server's,
// to which t adds what mcp-go does not put on the span (the request id, the protocol version of a
// session, the error). A nil t adds nothing.
func (t *Tracing) ServerOptions(hooks *server.Hooks) []server.ServerOption {
	if t == nil {
		return nil
	}
	hooks.AddBeforeAny(func(ctx context.Context, id any, _ mcp.MCPMethod, _ any) {
		s, ok := mcptracing.SpanFromContext(ctx).(*serverSpan)
		if !ok {
			return
		}
		var attrs []attribute.KeyValue
		if id := requestID(id); id != "" && !t.isSecret(id) {
			attrs = append(attrs, attribute.String(attrRequestID, id))
		}
		if v := server.RequestProtocolVersion(ctx); v != "" {
			attrs = append(attrs, attribute.String(attrProtocolVersion, v))
		}
		s.span.SetAttributes(attrs...)
	})
	hooks.AddOnError(func(ctx context.Context, _ any, _ mcp.MCPMethod, _ any, err error) {
		if s, ok := mcptracing.SpanFromContext(ctx).(*serverSpan); ok {
			s.fail(errorType(err))
		}
	})
	return []server.ServerOption{
		server.WithTracer(mcpTracer{t}),
		server.WithMetaPropagator(metaPropagator{t.propagate}),
		server.WithPropagator(headerPropagator{t.propagate}),
	}
}

// requestID is a JSON-RPC id as text: a number or a string of at most maxRequestID bytes.
func requestID(id any) string {
	var s string
	switch v := id.(type) {
	case mcp.RequestId:
		return requestID(v.Value())
	case string:
		s = v
	case float64: // mcp-go holds an integer id within float64's exact range as one
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(v, 10)
	}
	if len(s) > maxRequestID {
		return ""
	}
	return s
}

// errorType is the error.type of a request that failed as a JSON-RPC error: its code.
func errorType(err error) string {
	if e, ok := err.(interface{ ToJSONRPCError() mcp.JSONRPCError }); ok {
		return strconv.Itoa(e.ToJSONRPCError().Error.Code)
	}
	return "_OTHER"
}

// mcpTracer is t as mcp-go's Tracer. mcp-go opens a server span per request and, within it, an
// internal span per tool handler; only the first is kept, as the semantic conventions have it, so a
// request to OpenRouter is a child of the MCP request that made it.
type mcpTracer struct{ t *Tracing }

func (m mcpTracer) Start(ctx context.Context, name string, kind mcptracing.SpanKind, attrs ...mcptracing.Attribute) (context.Context, mcptracing.Span) {
	if kind != mcptracing.SpanKindServer {
		return ctx, noSpan{}
	}
	method := strings.TrimPrefix(name, "mcp.")
	ctx, span := m.t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
	s := &serverSpan{span: span, method: method, tools: m.t.tools}
	s.SetAttributes(attrs...)
	return mcptracing.ContextWithSpan(ctx, s), s
}

// serverSpan is the span of one MCP request, as mcp-go sees it.
type serverSpan struct {
	span   trace.Span
	method string
	tools  []string
	failed bool
}

// SetAttributes keeps the attributes mcp-go knows by the names of the semantic conventions, and
// names the span after the tool once mcp-go says which: "tools/call list_keys".
func (s *serverSpan) SetAttributes(attrs ...mcptracing.Attribute) {
	for _, a := range attrs {
		switch a.Key {
		case mcpgoMethod:
			s.span.SetAttributes(attribute.String(attrMethod, a.Value))
		case mcpgoSession:
			s.span.SetAttributes(attribute.String(attrSession, a.Value))
		case mcpgoProtocol:
			s.span.SetAttributes(attribute.String(attrProtocolVersion, a.Value))
		case mcpgoTool:
			tool := a.Value
			if !slices.Contains(s.tools, tool) {
				tool = "other"
			}
			s.span.SetAttributes(attribute.String(attrTool, tool))
			s.span.SetName(s.method + " " + tool)
		}
	}
}

// RecordError records nothing: an error's text may quote what the caller sent.
func (s *serverSpan) RecordError(error) {}

// SetStatus marks the span failed. mcp-go describes a failure by its message, which may quote the
// caller; the span keeps only its type: the JSON-RPC error code (from the OnError hook), or
// "tool_error" for a tool result the model reads as an error.
func (s *serverSpan) SetStatus(code mcptracing.StatusCode, _ string) {
	if code == mcptracing.StatusError {
		s.fail("tool_error")
	}
}

// fail sets the span's error type, once: the first cause is the one kept.
func (s *serverSpan) fail(errType string) {
	if s.failed {
		return
	}
	s.failed = true
	s.span.SetAttributes(attribute.String(attrErrorType, errType))
	s.span.SetStatus(codes.Error, "")
}

func (s *serverSpan) End() { s.span.End() }

// noSpan is a span that records nothing.
type noSpan struct{}

func (noSpan) SetAttributes(...mcptracing.Attribute)   {}
func (noSpan) RecordError(error)                       {}
func (noSpan) SetStatus(mcptracing.StatusCode, string) {}
func (noSpan) End()                                    {}

// metaPropagator reads and writes the W3C trace context in a request's params._meta, where MCP's
// 2026-07-28 specification puts it: "traceparent" and "tracestate", as in HTTP headers.
type metaPropagator struct{ p propagation.TraceContext }

func (m metaPropagator) ExtractMeta(ctx context.Context, meta *mcp.Meta) context.Context {
	if meta == nil {
		return ctx
	}
	carrier := propagation.MapCarrier{}
	for _, k := range m.p.Fields() {
		if v, ok := meta.AdditionalFields[k].(string); ok {
			carrier[k] = v
		}
	}
	return m.p.Extract(ctx, carrier)
}

func (m metaPropagator) InjectMeta(ctx context.Context, meta *mcp.Meta) *mcp.Meta {
	carrier := propagation.MapCarrier{}
	m.p.Inject(ctx, carrier)
	if len(carrier) == 0 {
		return meta
	}
	if meta == nil {
		meta = &mcp.Meta{}
	}
	for k, v := range carrier {
		meta.SetMetaField(k, v)
	}
	return meta
}

// headerPropagator reads the W3C trace context of an HTTP request's headers, unless params._meta
// carried one: mcp-go asks it after the metaPropagator, and the context in _meta is the request's
// own, where a header may be a proxy's.
type headerPropagator struct{ p propagation.TraceContext }

func (h headerPropagator) Extract(ctx context.Context, headers http.Header) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return h.p.Extract(ctx, propagation.HeaderCarrier(headers))
}

func (h headerPropagator) Inject(ctx context.Context, headers http.Header) {
	h.p.Inject(ctx, propagation.HeaderCarrier(headers))
}
