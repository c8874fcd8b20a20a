package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// listMembersArgs name, optionally, the member whose keys to list.
type listMembersArgs struct {
	Member string `json:"member,omitempty" jsonschema:"a member's id or email: list their keys (a former member's by id)"`
	pageArgs
}

// memberKeys is a member, or a key creator who is no longer one, and how many keys they created.
type memberKeys struct {
	ID    string `json:"id" jsonschema:"the user id, as keys' creator_user_id names it"`
	Name  string `json:"name,omitempty" jsonschema:"the member's name"`
	Email string `json:"email,omitempty" jsonschema:"the member's email; absent for one who left"`
	Role  string `json:"role,omitempty" jsonschema:"org:admin or org:member; absent for one who left"`
	Left  bool   `json:"left,omitempty" jsonschema:"true for a creator of keys who is no longer a member"`
	Keys  int    `json:"keys" jsonschema:"keys they created, disabled and expired ones included"`
}

// listMembersResult is list_members' structuredContent.
type listMembersResult struct {
	Members    []memberKeys `json:"members" jsonschema:"the members, then creators who left; with member, that one; without, as many as fit in about 24 KB (or page_size), from cursor on"`
	Keys       []keyView    `json:"keys,omitempty" jsonschema:"with member: the keys they created, as many as fit in about 24 KB (or page_size), from cursor on"`
	NextCursor *string      `json:"next_cursor" jsonschema:"pass as cursor, with the same other arguments, for the next members (or keys, with member); null when this result lists the last"`
	// total is how many members (or, with member, keys) there are, in this result or others.
	total int
}

var listMembers = spec[listMembersArgs, listMembersResult]{
	name:  "list_members",
	title: "List members and their keys",
	description: "List the organization's members with how many keys each created, and creators who left; with " +
		"member, that member's keys (for off-boarding).",
	hints: mcp.ToolAnnotation{ReadOnlyHint: hint(true), DestructiveHint: hint(false), IdempotentHint: hint(true), OpenWorldHint: hint(false)},
	call: func(ctx context.Context, d *deps, in listMembersArgs) (listMembersResult, error) {
		keys, _, err := auditedKeys(ctx, d.client, nil)
		if err != nil {
			return listMembersResult{}, err
		}
		ctl, err := readControls(ctx, d.client, workspacesOf(keys))
		if err != nil {
			return listMembersResult{}, err
		}
		counts := map[string]int{}
		for _, k := range keys {
			if k.CreatorUserID != nil {
				counts[*k.CreatorUserID]++
			}
		}
		var out listMembersResult
		for _, m := range ctl.members {
			out.Members = append(out.Members, memberKeys{ID: m.ID, Name: memberName(m), Email: m.Email, Role: m.Role, Keys: counts[m.ID]})
		}
		for id, n := range counts {
			if _, ok := ctl.members[id]; !ok {
				out.Members = append(out.Members, memberKeys{ID: id, Left: true, Keys: n})
			}
		}
		slices.SortFunc(out.Members, func(a, b memberKeys) int {
			return cmp.Or(compareBool(a.Left, b.Left), cmp.Compare(a.Email, b.Email), cmp.Compare(a.ID, b.ID))
		})
		if in.Member == "" {
			if out.Members == nil {
				out.Members = []memberKeys{}
			}
			out.total = len(out.Members)
			return out, nil
		}
		i := slices.IndexFunc(out.Members, func(m memberKeys) bool { return m.ID == in.Member || strings.EqualFold(m.Email, in.Member) })
		if i < 0 {
			return listMembersResult{}, toolError(fmt.Sprintf("No member or key creator has the id or email %q. Call "+
				"list_members without member to see them; a former member is known only by id.", in.Member))
		}
		out.Members = out.Members[i : i+1]
		out.Keys = []keyView{}
		for _, k := range keys {
			if k.CreatorUserID != nil && *k.CreatorUserID == out.Members[0].ID {
				out.Keys = append(out.Keys, ctl.view(k))
			}
		}
		out.total = len(out.Keys)
		return out, nil
	},
	// Paged: the members, or with member that member's keys.
	items: func(out listMembersResult) int {
		if out.Keys != nil {
			return len(out.Keys)
		}
		return len(out.Members)
	},
	window: func(_ listMembersArgs, out listMembersResult, from, to int, next *string) listMembersResult {
		if out.Keys != nil {
			out.Keys = out.Keys[from:to]
		} else {
			out.Members = out.Members[from:to]
		}
		out.NextCursor = next
		return out
	},
	text: func(in listMembersArgs, out listMembersResult) string {
		var b strings.Builder
		if in.Member == "" {
			fmt.Fprintf(&b, "%d members and former creators. Columns: name | email | id | role | keys created", out.total)
			for _, m := range out.Members {
				name, role := "-", m.Role
				if m.Name != "" {
					name = strconv.Quote(m.Name)
				}
				if m.Left {
					role = "left the organization"
				}
				fmt.Fprintf(&b, "\n%s | %s | %s | %s | %d", name, cmp.Or(m.Email, "-"), m.ID, role, m.Keys)
			}
			b.WriteString(moreText(len(out.Members), out.total, out.NextCursor, ""))
			return b.String()
		}
		m := out.Members[0]
		who := m.Email
		if m.Left {
			who = m.ID + ", who left the organization"
		}
		name := "a former member"
		if m.Name != "" {
			name = strconv.Quote(m.Name)
		}
		fmt.Fprintf(&b, "%s created by %s (%s). Columns: %s", count(out.total, "key"), name, who, keyColumns)
		for _, k := range out.Keys {
			b.WriteByte('\n')
			b.Write(appendViewRow(nil, k))
		}
		b.WriteString(moreText(len(out.Keys), out.total, out.NextCursor, ""))
		return b.String()
	},
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// workspacesOf lists the workspaces of keys, each once.
func workspacesOf(keys []openrouter.Key) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.WorkspaceID
	}
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}
