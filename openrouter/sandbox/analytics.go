package sandbox

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Analytics: GET /analytics/meta and POST /analytics/query, over the same
// activity records GET /activity reads (completed UTC days only; today's
// spend shows in a key's usage_daily, not here), so that the two agree. The
// sandbox keeps daily figures, so it offers day, week and month buckets, not
// hour or minute. It answers the api_key_id dimension with the key's hash:
// OpenRouter documents the value only as "enriched", and the hash is what
// names the key everywhere else.

const (
	msgMetrics     = "metrics must be a non-empty array of metric names from GET /analytics/meta"
	msgDimensions  = "dimensions must be an array of at most 2 dimension names from GET /analytics/meta"
	msgGranularity = "granularity must be one of day, week, month"
	msgTimeRange   = "time_range must be an object with start and end, ISO 8601 date-times with start before end, at most 366 days apart"
	msgFilters     = "filters must be an array of at most 20 objects {field, operator, value}: field a dimension, operator eq or neq with one value, in or not_in with an array"
	msgOrderBy     = "order_by must be {field, direction}: field a requested metric, request_count, a requested dimension or date; direction asc or desc"
	msgQueryLimit  = "limit and group_limit must be positive integers"
	defaultRows    = 1000
	maxRangeDays   = 366
)

// The metrics, dimensions, operators and granularities the sandbox answers,
// as GET /analytics/meta lists them.
var (
	analyticsMetrics = []wireMetric{
		{Name: "request_count", DisplayLabel: "Request Count", DisplayFormat: "number"},
		{Name: "total_usage", DisplayLabel: "Spend", DisplayFormat: "currency"},
		{Name: "byok_usage", DisplayLabel: "BYOK Spend", DisplayFormat: "currency"},
		{Name: "prompt_tokens", DisplayLabel: "Prompt Tokens", DisplayFormat: "number"},
		{Name: "completion_tokens", DisplayLabel: "Completion Tokens", DisplayFormat: "number"},
		{Name: "reasoning_tokens", DisplayLabel: "Reasoning Tokens", DisplayFormat: "number"},
	}
	analyticsDimensions = []wireNamed{
		{Name: "model", DisplayLabel: "Model"},
		{Name: "provider", DisplayLabel: "Provider"},
		{Name: "api_key_id", DisplayLabel: "API Key"},
		{Name: "workspace", DisplayLabel: "Workspace"},
	}
	analyticsOperators = []wireOperator{
		{Name: "eq", ValueType: "scalar"}, {Name: "neq", ValueType: "scalar"},
		{Name: "in", ValueType: "array"}, {Name: "not_in", ValueType: "array"},
	}
	analyticsGranularities = []wireNamed{
		{Name: "day", DisplayLabel: "Day"}, {Name: "week", DisplayLabel: "Week"}, {Name: "month", DisplayLabel: "Month"},
	}
)

// getAnalyticsMeta answers GET /analytics/meta.
func (s *Sandbox) getAnalyticsMeta(*call) (int, any, *apiError) {
	return http.StatusOK, wireAnalyticsMetaResponse{Data: wireAnalyticsMeta{
		Metrics: analyticsMetrics, Dimensions: analyticsDimensions, Operators: analyticsOperators, Granularities: analyticsGranularities,
	}}, nil
}

// analyticsQuery is a validated POST /analytics/query body.
type analyticsQuery struct {
	metrics, dimensions []string
	granularity         string
	start, end          time.Time
	filters             []analyticsFilter
	orderField          string
	desc                bool
	limit, groupLimit   int
}

type analyticsFilter struct {
	field  string
	negate bool
	values []string
}

// parseAnalyticsQuery validates the body; a missing time_range is the last
// 30 days.
func parseAnalyticsQuery(body []byte, now time.Time) (*analyticsQuery, *apiError) {
	var raw struct {
		Metrics     []string        `json:"metrics"`
		Dimensions  []string        `json:"dimensions"`
		Granularity *string         `json:"granularity"`
		TimeRange   json.RawMessage `json:"time_range"`
		Filters     []struct {
			Field    string          `json:"field"`
			Operator string          `json:"operator"`
			Value    json.RawMessage `json:"value"`
		} `json:"filters"`
		OrderBy *struct {
			Field     string `json:"field"`
			Direction string `json:"direction"`
		} `json:"order_by"`
		Limit      *int `json:"limit"`
		GroupLimit *int `json:"group_limit"`
	}
	if _, aerr := decodeObject(body); aerr != nil {
		return nil, aerr
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, badRequest("request body does not match the analytics query schema: " + fieldOf(err))
	}
	q := &analyticsQuery{start: now.Truncate(24*time.Hour).AddDate(0, 0, -activityWindowDays), end: now, limit: defaultRows}
	if len(raw.Metrics) == 0 || !allNamed(raw.Metrics, analyticsMetrics, func(m wireMetric) string { return m.Name }) {
		return nil, badRequest(msgMetrics)
	}
	q.metrics = raw.Metrics
	if len(raw.Dimensions) > 2 || !allNamed(raw.Dimensions, analyticsDimensions, func(d wireNamed) string { return d.Name }) {
		return nil, badRequest(msgDimensions)
	}
	q.dimensions = raw.Dimensions
	if raw.Granularity != nil {
		if !allNamed([]string{*raw.Granularity}, analyticsGranularities, func(g wireNamed) string { return g.Name }) {
			return nil, badRequest(msgGranularity)
		}
		q.granularity = *raw.Granularity
	}
	if len(raw.TimeRange) > 0 && !isNull(raw.TimeRange) {
		var tr struct{ Start, End string }
		if json.Unmarshal(raw.TimeRange, &tr) != nil {
			return nil, badRequest(msgTimeRange)
		}
		start, err1 := time.Parse(time.RFC3339Nano, tr.Start)
		end, err2 := time.Parse(time.RFC3339Nano, tr.End)
		if err1 != nil || err2 != nil || !start.Before(end) || end.Sub(start) > maxRangeDays*24*time.Hour {
			return nil, badRequest(msgTimeRange)
		}
		q.start, q.end = start.UTC(), end.UTC()
	}
	if len(raw.Filters) > 20 {
		return nil, badRequest(msgFilters)
	}
	for _, f := range raw.Filters {
		af, ok := parseFilter(f.Field, f.Operator, f.Value)
		if !ok {
			return nil, badRequest(msgFilters)
		}
		q.filters = append(q.filters, af)
	}
	if o := raw.OrderBy; o != nil {
		known := o.Field == "date" || o.Field == "request_count" || slices.Contains(q.metrics, o.Field) || slices.Contains(q.dimensions, o.Field)
		if !known || (o.Direction != "asc" && o.Direction != "desc") {
			return nil, badRequest(msgOrderBy)
		}
		q.orderField, q.desc = o.Field, o.Direction == "desc"
	}
	if (raw.Limit != nil && *raw.Limit < 1) || (raw.GroupLimit != nil && *raw.GroupLimit < 1) {
		return nil, badRequest(msgQueryLimit)
	}
	if raw.Limit != nil {
		q.limit = *raw.Limit
	}
	if raw.GroupLimit != nil {
		q.groupLimit = *raw.GroupLimit
	}
	return q, nil
}

// fieldOf names the field a decoding error is about, without the value.
func fieldOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + " has the wrong type"
	}
	return "not the expected JSON"
}

// parseFilter reads one filter: a dimension, an operator and a value of the
// operator's shape (numbers are compared as their decimal text).
func parseFilter(field, operator string, raw json.RawMessage) (analyticsFilter, bool) {
	f := analyticsFilter{field: field, negate: operator == "neq" || operator == "not_in"}
	if !slices.ContainsFunc(analyticsDimensions, func(d wireNamed) bool { return d.Name == field }) {
		return f, false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return f, false
	}
	scalar := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		}
		return "", false
	}
	switch operator {
	case "eq", "neq":
		s, ok := scalar(v)
		f.values = []string{s}
		return f, ok
	case "in", "not_in":
		list, ok := v.([]any)
		for _, item := range list {
			s, ok2 := scalar(item)
			ok = ok && ok2
			f.values = append(f.values, s)
		}
		return f, ok
	}
	return f, false
}

func allNamed[T any](names []string, known []T, name func(T) string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(known, func(k T) bool { return name(k) == n }) {
			return false
		}
	}
	return true
}

// dimension is the value of a dimension for one activity record.
func (a activity) dimension(name string) string {
	switch name {
	case "model":
		return sampleModels[a.model].slug
	case "provider":
		return sampleModels[a.model].provider
	case "api_key_id":
		return a.keyHash
	}
	return a.workspaceID
}

// matches reports whether a passes the filter; a model filter takes the
// slug or the permaslug.
func (f analyticsFilter) matches(a activity) bool {
	in := slices.Contains(f.values, a.dimension(f.field)) ||
		(f.field == "model" && slices.Contains(f.values, sampleModels[a.model].permaslug))
	return in != f.negate
}

// bucket is the start of the granularity's period that holds day, in the
// format of OpenRouter's date__<granularity> columns.
func bucket(day time.Time, granularity string) string {
	switch granularity {
	case "week":
		day = startOfPeriod(day, "weekly")
	case "month":
		day = startOfPeriod(day, "monthly")
	}
	return day.Format("2006-01-02T15:04:05.000Z")
}

// queryAnalytics answers POST /analytics/query: the account's activity
// records whose UTC day begins within the time range, filtered, grouped by
// the dimensions and the granularity's buckets, with the metrics summed.
func (s *Sandbox) queryAnalytics(c *call) (int, any, *apiError) {
	if c.bodyErr != nil {
		return 0, nil, c.bodyErr
	}
	q, aerr := parseAnalyticsQuery(c.body, c.now)
	if aerr != nil {
		return 0, nil, aerr
	}
	var warnings []string
	for _, f := range q.filters {
		if f.field != "api_key_id" {
			continue
		}
		unresolved := 0
		for _, v := range f.values {
			if c.acct.keys[v] == nil && !slices.ContainsFunc(c.acct.activity, func(a activity) bool { return a.keyHash == v }) {
				unresolved++
			}
		}
		if unresolved > 0 {
			warnings = append(warnings, "api_key_id filter: "+strconv.Itoa(unresolved)+" of "+strconv.Itoa(len(f.values))+
				" values could not be resolved to an API key")
		}
	}

	dateCol := "date__" + q.granularity
	type group struct {
		key  string
		row  map[string]any
		sums [6]float64 // in the order of analyticsMetrics
	}
	groups := map[string]*group{}
	var order []*group
	for _, a := range c.acct.activity {
		if a.day.Before(q.start) || !a.day.Before(q.end) ||
			slices.ContainsFunc(q.filters, func(f analyticsFilter) bool { return !f.matches(a) }) {
			continue
		}
		row := map[string]any{}
		var key strings.Builder
		if q.granularity != "" {
			row[dateCol] = bucket(a.day, q.granularity)
			key.WriteString(row[dateCol].(string))
		}
		for _, d := range q.dimensions {
			row[d] = a.dimension(d)
			key.WriteString("\x00" + a.dimension(d))
		}
		g := groups[key.String()]
		if g == nil {
			g = &group{key: key.String(), row: row}
			groups[g.key] = g
			order = append(order, g)
		}
		for i, v := range []float64{float64(a.requests), a.usage, a.byok, float64(a.prompt), float64(a.completion), float64(a.reasoning)} {
			g.sums[i] += v
		}
	}
	for _, g := range order {
		for _, m := range q.metrics {
			i := slices.IndexFunc(analyticsMetrics, func(w wireMetric) bool { return w.Name == m })
			if analyticsMetrics[i].DisplayFormat == "currency" {
				g.row[m] = round6(g.sums[i])
			} else {
				g.row[m] = int64(g.sums[i])
			}
		}
	}
	rows := make([]map[string]any, len(order))
	for i, g := range order {
		rows[i] = g.row
	}
	sortRows(rows, q, dateCol)
	if q.groupLimit > 0 && len(q.dimensions) > 0 {
		seen := map[string]int{}
		rows = slices.DeleteFunc(rows, func(r map[string]any) bool {
			k := dimensionKey(r, q.dimensions)
			seen[k]++
			return seen[k] > q.groupLimit
		})
	}
	truncated := len(rows) > q.limit
	if truncated {
		rows = rows[:q.limit]
	}
	return http.StatusOK, wireAnalyticsQueryResponse{Data: wireAnalyticsResult{Data: rows,
		Metadata: wireAnalyticsMetadata{RowCount: len(rows), Truncated: truncated}, Warnings: warnings}}, nil
}

// dimensionKey joins a row's dimension values (all strings) into one key.
func dimensionKey(r map[string]any, dims []string) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString(r[d].(string) + "\x00")
	}
	return b.String()
}

// sortRows orders by order_by when given, else by date, then by the
// dimensions' values; ties keep a stable order.
func sortRows(rows []map[string]any, q *analyticsQuery, dateCol string) {
	compare := func(a, b map[string]any, field string) int {
		switch x := a[field].(type) {
		case string:
			y, _ := b[field].(string)
			return cmp.Compare(x, y)
		case float64:
			y, _ := b[field].(float64)
			return cmp.Compare(x, y)
		case int64:
			y, _ := b[field].(int64)
			return cmp.Compare(x, y)
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b map[string]any) int {
		if q.orderField != "" {
			field := q.orderField
			if field == "date" {
				field = dateCol
			}
			if d := compare(a, b, field); d != 0 {
				if q.desc {
					return -d
				}
				return d
			}
		}
		if d := compare(a, b, dateCol); d != 0 {
			return d
		}
		for _, dim := range q.dimensions {
			if d := compare(a, b, dim); d != 0 {
				return d
			}
		}
		return 0
	})
}
