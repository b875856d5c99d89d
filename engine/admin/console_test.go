package admin

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestConsole_ServedWithStrictCSP(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	for _, c := range []struct{ path, ctype string }{
		{"/", "text/html"},
		{"/assets/app.css", "text/css"},
		{"/assets/js/app.js", "text/javascript"},
		{"/assets/favicon.svg", "image/svg+xml"},
		{"/favicon.ico", "image/svg+xml"},
	} {
		t.Run(c.path, func(t *testing.T) {
			resp, body := call(t, ts, "GET", c.path, "")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || body == "" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Fatalf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
				t.Fatalf("CSP allows more than 'self': %q", csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
	for _, path := range []string{"/assets/", "/assets/js/", "/assets/nope.js"} {
		if resp, _ := call(t, ts, "GET", path, ""); resp.StatusCode == 200 {
			t.Fatalf("%s answered 200", path)
		}
	}
}

// The console's files must not need 'unsafe-inline' or another origin:
// no inline script or style, no handler attributes, no outside URL, no
// HTML sink for API data.
func TestConsole_FilesNeedNothingButSelf(t *testing.T) {
	bad := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"an outside URL", regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)},
		{"an inline script", regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`)},
		{"an inline style", regexp.MustCompile(`(?i)<style|\sstyle\s*=`)},
		{"a handler attribute", regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)},
		{"an HTML sink", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`)},
		{"a style attribute set from JS", regexp.MustCompile(`setAttribute\(\s*['"]style|\.style\.`)},
	}
	err := fs.WalkDir(consoleFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(consoleFS, path)
		if err != nil {
			return err
		}
		for _, r := range bad {
			if loc := r.re.FindIndex(b); loc != nil && !strings.HasSuffix(path, ".svg") {
				t.Errorf("%s holds %s: %q", path, r.what, b[loc[0]:min(loc[1]+20, len(b))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
