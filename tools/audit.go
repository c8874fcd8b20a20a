package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/logsafe"
	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// AuditLog appends a JSON line for every mutating call: an "attempt" before OpenRouter is asked and an
// "outcome" after, each synced to disk before the call goes on. If the attempt cannot be recorded the
// call is refused: a change nobody can account for is worse than no change. Reads are not audited, and
// no record ever holds a secret.
type AuditLog struct {
	mu     sync.Mutex
	f      *os.File
	caller func(context.Context) Caller
	secret func(string) bool // besides keys, what must never be recorded (the server's access token)
}

// Caller says who made a call, as far as the transport knows.
type Caller struct {
	Principal string // whom the call acts for: "person:<sub>", "credential:<digest>", "shared-token"
	Email     string // a signed-in person's, when their token says it
	Remote    string // the peer's address, over HTTP
	RequestID string // the HTTP request's id
}

// OpenAuditLog opens (creating it, mode 0600) the log at path for appending. caller, when not nil,
// tells the transport's view of who is calling; secret, when not nil, tells a value that must never be
// recorded (keys never are).
func OpenAuditLog(path string, caller func(context.Context) Caller, secret func(string) bool) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &AuditLog{f: f, caller: caller, secret: secret}, nil
}

// Close closes the file.
func (a *AuditLog) Close() error { return a.f.Close() }

// auditRecord is one line of the log.
type auditRecord struct {
	Time      string `json:"time"`
	Event     string `json:"event"` // attempt, outcome or declined
	CallID    string `json:"call_id"`
	Tool      string `json:"tool"`
	Hash      string `json:"hash,omitempty"`
	NewHash   string `json:"new_hash,omitempty"` // a rotated key's successor
	Name      string `json:"name,omitempty"`
	PlanID    string `json:"plan_id,omitempty"`      // an action of a cleanup plan: the plan it belongs to
	Action    string `json:"action,omitempty"`       // and which action it is (disable, delete, set_limit, assign_guardrail)
	Guardrail string `json:"guardrail_id,omitempty"` // the guardrail assign_guardrail assigns
	Outcome   string `json:"outcome,omitempty"`      // ok or error
	Error     string `json:"error,omitempty"`
	Client    string `json:"client,omitempty"`
	Principal string `json:"principal,omitempty"`
	Email     string `json:"email,omitempty"`
	Remote    string `json:"remote,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func (a *AuditLog) write(ctx context.Context, r auditRecord) error {
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	r.Client = clientName(ctx)
	if a.caller != nil {
		c := a.caller(ctx)
		r.Principal, r.Email, r.Remote, r.RequestID = c.Principal, c.Email, c.Remote, c.RequestID
	}
	// Cleaned as values, before encoding: masking the encoded line could cut an escape in two.
	for _, v := range []*string{&r.Name, &r.Error, &r.Client, &r.Principal, &r.Email, &r.Remote} {
		*v = a.clean(*v)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(b); err != nil {
		return err
	}
	return a.f.Sync()
}

// clean masks keys in a value that came from outside (a key's name, a client's, an upstream error),
// withholds the whole value when it holds another secret, and clips it.
func (a *AuditLog) clean(v string) string {
	v = openrouter.Redact(v)
	if a.secret != nil && a.secret(v) {
		return "[REDACTED]"
	}
	return logsafe.Clip(v)
}

// attempt records that a call is about to change a key (hash, or name for a new one), before
// OpenRouter is asked. The record it returns is the call's, for its outcome.
func (a *AuditLog) attempt(ctx context.Context, tool, hash, name string) (*auditRecord, error) {
	return a.begin(ctx, auditRecord{Tool: tool, Hash: hash, Name: name})
}

// planned records that apply_plan is about to carry out one action of a plan, before OpenRouter is
// asked: each action has its own attempt and outcome, so the log says exactly which were done. The
// record it returns is the action's, for its outcome.
func (a *AuditLog) planned(ctx context.Context, planID string, action plannedAction, name string) (*auditRecord, error) {
	return a.begin(ctx, auditRecord{Tool: applyPlanName, Hash: action.Hash, Name: name, PlanID: planID, Action: action.Action,
		Guardrail: action.Guardrail})
}

// begin writes rec as an attempt, with a call id of its own.
func (a *AuditLog) begin(ctx context.Context, rec auditRecord) (*auditRecord, error) {
	rec.Event, rec.CallID = "attempt", newCallID()
	if err := a.write(ctx, rec); err != nil {
		return nil, errors.Join(errAuditUnavailable, err)
	}
	return &rec, nil
}

// auditOutcome is how a call ended, for its outcome record.
type auditOutcome struct {
	hash, name string // the key as it is afterwards
	successor  string // the hash of a rotated key's successor
	err        error
}

// from takes what the result says of the key, when it says it.
func (o *auditOutcome) from(output any) {
	if k, ok := output.(auditedKey); ok {
		if h, n := k.auditKey(); h != "" {
			o.hash = h
			if n != "" {
				o.name = n
			}
		}
	}
	if r, ok := output.(auditedRotation); ok {
		o.successor = r.auditSuccessor()
	}
}

// outcome records how the call of an attempt ended. The change has happened or not by now, so a
// failure to record it is logged, not returned: failing the call would invite a retry that repeats it.
func (a *AuditLog) outcome(ctx context.Context, attempt *auditRecord, o auditOutcome) {
	rec := *attempt
	rec.Event, rec.Outcome, rec.Hash, rec.Name, rec.NewHash = "outcome", "ok", o.hash, o.name, o.successor
	if o.err != nil {
		rec.Outcome, rec.Error = "error", o.err.Error()
	}
	if err := a.write(ctx, rec); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("tool", rec.Tool).Str("call_id", rec.CallID).Msg("audit outcome not recorded")
	}
}

// declined records that the user said no; nothing was sent upstream. A nil log records nothing.
func (a *AuditLog) declined(ctx context.Context, tool, hash, name string) {
	if a == nil {
		return
	}
	_ = a.write(ctx, auditRecord{Event: "declined", CallID: newCallID(), Tool: tool, Hash: hash, Name: name})
}

// clientName is the MCP client's own name for itself, from the request (2026-07-28) or the session.
func clientName(ctx context.Context) string {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientInfo != nil {
		return info.ClientInfo.Name
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return s.GetClientInfo().Name
	}
	return ""
}

func newCallID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// auditedKey is implemented by results that name the key they acted on, for the outcome record.
type auditedKey interface{ auditKey() (hash, name string) }

// auditedRotation is implemented by results that made a successor of the key they acted on.
type auditedRotation interface{ auditSuccessor() (hash string) }

// errAuditUnavailable marks a mutating call refused because its attempt could not be recorded.
var errAuditUnavailable = errors.New("audit log unavailable")

// auditRefusal is the error result's text for a call refused by attempt.
func auditRefusal(err error) string {
	return fmt.Sprintf("Refused: the audit log could not be written (%v), and this server does not change keys "+
		"without a record; nothing was changed. The server's operator must fix the audit log.", err)
}
