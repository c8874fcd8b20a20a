package openrouter

import "regexp"

// Secret is an OpenRouter API key in plaintext. The usual ways of printing or encoding a value (fmt's
// verbs, encoding/json and encoding.TextMarshaler values, zerolog, slog) yield "[REDACTED]", so a
// secret that slips into a log line or an error stays hidden; Reveal is the one deliberate way out.
// (encoding/json writes string-kinded map keys verbatim, so never key a map by a Secret.)
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the plaintext. Call it only where the secret must leave: the Authorization header,
// and the one answer that hands a new key to its owner.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, so %#v hides it too.
func (s Secret) GoString() string { return redacted }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// KeyPrefix starts every OpenRouter secret key.
const KeyPrefix = "sk-or-"

// keyFormat is a whole secret key as OpenRouter issues it: sk-or-v1- and 64 lowercase hex characters.
var keyFormat = regexp.MustCompile(`^` + KeyPrefix + `v1-[0-9a-f]{64}$`)

// keyShape matches anything that looks like an OpenRouter secret key, whole or cut short.
var keyShape = regexp.MustCompile(KeyPrefix + `[A-Za-z0-9]+-[A-Za-z0-9]{8,}`)

// IsKey reports whether s is a whole secret key in OpenRouter's format (sk-or-v1- and 64 lowercase hex
// characters): not a placeholder, a label or a key cut short.
func IsKey(s string) bool { return keyFormat.MatchString(s) }

// LooksLikeSecret reports whether s contains something shaped like an OpenRouter secret key.
func LooksLikeSecret(s string) bool { return keyShape.MatchString(s) }

// Redact masks every key-shaped substring of s. Text that came from outside (an upstream error body,
// a transport error) passes through it before it reaches a log or a model.
func Redact(s string) string { return keyShape.ReplaceAllString(s, "sk-or-"+redacted) }
