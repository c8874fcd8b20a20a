// Package sandbox is an in-memory emulator of OpenRouter's API-key
// management API (GET/POST /keys, GET/PATCH/DELETE /keys/{hash}, GET /key)
// and the account endpoints next to it that a key manager needs
// (GET /workspaces, GET /workspaces/{id}, GET /credits, GET /activity), and
// the controls beside the keys: guardrails with their key and member
// assignments, BYOK credentials with their allow-lists, organization
// members and analytics (controls.go).
//
// It exists so that the client, the MCP server's --sandbox mode and
// third-party programs (OpenRouter's official SDKs) can be exercised without
// a real account and without spending money. A Sandbox is an http.Handler in
// the spirit of net/http/httptest: serve it on a loopback socket and point a
// client at http://HOST:PORT/api/v1.
//
// Where OpenRouter's sources stop, it reads them this way:
//   - last_used_at is set by every request a key authenticates, whatever the
//     answer (GET /key, or a refused /keys call); a management key's calls
//     about a key are not uses of it.
//   - Expired keys, like disabled ones, are left out of GET /keys unless
//     include_expired=true, and cannot authenticate (401).
//   - PATCH workspace_id takes a workspace of the same account (400 for any
//     other, like POST); the key keeps its secret, hash and past activity.
//   - GET /key lists the key's own limit (scope key_limit, spent = usage),
//     its workspace's budgets (scope workspace, spent = the workspace's keys'
//     usage in the period) and the budget of its guardrail (api_key) or of
//     its workspace's default guardrail (workspace_default_key), spent = the
//     key's usage in the period; effective_budget is the layer with the least
//     remaining, since OpenRouter does not document how it picks it.
//   - Activity is recorded only for the sample keys (the sandbox runs no
//     models), and their usage figures are derived from it: usage_weekly and
//     usage_monthly are today's spend plus the period's completed days.
//   - GET /credits counts the usage of deleted keys too.
//   - A deleted key leaves its guardrail assignment and every BYOK
//     allow-list; an allow-list it empties stays an empty list (nobody),
//     never null (anybody). A workspace's default guardrail cannot be
//     assigned to keys (400): it binds them all already.
//   - Assigning refuses the whole request (400) when any hash is not a key
//     of the account; removing does not count keys that were not assigned.
//   - Analytics cover completed UTC days, like /activity, over 90 days of
//     sample history; the api_key_id dimension is answered with the hash.
//   - The sample data's ids are drawn from a fixed seed, so every sandbox
//     starts with the same hashes, labels and ids; keys created later are
//     random.
//
// It can also fail on purpose (faults.go): 429s, 5xx, resets, answers cut
// short, malformed or oversized, added latency, scripted or at random, and
// either instead of the request or after it was carried out (the change is
// made, the answer lost), so that clients can be tested for what they do then.
//
// The package is deliberately independent of the rest of the repository (its
// own wire types, no shared code), so a bug in the client cannot be mirrored
// here and hide itself. It never logs.
package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Sandbox.
type Options struct {
	// ManagementKey is the first account's management key. Tests set it to
	// know the credential in advance; it is generated (sk-or-v1- + 64 hex)
	// when empty.
	ManagementKey string
	// Now is the clock used for created_at, updated_at and expiry checks, so
	// tests can pin time. time.Now is used when nil.
	Now func() time.Time
	// NoSampleKeys starts the first account without the sample keys, for
	// tests that need an empty account.
	NoSampleKeys bool
	// Faults is a plan of failures to inject (see ParseFaults); none when
	// zero. New panics on a plan that does not Validate.
	Faults Faults
}

// Sandbox is an in-memory OpenRouter: accounts, their workspaces and keys,
// served over HTTP by ServeHTTP. It is safe for concurrent use.
type Sandbox struct {
	now      func() time.Time
	mux      *http.ServeMux
	requests atomic.Int64
	// inFlight counts the requests being answered now, and peakInFlight the most there were at once.
	inFlight, peakInFlight atomic.Int64

	faultMu sync.Mutex
	faults  *injector

	mu sync.Mutex
	// first is the account created by New; ManagementKey reports its key.
	first *account
	// accountsByHash finds an account from sha256(management key).
	accountsByHash map[string]*account
	// keysByHash finds an inference key of any account from sha256(secret);
	// authentication needs it before the account is known.
	keysByHash map[string]*apiKey
	// seq orders keys created at the same instant (newest first in lists).
	seq uint64
}

// account is one OpenRouter user: a management key, two workspaces and the
// inference keys created under it, with their recorded activity.
type account struct {
	userID           string
	orgID            string
	managementSecret string
	managementHash   string
	managementLabel  string
	defaultWorkspace string
	// workspaces holds every workspace of the account, the default one
	// first, in creation order.
	workspaces []*workspace
	keys       map[string]*apiKey
	// totalCredits is what the account has bought (USD); deletedUsage is
	// the usage of its deleted keys, which GET /credits still counts.
	totalCredits float64
	deletedUsage float64
	// activity is one record per key, completed UTC day and model.
	activity []activity
	// allowedIPs is the account's IP allowlist; empty allows every address.
	allowedIPs []netip.Prefix
	// The controls beside the keys (controls.go): the organization's
	// members (the owner first), guardrails and their assignments, and
	// BYOK provider credentials, each list in creation order.
	members           []*member
	guardrails        []*guardrail
	keyAssignments    []*keyAssignment
	memberAssignments []*memberAssignment
	byok              []*byokCredential
}

// apiKey is an inference key as stored. The secret itself is not kept: the
// hash identifies the key and authentication hashes the presented secret.
type apiKey struct {
	owner              *account
	seq                uint64
	hash               string
	label              string
	name               string
	disabled           bool
	limit              *float64
	limitReset         *string
	includeBYOKInLimit bool
	usage              usage
	createdAt          time.Time
	updatedAt          *time.Time
	expiresAt          *time.Time
	creatorUserID      *string
	workspaceID        string
	externalUser       *string
	// lastUsedAt is the last time the key authenticated a request; nil
	// when it never did.
	lastUsedAt *time.Time
}

// usage is the spend of a key in USD, total and per current UTC period, for
// OpenRouter credits and for BYOK (bring your own key) traffic.
type usage struct {
	total, daily, weekly, monthly            float64
	byok, byokDaily, byokWeekly, byokMonthly float64
}

// New returns a Sandbox with one account whose management key is
// opts.ManagementKey (or a generated one), holding the sample keys unless
// opts.NoSampleKeys is set.
func New(opts Options) *Sandbox {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Sandbox{
		now:            now,
		accountsByHash: make(map[string]*account),
		keysByHash:     make(map[string]*apiKey),
	}
	s.mux = s.routes()
	s.SetFaults(opts.Faults)
	if opts.NoSampleKeys {
		s.first = s.addAccount(opts.ManagementKey, rand.Reader)
		return s
	}
	// The sample account's ids all come from one fixed-seed stream, drawn in the same order every
	// time, so every sandbox starts with the same hashes, labels and ids.
	src := sampleSource()
	s.first = s.addAccount(opts.ManagementKey, src)
	s.addSampleKeys(s.first, s.clock(), src)
	return s
}

// sampleSeed seeds the identifiers of the sample data. Changing it changes every sample hash, which
// users copy from one run into the next.
var sampleSeed = sha256.Sum256([]byte("openrouter-keys-mcp sandbox sample data"))

// sampleSource returns the deterministic stream the sample data's ids are drawn from.
func sampleSource() io.Reader { return mathrand.NewChaCha8(sampleSeed) }

// ManagementKey returns the first account's management key, so callers that
// let New generate it can still authenticate.
func (s *Sandbox) ManagementKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first.managementSecret
}

// AddAccount creates another account, separate from all others (its own
// workspaces and keys, no sample keys), for tests of tenant isolation. An
// empty managementKey is replaced by a generated one; the key in use is
// returned. It panics if the key already belongs to another account or key,
// since two accounts sharing a credential would make tests meaningless.
func (s *Sandbox) AddAccount(managementKey string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addAccountLocked(managementKey, rand.Reader).managementSecret
}

// AddWorkspace adds a workspace named name (its slug made from the name) to the account owning
// managementKey, and returns its id. OpenRouter creates workspaces in its dashboard, not through the
// API, so the sandbox offers no endpoint for it; tests and benchmarks that need more workspaces than
// the two every account starts with use this.
func (s *Sandbox) AddWorkspace(managementKey, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("sandbox: name must be a non-empty string")
	}
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return "", errors.New("sandbox: unknown management key")
	}
	slug := strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, name), "-")
	w := newWorkspace(newUUID(rand.Reader), name, slug, nil, acct.userID, now.Truncate(time.Second))
	acct.workspaces = append(acct.workspaces, w)
	return w.id, nil
}

// CreateInferenceKey creates a normal (non-management) key named name in the
// default workspace of the account owning managementKey, exactly as
// POST /keys would, and returns its secret and hash. Tests use it to obtain a
// key that must be refused on /keys* without going through HTTP.
func (s *Sandbox) CreateInferenceKey(managementKey string, name string) (secret, hash string, err error) {
	if strings.TrimSpace(name) == "" {
		return "", "", errors.New("sandbox: name must be a non-empty string")
	}
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return "", "", errors.New("sandbox: unknown management key")
	}
	secret, k := s.newKeyLocked(acct, name, now)
	k.workspaceID = acct.defaultWorkspace
	return secret, k.hash, nil
}

// SetAllowedIPs gives the account owning managementKey an IP allowlist, as
// OpenRouter's security settings do: requests from other addresses, with any
// of the account's keys, are refused with 403. No prefixes lifts the list.
func (s *Sandbox) SetAllowedIPs(managementKey string, prefixes ...netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return errors.New("sandbox: unknown management key")
	}
	acct.allowedIPs = slices.Clone(prefixes)
	return nil
}

// allows reports whether the allowlist lets a request from remoteAddr
// (host:port, as http.Request.RemoteAddr) through.
func (acct *account) allows(remoteAddr string) bool {
	if len(acct.allowedIPs) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	return slices.ContainsFunc(acct.allowedIPs, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// Requests returns how many requests reached the handler, so tests can prove
// that a refused operation never went upstream.
func (s *Sandbox) Requests() int64 {
	return s.requests.Load()
}

// PeakInFlight returns the most requests the handler was answering at once (delayed ones included),
// so tests can hold a client to a bound on its concurrency.
func (s *Sandbox) PeakInFlight() int64 {
	return s.peakInFlight.Load()
}

// KeyCount returns how many inference keys the account owning managementKey
// has, disabled ones included (0 for an unknown key), so tests can check the
// effect of creates and deletes without listing.
func (s *Sandbox) KeyCount(managementKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return 0
	}
	return len(acct.keys)
}

// clock returns the current time as OpenRouter stores it: UTC, microsecond
// precision (so a value survives a round trip through the wire format).
func (s *Sandbox) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// addAccount is AddAccount for New, which runs before anyone else can see s.
func (s *Sandbox) addAccount(managementKey string, ids io.Reader) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addAccountLocked(managementKey, ids)
}

// addAccountLocked creates an account whose user, organization and workspace ids are drawn from ids.
func (s *Sandbox) addAccountLocked(managementKey string, ids io.Reader) *account {
	if managementKey == "" {
		managementKey = newSecret()
	}
	h := hashSecret(managementKey)
	if s.accountsByHash[h] != nil || s.keysByHash[h] != nil {
		panic("sandbox: AddAccount: management key already in use")
	}
	acct := &account{
		userID:           newUserID(ids),
		orgID:            "org_" + base62(ids, 27),
		managementSecret: managementKey,
		managementHash:   h,
		managementLabel:  labelOf(managementKey),
		keys:             make(map[string]*apiKey),
	}
	created := s.clock().Add(-400 * 24 * time.Hour).Truncate(time.Second)
	acct.workspaces = []*workspace{
		newWorkspace(newUUID(ids), "Default Workspace", "default", nil, acct.userID, created),
		newWorkspace(newUUID(ids), "Staging", "staging", ptrTo("Pre-release agents and experiments"), acct.userID, created.Add(200*24*time.Hour)),
	}
	acct.defaultWorkspace = acct.workspaces[0].id
	acct.members = []*member{{id: acct.userID, email: "owner@example.com", role: "org:admin", joinedAt: created}}
	s.accountsByHash[h] = acct
	return acct
}

// newKeyLocked creates an inference key with default settings (no limit,
// enabled, no usage) and registers it; the caller fills in the rest.
func (s *Sandbox) newKeyLocked(acct *account, name string, now time.Time) (string, *apiKey) {
	secret := newSecret()
	return secret, s.addKeyLocked(acct, hashSecret(secret), labelOf(secret), name, now)
}

// addKeyLocked registers a key with the given hash and label and default
// settings.
func (s *Sandbox) addKeyLocked(acct *account, hash, label, name string, now time.Time) *apiKey {
	s.seq++
	creator := acct.userID
	k := &apiKey{
		owner:         acct,
		seq:           s.seq,
		hash:          hash,
		label:         label,
		name:          name,
		createdAt:     now,
		creatorUserID: &creator,
		workspaceID:   acct.defaultWorkspace,
	}
	acct.keys[k.hash] = k
	s.keysByHash[k.hash] = k
	return k
}

// deleteKeyLocked removes k everywhere, so its hash is unknown and its
// secret no longer authenticates: from its guardrail assignment and from
// every BYOK allow-list too. What it spent stays spent.
func (s *Sandbox) deleteKeyLocked(k *apiKey) {
	k.owner.deletedUsage += k.usage.total
	delete(k.owner.keys, k.hash)
	delete(s.keysByHash, k.hash)
	k.owner.forgetKey(k.hash)
}

// newSecret returns a key in OpenRouter's format: sk-or-v1- + 64 lowercase
// hex characters from 32 random bytes.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return "sk-or-v1-" + hex.EncodeToString(b[:])
}

// hashSecret derives a key's public identifier. OpenRouter documents the
// hash only as a SHA-256 hex string; hashing the secret fits that format.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// labelOf masks a secret the way live labels look: sk-or-v1- and the first 3
// hex characters, "...", the last 3 (e.g. sk-or-v1-62d...8aa).
func labelOf(secret string) string {
	if len(secret) < 16 {
		// Only a caller-chosen management key can be this short; never
		// reveal it.
		return "sk-or-v1-..."
	}
	return secret[:12] + "..." + secret[len(secret)-3:]
}

// newUUID returns a version 4 UUID drawn from src (crypto/rand.Reader, or
// the sample data's stream).
func newUUID(src io.Reader) string {
	var b [16]byte
	_, _ = io.ReadFull(src, b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newUserID returns a Clerk-style user id like OpenRouter's
// (user_ + 27 base62 characters), drawn from src.
func newUserID(src io.Reader) string {
	return "user_" + base62(src, 27)
}

// base62 returns n characters of [0-9A-Za-z] drawn from src.
func base62(src io.Reader, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = io.ReadFull(src, b)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}
