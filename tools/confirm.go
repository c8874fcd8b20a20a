package tools

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// ConfirmMode says whether destructive calls ask the user first.
type ConfirmMode int

const (
	// ConfirmAuto asks, through MCP elicitation, whenever the client declared it can ask its user. A
	// client that cannot relies on its own approval of destructive tools, which the annotations request.
	ConfirmAuto ConfirmMode = iota
	// ConfirmNever never asks, for unattended workflows.
	ConfirmNever
)

// ParseConfirmMode reads auto or never.
func ParseConfirmMode(s string) (ConfirmMode, error) {
	switch s {
	case "auto":
		return ConfirmAuto, nil
	case "never":
		return ConfirmNever, nil
	}
	return 0, fmt.Errorf("invalid confirm mode %q: want auto or never", s)
}

// confirmID names the one elicitation a tool asks.
const confirmID = "confirm"

// confirmation is what a destructive tool asks the user before acting.
type confirmation[In, Out any] struct {
	when     func(in In) bool                      // whether this call needs the user's agreement
	message  func(k *openrouter.Key, in In) string // the question, naming the key
	declined func(k *openrouter.Key, in In) Out    // the result when the user says no
}

// answer is where a confirmation stands for one call.
type answer int

const (
	unanswered answer = iota // the question is to be sent to the client
	accepted                 // the user agreed: go on
	declined                 // the user said no, or dismissed the question
	mismatched               // the answer does not belong to a question we asked for this call
)

// confirmationMismatch is the error for an answer that does not belong to this call.
const confirmationMismatch = "The confirmation does not match this call, or it expired; nothing was " +
	"changed. Call the tool again to be asked anew."

// ask reads the user's answer to the confirmation of this call, when the client brings one back, and
// otherwise returns the question to send: an input request carrying a signed state that binds the
// answer to the tool, its arguments (args, in one spelling) and a time.
func ask(req mcp.CallToolRequest, tool string, args json.RawMessage, message string) (answer, *mcp.CallToolResult) {
	response := server.ElicitationResponse(req.Params.InputResponses, confirmID)
	if response == nil {
		q := server.NewInputRequestBuilder(sealState(tool, args, time.Now())).Elicit(confirmID, mcp.ElicitationParams{
			Message: message,
			RequestedSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					confirmID: map[string]any{"type": "boolean", "title": "Go ahead", "description": "true to go ahead"},
				},
				"required": []string{confirmID},
			},
		})
		return unanswered, q.ToolResult()
	}
	// The state proves this answer belongs to a question we asked, for these arguments, recently.
	if !openState(req.Params.RequestState, tool, args, time.Now()) {
		return mismatched, nil
	}
	content, _ := response.Content.(map[string]any)
	if response.Action != mcp.ElicitationResponseActionAccept || content[confirmID] != true {
		return declined, nil
	}
	return accepted, nil
}

// clientCanElicit reports whether the client declared it can ask its user: per request from
// 2026-07-28 on, per session before.
func clientCanElicit(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientCapabilities != nil {
		return info.ClientCapabilities.Elicitation != nil
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return s.GetClientCapabilities().Elicitation != nil
	}
	return false
}

// stateKey signs confirmation states; it lives as long as the process, so a restart voids pending
// confirmations, which is the safe side.
var stateKey = func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}()

// stateTTL bounds how long a user's answer stays good for.
const stateTTL = 10 * time.Minute

// sealState binds a confirmation to the tool, its exact arguments and an expiry time, so that a
// client cannot present an answer to a question that was never asked, or one asked about other
// arguments.
func sealState(tool string, args json.RawMessage, now time.Time) string {
	exp := strconv.FormatInt(now.Add(stateTTL).Unix(), 10)
	return exp + "." + stateMAC(tool, args, exp)
}

func openState(state, tool string, args json.RawMessage, now time.Time) bool {
	exp, mac, ok := strings.Cut(state, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > unix {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(stateMAC(tool, args, exp)))
}

func stateMAC(tool string, args json.RawMessage, exp string) string {
	m := hmac.New(sha256.New, stateKey)
	fmt.Fprintf(m, "%s\x00%s\x00", tool, exp)
	m.Write(args)
	return hex.EncodeToString(m.Sum(nil))
}
