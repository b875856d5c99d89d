package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// hashToken fixes the length of what is compared, so a constant-time
// compare does not leak the token's length either.
func hashToken(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }

// tokenOK reports, in constant time, whether got is the admin token.
func (s *Server) tokenOK(got string) bool {
	sum := hashToken(got)
	return got != "" && subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// authorized reports whether r carries the admin token as a bearer token.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := bearerToken(r)
	return ok && s.tokenOK(tok)
}

// bearer lets through only requests with the right bearer token.
func (s *Server) bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.writeError(w, r, ErrUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dashboardAuth accepts a bearer token or Basic credentials whose password
// is the token, and asks a browser for the latter when neither is right.
// It guards only the read-only dashboard (see the package doc).
func (s *Server) dashboardAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		if _, pass, ok := r.BasicAuth(); ok && s.tokenOK(pass) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="switchboard admin", charset="UTF-8"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: ErrUnauthorized.Error()})
	})
}
