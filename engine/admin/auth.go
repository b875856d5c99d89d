package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// ErrForbidden: the credentials are right but may not do this, such as a
// Basic login changing state, or a console request from another origin.
var ErrForbidden = errors.New("forbidden")

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

// Ways a request can be authenticated.
const (
	viaBearer  = "bearer"  // Authorization: Bearer <token>: API and CLI
	viaSession = "session" // the console's login cookie
	viaBasic   = "basic"   // Basic credentials whose password is the token
)

// caller is who sent an authenticated request.
type caller struct {
	via     string
	session *session // for viaSession
}

type callerKey struct{}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// identify returns how r is authenticated; ok is false when it is not.
func (s *Server) identify(r *http.Request) (caller, bool) {
	if tok, ok := bearerToken(r); ok {
		return caller{via: viaBearer}, s.tokenOK(tok)
	}
	if ss := s.sessions.get(sessionCookie(r)); ss != nil {
		return caller{via: viaSession, session: ss}, true
	}
	if _, pass, ok := r.BasicAuth(); ok && s.tokenOK(pass) {
		return caller{via: viaBasic}, true
	}
	return caller{}, false
}

// authorized reports whether r carries the admin token in any form.
func (s *Server) authorized(r *http.Request) bool {
	_, ok := s.identify(r)
	return ok
}

// reader lets through authenticated requests, for routes that change
// nothing.
func (s *Server) reader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.identify(r)
		if !ok {
			s.writeError(w, r, ErrUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// writer guards routes that change state. A bearer token is enough: a
// browser never sends one by itself. A console session must also send its
// CSRF token (X-CSRF-Token) from the console's own origin. Basic
// credentials, which a browser replays on its own, may not change state.
func (s *Server) writer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.identify(r)
		switch {
		case !ok:
			s.writeError(w, r, ErrUnauthorized)
			return
		case c.via == viaBasic:
			s.writeError(w, r, forbidden("a Basic login is read-only: log in to the console with the token, or send it as a bearer token"))
			return
		case c.via == viaSession && !sameOrigin(r):
			s.writeError(w, r, forbidden("cross-origin request refused"))
			return
		case c.via == viaSession && !c.session.csrfOK(r.Header.Get("X-CSRF-Token")):
			s.writeError(w, r, forbidden("missing or wrong X-CSRF-Token"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

type forbiddenError struct{ msg string }

func (e *forbiddenError) Error() string { return e.msg }
func (e *forbiddenError) Unwrap() error { return ErrForbidden }

func forbidden(msg string) error { return &forbiddenError{msg: msg} }

// sameOrigin reports whether a browser says r comes from a page of this
// server. Origin, when it names an origin, must name this host; Fetch
// Metadata, when sent, must say same-origin; and one of them must vouch
// for the request (browsers send both; a form post under a strict
// referrer policy sends Origin "null", which vouches for nothing).
func sameOrigin(r *http.Request) bool {
	vouched := false
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
		vouched = true
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" {
			return false
		}
		vouched = true
	}
	return vouched
}

// secureRequest reports whether the browser reached us over TLS, directly
// or through a proxy that says so. (A forged header only makes the cookie
// Secure, which can refuse service to the forger but leaks nothing.)
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// actor says where a request came from, for the audit list: the remote
// address, how it authenticated, and its user agent.
func actor(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	via := callerOf(r.Context()).via
	ua := strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, r.UserAgent())
	if len(ua) > 80 {
		ua = ua[:80]
	}
	return strings.TrimSpace(host + " " + via + " " + ua)
}
