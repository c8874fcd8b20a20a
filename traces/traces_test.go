package traces

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestExportFrom: traces are on only when an endpoint is given, by flag or by a standard variable, and
// the standard switches turn them off; the exporter's settings come from the standard variables; a
// setting the server cannot honour is refused at start.
func TestExportFrom(t *testing.T) {
	for _, c := range []struct {
		name     string
		endpoint string
		env      map[string]string
		on       bool
		url      string
		err      string
	}{
		{name: "nothing set"},
		{name: "flag", endpoint: "http://collector:4318", on: true, url: "http://collector:4318/v1/traces"},
		{name: "flag over the variables", endpoint: "https://a:4318/otlp", env: map[string]string{EnvEndpoint: "http://b:4318", EnvTracesEndpoint: "http://c/x"},
			on: true, url: "https://a:4318/otlp/v1/traces"},
		{name: "OTEL endpoint", env: map[string]string{EnvEndpoint: "http://collector:4318"}, on: true, url: "http://collector:4318/v1/traces"},
		{name: "OTEL traces endpoint, as given", env: map[string]string{EnvEndpoint: "http://b:4318", EnvTracesEndpoint: "http://collector:4318/custom"},
			on: true, url: "http://collector:4318/custom"},
		{name: "SDK disabled", endpoint: "http://collector:4318", env: map[string]string{EnvSDKDisabled: "TRUE"}},
		{name: "exporter none", env: map[string]string{EnvEndpoint: "http://c:4318", EnvTracesExporter: "none"}},
		{name: "SDK disabled false", endpoint: "http://collector:4318", env: map[string]string{EnvSDKDisabled: "false"}, on: true, url: "http://collector:4318/v1/traces"},
		{name: "gRPC", endpoint: "http://collector:4317", env: map[string]string{envProtocol: "grpc"}, err: "OTLP/HTTP with protobuf only"},
		{name: "gRPC but off", env: map[string]string{envProtocol: "grpc"}},
		{name: "traces endpoint not a URL", env: map[string]string{EnvTracesEndpoint: "collector:4318"}, err: EnvTracesEndpoint + ": want"},
		{name: "bad timeout", endpoint: "http://c:4318", env: map[string]string{envTimeout: "10s"}, err: "want milliseconds"},
		{name: "bad compression", endpoint: "http://c:4318", env: map[string]string{envCompression: "zstd"}, err: "want gzip or none"},
		{name: "client certificate", endpoint: "http://c:4318", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": "/etc/tls/client.pem"},
			err: "without a client certificate"},
		{name: "client certificate but off", env: map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_KEY": "/etc/tls/client.key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, on, err := ExportFrom(c.endpoint, func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v; want one that says %q", err, c.err)
				}
				return
			}
			if err != nil || on != c.on || e.URL != c.url {
				t.Errorf("ExportFrom = %q, %v, %v; want %q, %v", e.URL, on, err, c.url, c.on)
			}
		})
	}
}

// TestExportSettings: headers (traces' own over the general ones, values percent-decoded), timeout
// and compression from the standard variables; printing the settings never shows a header's value.
func TestExportSettings(t *testing.T) {
	env := map[string]string{
		EnvEndpoint:      "http://c:4318",
		envHeaders:       "api-key=general,x-team=keys",
		envTracesHeaders: "api-key=s3cr%3Dt , broken",
		envTracesTimeout: "2500",
		envCompression:   "gzip",
	}
	e, on, err := ExportFrom("", func(k string) string { return env[k] })
	if err != nil || !on {
		t.Fatal(on, err)
	}
	if e.Headers["api-key"] != "s3cr=t" || e.Headers["x-team"] != "keys" || len(e.Headers) != 2 {
		t.Errorf("headers %#v", map[string]string(e.Headers))
	}
	if e.Timeout != 2500*time.Millisecond || !e.Gzip {
		t.Errorf("timeout %s, gzip %v", e.Timeout, e.Gzip)
	}
	for _, printed := range []string{fmt.Sprint(e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
		if strings.Contains(printed, "s3cr") {
			t.Errorf("a header's value was printed: %s", printed)
		}
	}
}

// TestExportErrorsHideTheEndpointsPassword: a collector's basic auth given in the endpoint's URL
// reaches the collector but never the errors, which the server logs.
func TestExportErrorsHideTheEndpointsPassword(t *testing.T) {
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	base.User = url.UserPassword("team", "s3cret")
	e, on, err := ExportFrom(base.String(), func(string) string { return "" })
	if err != nil || !on {
		t.Fatal(on, err)
	}
	u, err := newUploader(e)
	if err != nil {
		t.Fatal(err)
	}
	answered := u.UploadTraces(context.Background(), nil)
	if answered == nil || user != "team" || pass != "s3cret" {
		t.Fatalf("the collector's answer: %v, with basic auth %q %q", answered, user, pass)
	}
	srv.Close()
	unreached := u.UploadTraces(context.Background(), nil)
	for _, err := range []error{answered, unreached} {
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("an export error shows the endpoint's password: %v", err)
		}
	}
}
