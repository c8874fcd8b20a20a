package openrouter

import (
	"crypto/tls"
	"net/http"
	"time"
)

// TransportResponseHeaderTimeout exposes, to this package's tests only, the
// ResponseHeaderTimeout of the transport New built for c. ok is false when
// c does not use an *http.Transport (a caller-supplied HTTPClient).
func TransportResponseHeaderTimeout(c *Client) (d time.Duration, ok bool) {
	t, ok := c.http.Transport.(*http.Transport)
	if !ok {
		return 0, false
	}
	return t.ResponseHeaderTimeout, true
}

// SetTransportTLS gives, to this package's tests only, the transport New built for c a TLS
// configuration (a test server's root), so tests can reach an HTTPS test server with it.
func SetTransportTLS(c *Client, cfg *tls.Config) {
	c.http.Transport.(*http.Transport).TLSClientConfig = cfg
}

// SetCacheClock gives, to this package's tests only, the controls cache of c another clock, so that
// tests can age its answers without waiting.
func SetCacheClock(c *Client, now func() time.Time) { c.cache.now = now }
