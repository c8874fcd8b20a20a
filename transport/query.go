package transport

import (
	"net/http"
	"slices"
	"strings"
)

// credentialParams are query parameters a caller might put a key or token in; query strings end up in
// proxy logs, browser history and referrers, so a credential there is refused, never used.
var credentialParams = []string{"key", "api_key", "apikey", "token", "access_token", "auth", "authorization", "bearer"}

// refuseQueryCredentials refuses a request whose query string holds a credential: a parameter named
// like one, or anything isSecret recognises. The raw query is examined rather than url.Values,
// because the standard parser silently drops what it cannot parse (a ";" separator, a bad escape)
// and a key hidden there would pass unseen. A nil isSecret refuses every query string.
func refuseQueryCredentials(isSecret func(string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" && queryHoldsCredential(r.URL.RawQuery, isSecret) {
			writeJSON(w, http.StatusBadRequest, httpError("credentials are never accepted in the URL's query "+
				"string: send them in the Authorization header (Authorization: Bearer ...), and revoke any "+
				"key that was sent in a URL"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// queryHoldsCredential looks at the raw query as sent and as decoded (up to three times, for double
// encoding), whole and split at every "&" and ";" into names and values.
func queryHoldsCredential(raw string, isSecret func(string) bool) bool {
	if isSecret == nil {
		return true
	}
	forms := []string{raw}
	for i := 0; i < 3; i++ {
		dec := unescapeLeniently(forms[len(forms)-1])
		if dec == forms[len(forms)-1] {
			break
		}
		forms = append(forms, dec)
	}
	for _, form := range forms {
		if isSecret(form) {
			return true
		}
		for pair := range strings.FieldsFuncSeq(form, func(r rune) bool { return r == '&' || r == ';' }) {
			name, value, _ := strings.Cut(pair, "=")
			if slices.Contains(credentialParams, strings.ToLower(strings.TrimSpace(name))) || isSecret(name) || isSecret(value) {
				return true
			}
		}
	}
	return false
}

// unescapeLeniently decodes "+" and every valid %XX escape, keeping invalid ones as they are (where
// url.QueryUnescape would give up on the whole string).
func unescapeLeniently(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
