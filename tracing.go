package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
	"github.com/orkeys/openrouter-keys-mcp/traces"
)

// startTraces starts exporting traces when the configuration turns them on (--otlp-endpoint or the
// OTEL_* variables); nil when it does not, and then nothing of tracing runs.
func startTraces(ctx context.Context, cfg config, logger zerolog.Logger) (*traces.Tracing, error) {
	if !cfg.tracing {
		return nil, nil
	}
	return traces.New(ctx, traces.Config{
		Export:   cfg.traceExport,
		Service:  name,
		Version:  versionString(),
		Tools:    tools.Names(),
		IsSecret: func(s string) bool { return openrouter.LooksLikeSecret(s) || cfg.isAccessToken(s) },
		Logger:   logger,
	})
}

// traceClient has the OpenRouter client open a span for each request it sends, when t traces.
func traceClient(t *traces.Tracing) func(*openrouter.Options) {
	return func(o *openrouter.Options) {
		if t != nil {
			o.OnSend = t.OnSend
		}
	}
}

// stopTraces exports the spans still buffered; a failure is logged, since the server has stopped.
func stopTraces(ctx context.Context, t *traces.Tracing, logger zerolog.Logger) {
	if err := t.Shutdown(ctx); err != nil {
		logger.Warn().Err(err).Msg("some traces were not exported before the server stopped")
	}
}
