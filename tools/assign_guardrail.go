package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// maxAssignKeys is the most keys one assign_guardrail call changes.
const maxAssignKeys = 50

// assignGuardrailArgs name a guardrail and the keys to assign it to or remove from it.
type assignGuardrailArgs struct {
	GuardrailID string   `json:"guardrail_id" jsonschema:"from list_guardrails"`
	Hashes      []string `json:"hashes" jsonschema:"the keys' hashes"`
	Remove      bool     `json:"remove,omitempty" jsonschema:"remove the keys from it instead"`
}

// replacedGuardrail is a key that had another guardrail, which the assignment replaced.
type replacedGuardrail struct {
	Hash        string `json:"hash" jsonschema:"the key's hash"`
	Name        string `json:"name" jsonschema:"the key's name"`
	GuardrailID string `json:"guardrail_id" jsonschema:"the guardrail it had"`
}

// assignGuardrailResult is assign_guardrail's structuredContent.
type assignGuardrailResult struct {
	GuardrailID string              `json:"guardrail_id" jsonschema:"the guardrail"`
	Removed     bool                `json:"removed" jsonschema:"true when the keys were removed from it"`
	Count       int                 `json:"count" jsonschema:"how many keys OpenRouter assigned or removed (keys that did not have it are not removed)"`
	Replaced    []replacedGuardrail `json:"replaced" jsonschema:"keys that had another guardrail, which this one replaced"`
}

var assignGuardrail = spec[assignGuardrailArgs, assignGuardrailResult]{
	name:  "assign_guardrail",
	title: "Assign a guardrail to keys",
	description: "Assign a guardrail to keys, or remove keys from it. A key holds one guardrail: the result names " +
		"keys whose other guardrail this replaced.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(false), DestructiveHint: hint(true), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "guardrail_id").Pattern = uuidPattern
		h := property(s, "hashes")
		h.Items.Pattern = openrouter.HashPattern
		h.MinItems, h.MaxItems = jsonschema.Ptr(1), jsonschema.Ptr(maxAssignKeys)
	},
	subject: func(in assignGuardrailArgs) (string, string) {
		verb := "+"
		if in.Remove {
			verb = "-"
		}
		// One audit record for the call, naming every key.
		return "", "guardrail " + in.GuardrailID + " " + verb + strings.Join(in.Hashes, ",")
	},
	admit: func(p Policy, in *assignGuardrailArgs, _ time.Time) error {
		if p.Guardrail == "" || (in.GuardrailID == p.Guardrail) != in.Remove {
			return nil
		}
		return refusal("--guardrail", p.Guardrail, "every key this server makes is bound by that guardrail; it may be "+
			"assigned to more keys, not removed from keys or replaced by another")
	},
	call: func(ctx context.Context, d *deps, in assignGuardrailArgs) (assignGuardrailResult, error) {
		hashes := slices.Compact(slices.Sorted(slices.Values(in.Hashes)))
		if err := checkTargets(ctx, d, hashes); err != nil {
			return assignGuardrailResult{}, err
		}
		// Fresh, not from the client's cache: the result says which guardrails this call replaced.
		before, err := readAll(openrouter.Fresh(ctx), d.client.ListKeyAssignments)
		if err != nil {
			return assignGuardrailResult{}, err
		}
		out := assignGuardrailResult{GuardrailID: in.GuardrailID, Removed: in.Remove, Replaced: []replacedGuardrail{}}
		if in.Remove {
			out.Count, err = d.client.UnassignKeys(ctx, in.GuardrailID, hashes)
			return out, err
		}
		if out.Count, err = d.client.AssignKeys(ctx, in.GuardrailID, hashes); err != nil {
			return assignGuardrailResult{}, err
		}
		for _, a := range before {
			if slices.Contains(hashes, a.KeyHash) && a.GuardrailID != in.GuardrailID {
				out.Replaced = append(out.Replaced, replacedGuardrail{Hash: a.KeyHash, Name: a.KeyName, GuardrailID: a.GuardrailID})
			}
		}
		return out, nil
	},
	summary: func(in assignGuardrailArgs, out assignGuardrailResult) string {
		if out.Removed {
			return fmt.Sprintf("Removed %d of %d keys from guardrail %s; keys that did not have it are not counted.",
				out.Count, len(in.Hashes), out.GuardrailID)
		}
		s := fmt.Sprintf("Assigned guardrail %s to %d keys.", out.GuardrailID, out.Count)
		if len(out.Replaced) > 0 {
			s += " It replaced another guardrail on " + joinNames(out.Replaced, func(r replacedGuardrail) string {
				return fmt.Sprintf("%q (had %s)", r.Name, r.GuardrailID)
			}) + "."
		}
		return s
	},
	failed: func(in assignGuardrailArgs, err error) string {
		if openrouter.StatusOf(err) == 400 {
			return "Check the hashes with list_keys and the guardrail with list_guardrails (a workspace's default " +
				"guardrail binds its keys already and cannot be assigned). No key was changed."
		}
		return ""
	},
}

// checkTargets holds every key a call would change to the managed prefix, looking each up; nothing is
// changed when one is not the server's to manage.
func checkTargets(ctx context.Context, d *deps, hashes []string) error {
	if d.opts.Policy.ManagedPrefix == "" {
		return nil
	}
	for _, h := range hashes {
		k, err := d.client.GetKey(ctx, h)
		if err != nil {
			return err
		}
		if err := d.opts.Policy.checkTarget(k); err != nil {
			return err
		}
	}
	return nil
}
