package tools

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// listGuardrailsArgs choose the guardrails: of a workspace, or one in full.
type listGuardrailsArgs struct {
	GuardrailID string `json:"guardrail_id,omitempty" jsonschema:"only this one, in full"`
	WorkspaceID string `json:"workspace_id,omitempty" jsonschema:"default: the default workspace"`
}

// assignedKey is a key a guardrail is assigned to.
type assignedKey struct {
	Hash string `json:"hash" jsonschema:"the key's hash"`
	Name string `json:"name" jsonschema:"the key's name"`
}

// assignedMember is a member a guardrail is assigned to.
type assignedMember struct {
	ID   string `json:"id" jsonschema:"the member's user id"`
	Name string `json:"name" jsonschema:"the member's name or email; the id of one who left"`
}

// guardrailSummary is one guardrail with its rules in a line and where it is assigned.
type guardrailSummary struct {
	ID               string                `json:"id" jsonschema:"the guardrail's id"`
	Name             string                `json:"name" jsonschema:"the guardrail's name"`
	Rules            string                `json:"rules" jsonschema:"its budget and rules in one line"`
	WorkspaceDefault bool                  `json:"workspace_default,omitempty" jsonschema:"true for a workspace's default guardrail, which binds every key of the workspace"`
	Keys             []assignedKey         `json:"keys" jsonschema:"the keys it is assigned to"`
	Members          []assignedMember      `json:"members" jsonschema:"the members it is assigned to: it binds the keys they create"`
	Detail           *openrouter.Guardrail `json:"detail,omitempty" jsonschema:"every field of the guardrail, when one was asked for by guardrail_id"`
}

// listGuardrailsResult is list_guardrails' structuredContent.
type listGuardrailsResult struct {
	Guardrails []guardrailSummary `json:"guardrails" jsonschema:"the guardrails"`
}

var listGuardrails = spec[listGuardrailsArgs, listGuardrailsResult]{
	name:  "list_guardrails",
	title: "List guardrails",
	description: "List guardrails (budgets, model and data rules) with the keys and members each is assigned to; " +
		"guardrail_id shows one in full.",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	constrainInput: func(s *jsonschema.Schema) {
		property(s, "guardrail_id").Pattern = uuidPattern
		property(s, "workspace_id").Pattern = uuidPattern
	},
	call: func(ctx context.Context, d *deps, in listGuardrailsArgs) (listGuardrailsResult, error) {
		ctl, err := readControls(ctx, d.client, []string{in.WorkspaceID})
		if err != nil {
			return listGuardrailsResult{}, err
		}
		gs := ctl.listed
		if in.GuardrailID != "" {
			g, err := d.client.GetGuardrail(ctx, in.GuardrailID)
			if err != nil {
				return listGuardrailsResult{}, err
			}
			gs = []openrouter.Guardrail{*g}
		}
		out := listGuardrailsResult{Guardrails: make([]guardrailSummary, len(gs))}
		for i, g := range gs {
			out.Guardrails[i] = ctl.summary(g)
			if in.GuardrailID != "" {
				out.Guardrails[i].Detail = &g
			}
		}
		return out, nil
	},
	text: func(in listGuardrailsArgs, out listGuardrailsResult) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%d guardrails.", len(out.Guardrails))
		for _, g := range out.Guardrails {
			fmt.Fprintf(&b, "\n%q %s: %s", g.Name, g.ID, g.Rules)
			if g.WorkspaceDefault {
				b.WriteString("; the workspace's default: binds every key of the workspace")
			}
			b.WriteString(". Keys: " + joinNames(g.Keys, func(k assignedKey) string { return strconv.Quote(k.Name) + " " + k.Hash }))
			b.WriteString(". Members: " + joinNames(g.Members, func(m assignedMember) string { return m.Name }) + ".")
		}
		if in.GuardrailID != "" {
			b.WriteString("\nEvery field of the guardrail is in the structured content.")
		}
		return b.String()
	},
	failed: func(in listGuardrailsArgs, err error) string {
		if in.GuardrailID != "" && openrouter.StatusOf(err) == 404 {
			return "Call list_guardrails without guardrail_id to see the guardrails' ids."
		}
		return ""
	},
}

// joinNames lists items by name, or says there are none.
func joinNames[T any](items []T, name func(T) string) string {
	if len(items) == 0 {
		return "none"
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = name(it)
	}
	return strings.Join(names, ", ")
}

// summary is g with its rules in a line and the keys and members it is assigned to.
func (ctl *controls) summary(g openrouter.Guardrail) guardrailSummary {
	s := guardrailSummary{ID: g.ID, Name: g.Name, Rules: guardrailRules(g), Keys: []assignedKey{}, Members: []assignedMember{}}
	for _, id := range ctl.workspaceDefault {
		s.WorkspaceDefault = s.WorkspaceDefault || id == g.ID
	}
	for _, a := range ctl.keyAssignments {
		if a.GuardrailID == g.ID {
			s.Keys = append(s.Keys, assignedKey{Hash: a.KeyHash, Name: a.KeyName})
		}
	}
	for _, a := range ctl.userAssignments {
		if a.GuardrailID == g.ID {
			s.Members = append(s.Members, assignedMember{ID: a.UserID, Name: ctl.memberText(a.UserID)})
		}
	}
	return s
}

// memberText names a member by name, else email; one who left by id.
func (ctl *controls) memberText(id string) string {
	m, ok := ctl.members[id]
	switch {
	case !ok:
		return id + " (left)"
	case memberName(m) != "":
		return memberName(m)
	case m.Email != "":
		return m.Email
	}
	return id
}

// guardrailRules says a guardrail's budget and rules in one line.
func guardrailRules(g openrouter.Guardrail) string {
	var r []string
	if g.LimitUSD == nil {
		r = append(r, "no budget")
	} else {
		budget := "budget " + formatUSD(*g.LimitUSD) + " USD"
		if g.ResetInterval != nil {
			budget += " " + *g.ResetInterval
		}
		if g.IncludeBYOKInBudgets {
			budget += " incl. BYOK"
		}
		r = append(r, budget)
	}
	lists := []struct {
		what  string
		items []string
	}{{"models", g.AllowedModels}, {"ignored models", g.IgnoredModels}, {"providers", g.AllowedProviders}, {"ignored providers", g.IgnoredProviders}}
	for _, l := range lists {
		if len(l.items) > 0 {
			r = append(r, l.what+" "+strings.Join(l.items, ", "))
		}
	}
	var zdr []string
	for group, on := range map[string]*bool{"all": g.EnforceZDR, "anthropic": g.EnforceZDRAnthropic, "google": g.EnforceZDRGoogle,
		"openai": g.EnforceZDROpenAI, "xai": g.EnforceZDRXAI, "other": g.EnforceZDROther} {
		if on != nil && *on {
			zdr = append(zdr, group)
		}
	}
	if len(zdr) > 0 {
		slices.Sort(zdr)
		r = append(r, "zero data retention ("+strings.Join(zdr, ", ")+")")
	}
	var filters []string
	for _, f := range g.ContentFilterBuiltins {
		filters = append(filters, f.Slug+" "+f.Action)
	}
	for _, f := range g.ContentFilters {
		filters = append(filters, "regex "+f.Action)
	}
	if len(filters) > 0 {
		r = append(r, "filters "+strings.Join(filters, ", "))
	}
	return strings.Join(r, "; ")
}
