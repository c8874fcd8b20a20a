package tools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Constraints that struct tags cannot carry, set on the derived schemas.
const (
	hashPattern = `^[0-9a-f]{64}$`
	uuidPattern = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	// OpenRouter wants UTC with seconds; it rejects minute precision and other offsets.
	utcTimePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$`
)

// limitResets is the limit_reset enum, as JSON values.
func limitResets() []any {
	out := make([]any, len(openrouter.LimitResets))
	for i, r := range openrouter.LimitResets {
		out[i] = string(r)
	}
	return out
}

// typeSchemas maps the client's field types to their JSON Schema: the named enum, and the Optional and
// Nullable wrappers, which would otherwise be inferred as objects.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[openrouter.LimitReset]():                      {Type: "string", Enum: limitResets()},
	reflect.TypeFor[openrouter.Optional[string]]():                {Type: "string"},
	reflect.TypeFor[openrouter.Optional[bool]]():                  {Type: "boolean"},
	reflect.TypeFor[openrouter.Nullable[float64]]():               {Types: []string{"number", "null"}},
	reflect.TypeFor[openrouter.Nullable[openrouter.LimitReset]](): {Types: []string{"string", "null"}, Enum: append(limitResets(), nil)},
}

// compiledSchema is a schema derived from a Go type, checked, resolved and encoded once at start-up.
type compiledSchema struct {
	schema   *jsonschema.Schema
	resolved *jsonschema.Resolved
	raw      json.RawMessage
}

// deriveSchema infers the schema of T, lets constrain add what tags cannot say, and resolves it, so a
// schema that does not compile fails start-up rather than being skipped at call time.
func deriveSchema[T any](constrain func(*jsonschema.Schema)) (*compiledSchema, error) {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		return nil, err
	}
	for _, p := range s.Properties {
		allowNullInEnum(p)
	}
	if constrain != nil {
		constrain(s)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return &compiledSchema{schema: s, resolved: resolved, raw: raw}, nil
}

// allowNullInEnum keeps a nullable enum (a *LimitReset) able to hold null: an enum lists every value
// allowed, so null must be among them.
func allowNullInEnum(s *jsonschema.Schema) {
	if len(s.Enum) > 0 && slices.Contains(s.Types, "null") && !slices.Contains(s.Enum, any(nil)) {
		s.Enum = append(s.Enum, nil)
	}
}

// property returns the named property of an object schema; a misspelt name is a programming error that
// must stop start-up, not a constraint silently not applied.
func property(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties[name]
	if !ok {
		panic(fmt.Sprintf("schema has no property %q", name))
	}
	return p
}

// requireHash constrains the hash argument shared by get_key, update_key and delete_key.
func requireHash(s *jsonschema.Schema) {
	property(s, "hash").Pattern = hashPattern
}
