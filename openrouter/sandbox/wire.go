package sandbox

import "time"

// The sandbox's own wire types. They mirror OpenRouter's JSON field for field
// (order as in the OpenAPI file) instead of reusing the client's types, so
// that a mistake in the client cannot be copied into its test double.

// wireKey is OpenRouter's ApiKey object. Every field is always present;
// nullable ones are pointers so they encode as null.
type wireKey struct {
	Hash               string   `json:"hash"`
	Name               string   `json:"name"`
	Label              string   `json:"label"`
	Disabled           bool     `json:"disabled"`
	Limit              *float64 `json:"limit"`
	LimitRemaining     *float64 `json:"limit_remaining"`
	LimitReset         *string  `json:"limit_reset"`
	IncludeBYOKInLimit bool     `json:"include_byok_in_limit"`
	Usage              float64  `json:"usage"`
	UsageDaily         float64  `json:"usage_daily"`
	UsageWeekly        float64  `json:"usage_weekly"`
	UsageMonthly       float64  `json:"usage_monthly"`
	BYOKUsage          float64  `json:"byok_usage"`
	BYOKUsageDaily     float64  `json:"byok_usage_daily"`
	BYOKUsageWeekly    float64  `json:"byok_usage_weekly"`
	BYOKUsageMonthly   float64  `json:"byok_usage_monthly"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          *string  `json:"updated_at"`
	ExpiresAt          *string  `json:"expires_at"`
	CreatorUserID      *string  `json:"creator_user_id"`
	WorkspaceID        string   `json:"workspace_id"`
	ExternalUser       *string  `json:"external_user"`
	LastUsedAt         *string  `json:"last_used_at"`
}

// wireCurrentKey is OpenRouter's CurrentKey object (GET /key).
type wireCurrentKey struct {
	Label                  string             `json:"label"`
	Limit                  *float64           `json:"limit"`
	LimitRemaining         *float64           `json:"limit_remaining"`
	LimitReset             *string            `json:"limit_reset"`
	IncludeBYOKInLimit     bool               `json:"include_byok_in_limit"`
	Usage                  float64            `json:"usage"`
	UsageDaily             float64            `json:"usage_daily"`
	UsageWeekly            float64            `json:"usage_weekly"`
	UsageMonthly           float64            `json:"usage_monthly"`
	BYOKUsage              float64            `json:"byok_usage"`
	BYOKUsageDaily         float64            `json:"byok_usage_daily"`
	BYOKUsageWeekly        float64            `json:"byok_usage_weekly"`
	BYOKUsageMonthly       float64            `json:"byok_usage_monthly"`
	IsFreeTier             bool               `json:"is_free_tier"`
	IsManagementKey        bool               `json:"is_management_key"`
	IsProvisioningKey      bool               `json:"is_provisioning_key"`
	ExpiresAt              *string            `json:"expires_at"`
	CreatorUserID          *string            `json:"creator_user_id"`
	RateLimit              wireRateLimit      `json:"rate_limit"`
	AllowedDataRegions     []string           `json:"allowed_data_regions"`
	FreeModelDailyRequests wireFreeModelDaily `json:"free_model_daily_requests"`
	OrganizationID         *string            `json:"organization_id"`
	WorkspaceID            *string            `json:"workspace_id"`
	Budgets                []wireKeyBudget    `json:"budgets"`
	EffectiveBudget        *wireKeyBudget     `json:"effective_budget"`
}

// wireRateLimit is the deprecated rate_limit object; OpenRouter always
// answers with these constant values.
type wireRateLimit struct {
	Requests int    `json:"requests"`
	Interval string `json:"interval"`
	Note     string `json:"note"`
}

// wireFreeModelDaily is the daily quota for :free models. The sandbox runs
// no models, so nothing is ever used.
type wireFreeModelDaily struct {
	Limit     float64 `json:"limit"`
	Remaining float64 `json:"remaining"`
	Used      float64 `json:"used"`
}

// Response envelopes. The plaintext key of a create sits beside data, not
// inside it, and a delete is not wrapped in data at all: both as OpenRouter
// does it.
type (
	wireKeyResponse struct {
		Data wireKey `json:"data"`
	}
	wireListResponse struct {
		Data []wireKey `json:"data"`
	}
	wireCurrentResponse struct {
		Data wireCurrentKey `json:"data"`
	}
	wireCreateResponse struct {
		Data wireKey `json:"data"`
		Key  string  `json:"key"`
	}
	wireDeleteResponse struct {
		Deleted bool `json:"deleted"`
	}
)

// wireError is OpenRouter's error envelope, used for every error status.
type wireError struct {
	Error wireErrorData `json:"error"`
}

type wireErrorData struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	// Metadata is set only by injected faults (a 429's error_type, as OpenRouter documents it).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// timestampLayout is OpenRouter's live timestamp format
// (2025-02-19T20:52:27.363244+00:00): UTC, microseconds, numeric offset.
const timestampLayout = "2006-01-02T15:04:05.000000-07:00"

func formatTime(t time.Time) string {
	return t.UTC().Format(timestampLayout)
}

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := formatTime(*t)
	return &v
}

// limitRemaining is limit − usage in float64, null without a limit; live
// data shows the raw float noise of that subtraction
// (350 − 331.143559902 = 18.856440098000007).
func (k *apiKey) limitRemaining() *float64 {
	if k.limit == nil {
		return nil
	}
	v := *k.limit - k.usage.total
	return &v
}

// wire renders k as an ApiKey object. The result shares no memory with k, so
// it can be encoded after the lock is released.
func (k *apiKey) wire() wireKey {
	return wireKey{
		Hash:               k.hash,
		Name:               k.name,
		Label:              k.label,
		Disabled:           k.disabled,
		Limit:              clonePtr(k.limit),
		LimitRemaining:     k.limitRemaining(),
		LimitReset:         clonePtr(k.limitReset),
		IncludeBYOKInLimit: k.includeBYOKInLimit,
		Usage:              k.usage.total,
		UsageDaily:         k.usage.daily,
		UsageWeekly:        k.usage.weekly,
		UsageMonthly:       k.usage.monthly,
		BYOKUsage:          k.usage.byok,
		BYOKUsageDaily:     k.usage.byokDaily,
		BYOKUsageWeekly:    k.usage.byokWeekly,
		BYOKUsageMonthly:   k.usage.byokMonthly,
		CreatedAt:          formatTime(k.createdAt),
		UpdatedAt:          formatTimePtr(k.updatedAt),
		ExpiresAt:          formatTimePtr(k.expiresAt),
		CreatorUserID:      clonePtr(k.creatorUserID),
		WorkspaceID:        k.workspaceID,
		ExternalUser:       clonePtr(k.externalUser),
		LastUsedAt:         formatTimePtr(k.lastUsedAt),
	}
}

// currentKey renders GET /key for an inference key, with the budget layers
// that apply to it at now.
func (k *apiKey) currentKey(now time.Time) wireCurrentKey {
	c := newCurrentKey(k.label, false, k.owner, k.workspaceID)
	c.Limit = clonePtr(k.limit)
	c.LimitRemaining = k.limitRemaining()
	c.LimitReset = clonePtr(k.limitReset)
	c.IncludeBYOKInLimit = k.includeBYOKInLimit
	c.Usage, c.UsageDaily, c.UsageWeekly, c.UsageMonthly = k.usage.total, k.usage.daily, k.usage.weekly, k.usage.monthly
	c.BYOKUsage, c.BYOKUsageDaily, c.BYOKUsageWeekly, c.BYOKUsageMonthly = k.usage.byok, k.usage.byokDaily, k.usage.byokWeekly, k.usage.byokMonthly
	c.ExpiresAt = formatTimePtr(k.expiresAt)
	c.CreatorUserID = clonePtr(k.creatorUserID)
	c.Budgets, c.EffectiveBudget = k.budgets(now)
	return c
}

// newCurrentKey fills the account-level and constant parts of GET /key; a
// management key has no limit, no usage and no budget layer of its own.
func newCurrentKey(label string, management bool, acct *account, workspaceID string) wireCurrentKey {
	creator := acct.userID
	return wireCurrentKey{
		Label:             label,
		IsManagementKey:   management,
		IsProvisioningKey: management,
		CreatorUserID:     &creator,
		RateLimit: wireRateLimit{
			Requests: -1,
			Interval: "10s",
			Note:     "This field is deprecated and safe to ignore.",
		},
		AllowedDataRegions:     []string{"global"},
		FreeModelDailyRequests: wireFreeModelDaily{Limit: 1000, Remaining: 1000, Used: 0},
		WorkspaceID:            &workspaceID,
		Budgets:                []wireKeyBudget{},
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// wireKeyBudget is OpenRouter's KeyBudget: one spending layer of GET /key.
type wireKeyBudget struct {
	Scope         string  `json:"scope"`
	LimitUSD      float64 `json:"limit_usd"`
	SpendUSD      float64 `json:"spend_usd"`
	RemainingUSD  float64 `json:"remaining_usd"`
	ResetInterval *string `json:"reset_interval"`
	ResetsAt      *string `json:"resets_at"`
	IncludeBYOK   bool    `json:"include_byok"`
	GuardrailID   *string `json:"guardrail_id"`
	BudgetID      *string `json:"budget_id"`
}

// wireWorkspace is OpenRouter's Workspace object.
type wireWorkspace struct {
	ID                              string  `json:"id"`
	Name                            string  `json:"name"`
	Slug                            string  `json:"slug"`
	Description                     *string `json:"description"`
	DefaultTextModel                *string `json:"default_text_model"`
	DefaultImageModel               *string `json:"default_image_model"`
	DefaultProviderSort             *string `json:"default_provider_sort"`
	DefaultGuardrailID              string  `json:"default_guardrail_id"`
	IncludeBYOKInBudgets            bool    `json:"include_byok_in_budgets"`
	IOLoggingAPIKeyIDs              []int   `json:"io_logging_api_key_ids"`
	IOLoggingSamplingRate           float64 `json:"io_logging_sampling_rate"`
	IsDataDiscountLoggingEnabled    bool    `json:"is_data_discount_logging_enabled"`
	IsObservabilityBroadcastEnabled bool    `json:"is_observability_broadcast_enabled"`
	IsObservabilityIOLoggingEnabled bool    `json:"is_observability_io_logging_enabled"`
	CreatedAt                       string  `json:"created_at"`
	UpdatedAt                       *string `json:"updated_at"`
	CreatedBy                       *string `json:"created_by"`
}

// wireCredits is the data of GET /credits.
type wireCredits struct {
	TotalCredits float64 `json:"total_credits"`
	TotalUsage   float64 `json:"total_usage"`
}

// wireActivity is OpenRouter's ActivityItem; workspace_id only with
// group_by=workspace.
type wireActivity struct {
	Date               string  `json:"date"`
	Model              string  `json:"model"`
	ModelPermaslug     string  `json:"model_permaslug"`
	EndpointID         string  `json:"endpoint_id"`
	ProviderName       string  `json:"provider_name"`
	Usage              float64 `json:"usage"`
	BYOKUsageInference float64 `json:"byok_usage_inference"`
	Requests           int64   `json:"requests"`
	PromptTokens       int64   `json:"prompt_tokens"`
	CompletionTokens   int64   `json:"completion_tokens"`
	ReasoningTokens    int64   `json:"reasoning_tokens"`
	WorkspaceID        string  `json:"workspace_id,omitempty"`
}

type (
	wireWorkspaceList struct {
		Data       []wireWorkspace `json:"data"`
		TotalCount int             `json:"total_count"`
	}
	wireWorkspaceResponse struct {
		Data wireWorkspace `json:"data"`
	}
	wireCreditsResponse struct {
		Data wireCredits `json:"data"`
	}
	wireActivityResponse struct {
		Data []wireActivity `json:"data"`
	}
)
