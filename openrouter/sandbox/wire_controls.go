package sandbox

// Wire types of the controls beside the keys, field for field as
// OpenRouter's OpenAPI names them (testdata/openapi-controls.yaml).

// wireGuardrail is OpenRouter's Guardrail object.
type wireGuardrail struct {
	AllowedModels              []string            `json:"allowed_models"`
	AllowedProviders           []string            `json:"allowed_providers"`
	ContentFilterBuiltins      []wireBuiltinFilter `json:"content_filter_builtins"`
	ContentFilters             any                 `json:"content_filters"` // always null: no custom regex filters
	CreatedAt                  string              `json:"created_at"`
	Description                *string             `json:"description"`
	EnableFreeModelPublication *bool               `json:"enable_free_model_publication"`
	EnableFreeModelTraining    *bool               `json:"enable_free_model_training"`
	EnablePaidModelTraining    *bool               `json:"enable_paid_model_training"`
	EnforceZDR                 *bool               `json:"enforce_zdr"`
	EnforceZDRAnthropic        *bool               `json:"enforce_zdr_anthropic"`
	EnforceZDRGoogle           *bool               `json:"enforce_zdr_google"`
	EnforceZDROpenAI           *bool               `json:"enforce_zdr_openai"`
	EnforceZDROther            *bool               `json:"enforce_zdr_other"`
	EnforceZDRXAI              *bool               `json:"enforce_zdr_xai"`
	ID                         string              `json:"id"`
	IgnoredModels              []string            `json:"ignored_models"`
	IgnoredProviders           []string            `json:"ignored_providers"`
	IncludeBYOKInBudgets       bool                `json:"include_byok_in_budgets"`
	LimitUSD                   *float64            `json:"limit_usd"`
	Name                       string              `json:"name"`
	ResetInterval              *string             `json:"reset_interval"`
	UpdatedAt                  *string             `json:"updated_at"`
	WorkspaceID                *string             `json:"workspace_id"`
}

// wireBuiltinFilter is a ContentFilterBuiltinEntry.
type wireBuiltinFilter struct {
	Action    string  `json:"action"`
	Label     string  `json:"label"`
	ScanScope *string `json:"scan_scope,omitempty"`
	Slug      string  `json:"slug"`
}

// wireKeyAssignment is OpenRouter's KeyAssignment.
type wireKeyAssignment struct {
	AssignedBy  *string `json:"assigned_by"`
	CreatedAt   string  `json:"created_at"`
	GuardrailID string  `json:"guardrail_id"`
	ID          string  `json:"id"`
	KeyHash     string  `json:"key_hash"`
	KeyLabel    string  `json:"key_label"`
	KeyName     string  `json:"key_name"`
}

// wireMemberAssignment is OpenRouter's MemberAssignment.
type wireMemberAssignment struct {
	AssignedBy     *string `json:"assigned_by"`
	CreatedAt      string  `json:"created_at"`
	GuardrailID    string  `json:"guardrail_id"`
	ID             string  `json:"id"`
	OrganizationID string  `json:"organization_id"`
	UserID         string  `json:"user_id"`
}

// wireBYOK is OpenRouter's BYOKKey: a provider credential, never its secret.
type wireBYOK struct {
	AllowedAPIKeyHashes []string `json:"allowed_api_key_hashes"`
	AllowedModels       []string `json:"allowed_models"`
	AllowedUserIDs      []string `json:"allowed_user_ids"`
	CreatedAt           string   `json:"created_at"`
	DeclaredZDR         *bool    `json:"declared_zdr"` // this and the two is_ below: SDK 1.3.19, newer than the spec
	Disabled            bool     `json:"disabled"`
	ID                  string   `json:"id"`
	IsBYOKOnly          bool     `json:"is_byok_only"`
	IsFallback          bool     `json:"is_fallback"`
	IsRequired          bool     `json:"is_required"`
	Label               string   `json:"label"`
	Name                *string  `json:"name"`
	Provider            string   `json:"provider"`
	SortOrder           int      `json:"sort_order"`
	WorkspaceID         *string  `json:"workspace_id"`
}

// wireMember is one item of GET /organization/members.
type wireMember struct {
	Email     string  `json:"email"`
	FirstName *string `json:"first_name"`
	ID        string  `json:"id"`
	LastName  *string `json:"last_name"`
	Role      string  `json:"role"`
}

// The parts of GET /analytics/meta.
type (
	wireMetric struct {
		DisplayFormat string `json:"display_format"`
		DisplayLabel  string `json:"display_label"`
		IsRate        bool   `json:"is_rate"`
		Name          string `json:"name"`
	}
	wireNamed struct {
		DisplayLabel string `json:"display_label"`
		Name         string `json:"name"`
	}
	wireOperator struct {
		Name      string `json:"name"`
		ValueType string `json:"value_type"`
	}
	wireAnalyticsMeta struct {
		Dimensions    []wireNamed    `json:"dimensions"`
		Granularities []wireNamed    `json:"granularities"`
		Metrics       []wireMetric   `json:"metrics"`
		Operators     []wireOperator `json:"operators"`
	}
)

// The answer of POST /analytics/query: rows are objects keyed by the
// requested dimensions, metrics and date__<granularity>.
type (
	wireAnalyticsResult struct {
		Data     []map[string]any      `json:"data"`
		Metadata wireAnalyticsMetadata `json:"metadata"`
		Warnings []string              `json:"warnings,omitempty"`
	}
	wireAnalyticsMetadata struct {
		QueryTimeMS float64 `json:"query_time_ms"`
		RowCount    int     `json:"row_count"`
		Truncated   bool    `json:"truncated"`
	}
)

// wirePage is the envelope of every paged list beside the keys.
type wirePage[T any] struct {
	Data       []T `json:"data"`
	TotalCount int `json:"total_count"`
}

// Response envelopes.
type (
	wireGuardrailResponse struct {
		Data wireGuardrail `json:"data"`
	}
	wireAssignedCount struct {
		AssignedCount int `json:"assigned_count"`
	}
	wireUnassignedCount struct {
		UnassignedCount int `json:"unassigned_count"`
	}
	wireBYOKResponse struct {
		Data wireBYOK `json:"data"`
	}
	wireAnalyticsMetaResponse struct {
		Data wireAnalyticsMeta `json:"data"`
	}
	wireAnalyticsQueryResponse struct {
		Data wireAnalyticsResult `json:"data"`
	}
)
