package tools_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The tools' input schemas are derived from Go types that mirror OpenRouter's request bodies and query
// parameters. This test holds them against the OpenAPI fragments in testdata (the key endpoints, and the
// account endpoints next to them), so that a field added,
// renamed or retyped on either side fails the build. Input schemas are portable: where OpenAPI allows
// null, the tool offers the plain type (a null argument means "not given"), and where null means
// "clear" (PATCH), the tool must offer the clearing explicitly (clearedBy).

// openAPISource says where in the OpenAPI fragments each tool's arguments come from.
var openAPISource = map[string]struct {
	query     string   // an operation whose query parameters are the arguments: "get /keys"
	body      string   // a components.schemas request body
	pathHash  bool     // the {hash} path parameter is an argument
	leftOut   []string // request fields deliberately not offered to agents (say why below)
	extraArgs []string // arguments the server adds to the API's own (say why below)
	// extraRequired are those of extraArgs that a call must give.
	extraRequired []string
	// renamed maps an API name to the argument that carries it, where the tools already have a name for
	// the same thing: a model that has used hash with get_key should not meet api_key_hash.
	renamed map[string]string
	// clearedBy says, for a field whose null clears a value, how the tool offers that instead: an
	// argument of its own, or "=value", a value of the field's enum.
	clearedBy map[string]string
}{
	// name and all are done by the server: OpenRouter can neither filter by name nor return every page.
	// cursor and page_size, here and below, page the result for the model's context (sizing.go).
	"list_keys": {query: "get /keys", extraArgs: []string{"name", "all", "cursor", "page_size"}},
	// creator_user_id only matters for organisation members creating keys on another's behalf, and
	// external is partner attribution with a second secret (api_key): neither is for agents.
	"create_key": {body: "CreateKeyRequest", leftOut: []string{"creator_user_id", "external"}},
	"update_key": {body: "UpdateKeyRequest", pathHash: true, extraArgs: []string{"remove_limit"},
		clearedBy: map[string]string{"limit": "remove_limit", "limit_reset": "=never"}},
	"get_key":     {pathHash: true},
	"delete_key":  {pathHash: true},
	"current_key": {},
	// offset and limit are left out: the tool follows the pages itself, up to 500 workspaces.
	"list_workspaces": {query: "get /workspaces", leftOut: []string{"offset", "limit"}, extraArgs: []string{"cursor", "page_size"}},
	"get_credits":     {query: "get /credits"},
	// user_id filters by organisation member, which no tool can name; group_by=workspace splits every
	// row per workspace, where workspace_id already narrows the activity to one.
	"get_activity": {query: "get /activity", leftOut: []string{"user_id", "group_by"}, extraArgs: []string{"cursor", "page_size"},
		renamed: map[string]string{"api_key_hash": "hash"}},
	// audit_keys reads GET /workspaces and GET /keys itself: its arguments are the audit's own.
	"audit_keys": {extraArgs: []string{"workspace_ids", "kinds", "unused_days", "near_limit_pct", "expiring_days", "cursor", "page_size"}},
	// rotate_key is GET /keys/{hash}, POST /keys and PATCH or DELETE /keys/{hash}: the successor takes the
	// old key's settings, so only its name and how to retire the old key are arguments.
	"rotate_key": {pathHash: true, extraArgs: []string{"name", "retire"}},
	// plan_cleanup chooses keys as audit_keys does, and gives each an action; apply_plan takes its token.
	"plan_cleanup": {extraArgs: []string{"delete", "disable", "set_limit", "limit", "limit_reset", "assign_guardrail", "guardrail_id", "workspace_ids",
		"unused_days", "near_limit_pct", "expiring_days"}},
	"apply_plan": {extraArgs: []string{"plan_token"}, extraRequired: []string{"plan_token"}},
	// The controls' tools read several endpoints each and follow their pages (openapi-controls.yaml):
	// their arguments are the tools' own. list_guardrails is GET /guardrails (workspace_id) or
	// GET /guardrails/{id}; assign_guardrail posts {key_hashes} to /guardrails/{id}/assignments/keys
	// (or …/remove), named hashes as elsewhere; query_spend builds POST /analytics/query's body from
	// days, group_by and a key's hash.
	"list_guardrails":  {extraArgs: []string{"guardrail_id", "workspace_id"}},
	"assign_guardrail": {extraArgs: []string{"guardrail_id", "hashes", "remove"}},
	"list_members":     {extraArgs: []string{"member", "cursor", "page_size"}},
	"query_spend":      {extraArgs: []string{"start", "end", "days", "group_by", "hash", "cursor", "page_size"}},
}

// apiProp is what the test compares of one property on either side.
type apiProp struct {
	types     []string
	enum      []string
	minLength *float64
	minimum   *float64
}

func (p apiProp) String() string {
	return fmt.Sprintf("types=%v enum=%v", p.types, p.enum)
}

// loadOpenAPI reads the OpenAPI fragments: the key endpoints first, then the account endpoints (activity,
// credits, workspaces).
func loadOpenAPI(t *testing.T) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, name := range []string{"openapi-keys.yaml", "openapi-adjacent.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// fragmentWith returns the one fragment that has path, so that its own components resolve its $refs.
func fragmentWith(t *testing.T, docs []map[string]any, path string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, doc := range docs {
		if _, ok := asMap(doc["paths"])[path]; ok {
			if found != nil {
				t.Fatalf("OpenAPI: %s is in more than one fragment", path)
			}
			found = doc
		}
	}
	if found == nil {
		t.Fatalf("OpenAPI: no fragment has %s", path)
	}
	return found
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("OpenAPI: no %q in %v", p, path)
		}
		v = m[p]
	}
	return v
}

// propOf reads a property schema from either side into the compared form.
func propOf(t *testing.T, doc, s map[string]any) apiProp {
	t.Helper()
	if ref, ok := s["$ref"].(string); ok {
		s = dig(t, doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
	}
	var p apiProp
	switch ty := s["type"].(type) {
	case string:
		p.types = []string{ty}
	case []any:
		for _, x := range ty {
			p.types = append(p.types, fmt.Sprint(x))
		}
	}
	// OpenRouter types some query booleans as strings "true"/"false" and says so in an extension.
	if xt, ok := s["x-openrouter-type"].(string); ok {
		p.types = []string{xt}
	}
	for _, e := range asSlice(s["enum"]) {
		if e == nil {
			p.enum = append(p.enum, "null")
		} else {
			p.enum = append(p.enum, fmt.Sprint(e))
		}
	}
	p.minLength = number(s["minLength"])
	p.minimum = number(s["minimum"])
	sort.Strings(p.types)
	sort.Strings(p.enum)
	return p
}

func number(v any) *float64 {
	switch n := v.(type) {
	case int:
		f := float64(n)
		return &f
	case float64:
		return &n
	}
	return nil
}

// expected returns the arguments, and the required ones, that the OpenAPI fragments give a tool.
func expected(t *testing.T, docs []map[string]any, tool string) (map[string]apiProp, []string) {
	t.Helper()
	src := openAPISource[tool]
	doc := docs[0] // the key endpoints, which hold the request bodies and the {hash} parameter
	props := map[string]apiProp{}
	var required []string
	if src.query != "" {
		method, path, _ := strings.Cut(src.query, " ")
		queryDoc := fragmentWith(t, docs, path)
		for _, p := range asSlice(dig(t, queryDoc, "paths", path, method, "parameters")) {
			pm := p.(map[string]any)
			name := pm["name"].(string)
			if pm["in"] != "query" || slices.Contains(src.leftOut, name) {
				continue
			}
			if to, ok := src.renamed[name]; ok {
				name = to
			}
			props[name] = propOf(t, queryDoc, pm["schema"].(map[string]any))
			if pm["required"] == true {
				required = append(required, name)
			}
		}
	}
	if src.body != "" {
		body := dig(t, doc, "components", "schemas", src.body).(map[string]any)
		for name, s := range body["properties"].(map[string]any) {
			if slices.Contains(src.leftOut, name) {
				continue
			}
			props[name] = propOf(t, doc, s.(map[string]any))
		}
		if req, ok := body["required"].([]any); ok {
			for _, r := range req {
				required = append(required, r.(string))
			}
		}
	}
	if src.pathHash {
		hash := dig(t, doc, "components", "parameters", "KeyHash").(map[string]any)
		props["hash"] = propOf(t, doc, hash["schema"].(map[string]any))
		required = append(required, "hash")
	}
	required = append(required, src.extraRequired...)
	sort.Strings(required)
	return props, required
}

func TestInputSchemasMatchTheOpenAPIFragment(t *testing.T) {
	docs := loadOpenAPI(t)
	e := newEnv(t, "management")
	if len(openAPISource) != len(e.order) {
		t.Fatalf("openAPISource covers %d tools, the server has %d", len(openAPISource), len(e.order))
	}
	for _, name := range e.order {
		t.Run(name, func(t *testing.T) {
			var schema map[string]any
			if err := json.Unmarshal(e.tools[name].Tool.RawInputSchema, &schema); err != nil {
				t.Fatal(err)
			}
			want, wantRequired := expected(t, docs, name)
			got := map[string]apiProp{}
			if props, ok := schema["properties"].(map[string]any); ok {
				for n, s := range props {
					got[n] = propOf(t, docs[0], s.(map[string]any))
				}
			}
			for n, w := range want {
				g, ok := got[n]
				if !ok {
					t.Errorf("OpenAPI has %q, the tool does not (add it, or list it in leftOut with a reason)", n)
					continue
				}
				if slices.Contains(g.types, "null") || slices.Contains(g.enum, "null") {
					t.Errorf("%q: an input schema must not offer null (portability): %v", n, g)
				}
				nullable := slices.Contains(w.types, "null")
				w.types = slices.DeleteFunc(w.types, func(s string) bool { return s == "null" })
				w.enum = slices.DeleteFunc(w.enum, func(s string) bool { return s == "null" })
				if clear, ok := openAPISource[name].clearedBy[n]; ok {
					if v, isValue := strings.CutPrefix(clear, "="); isValue {
						g.enum = slices.DeleteFunc(g.enum, func(s string) bool { return s == v })
					} else if _, ok := got[clear]; !ok {
						t.Errorf("%q: null clears it in OpenAPI; the tool lacks %q to do that", n, clear)
					}
				} else if nullable && openAPISource[name].body == "UpdateKeyRequest" {
					t.Errorf("%q: null clears it in OpenAPI; say in clearedBy how the tool offers that", n)
				}
				if !slices.Equal(g.types, w.types) || !slices.Equal(g.enum, w.enum) {
					t.Errorf("%q: tool has %v, OpenAPI has %v", n, g, w)
				}
				if w.minLength != nil && (g.minLength == nil || *g.minLength < *w.minLength) {
					t.Errorf("%q: OpenAPI requires minLength %g", n, *w.minLength)
				}
				if w.minimum != nil && (g.minimum == nil || *g.minimum < *w.minimum) {
					t.Errorf("%q: OpenAPI requires minimum %g", n, *w.minimum)
				}
			}
			for n := range got {
				if _, ok := want[n]; !ok && !slices.Contains(openAPISource[name].extraArgs, n) {
					t.Errorf("the tool has %q, which OpenAPI does not", n)
				}
			}
			var gotRequired []string
			for _, r := range asSlice(schema["required"]) {
				src := openAPISource[name]
				// The server's own arguments: OpenAPI cannot require them, unless the source says a call must give them.
				if !slices.Contains(src.extraArgs, r.(string)) || slices.Contains(src.extraRequired, r.(string)) {
					gotRequired = append(gotRequired, r.(string))
				}
			}
			sort.Strings(gotRequired)
			if !slices.Equal(gotRequired, wantRequired) {
				t.Errorf("required: tool %v, OpenAPI %v", gotRequired, wantRequired)
			}
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
