// Package traces follows a call through the server and into OpenRouter with OpenTelemetry: a server
// span per MCP request, named and described by the OpenTelemetry semantic conventions for MCP, and a
// client span per request to OpenRouter, its child, whose W3C trace context goes to OpenRouter in a
// traceparent header. A caller's own trace context is taken from the request's params._meta (as MCP's
// 2026-07-28 specification places it: traceparent and tracestate) or, over HTTP, from its headers, so
// the server's spans join the caller's trace. Spans are exported over OTLP/HTTP.
//
// It is off unless an endpoint is given (--otlp-endpoint, or the standard OTEL_EXPORTER_OTLP_ENDPOINT
// and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): then nothing of it runs, no goroutine and no span. It uses
// the OpenTelemetry Go SDK rather than anything of its own, so that sampling (OTEL_TRACES_SAMPLER),
// the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), batching and the exporter's settings
// (headers, TLS, timeout, compression) are the ones every collector expects.
//
// No attribute carries a secret, a key's name or hash, or text a caller chose without bound: span
// names are MCP methods with the server's own tool names, and OpenRouter's endpoint templates.
package traces

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The standard variables that turn traces on or off, besides --otlp-endpoint.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// ShutdownTimeout bounds the flush of the spans still buffered when the server stops.
const ShutdownTimeout = 5 * time.Second

// Enabled reports whether traces are exported: when endpoint (--otlp-endpoint) or one of the standard
// endpoint variables is set, unless OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is none. An error
// is a setting the server cannot honour: OTLP over gRPC.
func Enabled(endpoint string, getenv func(string) string) (bool, error) {
	on := endpoint != "" || getenv(EnvEndpoint) != "" || getenv(EnvTracesEndpoint) != ""
	if !on || strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv(EnvTracesExporter)), "none") {
		return false, nil
	}
	for _, v := range []string{envTracesProtocol, envProtocol} {
		if p := getenv(v); p != "" && p != "http/protobuf" && p != "http/json" {
			return false, fmt.Errorf("%s=%s: traces are exported over OTLP/HTTP only; set http/protobuf and the collector's HTTP port (4318)", v, p)
		}
	}
	return true, nil
}

// Config is what the server's traces need.
type Config struct {
	Endpoint string // the collector's OTLP/HTTP base URL (traces go to /v1/traces); "" leaves it to OTEL_*
	Service  string // service.name unless OTEL_SERVICE_NAME says otherwise
	Version  string // service.version
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

// New starts exporting spans in batches to the collector. Call it only when Enabled says so.
func New(ctx context.Context, c Config) (*Tracing, error) {
	var opts []otlptracehttp.Option
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("--otlp-endpoint: %w", err)
		}
		// As OTEL_EXPORTER_OTLP_ENDPOINT: a base URL, under which traces go to /v1/traces.
		opts = append(opts, otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String()))
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
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
