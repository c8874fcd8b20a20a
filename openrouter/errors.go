package openrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNoAPIKey is returned when a call has no key: none in its context and none configured.
var ErrNoAPIKey = errors.New("no OpenRouter API key configured")

// APIError is a failed response from OpenRouter: any status other than the endpoint's success status.
type APIError struct {
	Status     int           // HTTP status of the response
	Code       int           // error.code from the body; the status when the body has none
	Message    string        // error.message from the body, or a description of the body that was not one
	RetryAfter time.Duration // from Retry-After or retry-after-ms; 0 when absent
	Method     string        // the request's method
	Path       string        // the request's path below the base URL, e.g. /keys/{hash}
}

func (e *APIError) Error() string {
	return fmt.Sprintf("openrouter: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0 when there is none.
func StatusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}

// maxErrorMessage bounds the message kept from an error body: enough for any real OpenRouter message,
// short enough that a proxy's HTML page does not flood a log or a model's context.
const maxErrorMessage = 300

// newAPIError builds an *APIError from a failed response whose body has been read (up to the cap).
func newAPIError(resp *http.Response, body []byte, method, path string) *APIError {
	e := &APIError{
		Status:     resp.StatusCode,
		Code:       resp.StatusCode,
		RetryAfter: retryAfter(resp.Header, time.Now()),
		Method:     method,
		Path:       path,
	}
	var env struct {
		Error *struct {
			Code    json.RawMessage `json:"code"` // a number, but anything else must not lose the message
			Message string          `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Message != "" {
		var code int
		if json.Unmarshal(env.Error.Code, &code) == nil && code > 0 {
			e.Code = code
		}
		e.Message = cleanMessage(env.Error.Message)
		return e
	}
	e.Message = describeBody(resp, body)
	return e
}

// describeBody says what came back when the body is not OpenRouter's error envelope, as happens when a
// proxy or CDN answers instead of OpenRouter.
func describeBody(resp *http.Response, body []byte) string {
	text := http.StatusText(resp.StatusCode)
	if text == "" {
		text = "unexpected status"
	}
	trimmed := strings.TrimSpace(string(body))
	ct := resp.Header.Get("Content-Type")
	switch {
	case trimmed == "":
		return text + " (empty response body)"
	case strings.Contains(ct, "html") || strings.HasPrefix(trimmed, "<"):
		return text + " (an HTML page, not an OpenRouter error: a proxy or CDN may have answered)"
	default:
		return text + ": " + cleanMessage(trimmed)
	}
}

// cleanMessage makes text from a response safe to show: one line, no control characters, bounded in
// length, and no key-shaped strings.
func cleanMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return Redact(s)
}

// maxRetryAfter bounds a server's request to wait, so that an absurd header cannot overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads how long the server asked us to wait: retry-after-ms (milliseconds), else
// Retry-After as seconds or an HTTP date. It returns 0 when neither is present or usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		var ms float64
		if _, err := fmt.Sscanf(v, "%g", &ms); err == nil && ms > 0 {
			return min(time.Duration(min(ms, float64(maxRetryAfter/time.Millisecond))*float64(time.Millisecond)), maxRetryAfter)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs > 0 {
			return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
