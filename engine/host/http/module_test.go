package http

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdhttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
)

// testConfig is the default [http] section's options, with allowCIDRs.
func testConfig(allowCIDRs ...string) Options {
	return Options{AllowCIDRs: prefixes(allowCIDRs...), Timeout: 15 * time.Second, ConnectTimeout: 5 * time.Second,
		MaxResponseBytes: 10 << 20, MaxRedirects: 5}
}

func module(t *testing.T, opts Options) *Module {
	t.Helper()
	return New(opts)
}

type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Record(module, fn string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func funcs(m *Module, ctx context.Context, rec engine.Recorder) map[string]any {
	inv := &engine.Invocation{Ctx: ctx, Recorder: rec}
	return m.Exports(func() *engine.Invocation { return inv }).(map[string]any)
}

func get(m *Module, ctx context.Context, url string) (map[string]any, error) {
	return funcs(m, ctx, nil)["get"].(func(string, map[string]any) (map[string]any, error))(url, nil)
}

func TestHTTP_Refused(t *testing.T) {
	open := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		stdhttp.Redirect(w, r, r.URL.Query().Get("to"), stdhttp.StatusFound)
	}))
	defer open.Close()
	port := open.Listener.Addr().String()[strings.LastIndex(open.Listener.Addr().String(), ":"):]

	tests := []struct {
		name string
		cfg  Options
		url  string
		want string
	}{
		{"loopback", testConfig(), open.URL, "127.0.0.1 is a loopback address; add it to http.allow_cidrs to allow it"},
		{"metadata", testConfig(), "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local"},
		{"localhost name", testConfig(), "http://localhost" + port + "/", "loopback address"},
		{"mapped v6 literal", testConfig(), "http://[::ffff:127.0.0.1]" + port + "/", "loopback address"},
		{"redirect to metadata", testConfig("127.0.0.1/32"), open.URL + "/?to=http://169.254.169.254/", "169.254.169.254 is a link-local"},
		{"redirect to other loopback", testConfig("127.0.0.1/32"), open.URL + "/?to=http://127.0.0.2" + port + "/", "127.0.0.2 is a loopback"},
		{"redirect to file scheme", testConfig("127.0.0.1/32"), open.URL + "/?to=file:///etc/passwd", `scheme "file" is not allowed`},
		{"file scheme", testConfig(), "file:///etc/passwd", `scheme "file" is not allowed`},
		{"host not allowed", func() Options {
			c := testConfig("127.0.0.0/8")
			c.AllowHosts = []string{"api.ittybit.com"}
			return c
		}(), open.URL, `host "127.0.0.1" is not in http.allow_hosts`},
		{"redirect loop", func() Options { c := testConfig("127.0.0.0/8"); c.MaxRedirects = 2; return c }(), open.URL + "/?to=" + open.URL + "/%3Fto=" + open.URL + "/%253Fto=" + open.URL, "stopped after 2 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := get(module(t, tt.cfg), context.Background(), tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHTTP_AllowedHostAndCIDR(t *testing.T) {
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	cfg := testConfig("127.0.0.0/8", "::1/128")
	cfg.AllowHosts = []string{"localhost"}
	res, err := get(module(t, cfg), context.Background(), "http://localhost"+port+"/")
	if err != nil {
		t.Fatal(err)
	}
	if res["status"] != int64(200) || res["ok"] != true || res["body"] != "hello" || res["json"] != nil {
		t.Fatalf("response = %v", res)
	}
}

func TestHTTP_IgnoresProxyEnv(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) { fmt.Fprint(w, "direct") }))
	defer srv.Close()
	res, err := get(module(t, testConfig("127.0.0.0/8")), context.Background(), srv.URL)
	if err != nil || res["body"] != "direct" {
		t.Fatalf("response %v, %v", res, err)
	}
}

func TestHTTP_JSON(t *testing.T) {
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Trace", "abc")
		if r.URL.Path == "/missing" {
			w.WriteHeader(stdhttp.StatusNotFound)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "contentType": r.Header.Get("Content-Type"), "auth": r.Header.Get("Authorization"), "body": string(body),
		})
	}))
	defer srv.Close()
	rt := goja.New()
	inv := &engine.Invocation{Ctx: context.Background()}
	rt.Set("http", module(t, testConfig("127.0.0.0/8")).Exports(func() *engine.Invocation { return inv }))
	rt.Set("base", srv.URL)
	v, err := rt.RunString(`
		const a = http.post(base + "/p", {name: "ada", tags: [1, 2]}, {headers: {Authorization: "Bearer k"}});
		const b = http.post(base + "/p", "raw text");
		const c = http.request({method: "put", url: base + "/r", json: [1], timeout: "5s"});
		const d = http.get(base + "/missing", {timeout: 5});
		JSON.stringify({
			a: [a.status, a.ok, a.json.method, a.json.contentType, a.json.auth, a.json.body, a.headers["x-trace"]],
			b: [b.json.contentType, b.json.body],
			c: [c.json.method, c.json.body, c.json.contentType],
			d: [d.status, d.ok, typeof d.body],
		});
	`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":[200,true,"POST","application/json","Bearer k","{\"name\":\"ada\",\"tags\":[1,2]}","abc"],` +
		`"b":["","raw text"],"c":["PUT","[1]","application/json"],"d":[404,false,"string"]}`
	if v.String() != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
	if _, err := rt.RunString(`http.get("http://169.254.169.254/")`); err == nil || !strings.Contains(err.Error(), "link-local") {
		t.Fatalf("refusal should throw in JS: %v", err)
	}
}

func TestHTTP_SizeCap(t *testing.T) {
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(make([]byte, 8<<20))
		zw.Close()
		return buf.Bytes()
	}()
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 2048))
		case "/exact":
			w.Write(bytes.Repeat([]byte("x"), 1024))
		case "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}
	}))
	defer srv.Close()
	cfg := testConfig("127.0.0.0/8")
	cfg.MaxResponseBytes = 1024
	m := module(t, cfg)
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed; the test needs it small", len(bomb))
	}
	for _, path := range []string{"/big", "/bomb"} {
		t.Run(path, func(t *testing.T) {
			_, err := get(m, context.Background(), srv.URL+path)
			if err == nil || !strings.Contains(err.Error(), "response larger than 1024 bytes") {
				t.Fatalf("error = %v", err)
			}
		})
	}
	res, err := get(m, context.Background(), srv.URL+"/exact")
	if err != nil || len(res["body"].(string)) != 1024 {
		t.Fatalf("a body of exactly the cap: %v", err)
	}
}

func TestHTTP_Timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	m := module(t, testConfig("127.0.0.0/8"))

	t.Run("job deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := get(m, ctx, srv.URL)
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("option", func(t *testing.T) {
		f := funcs(m, context.Background(), nil)["get"].(func(string, map[string]any) (map[string]any, error))
		_, err := f(srv.URL, map[string]any{"timeout": "50ms"})
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestHTTP_DryRun(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(stdhttp.HandlerFunc(func(w stdhttp.ResponseWriter, r *stdhttp.Request) { hits.Add(1) }))
	defer srv.Close()
	rec := &recorder{}
	f := funcs(module(t, testConfig("127.0.0.0/8")), context.Background(), rec)
	res, err := f["post"].(func(string, any, map[string]any) (map[string]any, error))(srv.URL, map[string]any{"a": int64(1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["dryRun"] != true || res["status"] != int64(200) || hits.Load() != 0 {
		t.Fatalf("response %v, %d hits", res, hits.Load())
	}
	if len(rec.calls) != 1 || !strings.HasPrefix(rec.calls[0], "http.post ["+srv.URL) {
		t.Fatalf("recorded %q", rec.calls)
	}
}

func TestHTTP_ErrorHidesQuery(t *testing.T) {
	_, err := get(module(t, testConfig()), context.Background(), "http://169.254.169.254/x?api_key=hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v", err)
	}
}
