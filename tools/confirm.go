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
	"sync"
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

// confirmation is what a destructive tool asks the user before acting: whatever stops a key, deletes
// it or moves it.
type confirmation[In, Out any] struct {
	when     func(k *openrouter.Key, in In) bool   // whether this call, on the key as it is, needs the user's agreement
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
	replayed                 // the answer was used before: each counts for one call
	stale                    // the key changed after the user was asked
	unheard                  // no answer came in time
)

// ConfirmStep is a step of a confirmation, as Options.OnConfirm is told of it: a question put to the
// user, or what came of one. The values are few and fixed, fit for a metric's label.
type ConfirmStep string

// The steps of a confirmation.
const (
	// ConfirmAsked is a question put to the user: within the call (before 2026-07-28), or as an input
	// request the client brings the answer of in a second call.
	ConfirmAsked ConfirmStep = "asked"
	// ConfirmAccepted is an explicit yes: the call goes ahead.
	ConfirmAccepted ConfirmStep = "accepted"
	// ConfirmDeclined is a no, a dismissed question, or an accept without the yes: nothing is done.
	ConfirmDeclined ConfirmStep = "declined"
	// ConfirmUnanswered is a question asked within the call that no answer came to in time.
	ConfirmUnanswered ConfirmStep = "unanswered"
	// ConfirmInvalid is an answer that cannot be acted on: to a question never asked for this call,
	// used before, or about the key as it no longer is.
	ConfirmInvalid ConfirmStep = "invalid"
)

// steps are what each answer is reported as.
var steps = map[answer]ConfirmStep{
	unanswered: ConfirmAsked, // an input request: the question goes to the client with the result
	accepted:   ConfirmAccepted,
	declined:   ConfirmDeclined,
	unheard:    ConfirmUnanswered,
	mismatched: ConfirmInvalid,
	replayed:   ConfirmInvalid,
	stale:      ConfirmInvalid,
}

// refusals say, for an answer that cannot be acted on, what happened and what to do next.
var refusals = map[answer]string{
	mismatched: "The confirmation does not match this call, or it expired; nothing was changed. Call the tool " +
		"again to be asked anew.",
	replayed: "This confirmation was already answered, and an answer counts for one call only; nothing was " +
		"changed. Call the tool again to be asked anew.",
	stale: "The key changed after the user was asked (it was updated, enabled or disabled since), so the answer " +
		"no longer applies; nothing was changed. Call the tool again to be asked about the key as it is now.",
}

// question is what one call asks the user.
type question struct {
	tool    string
	who     string          // whom the call acts for: only they may answer
	args    json.RawMessage // the arguments, in one spelling
	key     string          // the state of the key the call acts on (keyState): an answer is about it alone
	message string
}

// keyState digests what a confirmed change, or a reviewed plan, must find unchanged: the key, its last
// update, whether it is disabled, its name and its limit. Disabling and enabling again moves
// updated_at, so an old answer cannot disable the key a second time; the name and limit are bound too,
// since not every change is known to move updated_at.
func keyState(k *openrouter.Key) string {
	updated, limit, reset := "", "none", "never"
	if k.UpdatedAt != nil {
		updated = *k.UpdatedAt
	}
	if k.Limit != nil {
		limit = formatUSD(*k.Limit)
	}
	if k.LimitReset != nil {
		reset = *k.LimitReset
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{k.Hash, updated, strconv.FormatBool(k.Disabled), k.Name, limit, reset}, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// confirmer asks users and remembers which answers have been used.
type confirmer struct {
	wait   time.Duration                    // how long a client that asks its user in the call is waited for
	key    []byte                           // signs confirmation states
	onStep func(tool string, s ConfirmStep) // told of each question and answer (Options.OnConfirm); may be nil

	mu   sync.Mutex
	used map[string]time.Time // the nonce of each answered question, until its state expires
}

// defaultConfirmWait bounds the wait for a user's answer: some hosts declare they can ask but show no form.
const defaultConfirmWait = 2 * time.Minute

// newConfirmer signs states with a key derived from secret, which replicas share so that an answer
// may come back to any of them; without one the key is random, lives as long as the process, and a
// restart voids pending confirmations, which is the safe side.
func newConfirmer(wait time.Duration, secret []byte) *confirmer {
	if wait <= 0 {
		wait = defaultConfirmWait
	}
	key := make([]byte, 32)
	if len(secret) > 0 {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("openrouter-keys-mcp confirmation state"))
		key = m.Sum(nil)
	} else if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return &confirmer{wait: wait, key: key, used: map[string]time.Time{}}
}

// ask gets the user's answer to q, and tells onStep of the question it puts and of the answer it reads.
func (c *confirmer) ask(ctx context.Context, req mcp.CallToolRequest, q question) (answer, *mcp.CallToolResult) {
	a, res := c.put(ctx, req, q)
	if c.onStep != nil {
		c.onStep(q.tool, steps[a])
	}
	return a, res
}

// put gets the user's answer to q. A client of protocol 2026-07-28 or later is sent the question as an
// input request with a signed state, and brings the answer back in a second call, which ask then reads;
// an older client is asked in the call itself (a server-initiated elicitation), waited for at most
// c.wait.
func (c *confirmer) put(ctx context.Context, req mcp.CallToolRequest, q question) (answer, *mcp.CallToolResult) {
	params := mcp.ElicitationParams{
		Message: q.message,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				confirmID: map[string]any{"type": "boolean", "title": "Go ahead", "description": "true to go ahead"},
			},
			"required": []string{confirmID},
		},
	}
	if !server.IsModernRequest(ctx) {
		if c.onStep != nil {
			c.onStep(q.tool, ConfirmAsked) // and ask reports the answer
		}
		return c.askNow(ctx, params)
	}
	response := server.ElicitationResponse(req.Params.InputResponses, confirmID)
	if response == nil {
		state := c.seal(q, time.Now())
		return unanswered, server.NewInputRequestBuilder(state).Elicit(confirmID, params).ToolResult()
	}
	// The state proves this answer belongs to a question we asked, for these arguments, recently.
	nonce, key, expires, ok := c.open(req.Params.RequestState, q, time.Now())
	switch {
	case !ok:
		return mismatched, nil
	case !c.use(nonce, expires):
		return replayed, nil
	case key != q.key:
		return stale, nil
	}
	return verdict(response), nil
}

// askNow asks an older client's user within the call.
func (c *confirmer) askNow(ctx context.Context, params mcp.ElicitationParams) (answer, *mcp.CallToolResult) {
	waitCtx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	res, err := server.ServerFromContext(ctx).RequestElicitation(waitCtx, mcp.ElicitationRequest{
		Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
		Params:  params,
	})
	if err != nil || res == nil {
		return unheard, nil
	}
	return verdict(res), nil
}

// unheardMessage is the result of a question nobody answered in time.
func (c *confirmer) unheardMessage() string {
	return fmt.Sprintf("No answer came from the user within %s, so nothing was changed. If this host shows no "+
		"confirmation form, the server's operator can start the server with --confirm=never and rely on the host's "+
		"own approval of destructive tools.", c.wait)
}

// verdict reads a user's answer: only an explicit yes goes ahead.
func verdict(res *mcp.ElicitationResult) answer {
	content, _ := res.Content.(map[string]any)
	if res.Action != mcp.ElicitationResponseActionAccept || content[confirmID] != true {
		return declined
	}
	return accepted
}

// use marks a question's answer as used; false when it already was. Entries are kept until their state
// expires, after which the state is refused anyway.
func (c *confirmer) use(nonce string, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for n, exp := range c.used {
		if now.After(exp) {
			delete(c.used, n)
		}
	}
	if _, seen := c.used[nonce]; seen {
		return false
	}
	c.used[nonce] = expires
	return true
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

// stateTTL bounds how long a user's answer stays good for.
const stateTTL = 10 * time.Minute

// seal binds a confirmation to the tool, whom the call acts for, its exact arguments, the key's state, a nonce and an
// expiry time, so that a client cannot present an answer to a question that was never asked, one asked
// about other arguments or about the key as it was, or an answer already used.
func (c *confirmer) seal(q question, now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	head := strconv.FormatInt(now.Add(stateTTL).Unix(), 10) + "." + hex.EncodeToString(b) + "." + q.key
	return head + "." + c.mac(q, head)
}

// open checks a state against the call, and returns its nonce, the key state it was asked about
// and when it expires.
func (c *confirmer) open(state string, q question, now time.Time) (nonce, key string, expires time.Time, ok bool) {
	i := strings.LastIndexByte(state, '.')
	if i < 0 {
		return "", "", time.Time{}, false
	}
	head, mac := state[:i], state[i+1:]
	if !hmac.Equal([]byte(mac), []byte(c.mac(q, head))) {
		return "", "", time.Time{}, false
	}
	parts := strings.Split(head, ".")
	unix, err := strconv.ParseInt(parts[0], 10, 64)
	if len(parts) != 3 || err != nil || now.Unix() > unix {
		return "", "", time.Time{}, false
	}
	return parts[1], parts[2], time.Unix(unix, 0), true
}

// mac signs a state's head (expiry, nonce, key state) with the tool, whom the call acts for and the
// arguments.
func (c *confirmer) mac(q question, head string) string {
	return hex.EncodeToString(c.sign([]byte(q.tool), []byte(q.who), []byte(head), q.args))
}

// sign is the server's one signature, for confirmation states and plan tokens alike: an HMAC, with
// the key replicas share, over the parts, each but the last ended by a NUL. The first part says what
// is signed (a tool's name, or planTokenDomain), so that one kind of signed value cannot pass for
// another.
func (c *confirmer) sign(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, c.key)
	for i, p := range parts {
		m.Write(p)
		if i < len(parts)-1 {
			m.Write([]byte{0})
		}
	}
	return m.Sum(nil)
}

// facts are what every question tells of the key besides what the tool asks, from OpenRouter and this
// server's own memory: nothing an agent can set. A name can be chosen by the agent (renamed just before
// asking to delete "scratch key (unused)"); the hash, the dates and the usage cannot.
func (d *deps) facts(k *openrouter.Key, now time.Time) string {
	lastUsed := "no recorded use"
	if k.LastUsedAt != nil {
		lastUsed = "last used " + dateOf(*k.LastUsedAt)
	}
	s := fmt.Sprintf("Facts the agent cannot change: hash %s…, created %s, %s, usage %s USD in all (%s USD this month).",
		k.Hash[:12], dateOf(k.CreatedAt), lastUsed, strconv.FormatFloat(k.Usage, 'f', 2, 64),
		strconv.FormatFloat(k.UsageMonthly, 'f', 2, 64))
	if r, ok := d.renames.recent(k.Hash, now); ok {
		ago := "less than a minute ago"
		if m := int(now.Sub(r.at).Minutes()); m > 0 {
			ago = strconv.Itoa(m) + " minutes ago"
		}
		s += fmt.Sprintf(" This server renamed it from %q %s.", r.from, ago)
	}
	return s
}
