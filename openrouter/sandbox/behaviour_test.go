package sandbox_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// wireTime renders t the way OpenRouter does (UTC, microseconds, +00:00),
// written independently of the sandbox's own formatter.
func wireTime(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s.%06d+00:00", t.Format("2006-01-02T15:04:05"), t.Nanosecond()/1000)
}

// checkData compares the listed fields of a response's data object.
func checkData(t *testing.T, r response, want map[string]any) {
	t.Helper()
	data, _ := r.body["data"].(map[string]any)
	for field, w := range want {
		if got := data[field]; !reflect.DeepEqual(got, w) {
			t.Errorf("data.%s = %#v, want %#v", field, got, w)
		}
	}
}

func containsHash(keys []map[string]any, hash string) bool {
	return slices.ContainsFunc(keys, func(k map[string]any) bool { return k["hash"] == hash })
}

// TestKeyLifecycle walks one key through create, get, updates, listing,
// disabling, deletion, checking each response and the key's usability.
func TestKeyLifecycle(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	ws := e.sb.Workspaces(e.mgmt)
	createdAt := e.clock.Now()
	secret, created := e.createKey(t, map[string]any{
		"name": "lifecycle", "limit": 50, "limit_reset": "monthly",
		"include_byok_in_limit": true, "expires_at": "2027-12-31T23:59:59Z",
	})
	hash := created["hash"].(string)
	path := "/api/v1/keys/" + hash

	creator := e.do(t, "GET", "/api/v1/key", e.mgmt, nil).body["data"].(map[string]any)["creator_user_id"]
	wantCreated := map[string]any{
		"hash": hash, "name": "lifecycle", "label": secret[:12] + "..." + secret[70:], "disabled": false,
		"limit": 50.0, "limit_remaining": 50.0, "limit_reset": "monthly", "include_byok_in_limit": true,
		"usage": 0.0, "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0,
		"byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
		"created_at": wireTime(createdAt), "updated_at": nil, "expires_at": "2027-12-31T23:59:59.000000+00:00",
		"creator_user_id": creator, "workspace_id": ws[0], "external_user": nil, "last_used_at": nil,
	}
	if !reflect.DeepEqual(created, wantCreated) {
		t.Fatalf("created key =\n%#v\nwant\n%#v", created, wantCreated)
	}
	if n := e.sb.KeyCount(e.mgmt); n != 1 {
		t.Fatalf("KeyCount = %d after one create, want 1", n)
	}

	listed := func(query string, want bool) func(*testing.T, response) {
		return func(t *testing.T, _ response) {
			if got := containsHash(e.list(t, e.mgmt, query), hash); got != want {
				t.Errorf("key in GET /keys%s = %v, want %v", query, got, want)
			}
		}
	}
	steps := []struct {
		name    string
		advance time.Duration // clock moves before the request
		method  string
		path    string
		key     string
		body    any
		status  int
		data    map[string]any // expected fields of data
		message string         // expected error message
		check   func(*testing.T, response)
	}{
		{name: "get returns the created key", method: "GET", path: path, key: e.mgmt, status: 200, check: func(t *testing.T, r response) {
			if !reflect.DeepEqual(r.body["data"], created) {
				t.Errorf("get = %v, want %v", r.body["data"], created)
			}
		}},
		{name: "listed", method: "GET", path: "/api/v1/keys", key: e.mgmt, status: 200, check: listed("", true)},
		{name: "usable on /key", method: "GET", path: "/api/v1/key", key: secret, status: 200,
			data: map[string]any{"is_management_key": false, "limit": 50.0, "limit_reset": "monthly"}},
		{name: "the use is recorded", method: "GET", path: path, key: e.mgmt, status: 200,
			data: map[string]any{"last_used_at": wireTime(createdAt)}},
		{name: "clear limit", advance: time.Hour, method: "PATCH", path: path, key: e.mgmt, body: map[string]any{"limit": nil}, status: 200,
			data: map[string]any{"limit": nil, "limit_remaining": nil, "limit_reset": "monthly", "updated_at": wireTime(createdAt.Add(time.Hour))}},
		{name: "clear limit_reset", advance: time.Minute, method: "PATCH", path: path, key: e.mgmt, body: map[string]any{"limit_reset": nil}, status: 200,
			data: map[string]any{"limit": nil, "limit_reset": nil, "updated_at": wireTime(createdAt.Add(time.Hour + time.Minute))}},
		{name: "set several", method: "PATCH", path: path, key: e.mgmt, status: 200,
			body: map[string]any{"name": "renamed", "limit": 20.5, "limit_reset": "weekly", "include_byok_in_limit": false},
			data: map[string]any{"name": "renamed", "limit": 20.5, "limit_remaining": 20.5, "limit_reset": "weekly", "include_byok_in_limit": false,
				"created_at": wireTime(createdAt), "expires_at": "2027-12-31T23:59:59.000000+00:00"}},
		{name: "/key sees the update", method: "GET", path: "/api/v1/auth/key", key: secret, status: 200,
			data: map[string]any{"limit": 20.5, "limit_remaining": 20.5, "limit_reset": "weekly", "include_byok_in_limit": false}},
		{name: "disable", method: "PATCH", path: path, key: e.mgmt, body: map[string]any{"disabled": true}, status: 200,
			data: map[string]any{"disabled": true, "name": "renamed"}},
		{name: "disabled key cannot authenticate", method: "GET", path: "/api/v1/key", key: secret, status: 401, message: "User not found."},
		{name: "disabled key left out of list", method: "GET", path: "/api/v1/keys", key: e.mgmt, status: 200, check: listed("", false)},
		{name: "disabled key listed on request", method: "GET", path: "/api/v1/keys", key: e.mgmt, status: 200, check: listed("?include_disabled=true", true)},
		{name: "include_disabled=false", method: "GET", path: "/api/v1/keys", key: e.mgmt, status: 200, check: listed("?include_disabled=false", false)},
		{name: "re-enable", method: "PATCH", path: path, key: e.mgmt, body: map[string]any{"disabled": false}, status: 200,
			data: map[string]any{"disabled": false}},
		{name: "re-enabled key authenticates", method: "GET", path: "/api/v1/key", key: secret, status: 200},
		{name: "delete", method: "DELETE", path: path, key: e.mgmt, status: 200, check: func(t *testing.T, r response) {
			if !reflect.DeepEqual(r.body, map[string]any{"deleted": true}) {
				t.Errorf("delete body = %s, want {\"deleted\":true}", r.raw)
			}
		}},
		{name: "get after delete", method: "GET", path: path, key: e.mgmt, status: 404, message: "Resource not found"},
		{name: "patch after delete", method: "PATCH", path: path, key: e.mgmt, body: map[string]any{"name": "x"}, status: 404, message: "Resource not found"},
		{name: "delete after delete", method: "DELETE", path: path, key: e.mgmt, status: 404, message: "Resource not found"},
		{name: "deleted secret on /key", method: "GET", path: "/api/v1/key", key: secret, status: 401, message: "User not found."},
		{name: "deleted key not listed", method: "GET", path: "/api/v1/keys", key: e.mgmt, status: 200, check: listed("?include_disabled=true", false)},
	}
	for _, s := range steps {
		e.clock.Advance(s.advance)
		r := e.do(t, s.method, s.path, s.key, s.body)
		if s.status >= 400 {
			checkError(t, r, s.status, s.message)
		} else if r.status != s.status {
			t.Fatalf("%s: status %d, want %d; body %s", s.name, r.status, s.status, r.raw)
		}
		if s.data != nil {
			checkData(t, r, s.data)
		}
		if s.check != nil {
			s.check(t, r)
		}
		if t.Failed() {
			t.Fatalf("step %q failed", s.name)
		}
	}
	if n := e.sb.KeyCount(e.mgmt); n != 0 {
		t.Errorf("KeyCount = %d after delete, want 0", n)
	}
}

// TestPaging creates 250 keys (several per instant, so ties in created_at
// must be broken by creation order) and reads them in pages of 100.
func TestPaging(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	var created []string
	for i := range 250 {
		if i%3 == 0 {
			e.clock.Advance(time.Second)
		}
		_, data := e.createKey(t, map[string]any{"name": "key " + strconv.Itoa(i)})
		created = append(created, data["hash"].(string))
	}
	slices.Reverse(created) // newest first

	tests := []struct {
		offset string
		want   []string
	}{
		{"", created[:100]},
		{"0", created[:100]},
		{"100", created[100:200]},
		{"200", created[200:]},
		{"1", created[1:101]},
		{"249", created[249:]},
		{"250", nil},
		{"100000", nil},
	}
	for _, tt := range tests {
		t.Run("offset="+tt.offset, func(t *testing.T) {
			query := ""
			if tt.offset != "" {
				query = "?offset=" + tt.offset
			}
			var got []string
			for _, k := range e.list(t, e.mgmt, query) {
				got = append(got, k["hash"].(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("GET /keys%s: got %d keys, want %d, in order newest first\ngot  %v\nwant %v", query, len(got), len(tt.want), got, tt.want)
			}
		})
	}

	t.Run("walk all pages", func(t *testing.T) {
		seen := map[string]bool{}
		var sizes []int
		for offset := 0; ; offset += 100 {
			page := e.list(t, e.mgmt, "?offset="+strconv.Itoa(offset))
			sizes = append(sizes, len(page))
			for _, k := range page {
				h := k["hash"].(string)
				if seen[h] {
					t.Errorf("duplicate key %s at offset %d", h, offset)
				}
				seen[h] = true
			}
			if len(page) < 100 {
				break
			}
		}
		if !slices.Equal(sizes, []int{100, 100, 50}) {
			t.Errorf("page sizes = %v, want [100 100 50]", sizes)
		}
		if len(seen) != 250 {
			t.Errorf("saw %d distinct keys, want 250", len(seen))
		}
	})
}

// TestSampleKeysAndWorkspaces checks the sample data and that listing is
// per workspace.
func TestSampleKeysAndWorkspaces(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	now := e.clock.Now()
	ws := e.sb.Workspaces(e.mgmt)
	if len(ws) != 2 || ws[0] == ws[1] {
		t.Fatalf("workspaces = %v, want two distinct", ws)
	}
	if n := e.sb.KeyCount(e.mgmt); n != sampleKeys {
		t.Errorf("KeyCount = %d, want %d sample keys", n, sampleKeys)
	}
	_, inSecond := e.createKey(t, map[string]any{"name": "created in second", "workspace_id": strings.ToUpper(ws[1])})
	if inSecond["workspace_id"] != ws[1] {
		t.Errorf("workspace_id = %v, want %s", inSecond["workspace_id"], ws[1])
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"CI pipeline", "Data team notebook", "Legacy batch job", "Production chatbot"}},
		{"?include_disabled=true", []string{"CI pipeline", "Data team notebook", "Legacy batch job", "Old prototype", "Production chatbot"}},
		{"?include_expired=true", []string{"CI pipeline", "Contractor access", "Data team notebook", "Legacy batch job", "Production chatbot"}},
		{"?include_expired=false&include_disabled=false", []string{"CI pipeline", "Data team notebook", "Legacy batch job", "Production chatbot"}},
		{"?workspace_id=" + ws[0] + "&include_disabled=true&include_expired=true", []string{"CI pipeline", "Contractor access", "Data team notebook", "Legacy batch job", "Old prototype", "Production chatbot"}},
		{"?workspace_id=" + ws[1], []string{"Staging agent", "Unused test key", "created in second"}},
	}
	for _, tt := range tests {
		t.Run("GET /keys"+tt.query, func(t *testing.T) {
			keys := e.list(t, e.mgmt, tt.query)
			if got := names(keys); !slices.Equal(got, tt.want) {
				t.Errorf("names = %v, want %v", got, tt.want)
			}
			for i, k := range keys {
				created, _ := time.Parse(time.RFC3339Nano, k["created_at"].(string))
				if !created.Before(now.Add(time.Second)) {
					t.Errorf("%v: created_at %v is not in the past", k["name"], k["created_at"])
				}
				if i > 0 && k["created_at"].(string) > keys[i-1]["created_at"].(string) {
					t.Errorf("not newest first: %v after %v", k["created_at"], keys[i-1]["created_at"])
				}
				if k["updated_at"] != nil && k["updated_at"].(string) <= k["created_at"].(string) {
					t.Errorf("%v: updated_at %v not after created_at %v", k["name"], k["updated_at"], k["created_at"])
				}
			}
		})
	}

	byName := map[string]map[string]any{}
	for _, k := range e.list(t, e.mgmt, "?include_disabled=true&include_expired=true") {
		byName[k["name"].(string)] = k
	}
	samples := []struct {
		name string
		want map[string]any
	}{
		{"Production chatbot", map[string]any{"limit": 350.0, "usage": 331.143559902, "limit_remaining": 18.856440098000007, "limit_reset": "monthly", "disabled": false}},
		{"CI pipeline", map[string]any{"limit": 5.0, "limit_reset": "daily"}},
		{"Data team notebook", map[string]any{"limit": nil, "limit_remaining": nil, "include_byok_in_limit": true}},
		{"Old prototype", map[string]any{"disabled": true}},
	}
	for _, s := range samples {
		k := byName[s.name]
		checkData(t, response{body: map[string]any{"data": k}}, s.want)
	}
	if byName["Production chatbot"]["usage_daily"] == 0.0 || byName["Data team notebook"]["byok_usage"] == 0.0 {
		t.Errorf("sample usage missing: %v / %v", byName["Production chatbot"], byName["Data team notebook"])
	}
	if byName["Old prototype"]["updated_at"] == nil || byName["Old prototype"]["updated_at"] == byName["Production chatbot"]["updated_at"] {
		t.Errorf("Old prototype updated_at = %v, want its own timestamp", byName["Old prototype"]["updated_at"])
	}
}

// TestErrors covers every documented failure: status, OpenRouter's error
// body and message, and that no key ever appears in it.
func TestErrors(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	now := e.clock.Now()

	inference, inferenceHash, err := e.sb.CreateInferenceKey(e.mgmt, "inference")
	if err != nil {
		t.Fatal(err)
	}
	disabled, disabledData := e.createKey(t, map[string]any{"name": "disabled"})
	if r := e.do(t, "PATCH", "/api/v1/keys/"+disabledData["hash"].(string), e.mgmt, map[string]any{"disabled": true}); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	expired, _ := e.createKey(t, map[string]any{"name": "expires", "expires_at": now.Add(time.Hour).Format(time.RFC3339)})
	deleted, deletedData := e.createKey(t, map[string]any{"name": "deleted"})
	if r := e.do(t, "DELETE", "/api/v1/keys/"+deletedData["hash"].(string), e.mgmt, nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	other := e.sb.AddAccount("")
	_, otherHash, err := e.sb.CreateInferenceKey(other, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour) // "expires" is now expired

	const (
		missingAuth = "Missing Authentication header"
		notFound    = "Resource not found"
		userUnknown = "User not found."
		mgmtOnly    = "Only management keys can perform this operation"

		bodyNotObject = "request body must be a JSON object"
		bodyNotJSON   = "request body is not valid JSON"
		nameMsg       = "name is required and must be a non-empty string"
		limitMsg      = "limit must be a non-negative number or null"
		resetMsg      = "limit_reset must be one of daily, weekly, monthly or null"
		byokMsg       = "include_byok_in_limit must be a boolean"
		expiresMsg    = "expires_at must be an ISO 8601 UTC timestamp with seconds, e.g. 2027-12-31T23:59:59Z"
		pastMsg       = "expires_at must be in the future"
		creatorMsg    = "creator_user_id must be a non-empty string or null"
		wsUUIDMsg     = "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11"
		wsNoneMsg     = "workspace_id does not match any workspace of this account"
		externalMsg   = "external must be an object with a non-empty string field user"
		extKeyMsg     = "external.api_key must be a string of at least 32 characters"
		offsetMsg     = "offset must be a non-negative integer"
		includeMsg    = "include_disabled must be true or false"
	)
	mgmt := "Bearer " + e.mgmt
	keyPath := "/api/v1/keys/" + inferenceHash
	unknownUUID := "0df9e665-d932-5740-b2c7-b52af166bc11"

	tests := []struct {
		name    string
		method  string
		path    string
		auth    string // Authorization header, sent as is
		body    any
		status  int
		message string
	}{
		// 400: POST body shape
		{"no body", "POST", "/api/v1/keys", mgmt, nil, 400, bodyNotObject},
		{"empty body", "POST", "/api/v1/keys", mgmt, "  ", 400, bodyNotObject},
		{"invalid JSON", "POST", "/api/v1/keys", mgmt, `{"name":`, 400, bodyNotJSON},
		{"trailing garbage", "POST", "/api/v1/keys", mgmt, `{"name":"a"} x`, 400, bodyNotJSON},
		{"array body", "POST", "/api/v1/keys", mgmt, `[{"name":"a"}]`, 400, bodyNotObject},
		{"null body", "POST", "/api/v1/keys", mgmt, `null`, 400, bodyNotObject},
		{"string body", "POST", "/api/v1/keys", mgmt, `"a"`, 400, bodyNotObject},
		{"body over 1 MiB", "POST", "/api/v1/keys", mgmt, `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, 400, ""},
		// 400: POST fields
		{"name missing", "POST", "/api/v1/keys", mgmt, `{}`, 400, nameMsg},
		{"name empty", "POST", "/api/v1/keys", mgmt, `{"name":""}`, 400, nameMsg},
		{"name blank", "POST", "/api/v1/keys", mgmt, `{"name":"  "}`, 400, nameMsg},
		{"name null", "POST", "/api/v1/keys", mgmt, `{"name":null}`, 400, nameMsg},
		{"name number", "POST", "/api/v1/keys", mgmt, `{"name":5}`, 400, nameMsg},
		{"limit negative", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit":-1}`, 400, limitMsg},
		{"limit string", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit":"5"}`, 400, limitMsg},
		{"limit holds a key", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit":"` + e.mgmt + `"}`, 400, limitMsg},
		{"limit overflow", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit":1e400}`, 400, limitMsg},
		{"limit_reset unknown", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit_reset":"yearly"}`, 400, resetMsg},
		{"limit_reset capitalised", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit_reset":"Daily"}`, 400, resetMsg},
		{"limit_reset number", "POST", "/api/v1/keys", mgmt, `{"name":"a","limit_reset":1}`, 400, resetMsg},
		{"include_byok string", "POST", "/api/v1/keys", mgmt, `{"name":"a","include_byok_in_limit":"true"}`, 400, byokMsg},
		{"include_byok null", "POST", "/api/v1/keys", mgmt, `{"name":"a","include_byok_in_limit":null}`, 400, byokMsg},
		{"expires minute precision", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":"2027-12-31T23:59Z"}`, 400, expiresMsg},
		{"expires with offset", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":"2027-12-31T23:59:59+02:00"}`, 400, expiresMsg},
		{"expires date only", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":"2027-12-31"}`, 400, expiresMsg},
		{"expires impossible date", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":"2027-13-01T00:00:00Z"}`, 400, expiresMsg},
		{"expires number", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":1861919999}`, 400, expiresMsg},
		{"expires in the past", "POST", "/api/v1/keys", mgmt, `{"name":"a","expires_at":"2020-01-01T00:00:00Z"}`, 400, pastMsg},
		{"creator empty", "POST", "/api/v1/keys", mgmt, `{"name":"a","creator_user_id":""}`, 400, creatorMsg},
		{"creator number", "POST", "/api/v1/keys", mgmt, `{"name":"a","creator_user_id":7}`, 400, creatorMsg},
		{"workspace malformed", "POST", "/api/v1/keys", mgmt, `{"name":"a","workspace_id":"default"}`, 400, wsUUIDMsg},
		{"workspace null", "POST", "/api/v1/keys", mgmt, `{"name":"a","workspace_id":null}`, 400, wsUUIDMsg},
		{"workspace unknown", "POST", "/api/v1/keys", mgmt, `{"name":"a","workspace_id":"` + unknownUUID + `"}`, 400, wsNoneMsg},
		{"workspace of other account", "POST", "/api/v1/keys", mgmt, `{"name":"a","workspace_id":"` + e.sb.Workspaces(other)[1] + `"}`, 400, wsNoneMsg},
		{"external string", "POST", "/api/v1/keys", mgmt, `{"name":"a","external":"u"}`, 400, externalMsg},
		{"external without user", "POST", "/api/v1/keys", mgmt, `{"name":"a","external":{}}`, 400, externalMsg},
		{"external user empty", "POST", "/api/v1/keys", mgmt, `{"name":"a","external":{"user":""}}`, 400, externalMsg},
		{"external user number", "POST", "/api/v1/keys", mgmt, `{"name":"a","external":{"user":5}}`, 400, externalMsg},
		{"external api_key short", "POST", "/api/v1/keys", mgmt, `{"name":"a","external":{"user":"u","api_key":"short"}}`, 400, extKeyMsg},
		// 400: list query
		{"offset negative", "GET", "/api/v1/keys?offset=-1", mgmt, nil, 400, offsetMsg},
		{"offset word", "GET", "/api/v1/keys?offset=abc", mgmt, nil, 400, offsetMsg},
		{"offset fraction", "GET", "/api/v1/keys?offset=1.5", mgmt, nil, 400, offsetMsg},
		{"offset signed", "GET", "/api/v1/keys?offset=%2B1", mgmt, nil, 400, offsetMsg},
		{"offset empty", "GET", "/api/v1/keys?offset=", mgmt, nil, 400, offsetMsg},
		{"offset overflow", "GET", "/api/v1/keys?offset=99999999999999999999", mgmt, nil, 400, offsetMsg},
		{"include_disabled yes", "GET", "/api/v1/keys?include_disabled=yes", mgmt, nil, 400, includeMsg},
		{"include_disabled 1", "GET", "/api/v1/keys?include_disabled=1", mgmt, nil, 400, includeMsg},
		{"include_disabled TRUE", "GET", "/api/v1/keys?include_disabled=TRUE", mgmt, nil, 400, includeMsg},
		{"workspace_id malformed", "GET", "/api/v1/keys?workspace_id=abc", mgmt, nil, 400, wsUUIDMsg},
		{"workspace_id unknown", "GET", "/api/v1/keys?workspace_id=" + unknownUUID, mgmt, nil, 400, wsNoneMsg},
		// 400: PATCH
		{"patch no body", "PATCH", keyPath, mgmt, nil, 400, bodyNotObject},
		{"patch invalid JSON", "PATCH", keyPath, mgmt, `{`, 400, bodyNotJSON},
		{"patch array", "PATCH", keyPath, mgmt, `[]`, 400, bodyNotObject},
		{"patch name empty", "PATCH", keyPath, mgmt, `{"name":""}`, 400, "name must be a non-empty string"},
		{"patch disabled string", "PATCH", keyPath, mgmt, `{"disabled":"true"}`, 400, "disabled must be a boolean"},
		{"patch limit negative", "PATCH", keyPath, mgmt, `{"limit":-0.01}`, 400, limitMsg},
		{"patch limit_reset unknown", "PATCH", keyPath, mgmt, `{"limit_reset":"hourly"}`, 400, resetMsg},
		{"patch include_byok number", "PATCH", keyPath, mgmt, `{"include_byok_in_limit":1}`, 400, byokMsg},
		// 401
		{"no header, list", "GET", "/api/v1/keys", "", nil, 401, missingAuth},
		{"no header, create", "POST", "/api/v1/keys", "", `{"name":"a"}`, 401, missingAuth},
		{"no header, get", "GET", keyPath, "", nil, 401, missingAuth},
		{"no header, update", "PATCH", keyPath, "", `{}`, 401, missingAuth},
		{"no header, delete", "DELETE", keyPath, "", nil, 401, missingAuth},
		{"no header, current", "GET", "/api/v1/key", "", nil, 401, missingAuth},
		{"no header, legacy current", "GET", "/api/v1/auth/key", "", nil, 401, missingAuth},
		{"empty bearer", "GET", "/api/v1/keys", "Bearer ", nil, 401, missingAuth},
		{"unknown key", "GET", "/api/v1/keys", "Bearer sk-or-v1-" + strings.Repeat("0", 64), nil, 401, userUnknown},
		{"unknown key on /key", "GET", "/api/v1/key", "Bearer sk-or-v1-" + strings.Repeat("0", 64), nil, 401, userUnknown},
		{"garbage header", "GET", "/api/v1/key", "Basic dXNlcjpwYXNz", nil, 401, userUnknown},
		{"disabled key", "GET", "/api/v1/key", "Bearer " + disabled, nil, 401, userUnknown},
		{"expired key", "GET", "/api/v1/key", "Bearer " + expired, nil, 401, userUnknown},
		{"deleted key", "GET", "/api/v1/key", "Bearer " + deleted, nil, 401, userUnknown},
		{"disabled key on /keys", "GET", "/api/v1/keys", "Bearer " + disabled, nil, 401, userUnknown},
		{"bad auth beats bad body", "POST", "/api/v1/keys", "", `not json`, 401, missingAuth},
		// 403
		{"inference key lists", "GET", "/api/v1/keys", "Bearer " + inference, nil, 403, mgmtOnly},
		{"inference key creates", "POST", "/api/v1/keys", "Bearer " + inference, `{"name":"a"}`, 403, mgmtOnly},
		{"inference key gets", "GET", keyPath, "Bearer " + inference, nil, 403, mgmtOnly},
		{"inference key updates", "PATCH", keyPath, "Bearer " + inference, `{"disabled":true}`, 403, mgmtOnly},
		{"inference key deletes", "DELETE", keyPath, "Bearer " + inference, nil, 403, mgmtOnly},
		{"403 beats bad body", "POST", "/api/v1/keys", "Bearer " + inference, `not json`, 403, mgmtOnly},
		// 404
		{"unknown hash, get", "GET", "/api/v1/keys/" + hashOf("nothing"), mgmt, nil, 404, notFound},
		{"unknown hash, update", "PATCH", "/api/v1/keys/" + hashOf("nothing"), mgmt, `{}`, 404, notFound},
		{"unknown hash, delete", "DELETE", "/api/v1/keys/" + hashOf("nothing"), mgmt, nil, 404, notFound},
		{"malformed hash", "GET", "/api/v1/keys/xyz", mgmt, nil, 404, notFound},
		{"uppercase hash", "GET", "/api/v1/keys/" + strings.ToUpper(inferenceHash), mgmt, nil, 404, notFound},
		{"secret as hash", "GET", "/api/v1/keys/" + inference, mgmt, nil, 404, notFound},
		{"management key's own hash", "GET", "/api/v1/keys/" + hashOf(e.mgmt), mgmt, nil, 404, notFound},
		{"other account's key, get", "GET", "/api/v1/keys/" + otherHash, mgmt, nil, 404, notFound},
		{"other account's key, update", "PATCH", "/api/v1/keys/" + otherHash, mgmt, `{"disabled":true}`, 404, notFound},
		{"other account's key, delete", "DELETE", "/api/v1/keys/" + otherHash, mgmt, nil, 404, notFound},
		{"unknown route", "GET", "/api/v1/presets", mgmt, nil, 404, "Not Found"},
		{"unknown version", "GET", "/api/v2/keys", mgmt, nil, 404, "Not Found"},
		{"root", "GET", "/", "", nil, 404, "Not Found"},
		{"trailing slash", "GET", "/api/v1/keys/", mgmt, nil, 404, "Not Found"},
		{"nested path", "GET", "/api/v1/keys/" + inferenceHash + "/x", mgmt, nil, 404, "Not Found"},
		// 405
		{"PUT /keys", "PUT", "/api/v1/keys", mgmt, nil, 405, "Method Not Allowed"},
		{"DELETE /keys", "DELETE", "/api/v1/keys", mgmt, nil, 405, "Method Not Allowed"},
		{"POST /keys/{hash}", "POST", keyPath, mgmt, `{}`, 405, "Method Not Allowed"},
		{"PUT /keys/{hash}", "PUT", keyPath, mgmt, `{}`, 405, "Method Not Allowed"},
		{"POST /key", "POST", "/api/v1/key", mgmt, nil, 405, "Method Not Allowed"},
		{"DELETE /auth/key", "DELETE", "/api/v1/auth/key", "", nil, 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doHeader(t, tt.method, tt.path, tt.auth, tt.body)
			checkError(t, r, tt.status, tt.message)
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}

	// None of the failures may have changed anything.
	if n := e.sb.KeyCount(e.mgmt); n != sampleKeys+3 {
		t.Errorf("KeyCount = %d, want %d (samples + inference, disabled, expired)", n, sampleKeys+3)
	}
	if n := e.sb.KeyCount(other); n != 1 {
		t.Errorf("other account KeyCount = %d, want 1", n)
	}
}

// TestNonManagementKey: an inference key is refused on all five /keys*
// endpoints, changes nothing, and still works on /key.
func TestNonManagementKey(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	secret, hash, err := e.sb.CreateInferenceKey(e.mgmt, "worker")
	if err != nil {
		t.Fatal(err)
	}
	if !secretRE.MatchString(secret) || hash != hashOf(secret) {
		t.Fatalf("CreateInferenceKey = %q, %q; want a key and its sha256", secret, hash)
	}
	before := e.sb.KeyCount(e.mgmt)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/keys", ""},
		{"POST", "/api/v1/keys", `{"name":"sneaky"}`},
		{"GET", "/api/v1/keys/" + hash, ""},
		{"PATCH", "/api/v1/keys/" + hash, `{"limit":1000000}`},
		{"DELETE", "/api/v1/keys/" + hash, ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		checkError(t, e.do(t, c.method, c.path, secret, body), 403, "Only management keys can perform this operation")
	}
	if n := e.sb.KeyCount(e.mgmt); n != before {
		t.Errorf("KeyCount = %d, want %d", n, before)
	}
	for _, path := range []string{"/api/v1/key", "/api/v1/auth/key"} {
		r := e.do(t, "GET", path, secret, nil)
		checkSuccess(t, r, 200, "CurrentKeyResponse")
		checkData(t, r, map[string]any{
			"label": secret[:12] + "..." + secret[70:], "is_management_key": false, "is_provisioning_key": false,
			"limit": nil, "limit_remaining": nil, "usage": 0.0,
		})
	}
	// The key is untouched by the refused PATCH.
	r := e.do(t, "GET", "/api/v1/keys/"+hash, e.mgmt, nil)
	checkData(t, r, map[string]any{"limit": nil, "name": "worker", "disabled": false})
}

// TestCurrentKey checks GET /key for the management key and for keys with
// settings, including one in the second workspace.
func TestCurrentKey(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	ws := e.sb.Workspaces(e.mgmt)
	limited, _ := e.createKey(t, map[string]any{
		"name": "limited", "limit": 7.25, "limit_reset": "daily", "include_byok_in_limit": true,
		"expires_at": "2030-01-02T03:04:05.123456789Z",
	})
	second, _ := e.createKey(t, map[string]any{"name": "second", "workspace_id": ws[1]})
	rateLimit := map[string]any{"requests": -1.0, "interval": "10s", "note": "This field is deprecated and safe to ignore."}
	common := map[string]any{
		"is_free_tier": false, "rate_limit": rateLimit, "allowed_data_regions": []any{"global"},
		"free_model_daily_requests": map[string]any{"limit": 1000.0, "remaining": 1000.0, "used": 0.0},
		"organization_id":           nil,
	}
	tests := []struct {
		name string
		key  string
		want map[string]any
	}{
		{"management", e.mgmt, map[string]any{
			"label": e.mgmt[:12] + "..." + e.mgmt[70:], "is_management_key": true, "is_provisioning_key": true,
			"limit": nil, "limit_remaining": nil, "limit_reset": nil, "expires_at": nil, "workspace_id": ws[0],
		}},
		{"limited", limited, map[string]any{
			"is_management_key": false, "limit": 7.25, "limit_remaining": 7.25, "limit_reset": "daily",
			"include_byok_in_limit": true, "expires_at": "2030-01-02T03:04:05.123456+00:00", "workspace_id": ws[0],
		}},
		{"second workspace", second, map[string]any{"workspace_id": ws[1], "is_management_key": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/key", tt.key, nil)
			checkSuccess(t, r, 200, "CurrentKeyResponse")
			checkData(t, r, tt.want)
			checkData(t, r, common)
		})
	}
}

// TestCreateOptionalFields checks how optional create fields are stored and
// echoed.
func TestCreateOptionalFields(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	ws := e.sb.Workspaces(e.mgmt)
	own := e.do(t, "GET", "/api/v1/key", e.mgmt, nil).body["data"].(map[string]any)["creator_user_id"]
	tests := []struct {
		name string
		body string
		want map[string]any
	}{
		{"defaults", `{"name":"d"}`, map[string]any{
			"limit": nil, "limit_remaining": nil, "limit_reset": nil, "include_byok_in_limit": false, "expires_at": nil,
			"creator_user_id": own, "workspace_id": ws[0], "external_user": nil, "disabled": false, "updated_at": nil,
		}},
		{"explicit nulls", `{"name":"n","limit":null,"limit_reset":null,"expires_at":null,"creator_user_id":null}`, map[string]any{
			"limit": nil, "limit_reset": nil, "expires_at": nil, "creator_user_id": own,
		}},
		{"zero limit", `{"name":"z","limit":0}`, map[string]any{"limit": 0.0, "limit_remaining": 0.0}},
		{"negative zero limit", `{"name":"z","limit":-0}`, map[string]any{"limit": 0.0}},
		{"fractional expiry", `{"name":"f","expires_at":"2031-05-06T07:08:09.5Z"}`, map[string]any{"expires_at": "2031-05-06T07:08:09.500000+00:00"}},
		{"creator", `{"name":"c","creator_user_id":"user_member"}`, map[string]any{"creator_user_id": "user_member"}},
		{"workspace", `{"name":"w","workspace_id":"` + ws[1] + `"}`, map[string]any{"workspace_id": ws[1]}},
		{"external", `{"name":"e","external":{"user":"customer-7","api_key":"` + strings.Repeat("k", 32) + `"}}`, map[string]any{"external_user": "customer-7"}},
		{"unknown fields ignored", `{"name":"u","label":"mine","disabled":true,"hash":"abc","surprise":{"a":[1]}}`, map[string]any{"disabled": false, "name": "u"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/keys", e.mgmt, tt.body)
			checkSuccess(t, r, 201, "CreateKeyResponse")
			checkData(t, r, tt.want)
			if strings.Contains(string(r.raw), strings.Repeat("k", 32)) {
				t.Errorf("external.api_key echoed: %s", r.raw)
			}
		})
	}
}

// TestPatchInvalidChangesNothing: a PATCH with any bad field is refused as a
// whole, even when other fields in it are valid.
func TestPatchInvalidChangesNothing(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	_, data := e.createKey(t, map[string]any{"name": "stable", "limit": 10, "limit_reset": "weekly"})
	path := "/api/v1/keys/" + data["hash"].(string)
	bodies := []string{
		`{"name":"changed","limit":-1}`,
		`{"limit":null,"limit_reset":"yearly"}`,
		`{"disabled":true,"include_byok_in_limit":"yes"}`,
		`{"name":"","disabled":true}`,
		`{"limit":5,"disabled":null}`,
		`{"limit":5,"name":7}`,
		`{"limit":5`,
		`[{"limit":5}]`,
	}
	for _, body := range bodies {
		t.Run(body, func(t *testing.T) {
			e.clock.Advance(time.Minute)
			r := e.do(t, "PATCH", path, e.mgmt, body)
			checkError(t, r, 400, "")
			after := e.do(t, "GET", path, e.mgmt, nil)
			if !reflect.DeepEqual(after.body["data"], data) {
				t.Errorf("key changed by a refused PATCH:\nbefore %v\nafter  %v", data, after.body["data"])
			}
		})
	}
}

// TestAccountsAreSeparate: two accounts neither see nor touch each other's
// keys.
func TestAccountsAreSeparate(t *testing.T) {
	e := newEnv(t, sandbox.Options{NoSampleKeys: true})
	const chosen = "sk-or-v1-" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	if got := e.sb.AddAccount(chosen); got != chosen {
		t.Fatalf("AddAccount(chosen) = %q", got)
	}
	b := e.sb.AddAccount("")
	if !secretRE.MatchString(b) || b == e.mgmt {
		t.Fatalf("AddAccount(\"\") = %q, want a new sk-or-v1- key", b)
	}
	if n := e.sb.KeyCount(b); n != 0 {
		t.Fatalf("new account has %d keys, want 0", n)
	}
	_, mine := e.createKey(t, map[string]any{"name": "mine"})
	r := e.do(t, "POST", "/api/v1/keys", b, map[string]any{"name": "theirs"})
	checkSuccess(t, r, 201, "CreateKeyResponse")
	theirs := r.body["data"].(map[string]any)

	if mine["creator_user_id"] == theirs["creator_user_id"] || mine["workspace_id"] == theirs["workspace_id"] {
		t.Errorf("accounts share a user or workspace: %v / %v", mine, theirs)
	}
	for _, c := range []struct {
		caller string
		hash   string
	}{{e.mgmt, theirs["hash"].(string)}, {b, mine["hash"].(string)}, {chosen, mine["hash"].(string)}} {
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			var body any
			if m == "PATCH" {
				body = map[string]any{"disabled": true}
			}
			checkError(t, e.do(t, m, "/api/v1/keys/"+c.hash, c.caller, body), 404, "Resource not found")
		}
		if containsHash(e.list(t, c.caller, "?include_disabled=true"), c.hash) {
			t.Errorf("other account's key %s listed", c.hash)
		}
	}
	if got := names(e.list(t, b, "")); !slices.Equal(got, []string{"theirs"}) {
		t.Errorf("account B lists %v, want [theirs]", got)
	}
	if e.sb.KeyCount(e.mgmt) != 1 || e.sb.KeyCount(b) != 1 || e.sb.KeyCount(chosen) != 0 {
		t.Errorf("KeyCount = %d/%d/%d, want 1/1/0", e.sb.KeyCount(e.mgmt), e.sb.KeyCount(b), e.sb.KeyCount(chosen))
	}
	checkData(t, e.do(t, "GET", "/api/v1/keys/"+theirs["hash"].(string), b, nil), map[string]any{"disabled": false})
}

// TestHashPathTricks: escaped slashes, dot segments and oversized values in
// the {hash} position get an OpenRouter 404/400, never a panic, a redirect
// or a change.
func TestHashPathTricks(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	_, hash, err := e.sb.CreateInferenceKey(e.mgmt, "target")
	if err != nil {
		t.Fatal(err)
	}
	before := e.sb.KeyCount(e.mgmt)
	paths := []string{
		"/api/v1/keys/..%2F",
		"/api/v1/keys/..%2Fkey",
		"/api/v1/keys/..%2F..%2Fkeys",
		"/api/v1/keys/%2E%2E",
		"/api/v1/keys/%2E",
		"/api/v1/keys/%2F",
		"/api/v1/keys/%2F" + hash,
		"/api/v1/keys/" + hash + "%2F",
		"/api/v1/keys/" + hash + "%00",
		"/api/v1/keys/" + hash + "%20",
		"/api/v1/keys/../key",
		"/api/v1/keys/./" + hash,
		"/api/v1/keys//" + hash,
		"//api/v1/keys/" + hash,
		"/api/v1/keys/" + hash + "0",
		"/api/v1/keys/" + strings.Repeat("a", 8000),
		"/api/v1/keys/" + strings.Repeat("%2F", 2000),
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			name := m + " " + p
			if len(name) > 80 {
				name = name[:80]
			}
			t.Run(name, func(t *testing.T) {
				var body any
				if m == "PATCH" {
					body = map[string]any{"disabled": true}
				}
				r := e.do(t, m, p, e.mgmt, body)
				if r.status != 404 && r.status != 400 {
					t.Fatalf("status = %d, want 404 or 400; body %s", r.status, r.raw)
				}
				checkError(t, r, r.status, "")
			})
		}
	}
	if n := e.sb.KeyCount(e.mgmt); n != before {
		t.Errorf("KeyCount = %d, want %d", n, before)
	}
	checkData(t, e.do(t, "GET", "/api/v1/keys/"+hash, e.mgmt, nil), map[string]any{"disabled": false})
}

// TestOptionsAndHelpers covers New's options and the test helpers' contracts.
func TestOptionsAndHelpers(t *testing.T) {
	t.Run("chosen management key", func(t *testing.T) {
		const key = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		e := newEnv(t, sandbox.Options{ManagementKey: key, NoSampleKeys: true})
		if e.sb.ManagementKey() != key {
			t.Fatalf("ManagementKey() = %q, want %q", e.sb.ManagementKey(), key)
		}
		checkSuccess(t, e.do(t, "GET", "/api/v1/keys", key, nil), 200, "ListKeysResponse")
		if n := e.sb.KeyCount(key); n != 0 {
			t.Errorf("KeyCount with NoSampleKeys = %d, want 0", n)
		}
	})
	t.Run("generated management key", func(t *testing.T) {
		a, b := sandbox.New(sandbox.Options{}), sandbox.New(sandbox.Options{})
		if !secretRE.MatchString(a.ManagementKey()) || a.ManagementKey() == b.ManagementKey() {
			t.Errorf("generated keys %q, %q: want distinct sk-or-v1- + 64 hex", a.ManagementKey(), b.ManagementKey())
		}
		if a.KeyCount(a.ManagementKey()) != sampleKeys {
			t.Errorf("sample keys = %d, want %d", a.KeyCount(a.ManagementKey()), sampleKeys)
		}
	})
	t.Run("nil clock uses time.Now", func(t *testing.T) {
		sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
		srv := e2e(t, sb)
		lo := time.Now().Add(-time.Second)
		r := srv.do(t, "POST", "/api/v1/keys", sb.ManagementKey(), `{"name":"now"}`)
		hi := time.Now().Add(time.Second)
		created, err := time.Parse(time.RFC3339Nano, r.body["data"].(map[string]any)["created_at"].(string))
		if err != nil || created.Before(lo) || created.After(hi) {
			t.Errorf("created_at = %v (%v), want about now", created, err)
		}
	})
	t.Run("CreateInferenceKey errors", func(t *testing.T) {
		sb := sandbox.New(sandbox.Options{NoSampleKeys: true})
		if _, _, err := sb.CreateInferenceKey("sk-or-v1-unknown", "x"); err == nil {
			t.Error("unknown management key: no error")
		}
		if _, _, err := sb.CreateInferenceKey(sb.ManagementKey(), ""); err == nil {
			t.Error("empty name: no error")
		}
		secret, _, err := sb.CreateInferenceKey(sb.ManagementKey(), "ok")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := sb.CreateInferenceKey(secret, "x"); err == nil {
			t.Error("inference key as management key: no error")
		}
		if sb.KeyCount(sb.ManagementKey()) != 1 || sb.KeyCount(secret) != 0 || sb.KeyCount("nope") != 0 {
			t.Errorf("KeyCount = %d/%d/%d, want 1/0/0", sb.KeyCount(sb.ManagementKey()), sb.KeyCount(secret), sb.KeyCount("nope"))
		}
	})
	t.Run("AddAccount refuses a key in use", func(t *testing.T) {
		sb := sandbox.New(sandbox.Options{})
		defer func() {
			if recover() == nil {
				t.Error("AddAccount with the first account's key did not panic")
			}
		}()
		sb.AddAccount(sb.ManagementKey())
	})
	t.Run("Requests counts every request", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{NoSampleKeys: true})
		if n := e.sb.Requests(); n != 0 {
			t.Fatalf("Requests() = %d before any request", n)
		}
		e.do(t, "GET", "/api/v1/keys", e.mgmt, nil)
		e.do(t, "GET", "/api/v1/key", "", nil)
		e.do(t, "GET", "/nowhere", "", nil)
		e.do(t, "PUT", "/api/v1/keys", "", nil)
		e.do(t, "GET", "/api/v1/keys/../key", "", nil)
		if n := e.sb.Requests(); n != 5 {
			t.Errorf("Requests() = %d, want 5", n)
		}
	})
}

// e2e serves sb with no clock override.
func e2e(t *testing.T, sb *sandbox.Sandbox) *env {
	t.Helper()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, mgmt: sb.ManagementKey()}
}

// TestNoLogging: the package must stay silent (it runs inside the MCP
// server, whose output it must not disturb), so its non-test code may not
// import anything that writes to the process's output.
func TestNoLogging(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"log", "log/slog", "os", "fmt"}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if slices.Contains(forbidden, p) {
				t.Errorf("%s imports %q", f, p)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
