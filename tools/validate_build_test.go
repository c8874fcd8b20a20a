package tools

import "testing"

// TestEveryArgValidatorBuilds builds the argument validator of every tool, as a server does on the
// tool's first call: a schema the validator cannot fully enforce fails here, never a call.
func TestEveryArgValidatorBuilds(t *testing.T) {
	for _, d := range declarations {
		if _, err := d.validator(func(string) bool { return false }); err != nil {
			t.Errorf("%s: %v", d.toolName(), err)
		}
	}
}
