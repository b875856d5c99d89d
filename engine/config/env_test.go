package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestParse_EnvValuesNeverShown: a value that came from the environment
// and is wrong for its key is named by key and variable in the error,
// never printed (it is often a secret put in the wrong place).
func TestParse_EnvValuesNeverShown(t *testing.T) {
	const secret = "ittyb-APIKEY-9d8c7b6a"
	tests := []struct {
		name, body string
		want       string
	}{
		{"source rate", strings.Replace(minimal, `event = "media.processed"`, "event = \"media.processed\"\nrate = \"${ITTYBIT_API_KEY}\"", 1),
			`sources[0].rate: the value of ${ITTYBIT_API_KEY} is not a rate`},
		{"server listen", "[server]\nlisten = \"${ITTYBIT_API_KEY}\"\n" + minimal,
			`server.listen: the value of ${ITTYBIT_API_KEY} is not host:port`},
		{"part of a path", strings.Replace(minimal, `path = "/webhooks/ittybit"`, `path = "hooks/${ITTYBIT_API_KEY}"`, 1),
			`sources[0].path: the value of "hooks/${ITTYBIT_API_KEY}" must start with /`},
		{"listener backoff step", strings.Replace(minimal, `on = ["media.processed"]`, "on = [\"media.processed\"]\nbackoff = [\"1s\", \"${ITTYBIT_API_KEY}\"]", 1),
			`listeners[0].backoff[1]: the value of ${ITTYBIT_API_KEY} is not a duration`},
		{"mail from", "[mail]\nfrom = \"${ITTYBIT_API_KEY}\"\n" + minimal,
			`mail.from: the value of ${ITTYBIT_API_KEY} is not an address`},
		{"verify scheme", strings.Replace(minimal, `verify = "ittybit"`, `verify = "${ITTYBIT_API_KEY}"`, 1),
			`sources[0].verify: the value of ${ITTYBIT_API_KEY} is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.body, map[string]string{"SECRET": "x", "ITTYBIT_API_KEY": secret})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "9d8c7b6a") {
				t.Fatalf("error shows the value: %v", err)
			}
		})
	}
	// A value written in the file is still shown, as before.
	_, err := parse(t, strings.Replace(minimal, `event = "media.processed"`, "event = \"media.processed\"\nrate = \"fast\"", 1), map[string]string{"SECRET": "x"})
	if err == nil || !strings.Contains(err.Error(), `sources[0].rate: "fast" is not a rate`) {
		t.Fatalf("error = %v, want the written value shown", err)
	}
}

// TestLoad_ListenOverrides: SWITCHBOARD_LISTEN / SWITCHBOARD_ADMIN_LISTEN
// replace the file's addresses, the serve flags replace both, and Reload
// keeps the flags.
func TestLoad_ListenOverrides(t *testing.T) {
	path := writeConfig(t, "[server]\nlisten = \"127.0.0.1:1111\"\n"+minimal)
	t.Setenv("SECRET", "x")
	t.Setenv(ListenEnv, "127.0.0.1:2222")
	t.Setenv(AdminListenEnv, "127.0.0.1:3333")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:2222" || c.Admin.Listen != "127.0.0.1:3333" {
		t.Fatalf("listen %s, admin %s: want the environment's", c.Server.Listen, c.Admin.Listen)
	}
	c, err = LoadWith(path, Overrides{Listen: "127.0.0.1:4444"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:4444" || c.Admin.Listen != "127.0.0.1:3333" {
		t.Fatalf("listen %s, admin %s: want the flag's, then the environment's", c.Server.Listen, c.Admin.Listen)
	}
	if again, err := c.Reload(); err != nil || again.Server.Listen != "127.0.0.1:4444" {
		t.Fatalf("Reload: %v, listen %s: want the flag kept", err, again.Server.Listen)
	}
	t.Setenv(ListenEnv, "nowhere")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "server.listen: the value of ${SWITCHBOARD_LISTEN} is not host:port") {
		t.Fatalf("bad SWITCHBOARD_LISTEN: %v", err)
	}
}

// TestLoadClient_ReadsOnlyAdmin: the admin address and token come out of
// a file whose every other part is wrong.
func TestLoadClient_ReadsOnlyAdmin(t *testing.T) {
	path := writeConfig(t, `
[admin]
listen = "127.0.0.1:9999"
token = "${ADMIN_TOKEN}"
[storage]
dir = "state"
[queue]
workers = "many"
backend = "carrier-pigeon"
[[sources]]
secret = "${UNSET}"
[[listeners]]
script = "missing.js"
`)
	t.Setenv("ADMIN_TOKEN", "tok")
	c, err := LoadClient(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminListen != "127.0.0.1:9999" || c.Token.Reveal() != "tok" || c.TokenErr != nil ||
		c.TokenFile != filepath.Join(filepath.Dir(path), "state", "admin.token") {
		t.Fatalf("client = %+v", c)
	}
	if _, err := LoadClient(writeConfig(t, "[admin\nlisten = 1")); err == nil {
		t.Fatal("a file that is not TOML was read")
	}
}
