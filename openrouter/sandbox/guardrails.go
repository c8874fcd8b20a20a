package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
)

// Guardrails and their assignments: GET /guardrails, GET /guardrails/{id},
// the key assignments (all, per guardrail, assign, remove) and the member
// assignments (all, per guardrail).

const (
	msgKeyHashes      = "key_hashes must be a non-empty array of key hashes (64 lowercase hex characters)"
	msgKeyHashUnknown = "key_hashes must name keys of this account; at least one does not"
	msgAssignDefault  = "a workspace's default guardrail applies to every key of the workspace and cannot be assigned to keys"
)

func (g *guardrail) wire() wireGuardrail {
	w := wireGuardrail{
		ID: g.id, Name: g.name, Description: clonePtr(g.description), WorkspaceID: clonePtr(g.workspaceID),
		LimitUSD: clonePtr(g.limitUSD), ResetInterval: clonePtr(g.resetInterval), IncludeBYOKInBudgets: g.includeBYOK,
		AllowedModels: slices.Clone(g.allowedModels), IgnoredModels: slices.Clone(g.ignoredModels),
		AllowedProviders: slices.Clone(g.allowedProviders), IgnoredProviders: slices.Clone(g.ignoredProviders),
		EnforceZDRAnthropic: clonePtr(g.zdr), EnforceZDRGoogle: clonePtr(g.zdr), EnforceZDROpenAI: clonePtr(g.zdr),
		EnforceZDROther: clonePtr(g.zdr), EnforceZDRXAI: clonePtr(g.zdr),
		CreatedAt: formatTime(g.createdAt), UpdatedAt: formatTimePtr(g.updatedAt),
	}
	if g.builtins != nil {
		w.ContentFilterBuiltins = []wireBuiltinFilter{}
		for _, b := range g.builtins {
			w.ContentFilterBuiltins = append(w.ContentFilterBuiltins, wireBuiltinFilter{Slug: b.slug, Action: b.action,
				Label: builtinLabel(b.slug), ScanScope: clonePtr(b.scanScope)})
		}
	}
	return w
}

// builtinLabel is the placeholder OpenRouter assigns to a builtin filter,
// derived from its slug ("[EMAIL]", "[CREDIT_CARD]").
func builtinLabel(slug string) string {
	b := []byte(slug)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return "[" + string(b) + "]"
}

// isDefault reports whether g is the default guardrail of one of acct's
// workspaces.
func (acct *account) isDefault(g *guardrail) bool {
	return slices.ContainsFunc(acct.workspaces, func(w *workspace) bool { return w.defaultGuardrailID() == g.id })
}

// lookupGuardrail finds the guardrail named by the {id} path value; a
// workspace's default guardrail exists only once it has been configured.
func lookupGuardrail(c *call) (*guardrail, *apiError) {
	return lookup(c, c.acct.guardrails, func(g *guardrail) string { return g.id })
}

// listGuardrails answers GET /guardrails: the guardrails of one workspace
// (the default one unless workspace_id says otherwise), in creation order.
func (s *Sandbox) listGuardrails(c *call) (int, any, *apiError) {
	offset, limit, ws, aerr := workspacePaging(c.acct, c.r.URL.Query())
	if aerr != nil {
		return 0, nil, aerr
	}
	var in []*guardrail
	for _, g := range c.acct.guardrails {
		if g.workspaceID != nil && *g.workspaceID == ws {
			in = append(in, g)
		}
	}
	return http.StatusOK, wirePage[wireGuardrail]{Data: page(in, offset, limit, (*guardrail).wire), TotalCount: len(in)}, nil
}

// getGuardrail answers GET /guardrails/{id}.
func (s *Sandbox) getGuardrail(c *call) (int, any, *apiError) {
	g, aerr := lookupGuardrail(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, wireGuardrailResponse{Data: g.wire()}, nil
}

func (acct *account) wireKeyAssignment(a *keyAssignment) wireKeyAssignment {
	k := acct.keys[a.keyHash] // present: deleting a key removes its assignment
	return wireKeyAssignment{ID: a.id, KeyHash: a.keyHash, GuardrailID: a.guardrailID, KeyName: k.name, KeyLabel: k.label,
		AssignedBy: clonePtr(a.assignedBy), CreatedAt: formatTime(a.createdAt)}
}

// listKeyAssignments answers GET /guardrails/assignments/keys and, with
// {id}, GET /guardrails/{id}/assignments/keys: oldest first.
func (s *Sandbox) listKeyAssignments(c *call) (int, any, *apiError) {
	return listAssignments(c, c.acct.keyAssignments, func(a *keyAssignment) string { return a.guardrailID }, c.acct.wireKeyAssignment)
}

// listMemberAssignments answers GET /guardrails/assignments/members and,
// with {id}, GET /guardrails/{id}/assignments/members: oldest first.
func (s *Sandbox) listMemberAssignments(c *call) (int, any, *apiError) {
	return listAssignments(c, c.acct.memberAssignments, func(a *memberAssignment) string { return a.guardrailID },
		func(a *memberAssignment) wireMemberAssignment {
			return wireMemberAssignment{ID: a.id, UserID: a.userID, OrganizationID: c.acct.orgID, GuardrailID: a.guardrailID,
				AssignedBy: clonePtr(a.assignedBy), CreatedAt: formatTime(a.createdAt)}
		})
}

// listAssignments pages all, narrowed to the {id} guardrail's when the
// route names one.
func listAssignments[T, W any](c *call, all []T, guardrailOf func(T) string, render func(T) W) (int, any, *apiError) {
	offset, limit, aerr := paging(c.r.URL.Query())
	if aerr != nil {
		return 0, nil, aerr
	}
	if c.r.PathValue("id") != "" {
		g, aerr := lookupGuardrail(c)
		if aerr != nil {
			return 0, nil, aerr
		}
		all = slices.DeleteFunc(slices.Clone(all), func(a T) bool { return guardrailOf(a) != g.id })
	}
	return http.StatusOK, wirePage[W]{Data: page(all, offset, limit, render), TotalCount: len(all)}, nil
}

// parseAssignment finds the {id} guardrail and reads the key hashes of an
// assign or remove.
func parseAssignment(c *call) (*guardrail, []string, *apiError) {
	g, aerr := lookupGuardrail(c)
	if aerr != nil {
		return nil, nil, aerr
	}
	hashes, aerr := parseKeyHashes(c)
	return g, hashes, aerr
}

// parseKeyHashes validates the {"key_hashes": [...]} body of an assign or
// remove and returns the distinct hashes in order.
func parseKeyHashes(c *call) ([]string, *apiError) {
	if c.bodyErr != nil {
		return nil, c.bodyErr
	}
	fields, aerr := decodeObject(c.body)
	if aerr != nil {
		return nil, aerr
	}
	var hashes []string
	if raw, ok := fields["key_hashes"]; !ok || json.Unmarshal(raw, &hashes) != nil || len(hashes) == 0 {
		return nil, badRequest(msgKeyHashes)
	}
	var out []string
	for _, h := range hashes {
		if !hashPattern.MatchString(h) {
			return nil, badRequest(msgKeyHashes)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// assignKeys answers POST /guardrails/{id}/assignments/keys. Every hash
// must name a key of the account, or nothing is assigned; a key that had
// another guardrail loses it, since a key holds at most one.
func (s *Sandbox) assignKeys(c *call) (int, any, *apiError) {
	g, hashes, aerr := parseAssignment(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	if c.acct.isDefault(g) {
		return 0, nil, badRequest(msgAssignDefault)
	}
	for _, h := range hashes {
		if c.acct.keys[h] == nil {
			return 0, nil, badRequest(msgKeyHashUnknown)
		}
	}
	for _, h := range hashes {
		i := slices.IndexFunc(c.acct.keyAssignments, func(a *keyAssignment) bool { return a.keyHash == h })
		if i >= 0 && c.acct.keyAssignments[i].guardrailID == g.id {
			continue // already this guardrail's: kept as it was
		}
		if i >= 0 {
			c.acct.keyAssignments = slices.Delete(c.acct.keyAssignments, i, i+1)
		}
		c.acct.keyAssignments = append(c.acct.keyAssignments, &keyAssignment{id: newUUID(rand.Reader), keyHash: h,
			guardrailID: g.id, assignedBy: ptrTo(c.acct.userID), createdAt: c.now})
	}
	return http.StatusOK, wireAssignedCount{AssignedCount: len(hashes)}, nil
}

// unassignKeys answers POST /guardrails/{id}/assignments/keys/remove; a
// hash that is not assigned to this guardrail (a deleted key's, say) is
// not counted.
func (s *Sandbox) unassignKeys(c *call) (int, any, *apiError) {
	g, hashes, aerr := parseAssignment(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	before := len(c.acct.keyAssignments)
	c.acct.keyAssignments = slices.DeleteFunc(c.acct.keyAssignments, func(a *keyAssignment) bool {
		return a.guardrailID == g.id && slices.Contains(hashes, a.keyHash)
	})
	return http.StatusOK, wireUnassignedCount{UnassignedCount: before - len(c.acct.keyAssignments)}, nil
}

// scopedGuardrail is a guardrail that binds a key, and why (a KeyBudget
// scope).
type scopedGuardrail struct {
	scope     string
	guardrail *guardrail
}

// guardrailsOn lists the guardrails that bind k: the one assigned to it,
// and its workspace's default once configured.
func (acct *account) guardrailsOn(k *apiKey) []scopedGuardrail {
	var out []scopedGuardrail
	for _, a := range acct.keyAssignments {
		if a.keyHash != k.hash {
			continue
		}
		if g, ok := findGuardrail(acct, a.guardrailID); ok {
			out = append(out, scopedGuardrail{"api_key", g})
		}
	}
	if ws := acct.findWorkspace(k.workspaceID); ws != nil {
		if g, ok := findGuardrail(acct, ws.defaultGuardrailID()); ok {
			out = append(out, scopedGuardrail{"workspace_default_key", g})
		}
	}
	return out
}

func findGuardrail(acct *account, id string) (*guardrail, bool) {
	i := slices.IndexFunc(acct.guardrails, func(g *guardrail) bool { return g.id == id })
	if i < 0 {
		return nil, false
	}
	return acct.guardrails[i], true
}
