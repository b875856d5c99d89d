package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Console logins: the login form takes the admin token once and sets a
// session cookie (HttpOnly, SameSite=Strict, Secure behind TLS). Sessions
// live in this process's memory: a restart logs everyone out, and a
// logout ends the session at once.

const (
	cookieName       = "switchboard_session"
	secureCookieName = "__Host-switchboard_session" // only over TLS: no Domain, Path=/
	maxSessions      = 10_000
)

type session struct {
	key     [32]byte // SHA-256 of the cookie value
	csrf    string
	expires time.Time
}

// csrfOK reports, in constant time, whether got is the session's CSRF
// token.
func (ss *session) csrfOK(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{m: map[[32]byte]*session{}, ttl: ttl, now: time.Now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns the cookie value that names it.
func (s *sessions) create() (string, *session) {
	value := randomToken()
	ss := &session{key: sha256.Sum256([]byte(value)), csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.evict()
	}
	s.m[ss.key] = ss
	return value, ss
}

// evict drops expired sessions, and the one closest to expiry if none
// had.
func (s *sessions) evict() {
	now := s.now()
	var oldest *session
	for k, ss := range s.m {
		if now.After(ss.expires) {
			delete(s.m, k)
			continue
		}
		if oldest == nil || ss.expires.Before(oldest.expires) {
			oldest = ss
		}
	}
	if len(s.m) >= maxSessions && oldest != nil {
		delete(s.m, oldest.key)
	}
}

// get returns the live session a cookie value names, or nil.
func (s *sessions) get(value string) *session {
	if value == "" {
		return nil
	}
	key := sha256.Sum256([]byte(value))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[key]
	if ss != nil && s.now().After(ss.expires) {
		delete(s.m, key)
		return nil
	}
	return ss
}

func (s *sessions) drop(value string) {
	key := sha256.Sum256([]byte(value))
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// sessionCookie returns the session cookie's value, or "".
func sessionCookie(r *http.Request) string {
	for _, name := range []string{secureCookieName, cookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if secureRequest(r) {
		c.Name, c.Secure = secureCookieName, true
	}
	http.SetCookie(w, c)
}

// loginLimiter bounds failed logins: at most loginBurst in any
// loginWindow, for the whole process, so the token cannot be guessed at
// network speed.
type loginLimiter struct {
	mu       sync.Mutex
	failures []time.Time
	now      func() time.Time
}

const (
	loginBurst  = 10
	loginWindow = time.Minute
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{now: time.Now} }

// allow reports whether a login attempt may be checked now.
func (l *loginLimiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := l.now().Add(-loginWindow)
	i := 0
	for i < len(l.failures) && l.failures[i].Before(cut) {
		i++
	}
	l.failures = l.failures[i:]
	return len(l.failures) < loginBurst
}

func (l *loginLimiter) fail() {
	l.mu.Lock()
	l.failures = append(l.failures, l.now())
	l.mu.Unlock()
}

// SessionInfo is the answer of GET /api/session: whether the caller is
// logged in, how, and the CSRF token a console session sends with every
// state-changing request.
type SessionInfo struct {
	Authenticated bool      `json:"authenticated"`
	Via           string    `json:"via,omitempty"` // bearer, session, basic
	CSRF          string    `json:"csrf,omitempty"`
	Expires       time.Time `json:"expires,omitzero"`
	// CanAct is false for a Basic login, which is read-only.
	CanAct bool `json:"canAct"`
}

// handleSession answers for anyone (a logged-out console asks too) but
// says nothing beyond "not logged in" without credentials.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.identify(r)
	info := SessionInfo{Authenticated: ok}
	if ok {
		info.Via, info.CanAct = c.via, c.via != viaBasic
		if c.session != nil {
			info.CSRF, info.Expires = c.session.csrf, c.session.expires
		}
	}
	writeJSON(w, http.StatusOK, info)
}

// handleLogin takes the login form (field "token") and answers with a
// redirect to the console: logged in, or with ?login=failed.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.writeError(w, r, forbidden("cross-origin login refused"))
		return
	}
	if !s.logins.allow() {
		s.log.Warn("admin login refused: too many failed logins", "remote", r.RemoteAddr)
		http.Redirect(w, r, "/?login=throttled", http.StatusSeeOther)
		return
	}
	if !s.tokenOK(r.PostFormValue("token")) {
		s.logins.fail()
		s.log.Warn("admin login failed", "remote", r.RemoteAddr)
		http.Redirect(w, r, "/?login=failed", http.StatusSeeOther)
		return
	}
	value, _ := s.sessions.create()
	setSessionCookie(w, r, value, int(s.opts.SessionTTL/time.Second))
	s.log.Info("admin login", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if v := sessionCookie(r); v != "" {
		s.sessions.drop(v)
	}
	setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
}
