package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck_EnvValueNotEchoed: `switchboard check` on a config whose
// ${VAR} lands in a key that is not a secret names the key and the
// variable and never prints the value, wherever it came from (.env here).
func TestCheck_EnvValueNotEchoed(t *testing.T) {
	const secret = "ittyb-APIKEY-9d8c7b6a"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.js"), "export default function () {}\n")
	writeFile(t, filepath.Join(dir, ".env"), "ITTYBIT_API_KEY="+secret+"\nHOOK_SECRET=whatever\n")
	writeFile(t, filepath.Join(dir, "config.toml"), `
[[sources]]
name = "a"
path = "/a"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
[[sources]]
name = "b"
path = "/b"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
rate = "${ITTYBIT_API_KEY}"

[[listeners]]
name = "a"
script = "a.js"
on = ["e"]
`)
	code, out, errOut := runMain(t, "check", "-c", filepath.Join(dir, "config.toml"))
	if code != 1 || !strings.Contains(errOut, "sources[2].rate: the value of ${ITTYBIT_API_KEY} is not a rate") {
		t.Fatalf("exit %d, stderr %q: want 1 naming sources[2].rate and ${ITTYBIT_API_KEY}", code, errOut)
	}
	if strings.Contains(out+errOut, secret) {
		t.Fatalf("the value was printed:\n%s%s", out, errOut)
	}
}
