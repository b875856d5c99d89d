package config

// Isolations are the names accepted in scripts.isolation.
var Isolations = []string{"none", "process"}

// validateScripts checks [scripts].
func (c *Config) validateScripts(bad func(key, format string, args ...any)) {
	s := c.Scripts
	if s.MemoryLimit < 16<<20 {
		bad("scripts.memory_limit", "must be at least 16MiB")
	}
	if s.MaxCallStack < 16 {
		bad("scripts.max_call_stack", "must be at least 16")
	}
	if !contains(Isolations, s.Isolation) {
		bad("scripts.isolation", "%s is not one of none, process", c.val("scripts.isolation", s.Isolation))
	} else if s.Isolation == "process" && s.MemoryLimit < 64<<20 && s.MemoryLimit >= 16<<20 {
		// A script process's cap counts what its Go runtime has mapped,
		// which it keeps: below this, ordinary scripts meet it.
		bad("scripts.memory_limit", `must be at least 64MiB with scripts.isolation = "process" (it caps each script process)`)
	}
	if s.Processes < 0 || s.Processes > 1024 {
		bad("scripts.processes", "%d is out of range 0..1024 (0: queue.workers)", s.Processes)
	}
}
