package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"gopkg.in/yaml.v3"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// openAPIPath is the repository's copy of OpenRouter's key-management
// OpenAPI fragment, adjacentPath its copy of the workspace, credit and
// activity endpoints, and controlsPath that of the guardrail, BYOK, member
// and analytics endpoints; responses are checked against them, not against
// the sandbox's own idea of the format.
const (
	openAPIPath  = "../../testdata/openapi-keys.yaml"
	adjacentPath = "../../testdata/openapi-adjacent.yaml"
	controlsPath = "../../testdata/openapi-controls.yaml"
)

// fragments lists every OpenAPI fragment.
var fragments = []string{openAPIPath, adjacentPath, controlsPath}

// sampleKeys is how many keys a sandbox starts with unless NoSampleKeys.
const sampleKeys = 8

var (
	secretRE    = regexp.MustCompile(`^sk-or-v1-[0-9a-f]{64}$`)
	hashRE      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	labelRE     = regexp.MustCompile(`^sk-or-v1-[0-9a-f]{3}\.\.\.[0-9a-f]{3}$`)
	timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$`)
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	userIDRE    = regexp.MustCompile(`^user_[0-9A-Za-z]{27}$`)
	// anySecretRE finds something that looks like a key inside a larger
	// text; error bodies must never contain one.
	anySecretRE = regexp.MustCompile(`sk-or-v1-[0-9a-f]{8,}`)
)

// clock is a settable time source shared by the test and the server
// goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox served on a loopback socket.
type env struct {
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	clock *clock
	mgmt  string
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, clock: c, mgmt: sb.ManagementKey()}
}

// response is what a request got back; body is the decoded JSON object (nil
// when the body was not one).
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends one request. path is appended to the server URL verbatim (so it
// may hold escapes and dot segments); body is sent as-is when it is a
// string, JSON-encoded otherwise, and omitted when nil.
func (e *env) do(t *testing.T, method, path, key string, body any) response {
	t.Helper()
	return e.doHeader(t, method, path, authHeader(key), body)
}

func authHeader(key string) string {
	if key == "" {
		return ""
	}
	return "Bearer " + key
}

func (e *env) doHeader(t *testing.T, method, path, authorization string, body any) response {
	t.Helper()
	r, err := e.send(method, path, authorization, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is doHeader without a *testing.T, for goroutines other than the
// test's own (which may not call t.Fatal).
func (e *env) send(method, path, authorization string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return response{}, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return response{}, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		r.body = obj
	}
	return r, nil
}

// createKey creates a key over HTTP and returns its secret and data.
func (e *env) createKey(t *testing.T, body map[string]any) (string, map[string]any) {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/keys", e.mgmt, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create %v: status %d, body %s", body, r.status, r.raw)
	}
	return r.body["key"].(string), r.body["data"].(map[string]any)
}

// list returns the data of GET /keys with the given query.
func (e *env) list(t *testing.T, key, query string) []map[string]any {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/keys"+query, key, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list %q: status %d, body %s", query, r.status, r.raw)
	}
	var out []map[string]any
	for _, item := range r.body["data"].([]any) {
		out = append(out, item.(map[string]any))
	}
	return out
}

func names(keys []map[string]any) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k["name"].(string))
	}
	slices.Sort(out)
	return out
}

func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// --- OpenAPI validation -------------------------------------------------

type openAPI struct {
	// schemas is components.schemas as plain JSON values, with $refs
	// rewritten to #/$defs/X.
	schemas map[string]any
}

// loadOpenAPI merges the schemas of the fragments; their names do not
// overlap, and a name defined twice fails rather than one shadowing the
// other.
var loadOpenAPI = sync.OnceValues(func() (*openAPI, error) {
	all := map[string]any{}
	for _, path := range fragments {
		schemas, err := loadSchemas(path)
		if err != nil {
			return nil, err
		}
		for name, s := range schemas {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("%s: schema %s is defined in both fragments", path, name)
			}
			all[name] = s
		}
	}
	rewriteRefs(all)
	return &openAPI{schemas: all}, nil
})

// loadSchemas reads the components.schemas of one OpenAPI file.
func loadSchemas(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	// A YAML→JSON round trip leaves only JSON-shaped values.
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("convert %s to JSON: %w", path, err)
	}
	var root map[string]any
	if err := json.Unmarshal(js, &root); err != nil {
		return nil, err
	}
	components, _ := root["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if len(schemas) == 0 {
		return nil, fmt.Errorf("%s: no components.schemas", path)
	}
	return schemas, nil
}

// rewriteRefs turns OpenAPI refs into refs into the $defs of the root that
// validate builds.
func rewriteRefs(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				v[k] = strings.Replace(s, "#/components/schemas/", "#/$defs/", 1)
				continue
			}
			rewriteRefs(child)
		}
	case []any:
		for _, child := range v {
			rewriteRefs(child)
		}
	}
}

func openAPIDoc(t *testing.T) *openAPI {
	t.Helper()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("load OpenAPI: %v", err)
	}
	return doc
}

var (
	resolvedMu sync.Mutex
	resolved   = map[string]*jsonschema.Resolved{}
)

// resolvedSchema builds {"$defs": schemas, "$ref": "#/$defs/<name>"} and
// resolves it with jsonschema-go.
func resolvedSchema(t *testing.T, name string) *jsonschema.Resolved {
	t.Helper()
	resolvedMu.Lock()
	defer resolvedMu.Unlock()
	if rs := resolved[name]; rs != nil {
		return rs
	}
	doc := openAPIDoc(t)
	if _, ok := doc.schemas[name]; !ok {
		t.Fatalf("schema %s not in %s", name, openAPIPath)
	}
	js, err := json.Marshal(map[string]any{"$defs": doc.schemas, "$ref": "#/$defs/" + name})
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatalf("unmarshal schema %s: %v", name, err)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		t.Fatalf("resolve schema %s: %v", name, err)
	}
	resolved[name] = rs
	return rs
}

// validate checks a decoded JSON object against a schema of the fragment.
func validate(t *testing.T, schema string, body map[string]any) error {
	t.Helper()
	if body == nil {
		return fmt.Errorf("body is not a JSON object")
	}
	return resolvedSchema(t, schema).Validate(body)
}

// schemaFields returns the required and declared property names of an
// object schema.
func schemaFields(t *testing.T, schema string) (required, properties []string) {
	t.Helper()
	// "Schema.prop" names an inline object property of a schema.
	name, prop, inline := strings.Cut(schema, ".")
	s := openAPIDoc(t).schemas[name].(map[string]any)
	if inline {
		s = s["properties"].(map[string]any)[prop].(map[string]any)
	}
	for _, r := range s["required"].([]any) {
		required = append(required, r.(string))
	}
	for p := range s["properties"].(map[string]any) {
		properties = append(properties, p)
	}
	slices.Sort(properties)
	return required, properties
}

// checkObjectFields reports fields that are required but missing and fields
// the schema does not declare; both would go unnoticed by the validator
// (additional properties are allowed there).
func checkObjectFields(t *testing.T, schema string, obj map[string]any) {
	t.Helper()
	required, properties := schemaFields(t, schema)
	for _, f := range required {
		if _, ok := obj[f]; !ok {
			t.Errorf("%s: required field %q missing in %v", schema, f, obj)
		}
	}
	var got []string
	for f := range obj {
		got = append(got, f)
	}
	slices.Sort(got)
	if !slices.Equal(got, properties) {
		t.Errorf("%s: fields = %v, want exactly %v", schema, got, properties)
	}
}

// checkSuccess validates a success response: status, content type, the
// response schema and, for every key object in it, the field formats.
func checkSuccess(t *testing.T, r response, status int, schema string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := validate(t, schema, r.body); err != nil {
		t.Errorf("%s: %v\nbody: %s", schema, err, r.raw)
	}
	checkObjectFields(t, schema, r.body)
	check := itemChecks[schema]
	if check == nil {
		check = checkKey
	}
	switch data := r.body["data"].(type) {
	case []any:
		for _, item := range data {
			check(t, item.(map[string]any))
		}
	case map[string]any:
		check(t, data)
	}
	if key, ok := r.body["key"]; ok {
		secret, _ := key.(string)
		if !secretRE.MatchString(secret) {
			t.Errorf("key = %q, want sk-or-v1- + 64 hex", secret)
		}
		data := r.body["data"].(map[string]any)
		if data["hash"] != hashOf(secret) {
			t.Errorf("hash = %v, want sha256(key) = %s", data["hash"], hashOf(secret))
		}
		if want := secret[:12] + "..." + secret[len(secret)-3:]; data["label"] != want {
			t.Errorf("label = %v, want %s", data["label"], want)
		}
	}
}

// itemChecks says how to check the data objects of responses that do not
// hold keys; the others hold ApiKey objects.
var itemChecks = map[string]func(*testing.T, map[string]any){
	"CurrentKeyResponse":     checkCurrentKey,
	"ListWorkspacesResponse": checkWorkspace,
	"GetWorkspaceResponse":   checkWorkspace,
	"CreditsResponse":        func(t *testing.T, c map[string]any) { t.Helper(); checkObjectFields(t, "CreditsResponse.data", c) },
	"ActivityResponse":       checkActivityItem,
	"ListGuardrailsResponse": checkGuardrail,
	"GetGuardrailResponse":   checkGuardrail,
	"ListKeyAssignmentsResponse": func(t *testing.T, a map[string]any) {
		t.Helper()
		checkObjectFields(t, "KeyAssignment", a)
		checkFormats(t, a, map[string]*regexp.Regexp{"id": uuidRE, "guardrail_id": uuidRE, "key_hash": hashRE, "key_label": labelRE, "created_at": timestampRE})
	},
	"ListMemberAssignmentsResponse": func(t *testing.T, a map[string]any) {
		t.Helper()
		checkObjectFields(t, "MemberAssignment", a)
		checkFormats(t, a, map[string]*regexp.Regexp{"id": uuidRE, "guardrail_id": uuidRE, "user_id": userIDRE, "created_at": timestampRE})
	},
	"ListBYOKKeysResponse":  checkBYOK,
	"GetBYOKKeyResponse":    checkBYOK,
	"UpdateBYOKKeyResponse": checkBYOK,
	"ListOrganizationMembersResponse": func(t *testing.T, m map[string]any) {
		t.Helper()
		checkFormats(t, m, map[string]*regexp.Regexp{"id": userIDRE})
	},
	"AnalyticsMetaResponse":  func(*testing.T, map[string]any) {},
	"AnalyticsQueryResponse": func(*testing.T, map[string]any) {},
	"BulkAssignKeysResponse": func(*testing.T, map[string]any) {},
}

func checkGuardrail(t *testing.T, g map[string]any) {
	t.Helper()
	checkObjectFields(t, "Guardrail", g)
	checkFormats(t, g, map[string]*regexp.Regexp{"id": uuidRE, "workspace_id": uuidRE, "created_at": timestampRE})
}

func checkBYOK(t *testing.T, b map[string]any) {
	t.Helper()
	checkObjectFields(t, "BYOKKey", b)
	checkFormats(t, b, map[string]*regexp.Regexp{"id": uuidRE, "workspace_id": uuidRE, "created_at": timestampRE})
	if hashes, ok := b["allowed_api_key_hashes"].([]any); ok {
		for _, h := range hashes {
			if !hashRE.MatchString(h.(string)) {
				t.Errorf("allowed_api_key_hashes holds %v, not a hash", h)
			}
		}
	}
}

// checkFormats checks that each named string field matches its pattern.
func checkFormats(t *testing.T, obj map[string]any, formats map[string]*regexp.Regexp) {
	t.Helper()
	for field, re := range formats {
		if v, _ := obj[field].(string); !re.MatchString(v) {
			t.Errorf("%s = %v, want %s", field, obj[field], re)
		}
	}
}

func checkWorkspace(t *testing.T, w map[string]any) {
	t.Helper()
	checkObjectFields(t, "Workspace", w)
	for _, f := range []string{"id", "default_guardrail_id"} {
		if s, _ := w[f].(string); !uuidRE.MatchString(s) {
			t.Errorf("workspace %s = %v, want a uuid", f, w[f])
		}
	}
}

// checkActivityItem allows workspace_id to be absent: it is there with
// group_by=workspace only.
func checkActivityItem(t *testing.T, a map[string]any) {
	t.Helper()
	if _, ok := a["workspace_id"]; !ok {
		a = maps.Clone(a)
		a["workspace_id"] = "(absent)"
	}
	checkObjectFields(t, "ActivityItem", a)
	if d, _ := a["date"].(string); !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(d) {
		t.Errorf("activity date = %v, want YYYY-MM-DD", a["date"])
	}
}

// checkKey checks an ApiKey object beyond the schema: exact field set,
// formats, and limit_remaining = limit − usage.
func checkKey(t *testing.T, k map[string]any) {
	t.Helper()
	checkObjectFields(t, "ApiKey", k)
	checkString := func(field string, re *regexp.Regexp, nullable bool) {
		t.Helper()
		v, ok := k[field]
		if v == nil && nullable && ok {
			return
		}
		s, _ := v.(string)
		if !re.MatchString(s) {
			t.Errorf("%s = %v, does not match %s", field, v, re)
		}
	}
	checkString("hash", hashRE, false)
	checkString("label", labelRE, false)
	checkString("created_at", timestampRE, false)
	checkString("updated_at", timestampRE, true)
	checkString("expires_at", timestampRE, true)
	checkString("workspace_id", uuidRE, false)
	checkString("last_used_at", timestampRE, true)
	checkLimitRemaining(t, k)
}

func checkCurrentKey(t *testing.T, k map[string]any) {
	t.Helper()
	checkObjectFields(t, "CurrentKey", k)
	if s, _ := k["label"].(string); !labelRE.MatchString(s) {
		t.Errorf("label = %v, want masked key", k["label"])
	}
	if k["is_management_key"] != k["is_provisioning_key"] {
		t.Errorf("is_management_key %v != is_provisioning_key %v", k["is_management_key"], k["is_provisioning_key"])
	}
	if s, _ := k["workspace_id"].(string); !uuidRE.MatchString(s) {
		t.Errorf("workspace_id = %v, want a uuid", k["workspace_id"])
	}
	if s, _ := k["creator_user_id"].(string); !userIDRE.MatchString(s) {
		t.Errorf("creator_user_id = %v, want user_…", k["creator_user_id"])
	}
	checkLimitRemaining(t, k)
}

func checkLimitRemaining(t *testing.T, k map[string]any) {
	t.Helper()
	limit, hasLimit := k["limit"].(float64)
	remaining, hasRemaining := k["limit_remaining"].(float64)
	switch {
	case !hasLimit && k["limit_remaining"] != nil:
		t.Errorf("limit is null but limit_remaining = %v", k["limit_remaining"])
	case hasLimit && !hasRemaining:
		t.Errorf("limit = %v but limit_remaining = %v", limit, k["limit_remaining"])
	case hasLimit && remaining != limit-k["usage"].(float64):
		t.Errorf("limit_remaining = %v, want limit − usage = %v", remaining, limit-k["usage"].(float64))
	}
}

// checkError validates an error response: status, content type, the
// ErrorResponse schema, code = status, the message, and that no key leaks.
func checkError(t *testing.T, r response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d; body %s", r.status, status, r.raw)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := validate(t, "ErrorResponse", r.body); err != nil {
		t.Errorf("ErrorResponse: %v\nbody: %s", err, r.raw)
		return
	}
	e := r.body["error"].(map[string]any)
	if e["code"] != float64(status) {
		t.Errorf("error.code = %v, want %d", e["code"], status)
	}
	if message != "" && e["message"] != message {
		t.Errorf("error.message = %q, want %q", e["message"], message)
	}
	if anySecretRE.Match(r.raw) {
		t.Errorf("error body contains a key: %s", r.raw)
	}
}
