package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// protected lists one request per authenticated route.
var protected = []struct{ method, path string }{
	{"GET", "/metrics"},
	{"GET", "/api/events"},
	{"GET", "/api/events/evt_1"},
	{"POST", "/api/events/evt_1/replay"},
	{"GET", "/api/jobs"},
	{"GET", "/api/jobs/job_1"},
	{"POST", "/api/jobs/job_1/retry"},
	{"DELETE", "/api/jobs/job_1"},
	{"POST", "/api/failed/retry"},
	{"DELETE", "/api/failed"},
	{"GET", "/api/listeners"},
	{"GET", "/api/listeners/notify"},
	{"GET", "/api/listeners/notify/script"},
	{"POST", "/api/listeners/notify/pause"},
	{"POST", "/api/listeners/notify/resume"},
	{"GET", "/api/stats"},
	{"GET", "/api/history"},
	{"GET", "/api/processes"},
	{"GET", "/api/audit"},
	{"GET", "/api/config/status"},
	{"POST", "/logout"},
	{"GET", "/api/nope"},
	{"POST", "/api/events"},
	{"GET", "/assets/../server.go"},
}

func TestAuth_Bearer(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	cases := []struct {
		name string
		auth string
		want int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"wrong token of the same length", "Bearer " + strings.Repeat("x", len(testToken)), 401},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], 401},
		{"token with suffix", "Bearer " + testToken + "x", 401},
		{"empty bearer", "Bearer ", 401},
		{"token without scheme", testToken, 401},
		{"basic with the wrong password", basic("nope"), 401},
		{"basic reads", basic(testToken), 200},
		{"right token", "Bearer " + testToken, 200},
		{"scheme is case-insensitive", "bearer " + testToken, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := call(t, ts, "GET", "/api/stats", c.auth)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.want == 401 {
				var eb errorBody
				if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error != "unauthorized" {
					t.Fatalf("401 body = %q, want a JSON error", body)
				}
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			}
		})
	}
	// The token in the URL is never accepted: it would end up in logs.
	if resp, _ := call(t, ts, "GET", "/api/stats?token="+testToken, ""); resp.StatusCode != 401 {
		t.Fatalf("?token= accepted: %d", resp.StatusCode)
	}
}

func TestAuth_EveryRouteProtected(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	for _, p := range protected {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			for _, auth := range []string{"", "Bearer wrong", basic("wrong")} {
				resp, body := call(t, ts, p.method, p.path, auth)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("auth %q: status %d, want 401: %s", auth, resp.StatusCode, body)
				}
				if strings.Contains(body, "evt_") || strings.Contains(body, "job_") {
					t.Fatalf("401 body leaks data: %s", body)
				}
			}
		})
	}
}

func TestAuth_BasicIsReadOnly(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	_, failed := fs.addEvent(engine.Event{Name: "a"}, engine.JobFailed, "notify")
	resp, body := call(t, ts, "POST", "/api/jobs/"+failed[0].ID+"/retry", basic(testToken))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Fatalf("retry with Basic: %d %s", resp.StatusCode, body)
	}
	if j, _ := fs.GetJob(t.Context(), failed[0].ID); j.State != engine.JobFailed {
		t.Fatalf("the job changed to %s", j.State)
	}
}

func TestAuth_Probes(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	resp, body := call(t, ts, "GET", "/healthz", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, ts, "GET", "/readyz", "")
	if resp.StatusCode != 200 || strings.Contains(body, "checks") {
		t.Fatalf("readyz without token: %d %s, want 200 without checks", resp.StatusCode, body)
	}
	resp, body = call(t, ts, "GET", "/readyz", "Bearer "+testToken)
	if resp.StatusCode != 200 || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("readyz with token: %d %s, want checks", resp.StatusCode, body)
	}
}

// browser is a client that keeps cookies and sends the headers a browser
// sends from the console's own page.
type browser struct {
	t      *testing.T
	ts     *httptest.Server
	cookie *http.Cookie
	csrf   string
	origin string // "" = the server's own
}

func newBrowser(t *testing.T, ts *httptest.Server) *browser { return &browser{t: t, ts: ts} }

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, b.ts.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	origin := b.origin
	if origin == "" {
		origin = b.ts.URL
	}
	if method != "GET" && origin != "none" {
		req.Header.Set("Origin", origin)
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	if method != "GET" && b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := *b.ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(raw)
}

// login posts the form and keeps the session cookie and CSRF token.
func (b *browser) login(token string) *http.Response {
	b.t.Helper()
	resp, _ := b.do("POST", "/login", url.Values{"token": {token}}, nil)
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "switchboard_session") && c.Value != "" {
			b.cookie = c
		}
	}
	if b.cookie != nil {
		_, body := b.do("GET", "/api/session", nil, nil)
		b.csrf = decode[SessionInfo](b.t, body).CSRF
	}
	return resp
}

func TestLogin_SessionCookie(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	b := newBrowser(t, ts)
	_, body := b.do("GET", "/api/session", nil, nil)
	if info := decode[SessionInfo](t, body); info.Authenticated || info.CSRF != "" {
		t.Fatalf("session before login: %+v", info)
	}
	resp := b.login("wrong")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?login=failed" || b.cookie != nil {
		t.Fatalf("wrong token: %d %s cookie=%v", resp.StatusCode, resp.Header.Get("Location"), b.cookie)
	}
	resp = b.login(testToken)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || b.cookie == nil {
		t.Fatalf("right token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := b.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.Name != cookieName {
		t.Fatalf("cookie %+v, want HttpOnly, SameSite=Strict, Path=/, not Secure over http", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Fatal("the cookie holds the token")
	}
	_, body = b.do("GET", "/api/session", nil, nil)
	info := decode[SessionInfo](t, body)
	if !info.Authenticated || info.Via != "session" || len(info.CSRF) < 32 || !info.CanAct {
		t.Fatalf("session after login: %+v", info)
	}
	if resp, _ := b.do("GET", "/api/stats", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("stats with the session: %d", resp.StatusCode)
	}
	// Behind TLS the cookie is Secure and __Host- prefixed.
	tb := newBrowser(t, ts)
	tb.do("GET", "/", nil, nil)
	resp, _ = tb.do("POST", "/login", url.Values{"token": {testToken}}, map[string]string{"X-Forwarded-Proto": "https"})
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure || cs[0].Name != secureCookieName {
		t.Fatalf("cookie behind TLS: %+v", cs)
	}
}

func TestLogin_StateChangesNeedCSRFAndOrigin(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	b := newBrowser(t, ts)
	b.login(testToken)
	csrf := b.csrf
	cases := []struct {
		name   string
		csrf   string
		origin string
		hdr    map[string]string
		want   int
	}{
		{"no csrf token", "", "", nil, 403},
		{"wrong csrf token", csrf[:len(csrf)-1], "", nil, 403},
		{"another origin", csrf, "https://evil.example", nil, 403},
		{"a null origin", csrf, "null", nil, 403},
		{"no origin and no fetch metadata", csrf, "none", nil, 403},
		{"cross-site fetch metadata", csrf, "none", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-origin fetch metadata", csrf, "none", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"a null origin with same-origin fetch metadata", csrf, "null", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"own origin but cross-site fetch metadata", csrf, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"own origin and csrf token", csrf, "", nil, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.csrf, b.origin = c.csrf, c.origin
			t.Cleanup(func() { fs.SetPaused(context.Background(), "notify", false) })
			resp, body := b.do("POST", "/api/listeners/notify/pause", nil, c.hdr)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			st, _ := fs.Stats(t.Context())
			if _, paused := st.Paused["notify"]; paused != (c.want == 200) {
				t.Fatalf("paused = %v after a %d", paused, resp.StatusCode)
			}
		})
	}
	// A cross-origin login form is refused too (login CSRF).
	evil := newBrowser(t, ts)
	evil.origin = "https://evil.example"
	if resp := evil.login(testToken); resp.StatusCode != http.StatusForbidden || evil.cookie != nil {
		t.Fatalf("cross-origin login: %d", resp.StatusCode)
	}
}

func TestLogin_LogoutAndExpiry(t *testing.T) {
	ts, _, srv := testServer(t, nil)
	b := newBrowser(t, ts)
	b.login(testToken)
	if resp, _ := b.do("POST", "/logout", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/api/stats", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("stats after logout: %d", resp.StatusCode)
	}
	b = newBrowser(t, ts)
	b.login(testToken)
	srv.sessions.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if resp, _ := b.do("GET", "/api/stats", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("stats after expiry: %d", resp.StatusCode)
	}
}

func TestLogin_Throttled(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	b := newBrowser(t, ts)
	for range loginBurst {
		b.login("wrong")
	}
	resp := b.login(testToken)
	if resp.Header.Get("Location") != "/?login=throttled" || b.cookie != nil {
		t.Fatalf("login after %d failures: %d %s", loginBurst, resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSessions_Bounded(t *testing.T) {
	s := newSessions(time.Hour)
	first, _ := s.create()
	for range maxSessions {
		s.create()
	}
	if n := len(s.m); n > maxSessions {
		t.Fatalf("%d sessions kept, bound %d", n, maxSessions)
	}
	if s.get(first) != nil {
		t.Fatal("the session closest to expiry was kept past the bound")
	}
}

func TestTokenOK(t *testing.T) {
	_, _, srv := testServer(t, nil)
	cases := []struct {
		name string
		got  string
		want bool
	}{
		{"exact", testToken, true},
		{"empty", "", false},
		{"other", "other", false},
		{"longer", testToken + testToken, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := srv.tokenOK(c.got); got != c.want {
				t.Fatalf("tokenOK(%q) = %v, want %v", c.got, got, c.want)
			}
		})
	}
}

func TestNew_Refuses(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"no store", Options{Token: "t"}},
		{"empty token", Options{Store: &fakeStore{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.opts); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func basic(pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+pass))
}
