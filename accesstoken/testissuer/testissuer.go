// Package testissuer is an OpenID Connect issuer for tests: it serves a discovery document and a JWK
// Set on a loopback port and signs access tokens with keys it generates, which the tests may rotate.
// It also makes the tokens an attacker would (unsigned, HMAC-signed with the public key), so that the
// verifier's refusals are tested against real tokens rather than a mock of the verification.
package testissuer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a running test issuer.
type Issuer struct {
	URL string // the issuer identifier, which its tokens carry as iss
	srv *httptest.Server

	mu        sync.Mutex
	published []*Key
	keyGets   int
}

// Key is a signing key of the issuer's.
type Key struct {
	ID   string
	priv *rsa.PrivateKey
}

// NewKey makes an RSA key with a random id.
func NewKey() *Key {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &Key{ID: fmt.Sprintf("k-%x", id), priv: priv}
}

// Start starts an issuer publishing one new key; Close it when done.
func Start() *Issuer {
	i := &Issuer{published: []*Key{NewKey()}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                i.URL,
			"authorization_endpoint":                i.URL + "/authorize",
			"token_endpoint":                        i.URL + "/token",
			"jwks_uri":                              i.URL + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		i.mu.Lock()
		defer i.mu.Unlock()
		i.keyGets++
		var set jose.JSONWebKeySet
		for _, k := range i.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.ID, Algorithm: "RS256", Use: "sig"})
		}
		writeJSON(w, set)
	})
	i.srv = httptest.NewUnstartedServer(mux)
	i.URL = "http://" + i.srv.Listener.Addr().String() // before it serves: the handlers read it
	i.srv.Start()
	return i
}

// Close stops the issuer.
func (i *Issuer) Close() { i.srv.Close() }

// Current is the key new tokens are signed with: the last published.
func (i *Issuer) Current() *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.published[len(i.published)-1]
}

// Rotate publishes a new key in place of all the others, and returns it.
func (i *Issuer) Rotate() *Key {
	k := NewKey()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.published = []*Key{k}
	return k
}

// KeyFetches counts the requests for the key set so far.
func (i *Issuer) KeyFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keyGets
}

// Claims are the usual claims of an access token of this issuer for audience: subject sub, the given
// scopes, valid from a minute ago for five minutes.
func (i *Issuer) Claims(sub, audience string, scopes string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": i.URL, "sub": sub, "aud": audience, "scope": scopes,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Token signs claims with the current key.
func (i *Issuer) Token(claims map[string]any) string { return i.Current().Sign(claims) }

// Sign signs claims as an RS256 JWT naming the key's id.
func (k *Key) Sign(claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// Unsigned is claims as a JWT with alg "none".
func Unsigned(claims map[string]any) string {
	return compact(map[string]any{"alg": "none", "typ": "JWT"}, claims) + "."
}

// HS256WithPublicKey is claims "signed" with HMAC-SHA256 keyed by k's public key in PEM, the
// algorithm confusion attack on verifiers that let a token choose how it is verified.
func HS256WithPublicKey(k *Key, claims map[string]any) string {
	der, _ := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signing := compact(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.ID}, claims)
	m := hmac.New(sha256.New, pemKey)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func compact(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
