package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
)

// BYOK provider credentials: GET /byok, GET /byok/{id} and PATCH /byok/{id}.
// The provider secret a PATCH may carry (key) is never kept: it only
// changes the masked label, as OpenRouter's does.

const (
	msgBYOKHashes   = "allowed_api_key_hashes must be null or an array of 1 to 100 key hashes (64 lowercase hex characters)"
	msgBYOKUnknown  = "allowed_api_key_hashes must name keys of this account; at least one does not"
	msgBYOKModels   = "allowed_models must be null or an array of at most 100 strings"
	msgBYOKUsers    = "allowed_user_ids must be null or an array of at most 100 strings"
	msgBYOKName     = "name must be null or a string of at most 255 characters"
	msgBYOKDisabled = "disabled must be a boolean"
	msgBYOKFallback = "is_fallback must be a boolean"
	msgBYOKKey      = "key must be a non-empty string"
	msgBYOKProvider = "provider must be a provider slug, e.g. openai"
	maxAllowList    = 100
)

var providerPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func (b *byokCredential) wire() wireBYOK {
	return wireBYOK{ID: b.id, Provider: b.provider, WorkspaceID: clonePtr(b.workspaceID), Label: b.label, Name: clonePtr(b.name),
		Disabled: b.disabled, IsFallback: b.isFallback, AllowedModels: slices.Clone(b.allowedModels),
		AllowedAPIKeyHashes: slices.Clone(b.allowedKeyHashes), AllowedUserIDs: slices.Clone(b.allowedUserIDs),
		SortOrder: b.sortOrder, CreatedAt: formatTime(b.createdAt)}
}

// listBYOK answers GET /byok: the credentials of one workspace (the default
// one unless workspace_id says otherwise), optionally of one provider.
func (s *Sandbox) listBYOK(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	offset, limit, ws, aerr := workspacePaging(c.acct, q)
	if aerr != nil {
		return 0, nil, aerr
	}
	provider := q.Get("provider")
	if q.Has("provider") && !providerPattern.MatchString(provider) {
		return 0, nil, badRequest(msgBYOKProvider)
	}
	var in []*byokCredential
	for _, b := range c.acct.byok {
		if b.workspaceID != nil && *b.workspaceID == ws && (provider == "" || b.provider == provider) {
			in = append(in, b)
		}
	}
	return http.StatusOK, wirePage[wireBYOK]{Data: page(in, offset, limit, (*byokCredential).wire), TotalCount: len(in)}, nil
}

// lookupBYOK finds the credential named by the {id} path value.
func lookupBYOK(c *call) (*byokCredential, *apiError) {
	return lookup(c, c.acct.byok, func(b *byokCredential) string { return b.id })
}

// getBYOK answers GET /byok/{id}.
func (s *Sandbox) getBYOK(c *call) (int, any, *apiError) {
	b, aerr := lookupBYOK(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, wireBYOKResponse{Data: b.wire()}, nil
}

// updateBYOK answers PATCH /byok/{id}. The whole body is validated before
// anything changes; null clears an allow-list (no restriction), and every
// hash of allowed_api_key_hashes must be a key of this account.
func (s *Sandbox) updateBYOK(c *call) (int, any, *apiError) {
	b, aerr := lookupBYOK(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	if c.bodyErr != nil {
		return 0, nil, c.bodyErr
	}
	fields, aerr := decodeObject(c.body)
	if aerr != nil {
		return 0, nil, aerr
	}
	next := *b
	if raw, ok := fields["allowed_api_key_hashes"]; ok {
		if next.allowedKeyHashes, aerr = decodeAllowList(raw, 1, msgBYOKHashes); aerr != nil {
			return 0, nil, aerr
		}
		for _, h := range next.allowedKeyHashes {
			if !hashPattern.MatchString(h) {
				return 0, nil, badRequest(msgBYOKHashes)
			}
			if c.acct.keys[h] == nil {
				return 0, nil, badRequest(msgBYOKUnknown)
			}
		}
	}
	if raw, ok := fields["allowed_models"]; ok {
		if next.allowedModels, aerr = decodeAllowList(raw, 0, msgBYOKModels); aerr != nil {
			return 0, nil, aerr
		}
	}
	if raw, ok := fields["allowed_user_ids"]; ok {
		if next.allowedUserIDs, aerr = decodeAllowList(raw, 0, msgBYOKUsers); aerr != nil {
			return 0, nil, aerr
		}
	}
	if raw, ok := fields["name"]; ok {
		next.name = nil
		if !isNull(raw) {
			v, ok := decodeString(raw)
			if !ok || len([]rune(v)) > 255 {
				return 0, nil, badRequest(msgBYOKName)
			}
			next.name = &v
		}
	}
	if raw, ok := fields["disabled"]; ok {
		if next.disabled, aerr = decodeBool(raw, msgBYOKDisabled); aerr != nil {
			return 0, nil, aerr
		}
	}
	if raw, ok := fields["is_fallback"]; ok {
		if next.isFallback, aerr = decodeBool(raw, msgBYOKFallback); aerr != nil {
			return 0, nil, aerr
		}
	}
	if raw, ok := fields["key"]; ok {
		v, ok := decodeString(raw)
		if !ok || v == "" {
			return 0, nil, badRequest(msgBYOKKey)
		}
		next.label = maskProviderKey(v)
	}
	*b = next
	return http.StatusOK, wireBYOKResponse{Data: b.wire()}, nil
}

// decodeAllowList reads null (no restriction) or an array of least to 100
// strings.
func decodeAllowList(raw json.RawMessage, least int, msg string) ([]string, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil || len(v) < least || len(v) > maxAllowList {
		return nil, badRequest(msg)
	}
	return v, nil
}

// maskProviderKey is the label of a provider key: its first 3 and last 4
// characters, or nothing of a key too short to keep anything secret.
func maskProviderKey(key string) string {
	if len(key) < 16 {
		return "..."
	}
	return key[:3] + "..." + key[len(key)-4:]
}
