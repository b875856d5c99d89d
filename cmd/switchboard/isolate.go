package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/script"
	"github.com/switchboard/switchboard/engine/script/isolate"
)

// scriptHostVerb is the hidden verb a script process runs: not in the
// usage, started only by a router with scripts.isolation = "process".
const scriptHostVerb = "script-host"

// cmdScriptHost serves one router over stdin and stdout, its interrupts
// arriving on fd 3 (see package isolate). Signals are the router's business: on Ctrl-C the terminal
// signals the whole process group, and the router decides when its
// children stop (it closes their stdin, or kills them).
func cmdScriptHost(_ context.Context, _ []string, stdout io.Writer) error {
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	return isolate.Serve(os.Stdin, stdout, os.NewFile(3, "interrupts"), nil)
}

// scriptHostCommand starts this very binary as a script process:
// /proc/self/exe is the running executable even if its file was
// replaced since (an upgrade in place), so parent and child always
// speak the same protocol.
func scriptHostCommand() *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", scriptHostVerb)
	cmd.Args[0] = os.Args[0] // what ps shows: "switchboard script-host"
	// The child gets none of the router's environment (its secrets);
	// GORACE passes so that race-enabled test builds behave alike.
	cmd.Env = []string{}
	if v, ok := os.LookupEnv("GORACE"); ok {
		cmd.Env = append(cmd.Env, "GORACE="+v)
	}
	return cmd
}

// isolateOptions maps [scripts] onto the script processes' options.
func isolateOptions(cfg *config.Config, modules []engine.Module, logger *slog.Logger) isolate.Options {
	return isolate.Options{
		Modules:          modules,
		Processes:        cfg.ScriptProcesses(),
		MemoryLimit:      int64(cfg.Scripts.MemoryLimit),
		MaxCallStackSize: cfg.Scripts.MaxCallStack,
		Command:          scriptHostCommand,
		Logger:           logger,
	}
}

// openIsolation starts the script processes' pool when the config asks
// for isolation (no process starts until an attempt needs one).
func (a *App) openIsolation(modules []engine.Module) error {
	if a.cfg.Scripts.Isolation != "process" {
		return nil
	}
	pool, err := isolate.New(isolateOptions(a.cfg, modules, a.logger))
	if err != nil {
		return err
	}
	a.iso = pool
	a.logger.Info("listener scripts run in child processes", "processes", a.cfg.ScriptProcesses(),
		"memory_limit_per_process", int64(a.cfg.Scripts.MemoryLimit))
	return nil
}

// compile builds the listeners' scripts. With isolation the router only
// bundles them: goja's compiler folds constant expressions (running
// code) and the default-export check runs the top level, so both happen
// in a script process.
func (a *App) compile(routes *engine.Routes, prev *script.Set) (*script.Set, error) {
	if a.iso != nil {
		return script.BuildChecked(routes, prev, a.iso.Check)
	}
	return script.Build(routes, prev)
}

// handlers binds a compiled set to where scripts run: the in-process
// engine, or the script processes.
func (a *App) handlers(set *script.Set) map[string]engine.Handler {
	if a.iso != nil {
		return a.iso.Handlers(set)
	}
	return set.Handlers(a.engine)
}
