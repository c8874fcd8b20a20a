package tools

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// Tool arguments are validated here rather than by mcp-go's WithInputSchemaValidation or
// jsonschema-go's Validate: both put the rejected value in their messages, and the value may be a
// secret pasted where a hash belongs. These messages name the argument and what it must be, never what
// it was. The walker covers exactly the keywords our flat argument schemas use; newArgValidator refuses
// a schema that uses any other (TestEveryArgValidatorBuilds builds every tool's; a server builds each
// on the tool's first call), so nothing is silently left unchecked.

// argValidator checks a tool's arguments against its input schema; patterns are compiled once.
type argValidator struct {
	secret   func(string) bool // whether a value is a secret: a key, or one the server was told of
	schema   *jsonschema.Schema
	patterns map[string]*regexp.Regexp
	valid    string // the argument names, for messages
}

// newArgValidator fails for a schema the validator cannot fully enforce.
func newArgValidator(s *jsonschema.Schema, secret func(string) bool) (*argValidator, error) {
	if s.Type != "object" || s.AdditionalProperties == nil || s.AdditionalProperties.Not == nil {
		return nil, fmt.Errorf("input schema must be an object that forbids unknown properties")
	}
	v := &argValidator{secret: secret, schema: s, patterns: map[string]*regexp.Regexp{}}
	names := make([]string, 0, len(s.Properties))
	for name, p := range s.Properties {
		if err := v.enforceable(name, p); err != nil {
			return nil, err
		}
		if p.Items != nil {
			// An array of plain values (workspace ids, kinds of finding): each item is held to its schema.
			if p.Type != "array" || p.Items.Type == "array" {
				return nil, fmt.Errorf("property %q: only arrays of plain values are enforced", name)
			}
			if err := v.enforceable(name+"[]", p.Items); err != nil {
				return nil, err
			}
		}
		names = append(names, name)
	}
	sort.Strings(names)
	v.valid = strings.Join(names, ", ")
	return v, nil
}

// enforceable fails for a property schema that uses a keyword the validator does not enforce, and
// compiles its pattern.
func (v *argValidator) enforceable(name string, p *jsonschema.Schema) error {
	q := *p
	q.Type, q.Types, q.Enum, q.Minimum, q.Maximum, q.MinLength, q.MaxLength, q.Pattern = "", nil, nil, nil, nil, nil, nil, ""
	q.Description, q.Format, q.Items, q.MinItems, q.MaxItems = "", "", nil, nil, nil
	if !reflect.ValueOf(q).IsZero() {
		return fmt.Errorf("property %q uses a keyword the argument validator does not enforce", name)
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			return fmt.Errorf("property %q: %w", name, err)
		}
		v.patterns[name] = re
	}
	return nil
}

// argName quotes an argument name for a message, unless the name itself could be a secret.
func (v *argValidator) argName(name string) string {
	if v.secret(name) || len(name) > 64 || !utf8.ValidString(name) {
		return "an argument whose name looks like a secret or is malformed"
	}
	return "`" + name + "`"
}

// validate returns a message for the model when args do not satisfy s, or "" when they do. The
// message lists every problem, so one retry can fix them all.
func (v *argValidator) validate(args map[string]any) string {
	s := v.schema
	var problems []string
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := s.Properties[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is not an argument of this tool", v.argName(name)))
			continue
		}
		if msg := v.checkValue(name, p, args[name]); msg != "" {
			problems = append(problems, msg)
		}
	}
	for _, name := range s.Required {
		if _, ok := args[name]; !ok {
			problems = append(problems, fmt.Sprintf("`%s` is required: %s", name, s.Properties[name].Description))
		}
	}
	if len(problems) == 0 {
		return ""
	}
	msg := "Invalid arguments, nothing was sent to OpenRouter: " + strings.Join(problems, "; ") + "."
	if v.valid != "" {
		msg += " Valid arguments: " + v.valid + "."
	} else {
		msg += " This tool takes no arguments."
	}
	return msg
}

// checkValue checks one argument value against its property schema.
func (v *argValidator) checkValue(name string, p *jsonschema.Schema, value any) string {
	if msg := v.checkPlain(name, p, v.patterns[name], value); msg != "" {
		return msg
	}
	items, _ := value.([]any)
	if p.MaxItems != nil && len(items) > *p.MaxItems {
		return fmt.Sprintf("`%s` may hold at most %d items", name, *p.MaxItems)
	}
	if p.MinItems != nil && len(items) < *p.MinItems {
		return fmt.Sprintf("`%s` must hold at least %d items", name, *p.MinItems)
	}
	for i, item := range items {
		if msg := v.checkPlain(fmt.Sprintf("%s[%d]", name, i), p.Items, v.patterns[name+"[]"], item); msg != "" {
			return msg
		}
	}
	return ""
}

// checkPlain checks one value against a schema of plain keywords (type, enum, minimum, maximum,
// lengths, pattern).
func (val *argValidator) checkPlain(name string, p *jsonschema.Schema, pattern *regexp.Regexp, v any) string {
	if s, ok := v.(string); ok && val.secret(s) {
		return fmt.Sprintf("`%s` contains what looks like an OpenRouter secret key or another secret; never pass secrets to these tools "+
			"(keys are named by their hash, a 64-hex-character id from list_keys); the value was not sent or stored", name)
	}
	allowed := p.Types
	if p.Type != "" {
		allowed = []string{p.Type}
	}
	got := jsonType(v)
	if !typeAllowed(allowed, got) {
		return fmt.Sprintf("`%s` must be %s, not %s", name, describeTypes(allowed), article(got))
	}
	if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
		return fmt.Sprintf("`%s` must be one of %s", name, describeEnum(p.Enum))
	}
	switch x := v.(type) {
	case float64:
		if p.Minimum != nil && x < *p.Minimum {
			return fmt.Sprintf("`%s` must be at least %g", name, *p.Minimum)
		}
		if p.Maximum != nil && x > *p.Maximum {
			return fmt.Sprintf("`%s` must be at most %g", name, *p.Maximum)
		}
	case string:
		n := utf8.RuneCountInString(x)
		if p.MinLength != nil && n < *p.MinLength {
			if *p.MinLength == 1 {
				return fmt.Sprintf("`%s` must not be empty", name)
			}
			return fmt.Sprintf("`%s` must be at least %d characters long", name, *p.MinLength)
		}
		if p.MaxLength != nil && n > *p.MaxLength {
			return fmt.Sprintf("`%s` must be at most %d characters long", name, *p.MaxLength)
		}
		if pattern != nil && !pattern.MatchString(x) {
			return fmt.Sprintf("`%s` has the wrong format; it must be %s", name, p.Description)
		}
	}
	return ""
}

// jsonType names the JSON type of a decoded value; whole numbers are also integers.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func typeAllowed(allowed []string, got string) bool {
	return slices.Contains(allowed, got) || (got == "integer" && slices.Contains(allowed, "number"))
}

func describeTypes(types []string) string {
	words := make([]string, 0, len(types))
	nullable := false
	for _, t := range types {
		if t == "null" {
			nullable = true
			continue
		}
		words = append(words, article(t))
	}
	if nullable { // last reads better: "an integer or null"
		words = append(words, "null")
	}
	return strings.Join(words, " or ")
}

func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "integer", "object", "array":
		return "an " + t
	case "unknown":
		return "a value of an unknown type"
	}
	return "a " + t
}

func describeEnum(values []any) string {
	words := make([]string, len(values))
	for i, v := range values {
		if v == nil {
			words[i] = "null"
		} else {
			words[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(words, ", ")
}
