package openrouter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// responseSeed is one seed of FuzzResponse, as kept in testdata/fuzz/responses/*.json.
type responseSeed struct {
	Status       int    `json:"status"`
	ContentType  string `json:"content_type"`
	RetryAfter   string `json:"retry_after"`
	RetryAfterMs string `json:"retry_after_ms"`
	Body         string `json:"body"`
}

// responseSeedDir holds the seeds: answers seen from OpenRouter, its CDN and proxies, and the sandbox.
const responseSeedDir = "../testdata/fuzz/responses"

// anyKeyShape finds key-shaped strings in a fuzzer's body, the way the client's redaction sees them.
var anyKeyShape = regexp.MustCompile(`sk-or-[A-Za-z0-9]+-[A-Za-z0-9]{8,}`)

// replay answers every request with one response, without a network.
type replay struct {
	status int
	header http.Header
	body   []byte
}

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: r.status, Status: http.StatusText(r.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: r.header.Clone(), Body: io.NopCloser(bytes.NewReader(r.body)), ContentLength: -1, Request: req,
	}, nil
}

// FuzzResponse feeds every endpoint of the client an arbitrary answer (status, Content-Type,
// Retry-After, retry-after-ms, body) and checks what comes back: no panic; an error that is an
// *APIError with the answer's status exactly when the status is not 2xx; an error message of bounded
// size that never holds a key-shaped string; ErrOutcomeUnknown only on a create; a created key always
// with its hash and secret.
func FuzzResponse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(responseSeedDir, "*.json"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in %s: %v", responseSeedDir, err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var s responseSeed
		if err := json.Unmarshal(b, &s); err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		f.Add(s.Status, s.ContentType, s.RetryAfter, s.RetryAfterMs, []byte(s.Body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter, retryAfterMs string, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		h := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "Retry-After": retryAfter, "retry-after-ms": retryAfterMs} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		// Waits take no time but pass on the policy's clock, so that a 429's hold on the key (the
		// breaker, on that clock) ends as it would: with a wall clock, a held call would retry until its
		// deadline, 10 s for every seed that answers 429.
		var clockMu sync.Mutex
		now := time.Now()
		clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
		sleep := func(ctx context.Context, d time.Duration) error {
			clockMu.Lock()
			now = now.Add(d)
			clockMu.Unlock()
			return ctx.Err()
		}
		c, err := openrouter.New(openrouter.Options{BaseURL: "https://openrouter.invalid/api/v1", APIKey: testKey,
			HTTPClient: &http.Client{Transport: replay{status, h, body}},
			// Two attempts: the retry path runs (with the answer's Retry-After), without four times the cost.
			Retry: openrouter.RetryPolicy{Sleep: sleep, Now: clock, MaxAttempts: 2}})
		if err != nil {
			t.Fatal(err)
		}
		secrets := anyKeyShape.FindAllString(string(body), -1)
		for _, call := range everyCall(stubHash) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var err error
			if call.name == "CreateKey" {
				var ck *openrouter.CreatedKey
				ck, err = c.CreateKey(ctx, openrouter.CreateKeyRequest{Name: "fuzz"})
				if err == nil && (ck == nil || ck.Key.Hash == "" || ck.Secret == "") {
					t.Errorf("CreateKey succeeded without a hash or a secret: %+v", ck)
				}
			} else {
				err = call.do(ctx, c)
			}
			cancel()
			if err == nil {
				if status < 200 || status > 299 {
					t.Errorf("%s succeeded on a %d", call.name, status)
				}
				continue
			}
			msg := err.Error()
			if got := openrouter.StatusOf(err); (status < 200 || status > 299) != (got == status) {
				t.Errorf("%s: StatusOf = %d on a %d answer (%v)", call.name, got, status, err)
			}
			if len(msg) > 1500 {
				t.Errorf("%s: a %d-byte error message", call.name, len(msg))
			}
			if openrouter.LooksLikeSecret(msg) || strings.Contains(msg, testKeyHex) {
				t.Errorf("%s: the error holds a key-shaped string: %q", call.name, msg)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("%s: the error repeats a key from the body: %q", call.name, msg)
				}
			}
			if errors.Is(err, openrouter.ErrOutcomeUnknown) && call.name != "CreateKey" {
				t.Errorf("%s: ErrOutcomeUnknown on a call that creates nothing: %v", call.name, err)
			}
		}
	})
}
