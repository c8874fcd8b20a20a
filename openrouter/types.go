package openrouter

// Key is an API key as OpenRouter's list, create, get and update endpoints return it. It never holds
// the secret: OpenRouter returns that once, beside the key, when the key is created.
type Key struct {
	Hash               string   `json:"hash" jsonschema:"the key's identifier (64 hex characters); pass it to get_key, update_key and delete_key"`
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
	IsManagementKey        bool                    `json:"is_management_key" jsonschema:"true when this is a management key, the kind the other tools need"`
	IsProvisioningKey      bool                    `json:"is_provisioning_key" jsonschema:"deprecated alias of is_management_key"`
	ExpiresAt              *string                 `json:"expires_at" jsonschema:"ISO 8601 UTC expiry; null if it never expires"`
	CreatorUserID          *string                 `json:"creator_user_id" jsonschema:"the user who created the key"`
	AllowedDataRegions     []string                `json:"allowed_data_regions" jsonschema:"data regions this key may use (global, europe, us)"`
	FreeModelDailyRequests *FreeModelDailyRequests `json:"free_model_daily_requests" jsonschema:"the account's daily quota of free-model requests"`
	OrganizationID         *string                 `json:"organization_id" jsonschema:"the owning organization; null for an individual account"`
	WorkspaceID            *string                 `json:"workspace_id" jsonschema:"the workspace this key spends in"`
}

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

// PageSize is the fixed number of keys GET /keys returns per call; OpenRouter has no parameter for it.
const PageSize = 100

// ListKeysParams are the query parameters of GET /keys.
type ListKeysParams struct {
	Offset          *int   `json:"offset,omitempty" jsonschema:"how many keys to skip, for paging (pages hold up to 100 keys, newest first); use next_offset from the previous page"`
	IncludeDisabled bool   `json:"include_disabled,omitempty" jsonschema:"also list disabled keys (default false)"`
	WorkspaceID     string `json:"workspace_id,omitempty" jsonschema:"list the keys of this workspace (a UUID) instead of the default workspace"`
}

// CreateKeyRequest is the body of POST /keys. Absent and null mean the same here (no limit, no reset,
// no expiry), so plain pointers with omitempty suffice.
type CreateKeyRequest struct {
	Name               string      `json:"name" jsonschema:"a name for the new key, to recognise it later"`
	Limit              *float64    `json:"limit,omitempty" jsonschema:"spending limit in USD; omit or null for no limit"`
	LimitReset         *LimitReset `json:"limit_reset,omitempty" jsonschema:"reset the limit daily, weekly or monthly (at midnight UTC; weeks run Monday to Sunday); omit or null to never reset"`
	IncludeBYOKInLimit bool        `json:"include_byok_in_limit,omitempty" jsonschema:"count usage billed to your own provider keys (BYOK) against the limit (default false)"`
	ExpiresAt          *string     `json:"expires_at,omitempty" jsonschema:"when the key stops working: an ISO 8601 UTC time with seconds, e.g. 2027-12-31T23:59:59Z; omit or null for no expiry"`
	WorkspaceID        string      `json:"workspace_id,omitempty" jsonschema:"create the key in this workspace (a UUID) instead of the default workspace"`
}

// UpdateKeyRequest is the body of PATCH /keys/{hash}. Only the fields that are set are sent; for Limit
// and LimitReset an explicit null (Null) clears the value, which is why they are Nullable, not pointers.
type UpdateKeyRequest struct {
	Name               Optional[string]     `json:"name,omitzero" jsonschema:"a new name for the key"`
	Disabled           Optional[bool]       `json:"disabled,omitzero" jsonschema:"true disables the key (requests made with it fail until it is enabled again); false enables it"`
	Limit              Nullable[float64]    `json:"limit,omitzero" jsonschema:"a new spending limit in USD; null removes the limit"`
	LimitReset         Nullable[LimitReset] `json:"limit_reset,omitzero" jsonschema:"daily, weekly or monthly (midnight UTC); null stops resetting"`
	IncludeBYOKInLimit Optional[bool]       `json:"include_byok_in_limit,omitzero" jsonschema:"whether usage billed to your own provider keys (BYOK) counts against the limit"`
}

// Empty reports whether the update would change nothing.
func (u UpdateKeyRequest) Empty() bool {
	return u.Name.IsZero() && u.Disabled.IsZero() && u.Limit.IsZero() && u.LimitReset.IsZero() &&
		u.IncludeBYOKInLimit.IsZero()
}

// CreatedKey is what POST /keys returns: the new key and, this once only, its secret.
type CreatedKey struct {
	Key    Key
	Secret Secret
}
