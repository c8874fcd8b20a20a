package sandbox

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Validation of request bodies and parameters. Each message names the field
// and what would be accepted, so a caller can fix the request without
// guessing; none repeats the submitted value, which could be a secret pasted
// into the wrong field.
const (
	msgBodyNotObject  = "request body must be a JSON object"
	msgBodyNotJSON    = "request body is not valid JSON"
	msgName           = "name is required and must be a non-empty string"
	msgNameUpdate     = "name must be a non-empty string"
	msgLimit          = "limit must be a non-negative number or null"
	msgLimitReset     = "limit_reset must be one of daily, weekly, monthly or null"
	msgIncludeBYOK    = "include_byok_in_limit must be a boolean"
	msgDisabled       = "disabled must be a boolean"
	msgExpiresFormat  = "expires_at must be an ISO 8601 UTC timestamp with seconds, e.g. 2027-12-31T23:59:59Z"
	msgExpiresPast    = "expires_at must be in the future"
	msgCreator        = "creator_user_id must be a non-empty string or null"
	msgWorkspaceUUID  = "workspace_id must be a UUID, e.g. 0df9e665-d932-5740-b2c7-b52af166bc11"
	msgWorkspaceNone  = "workspace_id does not match any workspace of this account"
	msgExternal       = "external must be an object with a non-empty string field user"
	msgExternalAPIKey = "external.api_key must be a string of at least 32 characters"
	// msgNoUpdateFields is OpenRouter's own message for a PATCH with none of
	// the fields it accepts.
	msgNoUpdateFields = "No update fields provided"
)

var (
	// expiresPattern accepts only UTC with seconds (fractional seconds
	// allowed), as OpenRouter documents; minute precision and offsets other
	// than Z are rejected.
	expiresPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`)
	uuidPattern    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	limitResets    = []string{"daily", "weekly", "monthly"}
)

// createRequest is a validated POST /keys body.
type createRequest struct {
	name               string
	limit              *float64
	limitReset         *string
	includeBYOKInLimit bool
	expiresAt          *time.Time
	creatorUserID      *string
	workspaceID        string
	externalUser       *string
}

// nullable tells "absent" from "explicit null" for PATCH, where null clears
// a value and absence leaves it alone.
type nullable[T any] struct {
	set   bool
	value *T
}

// updateRequest is a validated PATCH /keys/{hash} body; nil or unset means
// "leave unchanged".
type updateRequest struct {
	name               *string
	disabled           *bool
	limit              nullable[float64]
	limitReset         nullable[string]
	includeBYOKInLimit *bool
	workspaceID        *string
}

// parseCreate validates a POST /keys body. Unknown fields are ignored, as
// the safer reading of OpenRouter's undocumented behaviour.
func parseCreate(body []byte, acct *account, now time.Time) (*createRequest, *apiError) {
	fields, aerr := decodeObject(body)
	if aerr != nil {
		return nil, aerr
	}
	req := &createRequest{workspaceID: acct.defaultWorkspace}

	raw, ok := fields["name"]
	if !ok {
		return nil, badRequest(msgName)
	}
	if req.name, aerr = decodeName(raw, msgName); aerr != nil {
		return nil, aerr
	}
	if raw, ok := fields["limit"]; ok {
		if req.limit, aerr = decodeLimit(raw); aerr != nil {
			return nil, aerr
		}
	}
	if raw, ok := fields["limit_reset"]; ok {
		if req.limitReset, aerr = decodeLimitReset(raw); aerr != nil {
			return nil, aerr
		}
	}
	if raw, ok := fields["include_byok_in_limit"]; ok {
		v, aerr := decodeBool(raw, msgIncludeBYOK)
		if aerr != nil {
			return nil, aerr
		}
		req.includeBYOKInLimit = v
	}
	if raw, ok := fields["expires_at"]; ok && !isNull(raw) {
		v, ok := decodeString(raw)
		if !ok || !expiresPattern.MatchString(v) {
			return nil, badRequest(msgExpiresFormat)
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, badRequest(msgExpiresFormat)
		}
		if !t.After(now) {
			return nil, badRequest(msgExpiresPast)
		}
		t = t.UTC().Truncate(time.Microsecond)
		req.expiresAt = &t
	}
	if raw, ok := fields["creator_user_id"]; ok && !isNull(raw) {
		v, ok := decodeString(raw)
		if !ok || v == "" {
			return nil, badRequest(msgCreator)
		}
		req.creatorUserID = &v
	}
	if raw, ok := fields["workspace_id"]; ok {
		v, ok := decodeString(raw)
		if !ok {
			return nil, badRequest(msgWorkspaceUUID)
		}
		if req.workspaceID, aerr = resolveWorkspace(acct, v); aerr != nil {
			return nil, aerr
		}
	}
	if raw, ok := fields["external"]; ok {
		if req.externalUser, aerr = decodeExternal(raw); aerr != nil {
			return nil, aerr
		}
	}
	return req, nil
}

// parseUpdate validates a PATCH body. Fields that cannot be updated
// (expires_at, creator_user_id, …) are ignored like any other unknown field,
// but a body with none of the accepted fields is refused, as OpenRouter
// does.
func parseUpdate(body []byte, acct *account) (*updateRequest, *apiError) {
	fields, aerr := decodeObject(body)
	if aerr != nil {
		return nil, aerr
	}
	req := &updateRequest{}
	if raw, ok := fields["name"]; ok {
		name, aerr := decodeName(raw, msgNameUpdate)
		if aerr != nil {
			return nil, aerr
		}
		req.name = &name
	}
	if raw, ok := fields["disabled"]; ok {
		v, aerr := decodeBool(raw, msgDisabled)
		if aerr != nil {
			return nil, aerr
		}
		req.disabled = &v
	}
	if raw, ok := fields["limit"]; ok {
		v, aerr := decodeLimit(raw)
		if aerr != nil {
			return nil, aerr
		}
		req.limit = nullable[float64]{set: true, value: v}
	}
	if raw, ok := fields["limit_reset"]; ok {
		v, aerr := decodeLimitReset(raw)
		if aerr != nil {
			return nil, aerr
		}
		req.limitReset = nullable[string]{set: true, value: v}
	}
	if raw, ok := fields["include_byok_in_limit"]; ok {
		v, aerr := decodeBool(raw, msgIncludeBYOK)
		if aerr != nil {
			return nil, aerr
		}
		req.includeBYOKInLimit = &v
	}
	if raw, ok := fields["workspace_id"]; ok {
		v, ok := decodeString(raw)
		if !ok {
			return nil, badRequest(msgWorkspaceUUID)
		}
		ws, aerr := resolveWorkspace(acct, v)
		if aerr != nil {
			return nil, aerr
		}
		req.workspaceID = &ws
	}
	if req.name == nil && req.disabled == nil && !req.limit.set && !req.limitReset.set &&
		req.includeBYOKInLimit == nil && req.workspaceID == nil {
		return nil, badRequest(msgNoUpdateFields)
	}
	return req, nil
}

// resolveWorkspace checks that id names one of acct's workspaces and returns
// it in canonical (lowercase) form.
func resolveWorkspace(acct *account, id string) (string, *apiError) {
	if !uuidPattern.MatchString(id) {
		return "", badRequest(msgWorkspaceUUID)
	}
	ws := acct.findWorkspace(id)
	if ws == nil {
		return "", badRequest(msgWorkspaceNone)
	}
	return ws.id, nil
}

// decodeObject splits a body into its top-level fields, refusing anything
// that is not a single JSON object.
func decodeObject(body []byte) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest(msgBodyNotObject)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		if json.Valid(body) {
			return nil, badRequest(msgBodyNotObject)
		}
		return nil, badRequest(msgBodyNotJSON)
	}
	if fields == nil { // the body was null
		return nil, badRequest(msgBodyNotObject)
	}
	return fields, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// decodeString accepts a JSON string only (not null, which encoding/json
// would silently turn into "").
func decodeString(raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

func decodeName(raw json.RawMessage, msg string) (string, *apiError) {
	v, ok := decodeString(raw)
	if !ok || strings.TrimSpace(v) == "" {
		return "", badRequest(msg)
	}
	return v, nil
}

func decodeBool(raw json.RawMessage, msg string) (bool, *apiError) {
	if isNull(raw) {
		return false, badRequest(msg)
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, badRequest(msg)
	}
	return v, nil
}

// decodeLimit accepts a number ≥ 0 (USD) or null (no limit).
func decodeLimit(raw json.RawMessage) (*float64, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || v < 0 {
		return nil, badRequest(msgLimit)
	}
	if v == 0 {
		v = 0 // turn -0 into 0, so it is not echoed as "-0"
	}
	return &v, nil
}

// decodeLimitReset accepts daily, weekly, monthly or null (never resets).
func decodeLimitReset(raw json.RawMessage) (*string, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	v, ok := decodeString(raw)
	if !ok || !slices.Contains(limitResets, v) {
		return nil, badRequest(msgLimitReset)
	}
	return &v, nil
}

// decodeExternal validates the partner identity and returns its user, which
// becomes external_user. The partner api_key is only checked: OpenRouter
// never returns it, so the sandbox does not keep it.
func decodeExternal(raw json.RawMessage) (*string, *apiError) {
	if isNull(raw) {
		return nil, badRequest(msgExternal)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, badRequest(msgExternal)
	}
	userRaw, ok := fields["user"]
	if !ok {
		return nil, badRequest(msgExternal)
	}
	user, ok := decodeString(userRaw)
	if !ok || user == "" {
		return nil, badRequest(msgExternal)
	}
	if keyRaw, ok := fields["api_key"]; ok {
		key, ok := decodeString(keyRaw)
		if !ok || len(key) < 32 {
			return nil, badRequest(msgExternalAPIKey)
		}
	}
	return &user, nil
}
