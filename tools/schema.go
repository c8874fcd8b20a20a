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
	// A UUID's characters and length, written short: most tool definitions carry it, and tools/list is
	// read by the model. A malformed id of the right length is refused by OpenRouter (and, for guardrail
	// and BYOK ids, by the client before sending).
	uuidPattern = `^[0-9a-fA-F-]{36}$`
	// A UTC day, as GET /activity takes it.
	datePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
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
// Nullable wrappers, which would otherwise be inferred as objects. Input schemas are portable (one plain
// type per property, no null anywhere: see portable), so a Nullable is described by its value's type;
// clearing a value is an argument of its own (update_key's remove_limit, limit_reset "never").
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[openrouter.LimitReset]():                      {Type: "string", Enum: limitResets()},
	reflect.TypeFor[openrouter.Optional[string]]():                {Type: "string"},
	reflect.TypeFor[openrouter.Optional[bool]]():                  {Type: "boolean"},
	reflect.TypeFor[openrouter.Optional[float64]]():               {Type: "number"},
	reflect.TypeFor[openrouter.Nullable[float64]]():               {Type: "number"},
	reflect.TypeFor[openrouter.Nullable[openrouter.LimitReset]](): {Type: "string", Enum: limitResets()},
}

// deriveInput infers the input schema of T, made portable, and lets constrain add what tags cannot say.
func deriveInput[T any](constrain func(*jsonschema.Schema)) (*jsonschema.Schema, error) {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		return nil, err
	}
	for _, p := range s.Properties {
		portable(p)
	}
	if constrain != nil {
		constrain(s)
	}
	return s, nil
}

// deriveOutput infers the output schema of T, which describes OpenRouter's data as it is, nulls
// included, and lets constrain tighten it.
func deriveOutput[T any](constrain func(*jsonschema.Schema)) (*jsonschema.Schema, error) {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		return nil, err
	}
	if constrain != nil {
		constrain(s)
	}
	return s, nil
}

// portable gives an argument one plain type and no null value. Some hosts and models reject type
// arrays (Gemini's function declarations, strict tool modes), and a host that makes every optional
// field nullable would otherwise let a model clear a value it meant to leave alone: a null argument
// means "not given" (dropNulls), so the schema does not offer null at all.
func portable(s *jsonschema.Schema) {
	if len(s.Types) > 0 {
		types := slices.DeleteFunc(slices.Clone(s.Types), func(t string) bool { return t == "null" })
		if len(types) == 1 {
			s.Type, s.Types = types[0], nil
		} else {
			s.Types = types
		}
	}
	s.Enum = slices.DeleteFunc(s.Enum, func(v any) bool { return v == nil })
}

// encodeSchema resolves a derived schema, so that one that does not compile is an error rather than
// skipped by a client, and encodes it for the tool's definition.
func encodeSchema(s *jsonschema.Schema) (json.RawMessage, error) {
	if _, err := s.Resolve(nil); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// Deriving a schema is cheap; resolving and encoding one is not (about 4 ms for the twelve, most of
// the server's start-up beyond mcp-go's own: BENCHMARKS.md). So the encoded schemas are made ahead,
// by UPDATE_GOLDEN=1 go test ./tools/, into pregenerated (schemas_gen.go), and
// TestEncodedSchemasAreCurrent fails when they are not what the Go types give now. A tool missing
// from pregenerated has its schemas resolved and encoded at start-up instead.
type encodedPair struct{ in, out string }

// property returns the named property of an object schema; a misspelt name is a programming error that
// must stop start-up, not a constraint silently not applied.
func property(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties[name]
	if !ok {
		panic(fmt.Sprintf("schema has no property %q", name))
	}
	return p
}

// requireHash constrains the hash argument shared by get_key, update_key, delete_key and get_activity.
func requireHash(s *jsonschema.Schema) {
	property(s, "hash").Pattern = openrouter.HashPattern
}
