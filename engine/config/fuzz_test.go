package config

import (
	"testing"
)

// FuzzParse: arbitrary config bytes give a Config or an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("[server]\nlisten = 3\n"))
	f.Add([]byte("[[listeners]]\nname = \"x\"\nwhen = { a = [1, \"b\", true] }\nbackoff = \"exponential\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("/nonexistent/config.toml", data, env(map[string]string{"SECRET": "x"}))
	})
}
