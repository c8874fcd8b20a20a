package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The controls OpenRouter keeps beside the keys, by the key's hash: the
// organization's members (who created which key), guardrails and their
// assignments to keys and members (guardrails.go), and BYOK provider
// credentials with their allow-lists (byok.go). All need a management key.

const (
	msgPageOffset = "offset must be a non-negative integer"
	msgPageLimit  = "limit must be an integer from 1 to 100"
	// defaultPage and maxPage are the limit and its ceiling of every paged
	// list beside the keys (workspaces, guardrails, assignments, BYOK,
	// members), as OpenRouter documents them.
	defaultPage = 50
	maxPage     = 100
)

// member is a member of the account's organization.
type member struct {
	id, email           string
	firstName, lastName *string
	role                string // org:admin or org:member
	// joinedAt orders the list; OpenRouter does not return it.
	joinedAt time.Time
}

// guardrail is a set of spending and routing rules. It binds nothing until
// it is assigned to keys or members, except a workspace's default guardrail,
// which binds every key of its workspace.
type guardrail struct {
	id, name      string
	description   *string
	workspaceID   *string
	limitUSD      *float64
	resetInterval *string
	includeBYOK   bool
	// nil lists are sent as null: no restriction.
	allowedModels, ignoredModels, allowedProviders, ignoredProviders []string
	// zdr is enforce_zdr for every provider group; nil when not set.
	zdr       *bool
	builtins  []builtinFilter
	createdAt time.Time
	updatedAt *time.Time
}

// builtinFilter is one of a guardrail's builtin content filters.
type builtinFilter struct {
	slug, action string
	scanScope    *string // regex-prompt-injection only
}

// keyAssignment binds a guardrail to a key, by the key's hash; a key has at
// most one.
type keyAssignment struct {
	id, keyHash, guardrailID string
	assignedBy               *string
	createdAt                time.Time
}

// memberAssignment binds a guardrail to a member: it governs the keys the
// member creates.
type memberAssignment struct {
	id, userID, guardrailID string
	assignedBy              *string
	createdAt               time.Time
}

// byokCredential is a provider key the account brought. Its secret is not
// kept: only the masked label OpenRouter shows.
type byokCredential struct {
	id, provider string
	workspaceID  *string
	label        string
	name         *string
	disabled     bool
	isFallback   bool
	// nil lists are sent as null: no restriction. An allow-list emptied by
	// deleting the keys it named stays empty (nobody), never null (anybody).
	allowedModels, allowedKeyHashes, allowedUserIDs []string
	sortOrder                                       int
	createdAt                                       time.Time
}

// forgetKey removes a deleted key from its guardrail assignment and from
// every BYOK allow-list.
func (acct *account) forgetKey(hash string) {
	acct.keyAssignments = slices.DeleteFunc(acct.keyAssignments, func(a *keyAssignment) bool { return a.keyHash == hash })
	for _, b := range acct.byok {
		if b.allowedKeyHashes != nil {
			b.allowedKeyHashes = slices.DeleteFunc(b.allowedKeyHashes, func(h string) bool { return h == hash })
		}
	}
}

// paging reads the offset and limit query parameters every list beside the
// keys takes.
func paging(q url.Values) (offset, limit int, aerr *apiError) {
	offset, aerr = intParam(q.Get("offset"), q.Has("offset"), 0, 0, 1<<31-1, msgPageOffset)
	if aerr != nil {
		return 0, 0, aerr
	}
	limit, aerr = intParam(q.Get("limit"), q.Has("limit"), defaultPage, 1, maxPage, msgPageLimit)
	return offset, limit, aerr
}

// page renders items[offset:offset+limit] with render; never nil, so an
// empty page is [] on the wire.
func page[T, W any](items []T, offset, limit int, render func(T) W) []W {
	out := []W{}
	for i := offset; i < len(items) && len(out) < limit; i++ {
		out = append(out, render(items[i]))
	}
	return out
}

// listMembers answers GET /organization/members: the members in the order
// they joined, the owner first.
func (s *Sandbox) listMembers(c *call) (int, any, *apiError) {
	offset, limit, aerr := paging(c.r.URL.Query())
	if aerr != nil {
		return 0, nil, aerr
	}
	data := page(c.acct.members, offset, limit, func(m *member) wireMember {
		return wireMember{ID: m.id, Email: m.email, FirstName: clonePtr(m.firstName), LastName: clonePtr(m.lastName), Role: m.role}
	})
	return http.StatusOK, wirePage[wireMember]{Data: data, TotalCount: len(c.acct.members)}, nil
}

// lookup finds the item whose id (a UUID, in any case) is the {id} path
// value; 404 when there is none.
func lookup[T any](c *call, items []T, idOf func(T) string) (T, *apiError) {
	id := c.r.PathValue("id")
	for _, it := range items {
		if strings.EqualFold(idOf(it), id) {
			return it, nil
		}
	}
	var zero T
	return zero, errNotFound
}

// workspacePaging reads the paging parameters and the workspace a list is
// scoped to: workspace_id's, else the default workspace.
func workspacePaging(acct *account, q url.Values) (offset, limit int, ws string, aerr *apiError) {
	if offset, limit, aerr = paging(q); aerr != nil {
		return 0, 0, "", aerr
	}
	ws = acct.defaultWorkspace
	if q.Has("workspace_id") {
		ws, aerr = resolveWorkspace(acct, q.Get("workspace_id"))
	}
	return offset, limit, ws, aerr
}
