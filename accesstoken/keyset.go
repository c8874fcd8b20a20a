package accesstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of the key set kept from the issuer.
const (
	// DefaultMinRefresh is the least time between two fetches of the keys: tokens naming keys the
	// issuer never had cannot make this server hammer it.
	DefaultMinRefresh = 2 * time.Second
	// maxKeyAge is how long fetched keys are trusted without asking again: a key the issuer
	// retired stops verifying within it even if no token names a new one.
	maxKeyAge = 10 * time.Minute
	maxKeys   = 100     // keys kept from one document
	maxJWKS   = 1 << 20 // bytes read of one document
)

// keySet is the issuer's published keys, fetched when a token names a key not among them (the issuer
// rotated its keys), when they are older than maxKeyAge, and never more often than minRefresh. It
// implements go-oidc's KeySet. go-oidc's own RemoteKeySet fetches again for every token that names
// an unknown key, and keeps keys for ever.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // the last fetch that succeeded
	tried   time.Time // the last fetch, whatever came of it
}

func newKeySet(url string, client *http.Client, minRefresh time.Duration) *keySet {
	if minRefresh <= 0 {
		minRefresh = DefaultMinRefresh
	}
	return &keySet{url: url, client: client, minRefresh: minRefresh}
}

// VerifySignature verifies raw's signature with the key it names, and returns its payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	algs := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("malformed jwt")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.Lock()
	keys, fresh := k.keys, time.Since(k.fetched) < maxKeyAge
	k.mu.Unlock()
	if payload, ok := verifyWith(jws, keys, kid); ok && fresh {
		return payload, nil
	}
	if keys, err = k.refresh(ctx, false); err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	return nil, errors.New("no key the issuer publishes verifies it")
}

// verifyWith verifies jws with the keys of id kid (every key when the token names none).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the keys, unless the last fetch was less than minRefresh ago (force skips that
// wait, for the first fetch); it returns the keys it holds afterwards.
func (k *keySet) refresh(ctx context.Context, force bool) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock() // one fetch at a time; who waited finds the keys it brought
	if !force && time.Since(k.tried) < k.minRefresh {
		return k.keys, nil
	}
	k.tried = time.Now()
	keys, err := fetchKeys(ctx, k.client, k.url)
	if err != nil {
		return k.keys, err
	}
	k.keys, k.fetched = keys, time.Now()
	return keys, nil
}

// Keys fetches the key set at url and counts its public signing keys, to check a configuration.
func Keys(ctx context.Context, client *http.Client, url string) (int, error) {
	keys, err := fetchKeys(ctx, client, url)
	return len(keys), err
}

// fetchKeys reads a JWK Set, keeping the public signing keys.
func fetchKeys(ctx context.Context, client *http.Client, url string) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("access tokens: keys at %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("access tokens: keys at %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("access tokens: keys at %s: HTTP %d", url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKS)).Decode(&set); err != nil {
		return nil, fmt.Errorf("access tokens: keys at %s: not a JWK Set: %w", url, err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.IsPublic() && key.Use != "enc" && len(keys) < maxKeys {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("access tokens: keys at %s: no public signing key", url)
	}
	return keys, nil
}
