package traces

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Export is where and how spans are sent: OTLP/HTTP with protobuf bodies, as --otlp-endpoint and
// the standard OTEL_EXPORTER_OTLP_* variables say.
//
// The upload is this package's own rather than otlptracehttp's: that exporter shares its
// configuration code with the gRPC one and links gRPC into every binary, 5.3 MB of the 6.2 MB that
// traces would otherwise add (BENCHMARKS.md). Everything else, the conversion of spans to OTLP
// included, is the OpenTelemetry SDK's (otlptrace.New with this as its Client).
type Export struct {
	URL     string        // where spans are POSTed: the endpoint with /v1/traces, or the traces endpoint as given
	Headers Headers       // sent with every export (a hosted collector's API key, say)
	Timeout time.Duration // bounds one export
	Gzip    bool          // compress the body
	CAFile  string        // PEM certificates to trust instead of the system's
}

// Headers are the headers of an export. They may hold credentials: printing them shows their names only.
type Headers map[string]string

func (h Headers) String() string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return "[" + strings.Join(names, " ") + "]"
}

// GoString is String, for %#v.
func (h Headers) GoString() string { return h.String() }

// The standard variables read, besides the endpoints (traces' own win over the general ones).
const (
	envHeaders           = "OTEL_EXPORTER_OTLP_HEADERS"
	envTracesHeaders     = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	envTimeout           = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envTracesTimeout     = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	envCompression       = "OTEL_EXPORTER_OTLP_COMPRESSION"
	envTracesCompression = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
	envCertificate       = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	envTracesCertificate = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"
)

// clientTLSVars are the standard variables of a client certificate, which the upload does not
// present: set, they are refused at start, not ignored (the collector would refuse every export).
var clientTLSVars = []string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"}

// defaultExportTimeout is OTLP's default for one export.
const defaultExportTimeout = 10 * time.Second

// ExportFrom reads where spans go from endpoint (--otlp-endpoint: a base URL, as
// OTEL_EXPORTER_OTLP_ENDPOINT) and the standard variables. on is false when traces are off: no
// endpoint anywhere, OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none. An error is a setting the
// server cannot honour, said at start rather than found in the first export.
func ExportFrom(endpoint string, getenv func(string) string) (e Export, on bool, err error) {
	traces := getenv(EnvTracesEndpoint)
	base := cmp(endpoint, getenv(EnvEndpoint))
	if (traces == "" && base == "") || strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv(EnvTracesExporter)), "none") {
		return Export{}, false, nil
	}
	for _, v := range []string{envTracesProtocol, envProtocol} {
		if p := getenv(v); p != "" && p != "http/protobuf" {
			return Export{}, false, fmt.Errorf("%s=%s: traces are exported over OTLP/HTTP with protobuf only; set http/protobuf and the collector's HTTP port (4318)", v, p)
		}
	}
	for _, v := range clientTLSVars {
		if getenv(v) != "" {
			return Export{}, false, fmt.Errorf("%s: traces are exported without a client certificate; unset it, or export through a collector that needs none", v)
		}
	}
	e = Export{URL: traces, Timeout: defaultExportTimeout}
	name := EnvTracesEndpoint
	if endpoint != "" || traces == "" {
		// A base URL: traces go to /v1/traces under it, whatever path it has.
		name = EnvEndpoint
		if endpoint != "" {
			name = "--otlp-endpoint"
		}
		if u, err := url.Parse(base); err == nil {
			e.URL = u.JoinPath("v1", "traces").String()
		}
	}
	if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Export{}, false, fmt.Errorf("%s: want the collector's OTLP/HTTP URL, e.g. http://otel-collector:4318", name)
	}
	e.Headers = parseHeaders(getenv(envHeaders))
	for k, v := range parseHeaders(getenv(envTracesHeaders)) {
		e.Headers[k] = v
	}
	if v := cmp(getenv(envTracesTimeout), getenv(envTimeout)); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return Export{}, false, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q: want milliseconds, e.g. 10000", v)
		}
		e.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch c := cmp(getenv(envTracesCompression), getenv(envCompression)); c {
	case "", "none":
	case "gzip":
		e.Gzip = true
	default:
		return Export{}, false, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION %q: want gzip or none", c)
	}
	e.CAFile = cmp(getenv(envTracesCertificate), getenv(envCertificate))
	return e, true, nil
}

// cmp is the first of a and b that is not empty.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseHeaders reads OTLP's header list, name=value pairs separated by commas, values
// percent-encoded. A pair without "=" is skipped, as the SDK's exporters skip it.
func parseHeaders(s string) Headers {
	h := Headers{}
	for pair := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		if v, err := url.PathUnescape(value); err == nil {
			value = v
		}
		h[name] = strings.TrimSpace(value)
	}
	return h
}

// uploader sends batches of spans to the collector, one POST each: the otlptrace.Client of the
// SDK's OTLP exporter.
type uploader struct {
	e     Export
	where string // the URL as errors say it: without a password it may carry
	http  *http.Client
}

func newUploader(e Export) (*uploader, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s: no PEM certificate in it", e.CAFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	where := e.URL
	if u, err := url.Parse(e.URL); err == nil {
		where = u.Redacted() // a collector's basic auth may be given in the endpoint's URL
	}
	return &uploader{e: e, where: where, http: &http.Client{Transport: t, Timeout: e.Timeout}}, nil
}

func (u *uploader) Start(context.Context) error { return nil }

func (u *uploader) Stop(context.Context) error {
	u.http.CloseIdleConnections()
	return nil
}

// UploadTraces POSTs one ExportTraceServiceRequest. Its one field is the repeated resource_spans
// (field 1), so the body is each ResourceSpans as that field; encoding it here spares linking the
// collector's service package, which brings gRPC.
func (u *uploader) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	var body []byte
	for _, rs := range spans {
		b, err := proto.Marshal(rs)
		if err != nil {
			return fmt.Errorf("encoding spans: %w", err)
		}
		body = protowire.AppendTag(body, 1, protowire.BytesType)
		body = protowire.AppendBytes(body, b)
	}
	if u.e.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compressing spans: %w", err)
		}
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("exporting spans: %w", err)
	}
	for k, v := range u.e.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if u.e.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := u.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is said once, below
		}
		return fmt.Errorf("exporting spans to %s: %w", u.where, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("exporting spans to %s: the collector answered %s", u.where, resp.Status)
	}
	return nil
}
