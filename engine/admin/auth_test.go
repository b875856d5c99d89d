package admin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// protected lists one request per authenticated route.
var protected = []struct{ method, path string }{
	{"GET", "/"},
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
	{"GET", "/api/stats"},
	{"GET", "/api/config/status"},
	{"GET", "/api/nope"},
	{"POST", "/api/events"},
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
		{"basic on the API", basic(testToken), 401},
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
}

func TestAuth_EveryRouteProtected(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	for _, p := range protected {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			for _, auth := range []string{"", "Bearer wrong"} {
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

func TestAuth_DashboardBasic(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	cases := []struct {
		name string
		auth string
		want int
	}{
		{"basic with token as password", basic(testToken), 200},
		{"bearer", "Bearer " + testToken, 200},
		{"basic with wrong password", basic("nope"), 401},
		{"none", "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := call(t, ts, "GET", "/", c.auth)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("dashboard 401 should ask for Basic, got %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// The token in the URL is never accepted: it would end up in logs.
	resp, _ := call(t, ts, "GET", "/?token="+testToken, "")
	if resp.StatusCode != 401 {
		t.Fatalf("?token= accepted: %d", resp.StatusCode)
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
