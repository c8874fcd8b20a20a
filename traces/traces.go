// Package traces follows a call through the server and into OpenRouter with OpenTelemetry: a server
// span per MCP request, named and described by the OpenTelemetry semantic conventions for MCP, and a
// client span per request to OpenRouter, its child, whose W3C trace context goes to OpenRouter in a
// traceparent header. A caller's own trace context is taken from the request's params._meta (as MCP's
// 2026-07-28 specification places it: traceparent and tracestate) or, over HTTP, from its headers, so
// the server's spans join the caller's trace. Spans are exported over OTLP/HTTP.
//
// It is off unless an endpoint is given (--otlp-endpoint, or the standard OTEL_EXPORTER_OTLP_ENDPOINT
// and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): then nothing of it runs, no goroutine and no span. It uses
// the OpenTelemetry Go SDK, so that spans, sampling (OTEL_TRACES_SAMPLER), the resource
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), batching and the OTLP encoding are the ones every
// collector expects; only the HTTP upload is this package's (export.go says why).
//
// No attribute carries a secret, a key's name or hash, or text a caller chose without bound: span
// names are MCP methods with the server's own tool names, and OpenRouter's endpoint templates.
package traces

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The standard variables that turn traces on or off, besides --otlp-endpoint. The exporter's own
// (headers, timeout, compression, certificate) are in export.go.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// ShutdownTimeout bounds the flush of the spans still buffered when the server stops: short, so that
// with the drain it fits in the Helm chart's grace period (preStop 5 s + drain 10 s of 20 s).
const ShutdownTimeout = 3 * time.Second

// Config is what the server's traces need.
type Config struct {
	Export  Export // where spans go, from ExportFrom
	Service string // service.name unless OTEL_SERVICE_NAME says otherwise
	Version string // service.version
	// Tools are the tool names a span's name and gen_ai.tool.name may hold; any other is "other".
	Tools []string
	// IsSecret reports text that must not be recorded (a key, an access token), checked on the one
	// value a caller chooses freely that a span keeps: the JSON-RPC request id.
	IsSecret func(string) bool
	Logger   zerolog.Logger // where export failures are said
}

// Tracing is the server's tracer; a nil *Tracing traces nothing.
type Tracing struct {
	provider  *sdktrace.TracerProvider
	tracer    trace.Tracer
	propagate propagation.TraceContext // W3C traceparent and tracestate only: baggage is not passed on
	tools     []string
	isSecret  func(string) bool
}

// New starts exporting spans in batches to the collector. Call it only when ExportFrom says traces are on.
func New(ctx context.Context, c Config) (*Tracing, error) {
	client, err := newUploader(c.Export)
	if err != nil {
		return nil, err
	}
	exporter, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the defaults.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", c.Service), attribute.String("service.version", c.Version)),
		resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	logger := c.Logger.With().Str("component", "traces").Logger()
	// Export failures are logged, never printed: stdout is the stdio transport's. The SDK has one
	// handler for the process.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn().Err(err).Msg("exporting traces failed; spans may be lost")
	}))
	// The sampler is the SDK's, which reads OTEL_TRACES_SAMPLER (by default, sample what the caller
	// sampled, and every request that comes without a trace).
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	isSecret := c.IsSecret
	if isSecret == nil {
		isSecret = func(string) bool { return false }
	}
	return &Tracing{provider: provider, tracer: provider.Tracer("github.com/orkeys/openrouter-keys-mcp"),
		tools: c.Tools, isSecret: isSecret}, nil
}

// Shutdown exports the spans still buffered, within ShutdownTimeout even when ctx has ended, and stops.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flushing traces: %w", err)
	}
	return nil
}
