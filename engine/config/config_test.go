package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/script"
)

// writeConfig writes a config and the scripts it names into a temp dir.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "a.js"), []byte("export default function(){}"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = `
[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "${SECRET}"
event = "media.processed"

[[listeners]]
name = "a"
script = "scripts/a.js"
on = ["media.processed"]
`

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func parse(t *testing.T, body string, vars map[string]string) (*Config, error) {
	t.Helper()
	path := writeConfig(t, body)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(path, data, env(vars))
}

func TestParse_Defaults(t *testing.T) {
	c, err := parse(t, minimal, map[string]string{"SECRET": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := c.Routes()
	if err != nil {
		t.Fatal(err)
	}
	l := routes.Listener("a")
	if l == nil || l.Tries != 3 || l.Timeout != 30*time.Second || len(l.Backoff.Steps) != 3 {
		t.Fatalf("listener defaults not applied: %+v", l)
	}
	if !filepath.IsAbs(l.Script) {
		t.Errorf("script path %q not resolved against the config dir", l.Script)
	}
	if got := c.Sources[0].Secrets[0].Reveal(); got != "s3cret" {
		t.Errorf("secret = %q", got)
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name string
		body string
		vars map[string]string
		want string
	}{
		{"unknown key", "[server]\nlisten = \"127.0.0.1:1\"\nlisten_port = 3\n" + minimal, map[string]string{"SECRET": "x"}, "config.toml:3:1: unknown key server.listen_port"},
		{"unset secret", minimal, nil, "sources[0].secret: ${SECRET} is not set"},
		{"empty secret", minimal, map[string]string{"SECRET": ""}, "sources[0].secret: [0] is empty"},
		{"bad duration", "[defaults]\ntimeout = \"10x\"\n" + minimal, map[string]string{"SECRET": "x"}, `"10x" is not a duration`},
		{"bad backoff", strings.Replace(minimal, `on = ["media.processed"]`, "on = [\"media.processed\"]\nbackoff = [\"1s\", \"soon\"]", 1), map[string]string{"SECRET": "x"}, `listeners[0].backoff[1]: "soon" is not a duration`},
		{"bad verify", strings.Replace(minimal, `verify = "ittybit"`, `verify = "md5"`, 1), map[string]string{"SECRET": "x"}, `sources[0].verify: "md5" is not one of`},
		{"missing script", strings.Replace(minimal, "scripts/a.js", "scripts/nope.js", 1), map[string]string{"SECRET": "x"}, "listeners[0].script: scripts/nope.js: no such file"},
		{"bad rate", strings.Replace(minimal, `on = ["media.processed"]`, "on = [\"media.processed\"]\nrate = \"fast\"", 1), map[string]string{"SECRET": "x"}, `listeners[0].rate: "fast" is not a rate`},
		{"bad when", strings.Replace(minimal, `on = ["media.processed"]`, "on = [\"media.processed\"]\nwhen = { status = { x = 1 } }", 1), map[string]string{"SECRET": "x"}, "listeners[0].when.status"},
		{"public admin without token", "[admin]\nlisten = \"0.0.0.0:8081\"\n" + minimal, map[string]string{"SECRET": "x"}, "admin.token: must be set"},
		{"bad order_by", strings.Replace(minimal, `on = ["media.processed"]`, "on = [\"media.processed\"]\norder_by = \"data..id\"", 1), map[string]string{"SECRET": "x"}, `listeners[0].order_by: "data..id" is not a payload path like "data.id"`},
		{"duplicate listener", minimal + "\n[[listeners]]\nname = \"a\"\nscript = \"scripts/a.js\"\non = [\"x\"]\n", map[string]string{"SECRET": "x"}, `listeners[1].name: "a" is used by another listener`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.body, tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExpand_LeavesBareDollar(t *testing.T) {
	body := strings.Replace(minimal, `"${SECRET}"`, `["ab$cd", "${SECRET}", "${MISSING:-fallback}"]`, 1)
	c, err := parse(t, body, map[string]string{"SECRET": "x$y"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Sources[0].Secrets {
		got = append(got, s.Reveal())
	}
	if want := "ab$cd x$y fallback"; strings.Join(got, " ") != want {
		t.Fatalf("secrets = %q, want %q", got, want)
	}
}

func TestLoad_DotEnv(t *testing.T) {
	path := writeConfig(t, minimal)
	dotenv := "# comment\nexport SECRET=\"from-dotenv\"\n"
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].Secrets[0].Reveal(); got != "from-dotenv" {
		t.Fatalf("secret = %q", got)
	}
	t.Setenv("SECRET", "from-env")
	if c, err = Load(path); err != nil || c.Sources[0].Secrets[0].Reveal() != "from-env" {
		t.Fatalf("environment should win over .env: %v", err)
	}
}

func TestSecret_NeverPrints(t *testing.T) {
	s := Secret("hunter2")
	for _, out := range []string{s.String(), fmt.Sprintf("%v %s %q %+v %#v", s, s, s, s, s), fmt.Sprint(struct{ S Secret }{s})} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret leaked: %s", out)
		}
	}
}

func TestParseSizeAndRate(t *testing.T) {
	if n, err := ParseSize("5MiB"); err != nil || n != 5<<20 {
		t.Fatalf("ParseSize = %d, %v", n, err)
	}
	r, err := ParseRate("600/m")
	if err != nil || r.N != 600 || r.Per != time.Minute {
		t.Fatalf("ParseRate = %+v, %v", r, err)
	}
	if d, err := ParseDuration("7d"); err != nil || d != 7*24*time.Hour {
		t.Fatalf("ParseDuration = %s, %v", d, err)
	}
}

// seedListeners are the Laravel guide's three queued listeners of
// MediaProcessed, as the shipped config.toml wires them.
var seedListeners = []string{"update_media_record", "generate_thumbnail", "notify_user"}

// TestShippedConfig: the shipped config.toml validates, has the seed's
// three listeners (each on media.processed, with its script), and every
// listener's script compiles. Listeners a user adds are fine.
func TestShippedConfig(t *testing.T) {
	data, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../config.toml")
	if err := checkShippedConfig(abs, string(data)); err != nil {
		t.Fatalf("shipped config.toml: %v", err)
	}

	dir := t.TempDir()
	listener := func(name, body string) string {
		path := filepath.Join(dir, name+".js")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("\n[[listeners]]\nname = %q\nscript = %q\non = [\"*\"]\n", name, path)
	}
	added := string(data) + listener("zz_test_added_1", "export default function () {}\n") + listener("zz_test_added_2", "export default function () {}\n")
	if err := checkShippedConfig(abs, added); err != nil {
		t.Errorf("with two listeners added: %v", err)
	}
	broken := string(data) + listener("zz_test_broken", "export default function () {\n  const x = ;\n}\n")
	if err := checkShippedConfig(abs, broken); err == nil || !strings.Contains(err.Error(), "zz_test_broken.js:2:") {
		t.Errorf("a listener whose script does not compile: got %v, want its file:line", err)
	}
	renamed := strings.Replace(string(data), `name = "notify_user"`, `name = "tell_user"`, 1)
	if err := checkShippedConfig(abs, renamed); err == nil || !strings.Contains(err.Error(), `"notify_user" is missing`) {
		t.Errorf("without the seed's notify_user: got %v", err)
	}
}

// checkShippedConfig parses data as the config at path and reports a
// missing or rewired seed listener and every script that does not compile.
func checkShippedConfig(path, data string) error {
	c, err := Parse(path, []byte(data), env(map[string]string{"ITTYBIT_WEBHOOK_SECRET": "x"}))
	if err != nil {
		return fmt.Errorf("does not validate: %w", err)
	}
	routes, err := c.Routes()
	if err != nil {
		return err
	}
	var problems []error
	for _, name := range seedListeners {
		l := routes.Listener(name)
		switch {
		case l == nil:
			problems = append(problems, fmt.Errorf("the seed's listener %q is missing", name))
		case filepath.Base(l.Script) != name+".js" || !slices.Contains(l.On, "media.processed"):
			problems = append(problems, fmt.Errorf("the seed's listener %q runs %s on %v, want scripts/%s.js on media.processed", name, l.Script, l.On, name))
		}
	}
	for _, l := range routes.Listeners {
		if _, err := script.Compile(l.Script); err != nil {
			problems = append(problems, fmt.Errorf("listener %q: %w", l.Name, err))
		}
	}
	return errors.Join(problems...)
}
