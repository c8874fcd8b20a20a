package openrouter

// Key is an API key as OpenRouter's list, create, get and update endpoints return it. It never holds
// the secret: OpenRouter returns that once, beside the key, when the key is created.
type Key struct {
	Hash               string   `json:"hash" jsonschema:"the key's identifier (64 hex characters), by which it is read, updated and deleted"`
	Name               string   `json:"name" jsonschema:"the name given to the key"`
	Label              string   `json:"label" jsonschema:"the masked key as OpenRouter shows it (e.g. sk-or-v1-abc...123); not usable as a credential"`
	Disabled           bool     `json:"disabled" jsonschema:"true when the key is disabled and cannot be used"`
	Limit              *float64 `json:"limit" jsonschema:"spending limit in USD; null means no limit"`
	LimitRemaining     *float64 `json:"limit_remaining" jsonschema:"USD left under the limit (limit minus usage); null when there is no limit"`
	LimitReset         *string  `json:"limit_reset" jsonschema:"how often the limit resets: daily, weekly or monthly (at midnight UTC; weeks run Monday to Sunday); null means never"`
	IncludeBYOKInLimit bool     `json:"include_byok_in_limit" jsonschema:"whether usage billed to your own provider keys (BYOK) counts against the limit"`
	Usage              float64  `json:"usage" jsonschema:"total OpenRouter credit usage in USD"`
	UsageDaily         float64  `json:"usage_daily" jsonschema:"usage in USD for the current UTC day"`
	UsageWeekly        float64  `json:"usage_weekly" jsonschema:"usage in USD for the current UTC week (Monday to Sunday)"`
	UsageMonthly       float64  `json:"usage_monthly" jsonschema:"usage in USD for the current UTC month"`
	BYOKUsage          float64  `json:"byok_usage" jsonschema:"total usage in USD billed to your own provider keys (BYOK)"`
	BYOKUsageDaily     float64  `json:"byok_usage_daily" jsonschema:"BYOK usage in USD for the current UTC day"`
	BYOKUsageWeekly    float64  `json:"byok_usage_weekly" jsonschema:"BYOK usage in USD for the current UTC week"`
	BYOKUsageMonthly   float64  `json:"byok_usage_monthly" jsonschema:"BYOK usage in USD for the current UTC month"`
	CreatedAt          string   `json:"created_at" jsonschema:"ISO 8601 time the key was created"`
	UpdatedAt          *string  `json:"updated_at" jsonschema:"ISO 8601 time of the last update; null if never updated"`
	ExpiresAt          *string  `json:"expires_at" jsonschema:"ISO 8601 UTC time the key expires; null if it never expires"`
	CreatorUserID      *string  `json:"creator_user_id" jsonschema:"the user who created the key"`
	WorkspaceID        string   `json:"workspace_id" jsonschema:"the workspace the key belongs to"`
	ExternalUser       *string  `json:"external_user" jsonschema:"a partner's end-user identifier attached at creation; usually null"`
	LastUsedAt         *string  `json:"last_used_at" jsonschema:"ISO 8601 time of the key's most recent recorded use; null when no use has been recorded (OpenRouter keeps uses since the end of 2025)"`
}

// CurrentKey describes the key a request was made with, as GET /key returns it. Unlike Key it has no
// hash or name: OpenRouter identifies the calling key only by its label.
type CurrentKey struct {
	Label                  string                  `json:"label" jsonschema:"the masked key (e.g. sk-or-v1-abc...123)"`
	Limit                  *float64                `json:"limit" jsonschema:"spending limit in USD; null means no limit"`
	LimitRemaining         *float64                `json:"limit_remaining" jsonschema:"USD left under the limit; null when there is no limit"`
	LimitReset             *string                 `json:"limit_reset" jsonschema:"daily, weekly or monthly (midnight UTC); null means never"`
	IncludeBYOKInLimit     bool                    `json:"include_byok_in_limit" jsonschema:"whether BYOK usage counts against the limit"`
	Usage                  float64                 `json:"usage" jsonschema:"total OpenRouter credit usage in USD"`
	UsageDaily             float64                 `json:"usage_daily" jsonschema:"usage in USD for the current UTC day"`
	UsageWeekly            float64                 `json:"usage_weekly" jsonschema:"usage in USD for the current UTC week"`
	UsageMonthly           float64                 `json:"usage_monthly" jsonschema:"usage in USD for the current UTC month"`
	BYOKUsage              float64                 `json:"byok_usage" jsonschema:"total BYOK usage in USD"`
	BYOKUsageDaily         float64                 `json:"byok_usage_daily" jsonschema:"BYOK usage in USD for the current UTC day"`
	BYOKUsageWeekly        float64                 `json:"byok_usage_weekly" jsonschema:"BYOK usage in USD for the current UTC week"`
	BYOKUsageMonthly       float64                 `json:"byok_usage_monthly" jsonschema:"BYOK usage in USD for the current UTC month"`
	IsFreeTier             bool                    `json:"is_free_tier" jsonschema:"true when the account has never bought credits"`
	IsManagementKey        bool                    `json:"is_management_key" jsonschema:"true when this is a management key, the kind that may manage keys and read the account"`
	IsProvisioningKey      bool                    `json:"is_provisioning_key" jsonschema:"deprecated alias of is_management_key"`
	ExpiresAt              *string                 `json:"expires_at" jsonschema:"ISO 8601 UTC expiry; null if it never expires"`
	CreatorUserID          *string                 `json:"creator_user_id" jsonschema:"the user who created the key"`
	AllowedDataRegions     []string                `json:"allowed_data_regions" jsonschema:"data regions this key may use (global, europe, us)"`
	FreeModelDailyRequests *FreeModelDailyRequests `json:"free_model_daily_requests" jsonschema:"the account's daily quota of free-model requests"`
	OrganizationID         *string                 `json:"organization_id" jsonschema:"the owning organization; null for an individual account"`
	WorkspaceID            *string                 `json:"workspace_id" jsonschema:"the workspace this key spends in"`
	// Budgets and EffectiveBudget are newer than the other fields: older answers lack them, and then
	// they stay nil and are left out of the JSON, so nobody reads "no budgets" into an old answer. An
	// answer's [] (no layer applies) stays [] (omitzero keeps an empty, non-nil list).
	Budgets         []KeyBudget `json:"budgets,omitzero" jsonschema:"every budget layer that applies to requests made with this key (the key's own limit, its workspace's budgets, guardrails); absent when OpenRouter did not report them"`
	EffectiveBudget *KeyBudget  `json:"effective_budget,omitempty" jsonschema:"the budget layer OpenRouter reports as the one in force; absent or null when it reports none"`
}

// KeyBudget is one spending layer that applies to a key's requests, as GET /key reports it. A layer
// whose remaining_usd is zero or less refuses requests (403) until it resets.
type KeyBudget struct {
	Scope         string  `json:"scope" jsonschema:"what sets this layer: key_limit (the key's own limit), api_key, workspace, member, workspace_default_key or workspace_default_member; other values may appear"`
	LimitUSD      float64 `json:"limit_usd" jsonschema:"the layer's spending limit in USD"`
	SpendUSD      float64 `json:"spend_usd" jsonschema:"USD spent against this layer in its current period"`
	RemainingUSD  float64 `json:"remaining_usd" jsonschema:"USD left in this layer; zero or less means requests are refused until it resets"`
	ResetInterval *string `json:"reset_interval" jsonschema:"daily, weekly or monthly; null for a budget that never resets"`
	ResetsAt      *string `json:"resets_at" jsonschema:"ISO 8601 time of the next reset; null when it never resets"`
	IncludeBYOK   bool    `json:"include_byok" jsonschema:"whether usage billed to your own provider keys (BYOK) counts against this layer"`
	GuardrailID   *string `json:"guardrail_id" jsonschema:"the guardrail that sets this layer, if any"`
	BudgetID      *string `json:"budget_id" jsonschema:"the workspace budget that sets this layer, if any"`
}

// Scopes of KeyBudget that OpenRouter documents. The list is open: other values may appear.
const (
	ScopeKeyLimit               = "key_limit"
	ScopeAPIKey                 = "api_key"
	ScopeWorkspace              = "workspace"
	ScopeMember                 = "member"
	ScopeWorkspaceDefaultKey    = "workspace_default_key"
	ScopeWorkspaceDefaultMember = "workspace_default_member"
)

// TightestBudget returns the layer that binds first: the one with the least USD remaining (the first
// such in the order OpenRouter listed them), or nil when no layer was reported. It is our reading of
// the layers, which may differ from EffectiveBudget: OpenRouter does not document how it picks that.
func (c *CurrentKey) TightestBudget() *KeyBudget {
	var best *KeyBudget
	for i := range c.Budgets {
		if best == nil || c.Budgets[i].RemainingUSD < best.RemainingUSD {
			best = &c.Budgets[i]
		}
	}
	return best
}

// Exhausted reports whether the layer refuses requests until it resets.
func (b KeyBudget) Exhausted() bool { return b.RemainingUSD <= 0 }

// FreeModelDailyRequests is the account's daily quota of requests to free (":free") models.
type FreeModelDailyRequests struct {
	Limit     float64 `json:"limit" jsonschema:"free-model requests allowed per UTC day"`
	Remaining float64 `json:"remaining" jsonschema:"free-model requests left today"`
	Used      float64 `json:"used" jsonschema:"free-model requests made today"`
}

// LimitReset is how often a key's spending limit resets (at midnight UTC).
type LimitReset string

// The values OpenRouter accepts for limit_reset.
const (
	ResetDaily   LimitReset = "daily"
	ResetWeekly  LimitReset = "weekly"
	ResetMonthly LimitReset = "monthly"
)

// LimitResets lists every valid LimitReset, in the order OpenRouter documents them.
var LimitResets = []LimitReset{ResetDaily, ResetWeekly, ResetMonthly}

// HashPattern is the one shape of a key hash (64 lowercase hex characters, a SHA-256 in hex), as a
// regular expression for JSON Schema and for ValidHash.
const HashPattern = "^[0-9a-f]{64}$"

// PageSize is the fixed number of keys GET /keys returns per call; OpenRouter has no parameter for it.
const PageSize = 100

// ListKeysParams are the query parameters of GET /keys.
type ListKeysParams struct {
	Offset          *int   `json:"offset,omitempty" jsonschema:"keys to skip; pass next_offset from the previous page"`
	IncludeDisabled bool   `json:"include_disabled,omitempty" jsonschema:"also list disabled keys (default false)"`
	WorkspaceID     string `json:"workspace_id,omitempty" jsonschema:"a workspace (UUID); default the default workspace"`
	IncludeExpired  bool   `json:"include_expired,omitempty" jsonschema:"also list expired keys (default false)"`
}

// CreateKeyRequest is the body of POST /keys. Absent and null mean the same here (no limit, no reset,
// no expiry), so plain pointers with omitempty suffice.
type CreateKeyRequest struct {
	Name               string      `json:"name" jsonschema:"a name to recognise the key by"`
	Limit              *float64    `json:"limit,omitempty" jsonschema:"spending limit in USD; omit or null for no limit"`
	LimitReset         *LimitReset `json:"limit_reset,omitempty" jsonschema:"at midnight UTC, weeks from Monday; omit to never reset"`
	IncludeBYOKInLimit bool        `json:"include_byok_in_limit,omitempty" jsonschema:"count BYOK usage (your own provider keys) against the limit (default false)"`
	ExpiresAt          *string     `json:"expires_at,omitempty" jsonschema:"ISO 8601 UTC time with seconds, e.g. 2027-12-31T23:59:59Z; omit for no expiry"`
	WorkspaceID        string      `json:"workspace_id,omitempty" jsonschema:"a workspace (UUID); default the default workspace"`
}

// UpdateKeyRequest is the body of PATCH /keys/{hash}. Only the fields that are set are sent; for Limit
// and LimitReset an explicit null (Null) clears the value, which is why they are Nullable, not pointers.
type UpdateKeyRequest struct {
	Name               Optional[string]     `json:"name,omitzero" jsonschema:"a new name for the key"`
	Disabled           Optional[bool]       `json:"disabled,omitzero" jsonschema:"true disables the key (its requests fail); false enables it"`
	Limit              Nullable[float64]    `json:"limit,omitzero" jsonschema:"a new spending limit in USD; null removes the limit"`
	LimitReset         Nullable[LimitReset] `json:"limit_reset,omitzero" jsonschema:"daily, weekly or monthly (midnight UTC); null stops resetting"`
	IncludeBYOKInLimit Optional[bool]       `json:"include_byok_in_limit,omitzero" jsonschema:"whether usage billed to your own provider keys (BYOK) counts against the limit"`
	WorkspaceID        Optional[string]     `json:"workspace_id,omitzero" jsonschema:"move the key to this workspace (UUID); its secret and hash stay"`
}

// Empty reports whether the update would change nothing. OpenRouter answers such a PATCH with 400
// "No update fields provided", so callers should not send it.
func (u UpdateKeyRequest) Empty() bool {
	return u.Name.IsZero() && u.Disabled.IsZero() && u.Limit.IsZero() && u.LimitReset.IsZero() &&
		u.IncludeBYOKInLimit.IsZero() && u.WorkspaceID.IsZero()
}

// CreatedKey is what POST /keys returns: the new key and, this once only, its secret.
type CreatedKey struct {
	Key    Key
	Secret Secret
}

// Workspace is one workspace of the account, as GET /workspaces and GET /workspaces/{id} return it.
// Keys live in workspaces; GET /keys shows one workspace at a time.
type Workspace struct {
	ID                              string  `json:"id" jsonschema:"the workspace's id (a UUID); pass it as workspace_id"`
	Name                            string  `json:"name" jsonschema:"the workspace's name"`
	Slug                            string  `json:"slug" jsonschema:"the workspace's URL-friendly name"`
	Description                     *string `json:"description" jsonschema:"what the workspace is for; null when not given"`
	DefaultTextModel                *string `json:"default_text_model" jsonschema:"the default text model; null when none"`
	DefaultImageModel               *string `json:"default_image_model" jsonschema:"the default image model; null when none"`
	DefaultProviderSort             *string `json:"default_provider_sort" jsonschema:"the default provider sort (price, throughput, latency, exacto); null when none"`
	DefaultGuardrailID              string  `json:"default_guardrail_id" jsonschema:"the id of the workspace's default guardrail"`
	IncludeBYOKInBudgets            bool    `json:"include_byok_in_budgets" jsonschema:"whether BYOK usage counts toward the workspace's budgets"`
	IOLoggingAPIKeyIDs              []int   `json:"io_logging_api_key_ids" jsonschema:"the keys whose requests are logged; null means all keys"`
	IOLoggingSamplingRate           float64 `json:"io_logging_sampling_rate" jsonschema:"share of requests logged, from 0.0001 to 1"`
	IsDataDiscountLoggingEnabled    bool    `json:"is_data_discount_logging_enabled" jsonschema:"whether data discount logging is on"`
	IsObservabilityBroadcastEnabled bool    `json:"is_observability_broadcast_enabled" jsonschema:"whether broadcast is on"`
	IsObservabilityIOLoggingEnabled bool    `json:"is_observability_io_logging_enabled" jsonschema:"whether private logging is on"`
	CreatedAt                       string  `json:"created_at" jsonschema:"ISO 8601 time the workspace was created"`
	UpdatedAt                       *string `json:"updated_at" jsonschema:"ISO 8601 time of the last update; null if never updated"`
	CreatedBy                       *string `json:"created_by" jsonschema:"the user who created the workspace"`
}

// ListWorkspacesParams are the query parameters of GET /workspaces.
type ListWorkspacesParams struct {
	Offset *int `json:"offset,omitempty" jsonschema:"how many workspaces to skip, for paging"`
	Limit  *int `json:"limit,omitempty" jsonschema:"how many workspaces to return, 1 to 100 (OpenRouter's default is 50)"`
}

// MaxWorkspacesPage is the largest page GET /workspaces returns.
const MaxWorkspacesPage = 100

// WorkspacePage is one page of GET /workspaces.
type WorkspacePage struct {
	Workspaces []Workspace
	TotalCount int // how many workspaces the account has, over all pages
}

// Credits is the account's balance as GET /credits reports it, in USD.
type Credits struct {
	TotalCredits float64 `json:"total_credits" jsonschema:"credits bought in total, in USD"`
	TotalUsage   float64 `json:"total_usage" jsonschema:"credits used in total, in USD"`
}

// Remaining is what is left to spend: credits bought minus credits used.
func (c Credits) Remaining() float64 { return c.TotalCredits - c.TotalUsage }

// ActivityParams are the query parameters of GET /activity; the zero value asks for all of the last
// 30 completed UTC days, aggregated across workspaces.
type ActivityParams struct {
	Date        string `json:"date,omitempty" jsonschema:"one UTC day of the last 30, as YYYY-MM-DD"`
	APIKeyHash  string `json:"api_key_hash,omitempty" jsonschema:"only the activity of the key with this hash"`
	WorkspaceID string `json:"workspace_id,omitempty" jsonschema:"only the activity attributed to this workspace (a UUID)"`
	GroupBy     string `json:"group_by,omitempty" jsonschema:"workspace splits each row per workspace and fills workspace_id"`
}

// GroupByWorkspace is the one value of ActivityParams.GroupBy.
const GroupByWorkspace = "workspace"

// ActivityRow is one row of GET /activity: one UTC day, one model, one endpoint (and, with
// group_by=workspace, one workspace).
type ActivityRow struct {
	Date               string  `json:"date" jsonschema:"the UTC day, YYYY-MM-DD"`
	Model              string  `json:"model" jsonschema:"the model slug, e.g. openai/gpt-4.1"`
	ModelPermaslug     string  `json:"model_permaslug" jsonschema:"the model's versioned slug"`
	EndpointID         string  `json:"endpoint_id" jsonschema:"the provider endpoint that served the requests"`
	ProviderName       string  `json:"provider_name" jsonschema:"the provider that served the requests"`
	Usage              float64 `json:"usage" jsonschema:"OpenRouter credits spent, in USD"`
	BYOKUsageInference float64 `json:"byok_usage_inference" jsonschema:"spend billed to your own provider keys (BYOK), in USD"`
	Requests           int64   `json:"requests" jsonschema:"how many requests were made"`
	PromptTokens       int64   `json:"prompt_tokens" jsonschema:"prompt tokens used"`
	CompletionTokens   int64   `json:"completion_tokens" jsonschema:"completion tokens generated"`
	ReasoningTokens    int64   `json:"reasoning_tokens" jsonschema:"reasoning tokens used"`
	WorkspaceID        string  `json:"workspace_id,omitempty" jsonschema:"the workspace, with group_by=workspace only"`
}
