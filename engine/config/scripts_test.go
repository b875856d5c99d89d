package config

import (
	"strings"
	"testing"
)

func TestScripts_Isolation(t *testing.T) {
	vars := map[string]string{"SECRET": "x"}
	c, err := parse(t, minimal, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scripts.Isolation != "none" || c.ScriptProcesses() != c.Queue.Workers {
		t.Fatalf("defaults: isolation %q, %d processes; want none and queue.workers (%d)", c.Scripts.Isolation, c.ScriptProcesses(), c.Queue.Workers)
	}
	c, err = parse(t, "[queue]\nworkers = 6\n[scripts]\nisolation = \"process\"\n"+minimal, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scripts.Isolation != "process" || c.ScriptProcesses() != 6 {
		t.Fatalf("isolation %q, %d processes; want process and 6", c.Scripts.Isolation, c.ScriptProcesses())
	}
	c, err = parse(t, "[scripts]\nisolation = \"process\"\nprocesses = 2\n"+minimal, vars)
	if err != nil || c.ScriptProcesses() != 2 {
		t.Fatalf("processes = 2: %v, %d", err, c.ScriptProcesses())
	}

	for _, tt := range []struct{ body, want string }{
		{"[scripts]\nisolation = \"container\"\n", `scripts.isolation: "container" is not one of none, process`},
		{"[scripts]\nprocesses = -1\n", "scripts.processes: -1 is out of range 0..1024"},
		{"[scripts]\nprocesses = 5000\n", "scripts.processes: 5000 is out of range 0..1024"},
		{"[scripts]\nisolation = \"process\"\nmemory_limit = \"32MiB\"\n", `scripts.memory_limit: must be at least 64MiB with scripts.isolation = "process"`},
	} {
		_, err := parse(t, tt.body+minimal, vars)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error = %v, want %q", tt.body, err, tt.want)
		}
	}
	// A value from the environment is named, never shown.
	_, err = parse(t, "[scripts]\nisolation = \"${ISO}\"\n"+minimal, map[string]string{"SECRET": "x", "ISO": "secret-ish"})
	if err == nil || !strings.Contains(err.Error(), "scripts.isolation: the value of ${ISO}") || strings.Contains(err.Error(), "secret-ish") {
		t.Errorf("env value: error = %v", err)
	}
}
