// Package metrics counts what an operator alerts on, in Prometheus text format, named by the
// OpenTelemetry semantic conventions for MCP (mcp.server.operation.duration becomes
// mcp_server_operation_duration_seconds, as OpenTelemetry's own Prometheus exporter names it). It uses
// prometheus/client_golang rather than the OpenTelemetry SDK with its Prometheus exporter: the
// exporter is built on client_golang anyway, and the SDK would add its own packages to the binary
// and to start-up for the same text on the wire.
//
// No label carries a secret, a key's name or hash, or text a caller chooses freely: tool names are
// the server's own (anything else is "other"), methods are MCP's (anything else is "other"),
// endpoints are OpenRouter's path templates, statuses are numbers.
package metrics

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the server's instruments and the registry they are served from.
type Metrics struct {
	reg        *prometheus.Registry
	tools      []string
	operations *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	refusals   *prometheus.CounterVec
	upstream   *prometheus.HistogramVec
	retries    *prometheus.CounterVec
	asked      *prometheus.CounterVec
	answers    *prometheus.CounterVec
}

// New returns the instruments, registered; tools are the tool names a label may hold.
func New(tools []string) *Metrics {
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		tools: tools,
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_server_operation_duration_seconds",
			Help:    "MCP requests served over HTTP, by method, tool and error type (empty when it succeeded).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"mcp_method_name", "gen_ai_tool_name", "error_type"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcp_server_requests_in_flight",
			Help: "MCP requests being served now.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_server_refusals_total",
			Help: "Requests refused before MCP served them, by reason: auth, origin, rate, size, draining; and tool calls refused by the server's policy: policy, or for want of the user's agreement: confirmation.",
		}, []string{"reason"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openrouter_request_duration_seconds",
			Help:    "Requests to OpenRouter (each attempt), by method, endpoint template and status (\"error\" when no answer came).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"http_request_method", "endpoint", "http_response_status_code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openrouter_retries_total",
			Help: "Requests to OpenRouter tried again, by method and endpoint template.",
		}, []string{"http_request_method", "endpoint"}),
		asked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_server_confirmations_asked_total",
			Help: "Questions put to the user before a destructive call, by tool.",
		}, []string{"gen_ai_tool_name"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_server_confirmation_outcomes_total",
			Help: "What came of the questions put to the user, by tool and outcome: accepted, declined (a no, or the question dismissed), unanswered (no answer in time), invalid (an answer to another call, used before, or about the key as it no longer is).",
		}, []string{"gen_ai_tool_name", "outcome"}),
	}
	m.reg.MustRegister(m.operations, m.inFlight, m.refusals, m.upstream, m.retries, m.asked, m.answers)
	return m
}

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Serve serves the metrics at /metrics on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// methods are the MCP methods a label may hold.
var methods = []string{string(mcp.MethodInitialize), string(mcp.MethodPing), string(mcp.MethodToolsList),
	string(mcp.MethodToolsCall), "notifications/initialized", "notifications/cancelled"}

// Request records one HTTP request to /mcp, once it is answered: its MCP method and tool (as the
// front door read them; "" when it had none) and its status. Statuses the front door refuses with
// count as refusals, as does a call it refused with a tool result (refusal is then its reason); the
// rest count as operations, with the HTTP status as the error type when it failed.
func (m *Metrics) Request(method, tool string, status int, refusal string, took time.Duration) {
	if reason := cmp.Or(refusal, refusalOf(status)); reason != "" {
		m.refusals.WithLabelValues(reason).Inc()
		return
	}
	if method == string(mcp.MethodToolsCall) {
		return // tools/call is recorded by the tool middleware, which sees the result
	}
	errType := ""
	if status >= 400 {
		errType = strconv.Itoa(status)
	}
	m.operations.WithLabelValues(m.method(method), "", errType).Observe(took.Seconds())
}

// refusalOf is the reason a front-door status stands for; "" for an answer MCP gave.
func refusalOf(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "auth"
	case http.StatusForbidden:
		return "origin"
	case http.StatusTooManyRequests:
		return "rate"
	case http.StatusRequestEntityTooLarge, http.StatusRequestTimeout:
		return "size"
	case http.StatusServiceUnavailable:
		return "draining"
	}
	return ""
}

func (m *Metrics) method(s string) string {
	if slices.Contains(methods, s) {
		return s
	}
	if s == "" {
		return "none"
	}
	return "other"
}

// ToolMiddleware times every tools/call and counts it in flight; error_type is "tool_error" for an
// error result the model reads (a refusal by policy, a declined confirmation, a 404) and
// "_OTHER" for a failure of the call itself.
func (m *Metrics) ToolMiddleware() server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			start := time.Now()
			res, err := next(ctx, req)
			errType := ""
			switch {
			case err != nil:
				errType = "_OTHER"
			case res != nil && res.IsError:
				errType = "tool_error"
			}
			m.operations.WithLabelValues(string(mcp.MethodToolsCall), m.tool(req.Params.Name), errType).Observe(time.Since(start).Seconds())
			return res, err
		}
	}
}

// tool is a tool's name as a label holds it: the server's own, or "other".
func (m *Metrics) tool(name string) string {
	if slices.Contains(m.tools, name) {
		return name
	}
	return "other"
}

// Confirmation records a step of a confirmation of a call to tool: "asked", or what came of the
// question (an outcome). A call whose user did not agree (any outcome but "accepted") is refused
// for the reason "confirmation" too.
func (m *Metrics) Confirmation(tool, step string) {
	if step == "asked" {
		m.asked.WithLabelValues(m.tool(tool)).Inc()
		return
	}
	m.answers.WithLabelValues(m.tool(tool), step).Inc()
	if step != "accepted" {
		m.refusals.WithLabelValues("confirmation").Inc()
	}
}

// PolicyRefusal records a call that the server's policy refused.
func (m *Metrics) PolicyRefusal() {
	m.refusals.WithLabelValues("policy").Inc()
}

// Upstream records one attempt of a request to OpenRouter; status 0 is an attempt that got no answer.
func (m *Metrics) Upstream(method, endpoint string, status int, took time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.upstream.WithLabelValues(method, endpoint, code).Observe(took.Seconds())
}

// Retry records a request to OpenRouter about to be tried again.
func (m *Metrics) Retry(method, endpoint string) {
	m.retries.WithLabelValues(method, endpoint).Inc()
}
