package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// BYOKCredential is a provider key the account brought (bring your own key), as GET /byok returns it.
// It never holds the provider's secret: OpenRouter returns only a masked label, and a label that does
// not look masked is not passed on. Null allow-lists mean no restriction.
type BYOKCredential struct {
	ID                  string   `json:"id" jsonschema:"the credential's id (a UUID)"`
	Provider            string   `json:"provider" jsonschema:"the provider, e.g. openai, anthropic, google-ai-studio"`
	WorkspaceID         *string  `json:"workspace_id" jsonschema:"the workspace it is scoped to; null when usable in every workspace"`
	Label               string   `json:"label" jsonschema:"a masked snippet of the provider key; never the key"`
	Name                *string  `json:"name" jsonschema:"the credential's name"`
	Disabled            bool     `json:"disabled" jsonschema:"true when the credential is not used"`
	IsFallback          bool     `json:"is_fallback" jsonschema:"used only after the provider's other credentials"`
	AllowedAPIKeyHashes []string `json:"allowed_api_key_hashes" jsonschema:"the hashes of the only OpenRouter keys that may use it; null allows every key"`
	AllowedModels       []string `json:"allowed_models" jsonschema:"the only models it may be used for; null allows all"`
	AllowedUserIDs      []string `json:"allowed_user_ids" jsonschema:"the only users who may use it; null allows all"`
	SortOrder           int      `json:"sort_order" jsonschema:"the order in which the provider's credentials are tried"`
	CreatedAt           string   `json:"created_at" jsonschema:"ISO 8601 time the credential was added"`
}

// ListBYOKParams are the query parameters of GET /byok.
type ListBYOKParams struct {
	PageParams
	WorkspaceID string `json:"workspace_id,omitempty" jsonschema:"list the credentials of this workspace (a UUID) instead of the default workspace"`
	Provider    string `json:"provider,omitempty" jsonschema:"only the credentials of this provider, e.g. openai"`
}

// BYOKAllowListsUpdate is the part of PATCH /byok/{id} that says who may use a credential. It has no
// field for the provider key (PATCH's key): a secret has no business passing through here. An unset
// field is left as it is; Null clears an allow-list, which lifts the restriction.
type BYOKAllowListsUpdate struct {
	AllowedAPIKeyHashes Nullable[[]string] `json:"allowed_api_key_hashes,omitzero"`
	AllowedModels       Nullable[[]string] `json:"allowed_models,omitzero"`
	AllowedUserIDs      Nullable[[]string] `json:"allowed_user_ids,omitzero"`
}

// MaxAllowList is the most entries an allow-list of a BYOK credential holds.
const MaxAllowList = 100

// ErrInvalidAllowList is returned, before anything is sent, for an update that sets no allow-list, or
// one with more than MaxAllowList entries, or an empty list of key hashes (Null lifts the restriction).
var ErrInvalidAllowList = errors.New("invalid allow-list update: set at least one allow-list; a list holds at most 100 entries, and allowed_api_key_hashes at least one (null lifts the restriction)")

// ListBYOK returns one page of the BYOK credentials of a workspace (the default one unless
// p.WorkspaceID names another).
func (c *Client) ListBYOK(ctx context.Context, p ListBYOKParams) (*Page[BYOKCredential], error) {
	q, err := p.query()
	var page *Page[BYOKCredential]
	if err == nil {
		for name, v := range map[string]string{"workspace_id": p.WorkspaceID, "provider": p.Provider} {
			if v != "" {
				q.Set(name, v)
			}
		}
		page, err = listPage(ctx, c, "/byok", q, checkBYOK)
	}
	if err != nil {
		return nil, fmt.Errorf("list BYOK credentials: %w", err)
	}
	return page, nil
}

// GetBYOK returns the BYOK credential with the given id.
func (c *Client) GetBYOK(ctx context.Context, id string) (*BYOKCredential, error) {
	b, err := c.byokCall(ctx, http.MethodGet, id, nil)
	if err != nil {
		return nil, fmt.Errorf("get BYOK credential: %w", err)
	}
	return b, nil
}

// UpdateBYOKAllowLists changes the allow-lists set in r and returns the credential as it is afterwards.
// OpenRouter refuses (400) a hash that is not one of the account's keys.
func (c *Client) UpdateBYOKAllowLists(ctx context.Context, id string, r BYOKAllowListsUpdate) (*BYOKCredential, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("update BYOK credential: %w", err)
	}
	b, err := c.byokCall(ctx, http.MethodPatch, id, r)
	if err != nil {
		return nil, fmt.Errorf("update BYOK credential: %w", err)
	}
	return b, nil
}

func (r BYOKAllowListsUpdate) validate() error {
	lists := []Nullable[[]string]{r.AllowedAPIKeyHashes, r.AllowedModels, r.AllowedUserIDs}
	set := false
	for _, l := range lists {
		set = set || l.Set
		if len(l.Value) > MaxAllowList {
			return ErrInvalidAllowList
		}
	}
	if h := r.AllowedAPIKeyHashes; !set || (h.Set && !h.Null && len(h.Value) == 0) {
		return ErrInvalidAllowList
	}
	for _, h := range r.AllowedAPIKeyHashes.Value {
		if !ValidHash(h) {
			return ErrInvalidHash
		}
	}
	return nil
}

// byokCall is GET or PATCH on /byok/{id}, both of which answer {"data": BYOKKey}.
func (c *Client) byokCall(ctx context.Context, method, id string, body any) (*BYOKCredential, error) {
	if !uuidShape.MatchString(id) {
		return nil, ErrInvalidID
	}
	b, err := data[BYOKCredential](ctx, c, method, "/byok/"+url.PathEscape(id), nil, body)
	if err != nil {
		return nil, err
	}
	if err := checkBYOK(b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkBYOK checks a credential and masks a label that does not look masked, so that no provider
// secret can pass through this client, whatever the answer holds.
func checkBYOK(b *BYOKCredential) error {
	if b.ID == "" || b.Provider == "" {
		return malformed(`a BYOK credential has no "id" or "provider"`)
	}
	if !looksMasked(b.Label) {
		b.Label = redacted
	}
	return nil
}

// looksMasked reports whether a label is a short masked snippet such as "sk-...AbCd".
func looksMasked(label string) bool {
	return len(label) <= 24 && (strings.Contains(label, "...") || strings.Contains(label, "…"))
}
