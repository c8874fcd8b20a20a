package traces

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// OnSend opens a client span for one request to OpenRouter, a child of the MCP request's span when
// the request has one, and puts its trace context in the request's traceparent (and tracestate)
// header. It is openrouter.Options.OnSend: each attempt of a call is a span of its own, its resends
// counted in http.request.resend_count, as the semantic conventions for HTTP have it.
//
// The span is named by method and endpoint template ("GET /keys/{hash}") and holds no URL: a path
// names a key by its hash.
func (t *Tracing) OnSend(req *http.Request, endpoint string, resend int) func(status int, err error) {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("url.template", endpoint),
	}
	if port, err := strconv.Atoi(req.URL.Port()); err == nil {
		attrs = append(attrs, attribute.Int("server.port", port))
	}
	if resend > 0 {
		attrs = append(attrs, attribute.Int("http.request.resend_count", resend))
	}
	ctx, span := t.tracer.Start(req.Context(), req.Method+" "+endpoint,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	t.propagate.Inject(ctx, propagation.HeaderCarrier(req.Header))
	return func(status int, err error) {
		if status > 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		switch {
		case status >= 400:
			span.SetAttributes(attribute.String(attrErrorType, strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		case err != nil:
			// No answer, or one that could not be read. The error's text is not kept: the client's
			// errors say where they tried, which is enough in the log, and nothing a span needs.
			span.SetAttributes(attribute.String(attrErrorType, "_OTHER"))
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}
