package sandbox_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
)

// TestValidatorRejectsBadBodies proves the schema check can fail: bodies
// that break the OpenAPI fragment in typical ways must be rejected, or the
// conformance test below would pass vacuously.
func TestValidatorRejectsBadBodies(t *testing.T) {
	good := `{"data":{"hash":"h","name":"n","label":"l","disabled":false,"limit":null,"limit_remaining":null,
		"limit_reset":null,"include_byok_in_limit":false,"usage":0,"usage_daily":0,"usage_weekly":0,"usage_monthly":0,
		"byok_usage":0,"byok_usage_daily":0,"byok_usage_weekly":0,"byok_usage_monthly":0,"created_at":"c",
		"updated_at":null,"creator_user_id":null,"workspace_id":"w","external_user":null,"last_used_at":null}}`
	tests := []struct {
		name   string
		schema string
		body   string
		valid  bool
	}{
		{"well-formed key", "KeyResponse", good, true},
		{"missing workspace_id", "KeyResponse", `{"data":{"hash":"h"}}`, false},
		{"limit as string", "KeyResponse", replaceField(t, good, "limit", "5"), false},
		{"null usage", "KeyResponse", replaceField(t, good, "usage", nil), false},
		{"bad limit_reset type", "KeyResponse", replaceField(t, good, "limit_reset", 3), false},
		{"create without key", "CreateKeyResponse", good, false},
		{"deleted false", "DeleteKeyResponse", `{"deleted":false}`, false},
		{"deleted true", "DeleteKeyResponse", `{"deleted":true}`, true},
		{"list not array", "ListKeysResponse", `{"data":{}}`, false},
		{"error without code", "ErrorResponse", `{"error":{"message":"x"}}`, false},
		{"error code as string", "ErrorResponse", `{"error":{"code":"400","message":"x"}}`, false},
		{"error", "ErrorResponse", `{"error":{"code":400,"message":"x"}}`, true},
		{"rate limit not integer", "RateLimit", `{"requests":1.5,"interval":"10s","note":""}`, false},
		{"unknown data region", "CurrentKey", `{"allowed_data_regions":["mars"]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal([]byte(tt.body), &body); err != nil {
				t.Fatal(err)
			}
			err := validate(t, tt.schema, body)
			if (err == nil) != tt.valid {
				t.Errorf("validate(%s) error = %v, want valid=%v", tt.schema, err, tt.valid)
			}
		})
	}
}

func replaceField(t *testing.T, body, field string, value any) string {
	t.Helper()
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	v["data"][field] = value
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestResponsesMatchOpenAPI drives every endpoint through its success paths
// (including sample keys with usage, nullable fields set and unset) and
// checks each response against OpenRouter's schema.
func TestResponsesMatchOpenAPI(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	ws := e.sb.Workspaces(e.mgmt)
	inference, _ := e.createKey(t, map[string]any{"name": "inference", "limit": 12.5, "limit_reset": "weekly"})
	_, full := e.createKey(t, map[string]any{
		"name": "full", "limit": 50, "limit_reset": "monthly", "include_byok_in_limit": true,
		"expires_at": "2027-12-31T23:59:59.000Z", "creator_user_id": "user_someone_else",
		"workspace_id": ws[1], "external": map[string]any{"user": "end-user-42", "api_key": "0123456789abcdef0123456789abcdef"},
	})
	_, victim := e.createKey(t, map[string]any{"name": "to delete"})
	fullPath := "/api/v1/keys/" + full["hash"].(string)
	budgeted, _ := e.createKey(t, map[string]any{"name": "budgeted", "limit": 40, "limit_reset": "daily", "workspace_id": ws[1]})
	var sampleHash string
	for _, k := range e.list(t, e.mgmt, "") {
		if k["name"] == "Production chatbot" {
			sampleHash = k["hash"].(string)
		}
	}
	yesterday := e.clock.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")

	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   any
		status int
		schema string
	}{
		{"list default workspace", "GET", "/api/v1/keys", e.mgmt, nil, 200, "ListKeysResponse"},
		{"list with disabled", "GET", "/api/v1/keys?include_disabled=true&offset=0", e.mgmt, nil, 200, "ListKeysResponse"},
		{"list second workspace", "GET", "/api/v1/keys?workspace_id=" + ws[1], e.mgmt, nil, 200, "ListKeysResponse"},
		{"list past the end", "GET", "/api/v1/keys?offset=500", e.mgmt, nil, 200, "ListKeysResponse"},
		{"create minimal", "POST", "/api/v1/keys", e.mgmt, map[string]any{"name": "minimal"}, 201, "CreateKeyResponse"},
		{"create with nulls", "POST", "/api/v1/keys", e.mgmt, map[string]any{
			"name": "nulls", "limit": nil, "limit_reset": nil, "expires_at": nil, "creator_user_id": nil,
		}, 201, "CreateKeyResponse"},
		{"current key with budget layers", "GET", "/api/v1/key", budgeted, nil, 200, "CurrentKeyResponse"},
		{"get", "GET", fullPath, e.mgmt, nil, 200, "KeyResponse"},
		{"get after use", "GET", fullPath, e.mgmt, nil, 200, "KeyResponse"},
		{"list with expired", "GET", "/api/v1/keys?include_expired=true&include_disabled=true", e.mgmt, nil, 200, "ListKeysResponse"},
		{"list workspaces", "GET", "/api/v1/workspaces", e.mgmt, nil, 200, "ListWorkspacesResponse"},
		{"list workspaces, paged", "GET", "/api/v1/workspaces?offset=1&limit=1", e.mgmt, nil, 200, "ListWorkspacesResponse"},
		{"get workspace", "GET", "/api/v1/workspaces/" + ws[1], e.mgmt, nil, 200, "GetWorkspaceResponse"},
		{"get workspace by slug", "GET", "/api/v1/workspaces/default", e.mgmt, nil, 200, "GetWorkspaceResponse"},
		{"credits", "GET", "/api/v1/credits", e.mgmt, nil, 200, "CreditsResponse"},
		{"activity", "GET", "/api/v1/activity", e.mgmt, nil, 200, "ActivityResponse"},
		{"activity per workspace", "GET", "/api/v1/activity?group_by=workspace", e.mgmt, nil, 200, "ActivityResponse"},
		{"activity of a key, one day", "GET", "/api/v1/activity?api_key_hash=" + sampleHash + "&date=" + yesterday, e.mgmt, nil, 200, "ActivityResponse"},
		{"activity of a workspace", "GET", "/api/v1/activity?workspace_id=" + ws[0], e.mgmt, nil, 200, "ActivityResponse"},
		{"update all fields", "PATCH", fullPath, e.mgmt, map[string]any{
			"name": "renamed", "disabled": true, "limit": 75, "limit_reset": "daily", "include_byok_in_limit": false,
		}, 200, "KeyResponse"},
		{"update clearing", "PATCH", fullPath, e.mgmt, map[string]any{"limit": nil, "limit_reset": nil}, 200, "KeyResponse"},
		{"update moving workspace", "PATCH", fullPath, e.mgmt, map[string]any{"workspace_id": ws[0]}, 200, "KeyResponse"},
		{"delete", "DELETE", "/api/v1/keys/" + victim["hash"].(string), e.mgmt, nil, 200, "DeleteKeyResponse"},
		{"current key, management", "GET", "/api/v1/key", e.mgmt, nil, 200, "CurrentKeyResponse"},
		{"current key, inference", "GET", "/api/v1/key", inference, nil, 200, "CurrentKeyResponse"},
		{"legacy alias, management", "GET", "/api/v1/auth/key", e.mgmt, nil, 200, "CurrentKeyResponse"},
		{"legacy alias, inference", "GET", "/api/v1/auth/key", inference, nil, 200, "CurrentKeyResponse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.key, tt.body)
			checkSuccess(t, r, tt.status, tt.schema)
			if (tt.schema == "ListKeysResponse" || tt.schema == "ActivityResponse" || tt.schema == "ListWorkspacesResponse") &&
				tt.path != "/api/v1/keys?offset=500" && len(r.body["data"].([]any)) == 0 {
				t.Errorf("empty list: nothing was validated")
			}
		})
	}
}

// TestErrorResponsesMatchOpenAPI checks one error of each status against
// the ErrorResponse schema; TestErrors covers the individual cases.
func TestErrorResponsesMatchOpenAPI(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	inference, inferenceHash, err := e.sb.CreateInferenceKey(e.mgmt, "inference")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   any
		status int
	}{
		{"400", "POST", "/api/v1/keys", e.mgmt, `{"name":""}`, http.StatusBadRequest},
		{"401", "GET", "/api/v1/keys", "", nil, http.StatusUnauthorized},
		{"403", "POST", "/api/v1/keys", inference, `{"name":"x"}`, http.StatusForbidden},
		{"404", "GET", "/api/v1/keys/" + hashOf("nothing"), e.mgmt, nil, http.StatusNotFound},
		{"405", "PUT", "/api/v1/keys", e.mgmt, nil, http.StatusMethodNotAllowed},
		{"400 PATCH without fields", "PATCH", "/api/v1/keys/" + inferenceHash, e.mgmt, `{"expires_at":null}`, http.StatusBadRequest},
		{"400 activity date", "GET", "/api/v1/activity?date=2020-01-01", e.mgmt, nil, http.StatusBadRequest},
		{"403 workspaces", "GET", "/api/v1/workspaces", inference, nil, http.StatusForbidden},
		{"403 credits", "GET", "/api/v1/credits", inference, nil, http.StatusForbidden},
		{"403 activity", "GET", "/api/v1/activity", inference, nil, http.StatusForbidden},
		{"404 workspace", "GET", "/api/v1/workspaces/nowhere", e.mgmt, nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, e.do(t, tt.method, tt.path, tt.key, tt.body), tt.status, "")
		})
	}
}

// TestEveryOpenAPIOperationIsServed: each operation of both fragments has a route in the sandbox
// (neither "Not Found" for the path nor 405 for the method).
func TestEveryOpenAPIOperationIsServed(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	_, k := e.createKey(t, map[string]any{"name": "target"})
	n := 0
	for _, file := range fragments {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]any `yaml:"paths"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for p, ops := range doc.Paths {
			for method := range ops {
				if method == "parameters" {
					continue
				}
				n++
				path := "/api/v1" + strings.NewReplacer("{hash}", k["hash"].(string), "{id}", "default").Replace(p)
				var body any
				if method == "post" || method == "patch" {
					body = map[string]any{"name": "served"}
				}
				r := e.do(t, strings.ToUpper(method), path, e.mgmt, body)
				if r.status == http.StatusMethodNotAllowed || (r.status == http.StatusNotFound && strings.Contains(string(r.raw), `"Not Found"`)) {
					t.Errorf("%s %s (%s): %d %s", strings.ToUpper(method), p, file, r.status, r.raw)
				}
			}
		}
	}
	if n != 24 {
		t.Errorf("%d operations in the fragments, want 24 (6 key operations, 4 account ones, 14 controls)", n)
	}
}
