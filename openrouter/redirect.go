package openrouter

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// errRedirectRefused marks a redirect the client would not follow: to another scheme, host or port
// than the base URL's. OpenRouter's API does not redirect, so such an answer comes from a proxy or a
// misconfigured base URL, and following it could hand the key to whoever answers there.
var errRedirectRefused = errors.New("redirect refused")

// maxRedirects bounds the redirects followed within the base URL's origin, as net/http's default does.
const maxRedirects = 10

// withRedirectGuard returns a copy of hc (the caller's client is left as it was) that never forwards
// credentials on a redirect and refuses one to another origin. net/http itself forwards the
// Authorization header to the same host name on another port, and from https to http.
func withRedirectGuard(hc *http.Client, base *url.URL) *http.Client {
	guarded := *hc
	guarded.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Deleted before anything else, so that no path below sends the key on.
		req.Header.Del("Authorization")
		if !sameOrigin(req.URL, base) {
			return fmt.Errorf("%w: OpenRouter's base URL %s answered with a redirect to %s, another scheme, host or "+
				"port; the key is never sent elsewhere, so the request was stopped. Check the base URL (--base-url)",
				errRedirectRefused, base.Redacted(), origin(req.URL))
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects from %s", errRedirectRefused, maxRedirects, base.Redacted())
		}
		return nil
	}
	return &guarded
}

// sameOrigin reports whether u has base's scheme, host and port (the scheme's default when absent).
func sameOrigin(u, base *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Hostname(), base.Hostname()) &&
		portOf(u) == portOf(base)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// origin names where a redirect pointed without its path or query, which may carry anything.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }
