package config

import (
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
