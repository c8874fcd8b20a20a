package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/metrics"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// serverMetrics is the metrics of an HTTP server: nil when --metrics-addr is not set, and then every
// method below does nothing.
type serverMetrics struct{ m *metrics.Metrics }

// serveMetrics serves the metrics on their own listener when --metrics-addr is set, until ctx ends;
// it returns them and their URL ("" when off).
func serveMetrics(ctx context.Context, cfg config, logger zerolog.Logger) (*serverMetrics, string, error) {
	if cfg.metricsAddr == "" {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		return nil, "", fmt.Errorf("--metrics-addr: %w", err)
	}
	m := metrics.New(tools.Names())
	go func() {
		if err := m.Serve(ctx, ln); err != nil {
			logger.Error().Err(err).Msg("the metrics listener stopped; metrics are no longer served")
		}
	}()
	return &serverMetrics{m}, "http://" + ln.Addr().String() + "/metrics", nil
}

// observeClient has the OpenRouter client report its requests and retries.
func (sm *serverMetrics) observeClient(o *openrouter.Options) {
	if sm == nil {
		return
	}
	o.OnAttempt = sm.m.Upstream
	logRetry := o.Retry.OnRetry
	o.Retry.OnRetry = func(ctx context.Context, ev openrouter.RetryEvent) {
		sm.m.Retry(ev.Method, ev.Path)
		if logRetry != nil {
			logRetry(ctx, ev)
		}
	}
}

func (sm *serverMetrics) toolMiddleware() server.ToolHandlerMiddleware {
	if sm == nil {
		return nil
	}
	return sm.m.ToolMiddleware()
}

// onConfirm counts the questions the tools put to users and what came of them.
func (sm *serverMetrics) onConfirm() func(tool string, step tools.ConfirmStep) {
	if sm == nil {
		return nil
	}
	return func(tool string, step tools.ConfirmStep) { sm.m.Confirmation(tool, string(step)) }
}

// onPolicyRefusal counts the calls the server's policy refused.
func (sm *serverMetrics) onPolicyRefusal() func(tool string) {
	if sm == nil {
		return nil
	}
	return func(string) { sm.m.PolicyRefusal() }
}

func (sm *serverMetrics) onRequest() func(method, tool string, status int, refusal string, took time.Duration) {
	if sm == nil {
		return nil
	}
	return sm.m.Request
}
