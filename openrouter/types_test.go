package openrouter_test

import (
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// TestTypesDescribeEveryField: the tools derive their output schemas from these types, and an agent
// reads each property's description, so every field carries one.
func TestTypesDescribeEveryField(t *testing.T) {
	schemas := map[string]func() (*jsonschema.Schema, error){
		"Key":          func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.Key](nil) },
		"CurrentKey":   func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.CurrentKey](nil) },
		"KeyBudget":    func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.KeyBudget](nil) },
		"Workspace":    func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.Workspace](nil) },
		"Credits":      func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.Credits](nil) },
		"ActivityRow":  func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.ActivityRow](nil) },
		"Activity in":  func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.ActivityParams](nil) },
		"Workspace in": func() (*jsonschema.Schema, error) { return jsonschema.For[openrouter.ListWorkspacesParams](nil) },
	}
	for name, derive := range schemas {
		s, err := derive()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for prop, p := range s.Properties {
			if p.Description == "" {
				t.Errorf("%s.%s has no description", name, prop)
			}
		}
	}
}
