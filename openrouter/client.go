// Package openrouter is a small client for OpenRouter's API-key management endpoints: one method per
// endpoint, typed requests and responses, and *APIError for every failed response. It knows nothing of
// MCP. The key used for a call comes from the call's context (WithAPIKey) when there is one, else from
// the client's configuration, so one client can serve many callers with their own keys. Failed calls
// are retried by one policy (RetryPolicy, in retry.go) that never repeats a create that may have
// reached OpenRouter, within a time budget that keeps a call under an MCP host's tool-call timeout.
package openrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is OpenRouter's API base.
const DefaultBaseURL = "https://openrouter.ai/api/v1"

// MaxResponseBytes caps how much of a response body is read. A full page of 100 keys is about 80 KB;
// anything near the cap is not an answer from OpenRouter's key API.
const MaxResponseBytes = 4 << 20

// DefaultTimeout bounds one attempt of a request. A call may make several attempts, all within its
// retry budget (DefaultBudget), which is what keeps it under the tens of seconds after which MCP hosts
// give up on a tool call; a per-attempt limit of half the budget leaves room for one retry after an
// attempt that hung.
const DefaultTimeout = 10 * time.Second

// ErrInvalidHash is returned, before anything is sent, for a hash that is not 64 hex characters.
var ErrInvalidHash = errors.New("invalid key hash: want the 64 hex characters of the key's hash field")

// ErrMalformedResponse marks a success status whose body is not what the endpoint documents: not
// JSON, a required field missing, a hash that is not a hash. Nothing in such an answer is trusted.
var ErrMalformedResponse = errors.New("unexpected response from OpenRouter")

// ErrOutcomeUnknown marks a create whose request may have reached OpenRouter although no answer came
// back (a dropped connection, a timeout, an unreadable body): the key may exist, so blindly trying
// again could make a second one.
var ErrOutcomeUnknown = errors.New("the request may have been carried out")

// ValidHash reports whether s has the shape of a key hash, HashPattern: 64 lowercase hex characters.
// It matches by hand rather than with the pattern's regexp, which costs about a microsecond a key on
// every page of 100 that ListKeys checks; TestHashPattern holds the two together.
func ValidHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Options configure a Client. The zero value talks to OpenRouter with no key of its own.
type Options struct {
	BaseURL    string        // API base; DefaultBaseURL when empty
	APIKey     Secret        // used when a call's context carries no key
	HTTPClient *http.Client  // nil: a client with a tuned, shared transport
	UserAgent  string        // sent on every request; "openrouter-keys-mcp" when empty
	Timeout    time.Duration // per attempt; DefaultTimeout when zero (the whole call is bounded by Retry.Budget)
	Retry      RetryPolicy   // when and how failed calls are tried again; the zero value is the default policy
	// OnAttempt, when set, is told of every request sent to OpenRouter (each attempt of a call): its
	// method, endpoint template, status (0 when no answer came) and duration. Must not block.
	OnAttempt func(method, endpoint string, status int, took time.Duration)
	// OnSend, when set, is handed each request to OpenRouter just before it leaves (each attempt the
	// breaker lets through), with its endpoint template and how many times the call sent it before
	// (0 the first time). It may add headers (a trace context) but must not read or keep the
	// Authorization header. The function it returns, when not nil, is called once the attempt ends,
	// answer read, with the status OpenRouter answered (0 when none came) and the attempt's error.
	OnSend func(req *http.Request, endpoint string, resend int) (done func(status int, err error))
	// ControlsTTL is how long an answer of the lists beside the keys (guardrails, their assignments,
	// members, BYOK credentials, workspaces) is reused for the same upstream key (readcache.go); 0
	// reads them anew every time. The server uses DefaultControlsTTL.
	ControlsTTL time.Duration
}

// Client calls OpenRouter's key-management API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       Secret
	http      *http.Client
	userAgent string
	timeout   time.Duration
	retry     RetryPolicy
	limited   *breaker   // keys OpenRouter is rate limiting
	lanes     lanes      // the page requests in flight per key, for WalkPages
	cache     *readCache // recent answers of the controls' lists, by key
	onAttempt func(method, endpoint string, status int, took time.Duration)
	onSend    func(req *http.Request, endpoint string, resend int) func(status int, err error)
}

// New returns a Client, or an error when the base URL is not an absolute http(s) URL.
func New(o Options) (*Client, error) {
	raw := o.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("base URL %s: not a URL; want an absolute http or https URL such as %s", showURL(raw), DefaultBaseURL)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base URL %q: want an absolute http or https URL such as %s", base.Redacted(), DefaultBaseURL)
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: must not carry credentials, a query or a fragment", base.Redacted())
	}
	c := &Client{base: base, key: o.APIKey, http: o.HTTPClient, userAgent: o.UserAgent, timeout: o.Timeout,
		retry: o.Retry.withDefaults()}
	c.limited = newBreaker(c.retry.Now)
	c.onAttempt, c.onSend = o.OnAttempt, o.OnSend
	c.cache = newReadCache(o.ControlsTTL)
	if c.http == nil {
		c.http = &http.Client{Transport: newTransport()}
	}
	c.http = withRedirectGuard(c.http, base)
	if c.userAgent == "" {
		c.userAgent = "openrouter-keys-mcp"
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// showURL quotes a URL that did not parse, unless it may hold credentials.
func showURL(raw string) string {
	if strings.Contains(raw, "@") || LooksLikeSecret(raw) {
		return "(not shown: it may contain credentials)"
	}
	return strconv.Quote(raw)
}

// newTransport is the one connection pool all calls share: keep-alive and HTTP/2 where offered.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// As many idle connections as the HTTP transport serves calls at once (--max-in-flight, 64), so a
	// burst does not end in closed sockets in TIME_WAIT and new handshakes for the next one.
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// String describes the client without its key, so that printing one never shows the key.
func (c *Client) String() string { return "openrouter.Client{" + c.base.String() + "}" }

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// BaseURL returns the API base the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

type ctxKey struct{}

// WithAPIKey returns a context whose calls use key instead of the client's configured key.
func WithAPIKey(ctx context.Context, key Secret) context.Context {
	return context.WithValue(ctx, ctxKey{}, key)
}

// HasAPIKey reports whether a call made with ctx would have a key to send.
func (c *Client) HasAPIKey(ctx context.Context) bool { return c.keyFor(ctx) != "" }

func (c *Client) keyFor(ctx context.Context) Secret {
	if k, ok := ctx.Value(ctxKey{}).(Secret); ok && k != "" {
		return k
	}
	return c.key
}

// ListKeys returns one page (at most PageSize keys, newest first) of the keys of a workspace.
func (c *Client) ListKeys(ctx context.Context, p ListKeysParams) ([]Key, error) {
	q := url.Values{}
	if p.Offset != nil {
		q.Set("offset", strconv.Itoa(*p.Offset))
	}
	if p.IncludeDisabled {
		q.Set("include_disabled", "true")
	}
	if p.WorkspaceID != "" {
		q.Set("workspace_id", p.WorkspaceID)
	}
	if p.IncludeExpired {
		q.Set("include_expired", "true")
	}
	keys, err := data[[]Key](ctx, c, http.MethodGet, "/keys", q, nil)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for i := range *keys {
		if err := validateKey(&(*keys)[i]); err != nil {
			return nil, fmt.Errorf("list keys: key %d of the page: %w", i+1, err)
		}
	}
	return *keys, nil
}

// CreateKey creates a key and returns it with its secret, which OpenRouter shows this once only.
// An error wrapping ErrOutcomeUnknown means the key may exist anyway. When OpenRouter answered with
// success but the answer is not a well-formed created key, the error is a *MalformedCreateError (which
// wraps ErrOutcomeUnknown and ErrMalformedResponse) holding whatever secret came with it.
func (c *Client) CreateKey(ctx context.Context, r CreateKeyRequest) (*CreatedKey, error) {
	// Both fields stay raw, so that a malformed data object cannot cost the secret beside it.
	var out struct {
		Data json.RawMessage `json:"data"`
		Key  json.RawMessage `json:"key"`
	}
	if err := c.do(ctx, http.MethodPost, "/keys", nil, r, &out); err != nil {
		// A 5xx from a gateway or a dropped answer can follow a create that was carried out.
		var apiErr *APIError
		isAPIErr := errors.As(err, &apiErr)
		if (isAPIErr && apiErr.Status >= 500) ||
			(!isAPIErr && !errors.Is(err, ErrNoAPIKey) && !errors.As(err, new(notSentError))) {
			err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		return nil, fmt.Errorf("create key: %w", err)
	}
	ck, err := parseCreated(out.Data, out.Key)
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return ck, nil
}

// parseCreated checks a 2xx answer to POST /keys: a well-formed key in data and a key-shaped secret
// in key. Anything less is a *MalformedCreateError that keeps what could be read.
func parseCreated(data, key json.RawMessage) (*CreatedKey, error) {
	e := &MalformedCreateError{}
	var secret string
	if !isAbsent(key) && json.Unmarshal(key, &secret) == nil {
		e.Secret = Secret(secret)
	}
	var k Key
	switch {
	case isAbsent(data):
		e.Problem = `no "data" field`
	case json.Unmarshal(data, &k) != nil:
		e.Problem = `its "data" field is not a key object`
		// A field of the wrong type must not hide the hash, which is how the key can be found again.
		var id struct {
			Hash string `json:"hash"`
		}
		if json.Unmarshal(data, &id) == nil && ValidHash(id.Hash) {
			e.Hash = id.Hash
		}
	default:
		e.Key = &k
		if ValidHash(k.Hash) {
			e.Hash = k.Hash
		}
		if err := checkKey(&k); err != "" {
			e.Problem = err
		}
	}
	switch {
	case e.Problem != "":
	case isAbsent(key):
		e.Problem = `no "key" field (the new key's secret)`
	case secret == "" || !LooksLikeSecret(secret):
		e.Problem = `its "key" field is not shaped like an OpenRouter key`
	}
	if e.Problem != "" {
		return nil, e
	}
	return &CreatedKey{Key: k, Secret: Secret(secret)}, nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), jsonNull)
}

// GetKey returns the key with the given hash.
func (c *Client) GetKey(ctx context.Context, hash string) (*Key, error) {
	k, err := c.keyCall(ctx, http.MethodGet, hash, nil)
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	return k, nil
}

// UpdateKey changes the fields set in r and returns the key as it is afterwards.
func (c *Client) UpdateKey(ctx context.Context, hash string, r UpdateKeyRequest) (*Key, error) {
	k, err := c.keyCall(ctx, http.MethodPatch, hash, r)
	if err != nil {
		return nil, fmt.Errorf("update key: %w", err)
	}
	return k, nil
}

// DeleteKey deletes the key with the given hash. It cannot be undone. When an attempt's answer is lost
// and the retry finds no key (404), the key is taken as deleted by the lost attempt: it is gone either
// way.
func (c *Client) DeleteKey(ctx context.Context, hash string) error {
	if !ValidHash(hash) {
		return fmt.Errorf("delete key: %w", ErrInvalidHash)
	}
	var out struct {
		Deleted *bool `json:"deleted"`
	}
	err := c.do(ctx, http.MethodDelete, "/keys/"+url.PathEscape(hash), nil, nil, &out)
	if errors.Is(err, errGoneAfterLostAnswer) {
		// An earlier attempt's answer was lost, and the retry found no key: the first one deleted it.
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	if out.Deleted == nil || !*out.Deleted {
		return fmt.Errorf("delete key: %w", errMissing("deleted: true"))
	}
	return nil
}

// CurrentKey describes the key the call is made with. Any valid key may call it, not only a
// management key, which makes it the way to check a key.
func (c *Client) CurrentKey(ctx context.Context) (*CurrentKey, error) {
	k, err := data[CurrentKey](ctx, c, http.MethodGet, "/key", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("current key: %w", err)
	}
	return k, nil
}

// keyCall is GET or PATCH on /keys/{hash}, both of which answer {"data": Key}.
func (c *Client) keyCall(ctx context.Context, method, hash string, body any) (*Key, error) {
	if !ValidHash(hash) {
		return nil, ErrInvalidHash
	}
	k, err := data[Key](ctx, c, method, "/keys/"+url.PathEscape(hash), nil, body)
	if err != nil {
		return nil, err
	}
	if err := validateKey(k); err != nil {
		return nil, err
	}
	return k, nil
}

// data makes a call whose answer is {"data": T}, as every endpoint's but DELETE's is, and returns
// what data holds; an answer without it (or with null) is malformed.
func data[T any](ctx context.Context, c *Client, method, path string, q url.Values, body any) (*T, error) {
	var out struct {
		Data *T `json:"data"`
	}
	if err := c.do(ctx, method, path, q, body, &out); err != nil {
		return nil, err
	}
	if out.Data == nil {
		return nil, errMissing("data")
	}
	return out.Data, nil
}

// notSentError marks a failure that happened before any byte left for OpenRouter, so nothing can
// have been carried out.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }

func notSent(format string, a ...any) error { return notSentError{fmt.Errorf(format, a...)} }

func errMissing(field string) error {
	return fmt.Errorf("%w: no %q field", ErrMalformedResponse, field)
}

// validateKey checks a key object from OpenRouter before anyone relies on it: a hash that can name
// the key in later calls, and the fields without which it cannot be shown or placed. Other fields
// may legitimately be zero, so their absence cannot be told and is not checked.
func validateKey(k *Key) error {
	if p := checkKey(k); p != "" {
		return fmt.Errorf("%w: %s", ErrMalformedResponse, p)
	}
	return nil
}

// checkKey is validateKey's finding, as a phrase; "" when the key is well-formed. It never repeats a
// value, which could be anything, a secret included.
func checkKey(k *Key) string {
	switch {
	case !ValidHash(k.Hash):
		return `a key's "hash" is not 64 lowercase hex characters`
	case k.Label == "":
		return `a key has no "label"`
	case k.CreatedAt == "":
		return `a key has no "created_at"`
	case k.WorkspaceID == "":
		return `a key has no "workspace_id"`
	}
	return ""
}

// do sends a request, with retries as c.retry allows, and decodes a 2xx JSON body into out. Any 2xx
// counts as success: OpenRouter documents 201 for create and 200 elsewhere, and treating an unexpected
// 200 as a failure would lose the secret of a key that was in fact created.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	key := c.keyFor(ctx)
	if key == "" {
		return ErrNoAPIKey
	}
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	tpl := templatePath(path)
	r := request{method: method, url: u.String(), path: path, endpoint: tpl, key: key, out: out}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return notSent("encode body: %w", err)
		}
		r.payload = b
	}
	if method != http.MethodGet && tpl != "/analytics/query" { // the query is a read sent as a POST
		// Whatever it changes, and even when it fails (it may have been carried out), what was read
		// through this key before it is no longer trusted.
		defer c.cache.invalidate(key)
	}
	return c.withRetries(ctx, method, tpl, c.limited.guard(key, method, tpl, c.observed(method, tpl, func(ctx context.Context, timeout time.Duration) (outcome, error) {
		kind, err := c.attempt(ctx, timeout, r)
		r.sent++
		return kind, err
	})))
}

// request is one call to OpenRouter, which each attempt sends anew.
type request struct {
	method, url string
	path        string // as the endpoint names it, for errors
	endpoint    string // the path's template, e.g. /keys/{hash}
	sent        int    // attempts made before this one
	key         Secret
	payload     []byte // the JSON body; nil for none
	out         any    // what a 2xx JSON body decodes into
}

// attempt sends the request once, within timeout, and classifies a failure for the retry policy.
func (c *Client) attempt(parent context.Context, timeout time.Duration, r request) (kind outcome, err error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var rd io.Reader
	if r.payload != nil {
		rd = bytes.NewReader(r.payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, rd)
	if err != nil {
		return final, notSent("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.key.Reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status := 0
	if c.onSend != nil {
		if done := c.onSend(req, r.endpoint, r.sent); done != nil {
			defer func() { done(status, err) }()
		}
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(parent, err, timeout)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	buf, err := readBody(resp)
	defer releaseBody(buf)
	data := buf.Bytes()
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return final, fmt.Errorf("request cancelled while reading the response: %w", perr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return lost, fmt.Errorf("OpenRouter did not finish answering at %s within %s: %w", c.base.Host, timeout, context.DeadlineExceeded)
		}
		return lost, fmt.Errorf("reading the response from OpenRouter: %w", c.cleanErr(err))
	}
	if len(data) > MaxResponseBytes {
		return lost, fmt.Errorf("the response from OpenRouter is larger than %d MiB; refusing to read it", MaxResponseBytes>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answered, newAPIError(resp, data, r.method, r.endpoint)
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		return lost, fmt.Errorf("%w (status %d): not the JSON expected: %s", ErrMalformedResponse, resp.StatusCode, describeBody(resp, data))
	}
	return final, nil
}

// bodies keeps response buffers from one call to the next: every call reads a body (a page of keys is
// tens of KB), and a fresh buffer each time was the largest allocation of a call. A buffer may go back
// once the body is decoded, since nothing keeps its bytes: json.Unmarshal copies every string and
// json.RawMessage it decodes, and errors copy what they quote.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse; a rare huge answer is left to the collector.
const maxPooledBody = 1 << 20

// readBody reads at most MaxResponseBytes+1 bytes of the body (one more tells an oversized body) into
// a pooled buffer, sized up front when the server said how long it is. The caller releases it.
func readBody(resp *http.Response) (*bytes.Buffer, error) {
	buf := bodies.Get().(*bytes.Buffer)
	if n := resp.ContentLength; n > 0 && n <= MaxResponseBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes+1))
	return buf, err
}

// releaseBody returns a buffer of readBody to the pool, zeroed first: a create's answer holds the new
// key's secret, which must not linger in memory that other calls reuse (and a decoder that kept
// bytes of the buffer would show it at once, in TestAnswersOutliveTheirBuffers).
func releaseBody(buf *bytes.Buffer) {
	clear(buf.Bytes())
	if buf.Cap() <= maxPooledBody {
		buf.Reset()
		bodies.Put(buf)
	}
}

// transportError says that OpenRouter could not be reached, and where we tried, and whether the
// request may have left. The key never appears in a URL, so the error may carry the URL. parent is the
// caller's context: when it has ended, the call ends too, whatever the attempt's own timeout.
func (c *Client) transportError(parent context.Context, err error, timeout time.Duration) (outcome, error) {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case parent.Err() != nil:
		return final, c.gaveUp(parent)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return final, notSent("cannot reach OpenRouter: host %s not found (check the base URL and the network)", dnsErr.Name)
		}
		return unsent, notSent("cannot reach OpenRouter: looking up host %s failed (check the network)", dnsErr.Name)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		if errors.Is(err, context.DeadlineExceeded) {
			return unsent, notSent("cannot reach OpenRouter at %s: no connection within %s: %w", c.base.Host, timeout, context.DeadlineExceeded)
		}
		return unsent, notSent("cannot reach OpenRouter at %s: %w", c.base.Host, opErr.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return lost, fmt.Errorf("OpenRouter did not answer at %s within %s: %w", c.base.Host, timeout, context.DeadlineExceeded)
	case errors.Is(err, errRedirectRefused):
		// An answer, not a lost one: trying again would be redirected again.
		return final, c.cleanErr(err)
	}
	return lost, fmt.Errorf("cannot reach OpenRouter at %s: %w", c.base.Host, c.cleanErr(err))
}

// gaveUp is the error of a call whose caller's context ended (ctx) before OpenRouter answered it.
func (c *Client) gaveUp(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("request cancelled: %w", context.Canceled)
	}
	return fmt.Errorf("OpenRouter did not answer at %s before the caller's deadline: %w", c.base.Host, context.DeadlineExceeded)
}

// cleanErr strips the request URL that net/http puts in its errors; it is noise next to the host.
func (c *Client) cleanErr(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// templatePath names the endpoint, not the key, workspace, guardrail or credential, in errors:
// /keys/{hash}.
func templatePath(p string) string {
	switch {
	case strings.HasPrefix(p, "/keys/"):
		return "/keys/{hash}"
	case strings.HasPrefix(p, "/workspaces/"):
		return "/workspaces/{id}"
	case strings.HasPrefix(p, "/byok/"):
		return "/byok/{id}"
	case strings.HasPrefix(p, "/guardrails/") && !strings.HasPrefix(p, "/guardrails/assignments/"):
		// /guardrails/{id}, and what follows the id: /assignments/keys, …/remove, /assignments/members.
		_, rest, _ := strings.Cut(strings.TrimPrefix(p, "/guardrails/"), "/")
		return strings.TrimSuffix("/guardrails/{id}/"+rest, "/")
	}
	return p
}
