package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// AnalyticsMeta is what POST /analytics/query accepts, as GET /analytics/meta lists it.
type AnalyticsMeta struct {
	Metrics       []AnalyticsMetric   `json:"metrics" jsonschema:"the metrics a query may ask for"`
	Dimensions    []AnalyticsName     `json:"dimensions" jsonschema:"the dimensions a query may group and filter by"`
	Operators     []AnalyticsOperator `json:"operators" jsonschema:"the filter operators"`
	Granularities []AnalyticsName     `json:"granularities" jsonschema:"the time buckets a query may ask for (minute, hour, day, week, month)"`
}

// AnalyticsMetric is a metric analytics queries may ask for.
type AnalyticsMetric struct {
	Name          string `json:"name" jsonschema:"the metric's name in queries"`
	DisplayLabel  string `json:"display_label" jsonschema:"a label for people"`
	IsRate        bool   `json:"is_rate" jsonschema:"true for a rate (averaged, not summed)"`
	DisplayFormat string `json:"display_format" jsonschema:"number, currency, percent, latency or throughput"`
}

// AnalyticsName is a dimension or a granularity of analytics queries.
type AnalyticsName struct {
	Name         string `json:"name" jsonschema:"the name in queries"`
	DisplayLabel string `json:"display_label" jsonschema:"a label for people"`
}

// AnalyticsOperator is a filter operator of analytics queries.
type AnalyticsOperator struct {
	Name      string `json:"name" jsonschema:"eq, neq, in, not_in, gt, gte, lt or lte"`
	ValueType string `json:"value_type" jsonschema:"scalar or array"`
}

// Names of metrics, dimensions and granularities OpenRouter documents for analytics queries;
// GetAnalyticsMeta lists the ones an account offers.
const (
	MetricRequestCount = "request_count"
	MetricTotalUsage   = "total_usage" // USD of OpenRouter credits spent
	DimensionAPIKey    = "api_key_id"  // filters take a key's hash
	DimensionModel     = "model"
	GranularityDay     = "day"
	GranularityWeek    = "week"
	GranularityMonth   = "month"
)

// AnalyticsQuery is the body of POST /analytics/query: metrics over a time range, grouped by up to two
// dimensions and a granularity's time buckets, narrowed by filters.
type AnalyticsQuery struct {
	Metrics     []string          `json:"metrics" jsonschema:"the metrics to compute (at least one)"`
	Dimensions  []string          `json:"dimensions,omitempty" jsonschema:"up to two dimensions to group by, e.g. api_key_id and model"`
	Granularity string            `json:"granularity,omitempty" jsonschema:"time buckets: day, week or month; none sums the whole range"`
	TimeRange   *TimeRange        `json:"time_range,omitempty" jsonschema:"the range; OpenRouter's default when absent"`
	Filters     []AnalyticsFilter `json:"filters,omitempty" jsonschema:"conditions on dimensions"`
	OrderBy     *AnalyticsOrder   `json:"order_by,omitempty" jsonschema:"the order of the rows"`
	Limit       *int              `json:"limit,omitempty" jsonschema:"the most rows returned (OpenRouter's default is 1000)"`
	GroupLimit  *int              `json:"group_limit,omitempty" jsonschema:"the most rows per combination of dimension values"`
}

// TimeRange is a range of time, from Start up to End.
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// AnalyticsFilter is one condition of a query: Field (a dimension) compared with Value by Operator
// (eq and neq take one string or number, in and not_in an array of them).
type AnalyticsFilter struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// AnalyticsOrder orders the rows by a requested metric, a requested dimension or "date", "asc" or
// "desc".
type AnalyticsOrder struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
}

// AnalyticsResult is the answer of POST /analytics/query. Each row maps the requested dimensions,
// metrics and date__<granularity> (the bucket's start) to their values; numbers are float64.
type AnalyticsResult struct {
	Rows        []map[string]any `json:"rows"`
	RowCount    int              `json:"row_count"`
	Truncated   bool             `json:"truncated"`
	QueryTimeMS float64          `json:"query_time_ms"`
	Warnings    []string         `json:"warnings,omitempty"`
}

// ErrInvalidQuery is returned, before anything is sent, for a query without metrics, with more than
// two dimensions, or whose range does not start before it ends.
var ErrInvalidQuery = errors.New("invalid analytics query: want at least one metric, at most two dimensions, and a time range that starts before it ends")

// GetAnalyticsMeta returns the metrics, dimensions, operators and granularities analytics queries take.
func (c *Client) GetAnalyticsMeta(ctx context.Context) (*AnalyticsMeta, error) {
	m, err := data[AnalyticsMeta](ctx, c, http.MethodGet, "/analytics/meta", nil, nil)
	if err == nil && (m.Metrics == nil || m.Dimensions == nil) {
		err = malformed(`no "metrics" or "dimensions"`)
	}
	if err != nil {
		return nil, fmt.Errorf("get analytics meta: %w", err)
	}
	return m, nil
}

// QueryAnalytics runs an analytics query, e.g. spend by key and day over the last 90 days:
// AnalyticsQuery{Metrics: {MetricTotalUsage}, Dimensions: {DimensionAPIKey}, Granularity: GranularityDay,
// TimeRange: &TimeRange{Start: now.AddDate(0, 0, -90), End: now}}. OpenRouter keeps spend for longer
// than GetActivity's 30 days.
func (c *Client) QueryAnalytics(ctx context.Context, q AnalyticsQuery) (*AnalyticsResult, error) {
	if len(q.Metrics) == 0 || len(q.Dimensions) > 2 || (q.TimeRange != nil && !q.TimeRange.Start.Before(q.TimeRange.End)) {
		return nil, fmt.Errorf("query analytics: %w", ErrInvalidQuery)
	}
	out, err := data[struct {
		Data     []map[string]any `json:"data"`
		Metadata *struct {
			QueryTimeMS float64 `json:"query_time_ms"`
			RowCount    int     `json:"row_count"`
			Truncated   bool    `json:"truncated"`
		} `json:"metadata"`
		Warnings []string `json:"warnings"`
	}](ctx, c, http.MethodPost, "/analytics/query", nil, q)
	if err == nil && (out.Data == nil || out.Metadata == nil) {
		err = malformed(`no "data" rows or no "metadata"`)
	}
	if err != nil {
		return nil, fmt.Errorf("query analytics: %w", err)
	}
	return &AnalyticsResult{Rows: out.Data, RowCount: out.Metadata.RowCount, Truncated: out.Metadata.Truncated,
		QueryTimeMS: out.Metadata.QueryTimeMS, Warnings: out.Warnings}, nil
}
