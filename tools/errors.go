package tools

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// managementKeyDocs is where a user learns to make a management key.
const managementKeyDocs = "https://openrouter.ai/docs/guides/overview/auth/management-api-keys"

// invalidArgs is a problem with the arguments that a handler finds rather than the schema.
type invalidArgs string

func (e invalidArgs) Error() string { return string(e) }

// toolError is a message for the model written where the failure happened; explain passes it on as is.
type toolError string

func (e toolError) Error() string { return string(e) }

var errNothingToUpdate = invalidArgs("nothing to change: give at least one of name, disabled, limit, " +
	"remove_limit, limit_reset, include_byok_in_limit or workspace_id (null means not given); the key was left as it is")

// explain turns a client error into what the model should read: what went wrong and what to do next.
// Every text it quotes from outside has been cleaned and redacted by the client.
func explain(err error) string {
	var apiErr *openrouter.APIError
	var argErr invalidArgs
	var toolErr toolError
	var refused policyRefusal
	switch {
	case errors.As(err, &toolErr):
		return string(toolErr)
	case errors.As(err, &refused):
		return refused.Error()
	case errors.As(err, &argErr):
		return "Invalid arguments, nothing was sent to OpenRouter: " + string(argErr) + "."
	case errors.Is(err, openrouter.ErrNoAPIKey):
		return "No OpenRouter API key is configured, so nothing was sent. Tell the user to set " +
			"OPENROUTER_MANAGEMENT_KEY to an OpenRouter management key in the \"env\" block of this MCP server's " +
			"entry in their client config, then restart the server (see " + managementKeyDocs + "). " +
			"To try the tools without an account, the server can be started with --sandbox."
	case errors.Is(err, openrouter.ErrInvalidHash):
		return "Invalid arguments, nothing was sent to OpenRouter: `hash` must be the 64 hex characters of a key's hash (from list_keys)."
	case errors.Is(err, context.Canceled):
		return "The call was cancelled before OpenRouter answered."
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("The call ran out of time: OpenRouter did not answer all its requests within %s "+
			"(it may be slow, or rate limiting and being retried), so the call was stopped. A change may or may not "+
			"have been made: check with get_key or list_keys before trying again.", callTimeoutOf(err))
	case errors.Is(err, openrouter.ErrMalformedResponse):
		return fmt.Sprintf("OpenRouter answered, but not in the form it documents (%v).", err)
	case errors.As(err, &apiErr):
		return explainStatus(apiErr)
	}
	return fmt.Sprintf("Could not complete the call: %v. Check the network and the server's OpenRouter base URL, then try again.", err)
}

// explainStatus says what an OpenRouter refusal means in the words of these tools where they know
// better (which variable holds the key, which tool finds a hash), and otherwise as the client reads it
// (openrouter.APIError.Explain, which reads a 403 from its message: not every 403 is the kind of key).
func explainStatus(e *openrouter.APIError) string {
	quoted := fmt.Sprintf("(OpenRouter said %d: %s)", e.Status, e.Message)
	switch {
	case e.Status == http.StatusUnauthorized:
		return "OpenRouter rejected the API key this server sent " + quoted + ": it is missing, invalid, disabled " +
			"or expired. Retrying will not help; the user must configure a valid OpenRouter management key " +
			"(OPENROUTER_MANAGEMENT_KEY, or the bearer key their client sends over HTTP)."
	case e.ForbiddenReason() == openrouter.ForbiddenNotManagementKey:
		return "The API key this server uses is not a management key, and only management keys can list, create, " +
			"read, update or delete keys " + quoted + ". The user must create a management key (" + managementKeyDocs +
			") and configure it as OPENROUTER_MANAGEMENT_KEY. current_key works with any key and shows is_management_key."
	case e.Status == http.StatusPaymentRequired:
		return "The key's own credit limit is used up, or the account is out of credits " + quoted + ". This is not a " +
			"guardrail or budget, which answer 403. current_key shows the key's limit_remaining and the budget layers; " +
			"raise the limit (update_key), wait for its reset, or add credits."
	case e.Status == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "guardrail"):
		return "A guardrail that binds this key refused the request " + quoted + ": its budget is used up, or the model, " +
			"provider or data policy is not allowed. (A key's own credit limit answers 402, not 403.) current_key lists " +
			"the budget layers and which is exhausted; list_guardrails shows the guardrail's rules."
	case e.Status == http.StatusForbidden && e.ForbiddenReason() == openrouter.ForbiddenBudget:
		return e.Explain() + " (A key's own credit limit answers 402; this 403 is a budget or guardrail layer.) " +
			"current_key tells which layer is exhausted."
	case e.Status == http.StatusForbidden && e.ForbiddenReason() == openrouter.ForbiddenOther && e.Method != http.MethodPatch:
		return "OpenRouter refused the request as forbidden " + quoted + ". Likely causes: the key is not a management " +
			"key, the account's IP allow-list excludes this address, or a guardrail or budget refuses it. current_key " +
			"tells them apart: it shows is_management_key and the budget layers, and fails too when the address is not allowed."
	case e.Status == http.StatusNotFound && strings.HasPrefix(e.Path, "/keys/"):
		return "OpenRouter has no key with that hash " + quoted + ": it may have been deleted, or it belongs to " +
			"another workspace or account. Call list_keys (with include_disabled and include_expired: true, and " +
			"workspace_id for another workspace) to find the right hash."
	}
	return e.Explain()
}

// deadlineError says how long the call had when its deadline passed.
type deadlineError struct {
	limit time.Duration
	err   error
}

func (e deadlineError) Error() string { return e.err.Error() }
func (e deadlineError) Unwrap() error { return e.err }

// callTimeoutOf is the time the call had, as deadlineError recorded it.
func callTimeoutOf(err error) time.Duration {
	var d deadlineError
	if errors.As(err, &d) {
		return d.limit
	}
	return defaultCallTimeout
}
