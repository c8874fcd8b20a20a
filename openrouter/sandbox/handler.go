package sandbox

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Error messages. 401 and 403 texts are OpenRouter's own (observed live or
// in its OpenAPI examples); clients and people match on them.
const (
	msgMissingAuth    = "Missing Authentication header"
	msgUserNotFound   = "User not found."
	msgManagementOnly = "Only management keys can perform this operation"
	msgNotFound       = "Resource not found"
	msgRouteNotFound  = "Not Found"
	msgMethod         = "Method Not Allowed"
	// msgIPNotAllowed is the sandbox's wording: OpenRouter documents the
	// 403 of its IP allowlist but not its message.
	msgIPNotAllowed = "Requests from this IP address are not allowed by the account's IP allowlist"
)

// maxBodyBytes bounds request bodies; a key request is a few hundred bytes.
const maxBodyBytes = 1 << 20

// pageSize is OpenRouter's fixed page size for GET /keys.
const pageSize = 100

// hashPattern is the only shape a key hash can have; anything else cannot
// name a key and gets 404 without a lookup.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// digitsPattern is a plain non-negative integer: no sign, no spaces.
var digitsPattern = regexp.MustCompile(`^[0-9]+$`)

// ServeHTTP answers the six key endpoints under /api/v1 as OpenRouter does,
// with OpenRouter's JSON error body for every failure, including unknown
// paths (404) and wrong methods (405), unless the fault plan (Options.Faults,
// SetFaults, InjectNext) makes the request fail.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for peak := s.peakInFlight.Load(); n > peak && !s.peakInFlight.CompareAndSwap(peak, n); peak = s.peakInFlight.Load() {
	}
	// ServeMux would answer a path with "..", "." or "//" segments with a
	// redirect to the cleaned path; OpenRouter's API has no such paths, so
	// they are simply not found.
	if !isCleanPath(r.URL.EscapedPath()) {
		writeJSON(w, http.StatusNotFound, errorBody(http.StatusNotFound, msgRouteNotFound))
		return
	}
	if f, ok := s.injector().next(r.Method); ok {
		s.serveFault(w, r, f)
		return
	}
	s.serve(w, r)
}

// serve answers r as OpenRouter would, faults aside.
func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// routes builds the router. The method-less patterns catch wrong methods on
// known paths, so the 405 carries OpenRouter's body rather than ServeMux's
// plain text.
func (s *Sandbox) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/keys", s.handle(false, managementOnly(s.listKeys)))
	mux.Handle("POST /api/v1/keys", s.handle(true, managementOnly(s.createKey)))
	mux.Handle("GET /api/v1/keys/{hash}", s.handle(false, managementOnly(s.getKey)))
	mux.Handle("PATCH /api/v1/keys/{hash}", s.handle(true, managementOnly(s.updateKey)))
	mux.Handle("DELETE /api/v1/keys/{hash}", s.handle(false, managementOnly(s.deleteKey)))
	mux.Handle("GET /api/v1/key", s.handle(false, s.currentKey))
	// Legacy alias, still answered by OpenRouter and used by older code.
	mux.Handle("GET /api/v1/auth/key", s.handle(false, s.currentKey))
	mux.Handle("GET /api/v1/workspaces", s.handle(false, managementOnly(s.listWorkspaces)))
	mux.Handle("GET /api/v1/workspaces/{id}", s.handle(false, managementOnly(s.getWorkspace)))
	mux.Handle("GET /api/v1/credits", s.handle(false, managementOnly(s.getCredits)))
	mux.Handle("GET /api/v1/activity", s.handle(false, managementOnly(s.getActivity)))
	mux.Handle("GET /api/v1/guardrails", s.handle(false, managementOnly(s.listGuardrails)))
	mux.Handle("GET /api/v1/guardrails/{id}", s.handle(false, managementOnly(s.getGuardrail)))
	mux.Handle("GET /api/v1/guardrails/assignments/keys", s.handle(false, managementOnly(s.listKeyAssignments)))
	mux.Handle("GET /api/v1/guardrails/{id}/assignments/keys", s.handle(false, managementOnly(s.listKeyAssignments)))
	mux.Handle("POST /api/v1/guardrails/{id}/assignments/keys", s.handle(true, managementOnly(s.assignKeys)))
	mux.Handle("POST /api/v1/guardrails/{id}/assignments/keys/remove", s.handle(true, managementOnly(s.unassignKeys)))
	mux.Handle("GET /api/v1/guardrails/assignments/members", s.handle(false, managementOnly(s.listMemberAssignments)))
	mux.Handle("GET /api/v1/guardrails/{id}/assignments/members", s.handle(false, managementOnly(s.listMemberAssignments)))
	mux.Handle("GET /api/v1/byok", s.handle(false, managementOnly(s.listBYOK)))
	mux.Handle("GET /api/v1/byok/{id}", s.handle(false, managementOnly(s.getBYOK)))
	mux.Handle("PATCH /api/v1/byok/{id}", s.handle(true, managementOnly(s.updateBYOK)))
	mux.Handle("GET /api/v1/organization/members", s.handle(false, managementOnly(s.listMembers)))
	mux.Handle("GET /api/v1/analytics/meta", s.handle(false, managementOnly(s.getAnalyticsMeta)))
	mux.Handle("POST /api/v1/analytics/query", s.handle(true, managementOnly(s.queryAnalytics)))

	methodNotAllowed := func(allow string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody(http.StatusMethodNotAllowed, msgMethod))
		}
	}
	mux.Handle("/api/v1/keys", methodNotAllowed("GET, HEAD, POST"))
	mux.Handle("/api/v1/keys/{hash}", methodNotAllowed("GET, HEAD, PATCH, DELETE"))
	mux.Handle("/api/v1/key", methodNotAllowed("GET, HEAD"))
	mux.Handle("/api/v1/auth/key", methodNotAllowed("GET, HEAD"))
	for _, p := range []string{"/api/v1/workspaces", "/api/v1/workspaces/{id}", "/api/v1/credits", "/api/v1/activity",
		"/api/v1/guardrails", "/api/v1/guardrails/{id}", "/api/v1/guardrails/assignments/keys", "/api/v1/guardrails/assignments/members",
		"/api/v1/guardrails/{id}/assignments/members", "/api/v1/byok", "/api/v1/organization/members", "/api/v1/analytics/meta"} {
		mux.Handle(p, methodNotAllowed("GET, HEAD"))
	}
	mux.Handle("/api/v1/guardrails/{id}/assignments/keys", methodNotAllowed("GET, HEAD, POST"))
	for _, p := range []string{"/api/v1/guardrails/{id}/assignments/keys/remove", "/api/v1/analytics/query"} {
		mux.Handle(p, methodNotAllowed("POST"))
	}
	mux.Handle("/api/v1/byok/{id}", methodNotAllowed("GET, HEAD, PATCH"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody(http.StatusNotFound, msgRouteNotFound))
	})
	return mux
}

// call is one request as an endpoint sees it: already read body, the
// request time, and the authenticated caller.
type call struct {
	r    *http.Request
	body []byte
	// bodyErr is set when the body could not be read (e.g. too large); it
	// is reported only after authentication, as a real server would.
	bodyErr *apiError
	now     time.Time
	acct    *account
	// key is the calling inference key; nil when a management key called.
	key *apiKey
}

// apiError is an error response: status plus a message safe to show (it
// never contains a secret).
type apiError struct {
	status  int
	message string
}

func badRequest(msg string) *apiError { return &apiError{http.StatusBadRequest, msg} }

var (
	errNotFound       = &apiError{http.StatusNotFound, msgNotFound}
	errManagementOnly = &apiError{http.StatusForbidden, msgManagementOnly}
)

// endpoint computes a response under the sandbox lock. It returns the status
// and a value that shares no memory with the state, which handle encodes
// after unlocking so a slow client cannot stall other requests.
type endpoint func(c *call) (int, any, *apiError)

// handle wraps an endpoint: reads the body (when it has one), authenticates,
// runs it under the lock and writes the JSON answer.
func (s *Sandbox) handle(hasBody bool, fn endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r}
		if hasBody {
			c.body, c.bodyErr = readBody(w, r)
		}
		c.now = s.clock()

		status, body, aerr := s.run(c, fn)
		if aerr != nil {
			writeJSON(w, aerr.status, errorBody(aerr.status, aerr.message))
			return
		}
		writeJSON(w, status, body)
	})
}

func (s *Sandbox) run(c *call, fn endpoint) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.authenticateLocked(c); aerr != nil {
		return 0, nil, aerr
	}
	return fn(c)
}

// authenticateLocked resolves the bearer key to an account and, for an
// inference key, the key itself. Unknown, deleted, disabled and expired keys
// all get the same 401, so a caller learns nothing about other keys.
func (s *Sandbox) authenticateLocked(c *call) *apiError {
	token := bearerToken(c.r.Header.Get("Authorization"))
	if token == "" {
		return &apiError{http.StatusUnauthorized, msgMissingAuth}
	}
	h := hashSecret(token)
	if acct := s.accountsByHash[h]; acct != nil {
		c.acct = acct
		return checkAllowlist(c)
	}
	k := s.keysByHash[h]
	if k == nil || k.disabled || k.expired(c.now) {
		return &apiError{http.StatusUnauthorized, msgUserNotFound}
	}
	c.acct, c.key = k.owner, k
	if aerr := checkAllowlist(c); aerr != nil {
		return aerr
	}
	// Any request the key authenticates is a use, whatever its answer.
	used := c.now
	k.lastUsedAt = &used
	return nil
}

// checkAllowlist refuses a request from an address the account's IP
// allowlist leaves out; the key is fine, so this is a 403, not a 401.
func checkAllowlist(c *call) *apiError {
	if !c.acct.allows(c.r.RemoteAddr) {
		return &apiError{http.StatusForbidden, msgIPNotAllowed}
	}
	return nil
}

// expired reports whether k's expiry has passed at now.
func (k *apiKey) expired(now time.Time) bool {
	return k.expiresAt != nil && !now.Before(*k.expiresAt)
}

// bearerToken extracts the key from an Authorization header. The scheme is
// matched case-insensitively; a bare key (no scheme) is taken as is.
func bearerToken(header string) string {
	header = strings.TrimSpace(header)
	if len(header) >= 7 && strings.EqualFold(header[:7], "bearer ") {
		header = header[7:]
	} else if strings.EqualFold(header, "bearer") {
		header = ""
	}
	return strings.TrimSpace(header)
}

// managementOnly refuses inference keys before fn runs: every endpoint but
// GET /key needs a management key.
func managementOnly(fn endpoint) endpoint {
	return func(c *call) (int, any, *apiError) {
		if c.key != nil {
			return 0, nil, errManagementOnly
		}
		return fn(c)
	}
}

// lookupKey finds a key of the caller's account by the {hash} path value.
// Malformed hashes and other accounts' keys are indistinguishable from
// unknown ones.
func lookupKey(c *call) (*apiKey, *apiError) {
	h := c.r.PathValue("hash")
	if !hashPattern.MatchString(h) {
		return nil, errNotFound
	}
	k := c.acct.keys[h]
	if k == nil {
		return nil, errNotFound
	}
	return k, nil
}

// listKeys answers GET /keys: one workspace, enabled keys unless
// include_disabled=true, unexpired keys unless include_expired=true, newest
// first, pages of 100 from offset.
func (s *Sandbox) listKeys(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	offset := 0
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil || !digitsPattern.MatchString(q.Get("offset")) {
			return 0, nil, badRequest("offset must be a non-negative integer")
		}
		offset = n
	}
	includeDisabled, aerr := boolParam(q, "include_disabled")
	if aerr != nil {
		return 0, nil, aerr
	}
	includeExpired, aerr := boolParam(q, "include_expired")
	if aerr != nil {
		return 0, nil, aerr
	}
	workspace := c.acct.defaultWorkspace
	if q.Has("workspace_id") {
		ws, aerr := resolveWorkspace(c.acct, q.Get("workspace_id"))
		if aerr != nil {
			return 0, nil, aerr
		}
		workspace = ws
	}

	var keys []*apiKey
	for _, k := range c.acct.keys {
		if k.workspaceID == workspace && (includeDisabled || !k.disabled) && (includeExpired || !k.expired(c.now)) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b *apiKey) int {
		if d := b.createdAt.Compare(a.createdAt); d != 0 {
			return d
		}
		return cmp.Compare(b.seq, a.seq)
	})
	page := []wireKey{}
	for i := offset; i < len(keys) && len(page) < pageSize; i++ {
		page = append(page, keys[i].wire())
	}
	return http.StatusOK, wireListResponse{Data: page}, nil
}

// boolParam reads an optional true/false query parameter (false when absent).
func boolParam(q url.Values, name string) (bool, *apiError) {
	switch q.Get(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if q.Has(name) {
		return false, badRequest(name + " must be true or false")
	}
	return false, nil
}

// createKey answers POST /keys with 201 and the plaintext key, shown only
// here.
func (s *Sandbox) createKey(c *call) (int, any, *apiError) {
	if c.bodyErr != nil {
		return 0, nil, c.bodyErr
	}
	req, aerr := parseCreate(c.body, c.acct, c.now)
	if aerr != nil {
		return 0, nil, aerr
	}
	secret, k := s.newKeyLocked(c.acct, req.name, c.now)
	k.limit = req.limit
	k.limitReset = req.limitReset
	k.includeBYOKInLimit = req.includeBYOKInLimit
	k.expiresAt = req.expiresAt
	if req.creatorUserID != nil {
		k.creatorUserID = req.creatorUserID
	}
	k.workspaceID = req.workspaceID
	k.externalUser = req.externalUser
	return http.StatusCreated, wireCreateResponse{Data: k.wire(), Key: secret}, nil
}

// getKey answers GET /keys/{hash}.
func (s *Sandbox) getKey(c *call) (int, any, *apiError) {
	k, aerr := lookupKey(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, wireKeyResponse{Data: k.wire()}, nil
}

// updateKey answers PATCH /keys/{hash}. The whole body is validated before
// anything is applied, so a bad value leaves the key untouched.
func (s *Sandbox) updateKey(c *call) (int, any, *apiError) {
	k, aerr := lookupKey(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	if c.bodyErr != nil {
		return 0, nil, c.bodyErr
	}
	req, aerr := parseUpdate(c.body, c.acct)
	if aerr != nil {
		return 0, nil, aerr
	}
	if req.name != nil {
		k.name = *req.name
	}
	if req.disabled != nil {
		k.disabled = *req.disabled
	}
	if req.limit.set {
		k.limit = req.limit.value
	}
	if req.limitReset.set {
		k.limitReset = req.limitReset.value
	}
	if req.includeBYOKInLimit != nil {
		k.includeBYOKInLimit = *req.includeBYOKInLimit
	}
	if req.workspaceID != nil {
		// The key moves; its secret, hash and past activity stay as they are.
		k.workspaceID = *req.workspaceID
	}
	updated := c.now
	k.updatedAt = &updated
	return http.StatusOK, wireKeyResponse{Data: k.wire()}, nil
}

// deleteKey answers DELETE /keys/{hash} with {"deleted": true}, unwrapped.
func (s *Sandbox) deleteKey(c *call) (int, any, *apiError) {
	k, aerr := lookupKey(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.deleteKeyLocked(k)
	return http.StatusOK, wireDeleteResponse{Deleted: true}, nil
}

// currentKey answers GET /key (and /auth/key) for any valid key.
func (s *Sandbox) currentKey(c *call) (int, any, *apiError) {
	if c.key != nil {
		return http.StatusOK, wireCurrentResponse{Data: c.key.currentKey(c.now)}, nil
	}
	cur := newCurrentKey(c.acct.managementLabel, true, c.acct, c.acct.defaultWorkspace)
	return http.StatusOK, wireCurrentResponse{Data: cur}, nil
}

// readBody reads a request body of bounded size.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, badRequest("request body must be a JSON object of at most 1 MiB")
	}
	return b, nil
}

func errorBody(status int, msg string) wireError {
	return wireError{Error: wireErrorData{Code: status, Message: msg}}
}

// writeJSON writes v as the whole response. Encoding cannot fail for the
// sandbox's own wire types, and a write error means the client left; in
// neither case is there anyone to tell.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"message":"Internal Server Error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// isCleanPath reports whether p is already in the canonical form ServeMux
// would redirect to (rooted, no "." or ".." segments, no "//").
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}
