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

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

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
}

// Caller says who made a call, as far as the transport knows.
type Caller struct {
	Remote    string // the peer's address, over HTTP
	RequestID string // the HTTP request's id
}

// OpenAuditLog opens (creating it, mode 0600) the log at path for appending. caller, when not nil,
// tells the transport's view of who is calling.
func OpenAuditLog(path string, caller func(context.Context) Caller) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &AuditLog{f: f, caller: caller}, nil
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
	Name      string `json:"name,omitempty"`
	Outcome   string `json:"outcome,omitempty"` // ok or error
	Error     string `json:"error,omitempty"`
	Client    string `json:"client,omitempty"`
	Remote    string `json:"remote,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func (a *AuditLog) write(ctx context.Context, r auditRecord) error {
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	r.Client = clientName(ctx)
	if a.caller != nil {
		c := a.caller(ctx)
		r.Remote, r.RequestID = c.Remote, c.RequestID
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = []byte(openrouter.Redact(string(b)) + "\n")
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(b); err != nil {
		return err
	}
	return a.f.Sync()
}

// declined records that the user said no; nothing was sent upstream. A nil log records nothing.
func (a *AuditLog) declined(ctx context.Context, tool string, k *openrouter.Key) {
	if a == nil {
		return
	}
	_ = a.write(ctx, auditRecord{Event: "declined", CallID: newCallID(), Tool: tool, Hash: k.Hash, Name: k.Name})
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

// errAuditUnavailable refuses a mutating call whose attempt could not be recorded.
var errAuditUnavailable = errors.New("audit log unavailable")

// audited runs a mutating call between its attempt and outcome records, when there is a log.
func (s spec[In, Out]) audited(ctx context.Context, e *env, input In, current *openrouter.Key) (*mcp.CallToolResult, error) {
	log := e.opts.Audit
	if log == nil {
		return s.finish(ctx, e, input)
	}
	rec := auditRecord{Event: "attempt", CallID: newCallID(), Tool: s.name}
	if s.subject != nil {
		rec.Hash, rec.Name = s.subject(input)
	}
	if rec.Hash != "" {
		if current == nil {
			// The record should name the key, and a missing key ends the call here anyway.
			k, err := e.client.GetKey(ctx, rec.Hash)
			if err != nil {
				return s.failure(input, err), nil
			}
			current = k
		}
		rec.Name = current.Name
	}
	if err := log.write(ctx, rec); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("Refused: the audit log could not be written (%v), and this "+
			"server does not change keys without a record; nothing was changed. The server's operator must fix "+
			"the audit log.", errors.Join(errAuditUnavailable, err))), nil
	}
	output, err := s.call(ctx, e, input)
	rec.Event = "outcome"
	rec.Outcome = "ok"
	if err != nil {
		rec.Outcome, rec.Error = "error", err.Error()
	} else if k, ok := any(output).(auditedKey); ok {
		rec.Hash, rec.Name = k.auditKey()
	}
	if werr := log.write(ctx, rec); werr != nil {
		// The change has happened; failing the call now would invite a retry that repeats it.
		zerolog.Ctx(ctx).Error().Err(werr).Str("tool", s.name).Str("call_id", rec.CallID).Msg("audit outcome not recorded")
	}
	if err != nil {
		return s.failure(input, err), nil
	}
	return s.result(input, output)
}
