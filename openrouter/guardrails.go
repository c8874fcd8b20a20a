package openrouter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Guardrail is a set of spending and routing rules, as GET /guardrails returns it. It binds nothing
// until it is assigned to keys or members, except a workspace's default guardrail, which binds every
// key of its workspace. Null lists mean no restriction.
type Guardrail struct {
	ID                         string                 `json:"id" jsonschema:"the guardrail's id (a UUID)"`
	Name                       string                 `json:"name" jsonschema:"the guardrail's name"`
	Description                *string                `json:"description" jsonschema:"what the guardrail is for"`
	WorkspaceID                *string                `json:"workspace_id" jsonschema:"the workspace the guardrail belongs to (this does not apply it to the workspace's traffic); null for a legacy guardrail"`
	LimitUSD                   *float64               `json:"limit_usd" jsonschema:"spending limit in USD for the keys and members it is assigned to; null means no budget"`
	ResetInterval              *string                `json:"reset_interval" jsonschema:"daily, weekly or monthly; null means the budget never resets"`
	IncludeBYOKInBudgets       bool                   `json:"include_byok_in_budgets" jsonschema:"whether spend billed to your own provider keys (BYOK) counts against the budget"`
	AllowedModels              []string               `json:"allowed_models" jsonschema:"the only models allowed (canonical slugs); null allows all"`
	IgnoredModels              []string               `json:"ignored_models" jsonschema:"models excluded from routing"`
	AllowedProviders           []string               `json:"allowed_providers" jsonschema:"the only providers allowed; null allows all"`
	IgnoredProviders           []string               `json:"ignored_providers" jsonschema:"providers excluded from routing"`
	EnforceZDR                 *bool                  `json:"enforce_zdr" jsonschema:"deprecated: zero data retention for every provider group"`
	EnforceZDRAnthropic        *bool                  `json:"enforce_zdr_anthropic" jsonschema:"zero data retention for Anthropic models"`
	EnforceZDRGoogle           *bool                  `json:"enforce_zdr_google" jsonschema:"zero data retention for Google models"`
	EnforceZDROpenAI           *bool                  `json:"enforce_zdr_openai" jsonschema:"zero data retention for OpenAI models"`
	EnforceZDRXAI              *bool                  `json:"enforce_zdr_xai" jsonschema:"zero data retention for xAI models"`
	EnforceZDROther            *bool                  `json:"enforce_zdr_other" jsonschema:"zero data retention for other models"`
	EnableFreeModelPublication *bool                  `json:"enable_free_model_publication" jsonschema:"whether free endpoints that publish prompts are allowed"`
	EnableFreeModelTraining    *bool                  `json:"enable_free_model_training" jsonschema:"whether free endpoints that train on request data are allowed"`
	EnablePaidModelTraining    *bool                  `json:"enable_paid_model_training" jsonschema:"whether paid endpoints that train on request data are allowed"`
	ContentFilters             []ContentFilter        `json:"content_filters" jsonschema:"custom regex filters applied to request messages"`
	ContentFilterBuiltins      []ContentFilterBuiltin `json:"content_filter_builtins" jsonschema:"builtin filters (PII detectors, prompt-injection detection)"`
	CreatedAt                  string                 `json:"created_at" jsonschema:"ISO 8601 time the guardrail was created"`
	UpdatedAt                  *string                `json:"updated_at" jsonschema:"ISO 8601 time of the last update"`
}

// ContentFilter is one of a guardrail's custom regex filters.
type ContentFilter struct {
	Pattern string  `json:"pattern" jsonschema:"the regular expression matched against request content"`
	Action  string  `json:"action" jsonschema:"redact, block or flag"`
	Label   *string `json:"label" jsonschema:"the placeholder or message used when it matches"`
}

// ContentFilterBuiltin is one of a guardrail's builtin filters.
type ContentFilterBuiltin struct {
	Slug      string  `json:"slug" jsonschema:"which detector: email, phone, ssn, credit-card, ip-address, person-name, address or regex-prompt-injection"`
	Action    string  `json:"action" jsonschema:"redact, block or flag"`
	Label     string  `json:"label,omitempty" jsonschema:"the redaction placeholder, e.g. [EMAIL]"`
	ScanScope *string `json:"scan_scope,omitempty" jsonschema:"for regex-prompt-injection: user_only or all_messages"`
}

// ListGuardrailsParams are the query parameters of GET /guardrails.
type ListGuardrailsParams struct {
	PageParams
	WorkspaceID string `json:"workspace_id,omitempty" jsonschema:"list the guardrails of this workspace (a UUID) instead of the default workspace"`
}

// KeyAssignment binds a guardrail to a key, by the key's hash. A key holds at most one guardrail.
type KeyAssignment struct {
	ID          string  `json:"id" jsonschema:"the assignment's id"`
	KeyHash     string  `json:"key_hash" jsonschema:"the hash of the key the guardrail is assigned to"`
	GuardrailID string  `json:"guardrail_id" jsonschema:"the guardrail assigned"`
	KeyName     string  `json:"key_name" jsonschema:"the key's name"`
	KeyLabel    string  `json:"key_label" jsonschema:"the key's masked label"`
	AssignedBy  *string `json:"assigned_by" jsonschema:"the user who made the assignment"`
	CreatedAt   string  `json:"created_at" jsonschema:"ISO 8601 time of the assignment"`
}

// MemberAssignment binds a guardrail to a member of the organization: it governs the keys that member
// creates.
type MemberAssignment struct {
	ID             string  `json:"id" jsonschema:"the assignment's id"`
	UserID         string  `json:"user_id" jsonschema:"the member the guardrail is assigned to"`
	OrganizationID string  `json:"organization_id" jsonschema:"the organization"`
	GuardrailID    string  `json:"guardrail_id" jsonschema:"the guardrail assigned"`
	AssignedBy     *string `json:"assigned_by" jsonschema:"the user who made the assignment"`
	CreatedAt      string  `json:"created_at" jsonschema:"ISO 8601 time of the assignment"`
}

// ListGuardrails returns one page of the guardrails of a workspace (the default one unless
// p.WorkspaceID names another), the workspace's default guardrail among them once it is configured.
func (c *Client) ListGuardrails(ctx context.Context, p ListGuardrailsParams) (*Page[Guardrail], error) {
	q, err := p.query()
	if err == nil && p.WorkspaceID != "" {
		q.Set("workspace_id", p.WorkspaceID)
	}
	var page *Page[Guardrail]
	if err == nil {
		page, err = listPage(ctx, c, "/guardrails", q, validateGuardrail)
	}
	if err != nil {
		return nil, fmt.Errorf("list guardrails: %w", err)
	}
	return page, nil
}

// GetGuardrail returns the guardrail with the given id.
func (c *Client) GetGuardrail(ctx context.Context, id string) (*Guardrail, error) {
	path, err := guardrailPath(id, "")
	var g *Guardrail
	if err == nil {
		g, err = cachedGet(ctx, c, "GET "+path, func(ctx context.Context) (*Guardrail, error) {
			g, err := data[Guardrail](ctx, c, http.MethodGet, path, nil, nil)
			if err == nil {
				err = validateGuardrail(g)
			}
			return g, err
		}, func(g *Guardrail) *Guardrail { copied := *g; return &copied })
	}
	if err != nil {
		return nil, fmt.Errorf("get guardrail: %w", err)
	}
	return g, nil
}

func validateGuardrail(g *Guardrail) error {
	if g.ID == "" || g.Name == "" {
		return malformed(`a guardrail has no "id" or "name"`)
	}
	return nil
}

// ListKeyAssignments returns one page of every guardrail assignment of the account's keys.
func (c *Client) ListKeyAssignments(ctx context.Context, p PageParams) (*Page[KeyAssignment], error) {
	return listAssignments(ctx, c, "list key assignments", "/guardrails/assignments/keys", nil, p, validateKeyAssignment)
}

// ListGuardrailKeyAssignments returns one page of the keys a guardrail is assigned to.
func (c *Client) ListGuardrailKeyAssignments(ctx context.Context, guardrailID string, p PageParams) (*Page[KeyAssignment], error) {
	path, err := guardrailPath(guardrailID, "/assignments/keys")
	return listAssignments(ctx, c, "list the guardrail's key assignments", path, err, p, validateKeyAssignment)
}

// ListMemberAssignments returns one page of every guardrail assignment of the organization's members.
func (c *Client) ListMemberAssignments(ctx context.Context, p PageParams) (*Page[MemberAssignment], error) {
	return listAssignments(ctx, c, "list member assignments", "/guardrails/assignments/members", nil, p, validateMemberAssignment)
}

// ListGuardrailMemberAssignments returns one page of the members a guardrail is assigned to.
func (c *Client) ListGuardrailMemberAssignments(ctx context.Context, guardrailID string, p PageParams) (*Page[MemberAssignment], error) {
	path, err := guardrailPath(guardrailID, "/assignments/members")
	return listAssignments(ctx, c, "list the guardrail's member assignments", path, err, p, validateMemberAssignment)
}

// guardrailPath is /guardrails/{id} followed by suffix, or ErrInvalidID for an id that is not a UUID.
func guardrailPath(id, suffix string) (string, error) {
	if !uuidShape.MatchString(id) {
		return "", ErrInvalidID
	}
	return "/guardrails/" + url.PathEscape(id) + suffix, nil
}

// listAssignments gets one page of assignments at path, unless pathErr says the path could not be
// made.
func listAssignments[T any](ctx context.Context, c *Client, op, path string, pathErr error, p PageParams, check func(*T) error) (*Page[T], error) {
	q, err := p.query()
	if pathErr != nil {
		err = pathErr
	}
	var page *Page[T]
	if err == nil {
		page, err = listPage(ctx, c, path, q, check)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return page, nil
}

func validateKeyAssignment(a *KeyAssignment) error {
	if !ValidHash(a.KeyHash) || a.GuardrailID == "" {
		return malformed(`a key assignment has no valid "key_hash" or no "guardrail_id"`)
	}
	return nil
}

func validateMemberAssignment(a *MemberAssignment) error {
	if a.UserID == "" || a.GuardrailID == "" {
		return malformed(`a member assignment has no "user_id" or "guardrail_id"`)
	}
	return nil
}

// AssignKeys assigns a guardrail to the keys with the given hashes and returns how many OpenRouter
// assigned. A key holds at most one guardrail: one that had another loses it.
func (c *Client) AssignKeys(ctx context.Context, guardrailID string, hashes []string) (int, error) {
	n, err := c.bulkKeys(ctx, guardrailID, "/assignments/keys", "assigned_count", hashes)
	if err != nil {
		return 0, fmt.Errorf("assign keys to guardrail: %w", err)
	}
	return n, nil
}

// UnassignKeys removes a guardrail from the keys with the given hashes and returns how many OpenRouter
// removed it from (keys it was not assigned to are not counted).
func (c *Client) UnassignKeys(ctx context.Context, guardrailID string, hashes []string) (int, error) {
	n, err := c.bulkKeys(ctx, guardrailID, "/assignments/keys/remove", "unassigned_count", hashes)
	if err != nil {
		return 0, fmt.Errorf("remove keys from guardrail: %w", err)
	}
	return n, nil
}

// bulkKeys posts {"key_hashes": hashes} to /guardrails/{id}<suffix> and reads the count field.
func (c *Client) bulkKeys(ctx context.Context, guardrailID, suffix, countField string, hashes []string) (int, error) {
	path, err := guardrailPath(guardrailID, suffix)
	if err != nil {
		return 0, err
	}
	if len(hashes) == 0 {
		return 0, fmt.Errorf("%w (none given)", ErrInvalidHash)
	}
	for _, h := range hashes {
		if !ValidHash(h) {
			return 0, ErrInvalidHash
		}
	}
	var out map[string]*int
	body := struct {
		KeyHashes []string `json:"key_hashes"`
	}{hashes}
	if err := c.do(ctx, http.MethodPost, path, nil, body, &out); err != nil {
		return 0, err
	}
	if out[countField] == nil {
		return 0, errMissing(countField)
	}
	return *out[countField], nil
}
