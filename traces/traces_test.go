package traces

import (
	"strings"
	"testing"
)

// TestEnabled: traces are on only when an endpoint is given, by flag or by a standard variable, and
// the standard switches turn them off; a setting the server cannot honour is refused at start.
func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		name     string
		endpoint string
		env      map[string]string
		on       bool
		err      string
	}{
		{name: "nothing set"},
		{name: "flag", endpoint: "http://collector:4318", on: true},
		{name: "OTEL endpoint", env: map[string]string{EnvEndpoint: "http://collector:4318"}, on: true},
		{name: "OTEL traces endpoint", env: map[string]string{EnvTracesEndpoint: "http://collector:4318/v1/traces"}, on: true},
		{name: "SDK disabled", endpoint: "http://collector:4318", env: map[string]string{EnvSDKDisabled: "TRUE"}},
		{name: "exporter none", env: map[string]string{EnvEndpoint: "http://c:4318", EnvTracesExporter: "none"}},
		{name: "SDK disabled false", endpoint: "http://collector:4318", env: map[string]string{EnvSDKDisabled: "false"}, on: true},
		{name: "gRPC", endpoint: "http://collector:4317", env: map[string]string{envProtocol: "grpc"}, err: "OTLP/HTTP only"},
		{name: "gRPC but off", env: map[string]string{envProtocol: "grpc"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			on, err := Enabled(c.endpoint, func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v; want one that says %q", err, c.err)
				}
				return
			}
			if err != nil || on != c.on {
				t.Errorf("Enabled = %v, %v; want %v", on, err, c.on)
			}
		})
	}
}
