package main

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Bounds of keyVouch.
const (
	vouchFor      = 10 * time.Minute // how long an accepted key is remembered
	vouchAtOnce   = 4                // unknown keys asked about at once; more are not vouched for
	vouchTimeout  = 5 * time.Second
	vouchRemember = 10_000 // keys remembered; the memory is cleared when it is full
)

// keyVouch tells the HTTP transport, in caller mode, whether OpenRouter accepts a caller's key, so
// that a session opened with an invented key is provisional (short lived, in a few places). It asks
// OpenRouter once (GET /key with that key) and remembers an accepted key by its digest; a key it
// cannot vouch for now, because too many are being asked about or OpenRouter did not answer, is
// simply not vouched for. Only sessions ask: a stateless call holds nothing long, and its own
// upstream call answers for its key.
type keyVouch struct {
	client *openrouter.Client
	asking chan struct{}

	mu       sync.Mutex
	accepted map[[sha256.Size]byte]time.Time
}

func newKeyVouch(client *openrouter.Client) *keyVouch {
	return &keyVouch{client: client, asking: make(chan struct{}, vouchAtOnce),
		accepted: make(map[[sha256.Size]byte]time.Time)}
}

// vouch is a transport.HTTPOptions.Vouch; ctx carries the caller's key (callerKey put it there).
func (v *keyVouch) vouch(ctx context.Context, token string) bool {
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	at, ok := v.accepted[sum]
	v.mu.Unlock()
	if ok && time.Since(at) < vouchFor {
		return true
	}
	select {
	case v.asking <- struct{}{}:
		defer func() { <-v.asking }()
	default:
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, vouchTimeout)
	defer cancel()
	if _, err := v.client.CurrentKey(ctx); err != nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.accepted) >= vouchRemember {
		clear(v.accepted)
	}
	v.accepted[sum] = time.Now()
	return true
}
