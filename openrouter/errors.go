package openrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
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

// MalformedCreateError is CreateKey's error when OpenRouter answered a create with success but the
// answer is not a well-formed created key (no data, a bad hash, a secret missing or not shaped like a
// key). OpenRouter may well have created the key, so it wraps ErrOutcomeUnknown (and
// ErrMalformedResponse): the caller should look for the key (GET /keys) before creating it again.
//
// Secret holds the answer's "key" field whenever it was a non-empty string, even when it does not
// look like a key, because it may be the only copy of a real secret: a caller that can store secrets
// should save it rather than lose it, and must not assume it works. Secret, like Key, never appears in
// Error().
type MalformedCreateError struct {
	Problem string // what was wrong, as a phrase; never quotes a value from the answer
	Hash    string // the new key's hash when the answer had a well-formed one, else ""
	Key     *Key   // the key object as decoded, possibly incomplete; nil when there was none
	Secret  Secret // the secret received, or "" when none came
}

func (e *MalformedCreateError) Error() string {
	var b strings.Builder
	b.WriteString(ErrMalformedResponse.Error())
	b.WriteString(" to a create: ")
	b.WriteString(e.Problem)
	b.WriteString("; ")
	b.WriteString(ErrOutcomeUnknown.Error())
	if e.Hash != "" {
		b.WriteString(": the key may exist, with hash " + e.Hash)
	} else {
		b.WriteString(": the key may exist")
	}
	if e.Secret != "" {
		b.WriteString(" (a secret came with the answer)")
	}
	return b.String()
}

// Unwrap makes errors.Is find ErrOutcomeUnknown and ErrMalformedResponse.
func (e *MalformedCreateError) Unwrap() []error {
	return []error{ErrOutcomeUnknown, ErrMalformedResponse}
}

// ForbiddenReason says why OpenRouter refused a request with 403. OpenRouter uses 403 for more than
// one thing, so the reason is read from its message; a caller must not explain every 403 as the
// wrong kind of key.
type ForbiddenReason int

// The reasons a 403 can have.
const (
	// ForbiddenOther is a 403 whose message names none of the reasons below: show OpenRouter's message.
	ForbiddenOther ForbiddenReason = iota
	// ForbiddenNotManagementKey: the endpoint needs a management key and got another kind
	// ("Only management keys can perform this operation").
	ForbiddenNotManagementKey
	// ForbiddenIPAllowlist: the account's IP allowlist does not include the caller's address. Another
	// key will not help; the address must be allowed.
	ForbiddenIPAllowlist
	// ForbiddenBudget: a spending budget or limit that applies to the key is used up; requests are
	// refused until it resets or is raised.
	ForbiddenBudget
)

var (
	managementWords = regexp.MustCompile(`(?i)\b(management|provisioning)\s+keys?\b`)
	allowlistWords  = regexp.MustCompile(`(?i)allow[ -]?list|white[ -]?list|\bip\b.*\b(allowed|permitted|blocked|denied|restrict)|\b(address|ip)\b.*\bnot\b.*\ballowed`)
	budgetWords     = regexp.MustCompile(`(?i)budget|spend(ing)?\s+limit|\blimit\b.*\b(exceeded|reached|exhausted)|\b(key|credit)\s+limit|insufficient\s+credits`)
)

// ForbiddenReason classifies a 403 by its message; it is ForbiddenOther for any other status.
func (e *APIError) ForbiddenReason() ForbiddenReason {
	if e.Status != http.StatusForbidden {
		return ForbiddenOther
	}
	// The allowlist first: its message may well mention the (management) key that was refused.
	switch {
	case allowlistWords.MatchString(e.Message):
		return ForbiddenIPAllowlist
	case managementWords.MatchString(e.Message):
		return ForbiddenNotManagementKey
	case budgetWords.MatchString(e.Message):
		return ForbiddenBudget
	}
	return ForbiddenOther
}

// Explain says in a sentence or two what the failure means and what would fix it, for the status, the
// endpoint and, where OpenRouter uses one status for several things (400, 403), its message. It ends
// with OpenRouter's own message, already cleaned and redacted.
func (e *APIError) Explain() string {
	said := fmt.Sprintf(" (OpenRouter said %d: %s)", e.Status, e.Message)
	key := strings.HasPrefix(e.Path, "/keys/")
	switch {
	case e.Status == http.StatusBadRequest && e.Method == http.MethodPatch && strings.Contains(strings.ToLower(e.Message), "no update fields"):
		return "The update named none of the fields OpenRouter can change (name, disabled, limit, limit_reset, " +
			"include_byok_in_limit, workspace_id), so nothing was changed" + said + "."
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity:
		return "OpenRouter refused the request as invalid" + said + ". Correct the arguments and try again."
	case e.Status == http.StatusUnauthorized:
		return "OpenRouter rejected the API key" + said + ": it is missing, invalid, disabled or expired. " +
			"Retrying will not help; a valid key must be configured."
	case e.Status == http.StatusForbidden:
		return e.explainForbidden(said)
	case e.Status == http.StatusNotFound && strings.HasPrefix(e.Path, "/workspaces/"):
		return "OpenRouter has no workspace with that id or slug in this account" + said + ". List the workspaces to find it."
	case e.Status == http.StatusNotFound && key:
		return "OpenRouter has no key with that hash" + said + ": it may have been deleted, or it belongs to another " +
			"workspace or account. List the keys (with disabled and expired ones, and the workspace) to find it."
	case e.Status == http.StatusNotFound:
		return "Nothing answers this request at the configured base URL" + said + ": the base URL may be wrong, or a " +
			"proxy or CDN in front of OpenRouter answered instead. Check the base URL; it should end in /api/v1."
	case e.Status == http.StatusConflict && e.Method == http.MethodPatch:
		return "OpenRouter refused the update because it conflicts with the key's current state or with another " +
			"change made at the same time" + said + ". Read the key again and decide whether the change is still needed " +
			"before repeating it."
	case e.Status == http.StatusConflict:
		return "OpenRouter refused the request because it conflicts with the current state" + said + ". Read the current state before trying again."
	case e.Status == http.StatusTooManyRequests:
		return "OpenRouter is rate limiting this key" + said + ". Wait" + e.waitText() + ", then try again."
	case e.Status >= 500:
		return "OpenRouter failed with a server error" + said + "; the problem is on its side. Wait" + e.waitText() + ", then try again."
	}
	return "OpenRouter refused the request" + said + "."
}

// explainForbidden explains a 403 from its message: only a message about management keys is
// explained as the wrong kind of key.
func (e *APIError) explainForbidden(said string) string {
	switch e.ForbiddenReason() {
	case ForbiddenNotManagementKey:
		return "The API key is not a management key, and only management keys can use this endpoint" + said +
			". Create a management key and configure it; GET /key works with any key and shows is_management_key."
	case ForbiddenIPAllowlist:
		return "The account's IP allowlist does not include the address this request came from" + said +
			". Another key will not help: allow this address in the account's security settings, or call from an allowed one."
	case ForbiddenBudget:
		return "A spending budget or limit that applies to this key is used up" + said + ". Requests are refused until " +
			"it resets or its limit is raised; GET /key lists the budget layers and which one is exhausted."
	}
	if e.Method == http.MethodPatch {
		return "OpenRouter does not allow this change" + said + ": the key used may lack the permission to change this " +
			"key or to move it to that workspace. Read OpenRouter's message; an account administrator may have to make the change."
	}
	return "OpenRouter refused the request as forbidden" + said + ". Read OpenRouter's message for why; it is not " +
		"necessarily the kind of key."
}

// waitText is " N seconds" when OpenRouter said how long to wait, else " a little".
func (e *APIError) waitText() string {
	if e.RetryAfter <= 0 {
		return " a little"
	}
	n := int64((e.RetryAfter + time.Second - 1) / time.Second)
	if n == 1 {
		return " 1 second"
	}
	return " " + strconv.FormatInt(n, 10) + " seconds"
}
