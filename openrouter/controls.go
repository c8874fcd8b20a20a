package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
)

// The controls OpenRouter keeps beside the keys, by the key's hash: guardrails and their assignments
// (guardrails.go), BYOK provider credentials (byok.go), the organization's members (here) and the
// analytics of spend (analytics.go). Every call needs a management key.

// MaxPage is the largest page of the lists beside the keys: guardrails, assignments, BYOK credentials
// and members (OpenRouter's default page is 50).
const MaxPage = 100

// ErrInvalidPage is returned, before anything is sent, for a negative offset or a limit outside 1 to
// MaxPage.
var ErrInvalidPage = errors.New("invalid page: offset must be 0 or more and limit 1 to 100")

// ErrInvalidID is returned, before anything is sent, for a guardrail or BYOK credential id that is
// not a UUID.
var ErrInvalidID = errors.New("invalid id: want a UUID such as 550e8400-e29b-41d4-a716-446655440000")

// uuidShape is the shape of the ids of guardrails, assignments, BYOK credentials and workspaces.
var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// PageParams are the offset and limit query parameters of the paged lists beside the keys.
type PageParams struct {
	Offset *int `json:"offset,omitempty" jsonschema:"how many items to skip, for paging"`
	Limit  *int `json:"limit,omitempty" jsonschema:"how many items to return, 1 to 100 (OpenRouter's default is 50)"`
}

// query checks p and returns it as query parameters.
func (p PageParams) query() (url.Values, error) {
	if (p.Offset != nil && *p.Offset < 0) || (p.Limit != nil && (*p.Limit < 1 || *p.Limit > MaxPage)) {
		return nil, ErrInvalidPage
	}
	q := url.Values{}
	if p.Offset != nil {
		q.Set("offset", strconv.Itoa(*p.Offset))
	}
	if p.Limit != nil {
		q.Set("limit", strconv.Itoa(*p.Limit))
	}
	return q, nil
}

// Page is one page of a paged list, and how many items the list holds over all pages: page on with
// Offset until it reaches TotalCount.
type Page[T any] struct {
	Items      []T
	TotalCount int
}

// listPage gets one page of a list OpenRouter answers as {"data": [...], "total_count": N} and checks
// each item with check. Every such list is one of the controls beside the keys: the answer may come
// from the cache (readcache.go).
func listPage[T any](ctx context.Context, c *Client, path string, q url.Values, check func(*T) error) (*Page[T], error) {
	return cachedGet(ctx, c, "GET "+path+"?"+q.Encode(), func(ctx context.Context) (*Page[T], error) {
		return readListPage(ctx, c, path, q, check)
	}, func(p *Page[T]) *Page[T] { return &Page[T]{Items: slices.Clone(p.Items), TotalCount: p.TotalCount} })
}

// readListPage is listPage's read.
func readListPage[T any](ctx context.Context, c *Client, path string, q url.Values, check func(*T) error) (*Page[T], error) {
	var out struct {
		Data       []T  `json:"data"`
		TotalCount *int `json:"total_count"`
	}
	if err := c.do(ctx, http.MethodGet, path, q, nil, &out); err != nil {
		return nil, err
	}
	switch {
	case out.Data == nil:
		return nil, errMissing("data")
	case out.TotalCount == nil:
		return nil, errMissing("total_count")
	}
	for i := range out.Data {
		if err := check(&out.Data[i]); err != nil {
			return nil, fmt.Errorf("item %d of the page: %w", i+1, err)
		}
	}
	return &Page[T]{Items: out.Data, TotalCount: *out.TotalCount}, nil
}

// malformed reports an answer that lacks what its callers rely on, without quoting it.
func malformed(what string) error {
	return fmt.Errorf("%w: %s", ErrMalformedResponse, what)
}

// Member is a member of the organization, as GET /organization/members returns it. A key's
// creator_user_id is a member's ID, unless that member has left.
type Member struct {
	ID        string  `json:"id" jsonschema:"the member's user id, as keys' creator_user_id names it"`
	Email     string  `json:"email" jsonschema:"the member's email address"`
	FirstName *string `json:"first_name" jsonschema:"the member's first name, if known"`
	LastName  *string `json:"last_name" jsonschema:"the member's last name, if known"`
	Role      string  `json:"role" jsonschema:"org:admin or org:member"`
}

// The roles OpenRouter documents for Member.Role.
const (
	RoleAdmin  = "org:admin"
	RoleMember = "org:member"
)

// ListMembers returns one page of the organization's members.
func (c *Client) ListMembers(ctx context.Context, p PageParams) (*Page[Member], error) {
	q, err := p.query()
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	page, err := listPage(ctx, c, "/organization/members", q, func(m *Member) error {
		if m.ID == "" {
			return malformed(`a member has no "id"`)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return page, nil
}
