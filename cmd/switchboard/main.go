// Command switchboard receives webhooks, stores them durably and runs
// listener scripts for them. `switchboard help` lists the verbs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `switchboard — webhook router with scriptable listeners

usage:
  switchboard serve  [-c config.toml] [--listen ADDR] [--admin-listen ADDR]
                                                    run the router (the default)
  switchboard check  [-c config.toml]               validate config, compile every script
  switchboard run    [--dry-run] LISTENER PAYLOAD.json
                                                    run one listener once, here, now
  switchboard send   SOURCE PAYLOAD.json [--url URL] sign a payload as SOURCE would and POST it
                                                    (URL: the server's base or the full webhook URL)
  switchboard events ls|show ID|replay ID           ask the running server
  switchboard failed ls|show ID|retry ID|retry --all|forget ID|flush
  switchboard queue  stats|processes                depth per state; the processes sharing the queue
  switchboard listeners ls|pause NAME|resume NAME   a paused listener's jobs wait (every process)
  switchboard audit  [ls]                           operator actions, newest first
  switchboard db     init|query SQL                 create the app schema + sample rows; run SQL
  switchboard test   [-run REGEXP] [-v] [FILES...]  run the script tests (scripts/**/*.test.js|ts)
  switchboard bench  [--connections 1,64] [--duration 10s]  load a temp server; compare with a naive baseline
  switchboard help

Every verb takes -c PATH (default config.toml). Verbs that talk to the
running server take --admin URL and --token TOKEN (default: from config,
SWITCHBOARD_ADMIN_TOKEN, or the token file the server wrote in its data dir);
they read only [admin] and [storage] from the config. SWITCHBOARD_LISTEN and
SWITCHBOARD_ADMIN_LISTEN replace server.listen and admin.listen.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a command-line mistake: the usage text follows it.
var errUsage = errors.New("usage")

// Main runs one verb and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verb := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		verb, args = args[0], args[1:]
	}
	verbs := map[string]func(context.Context, []string, io.Writer) error{
		"serve":     cmdServe,
		"check":     cmdCheck,
		"run":       cmdRun,
		"send":      cmdSend,
		"events":    cmdEvents,
		"failed":    cmdFailed,
		"queue":     cmdQueue,
		"listeners": cmdListeners,
		"audit":     cmdAudit,
		"db":        cmdDB,
		"bench":     cmdBench,
		"test":      cmdTest,
		// Hidden: what a script process runs (scripts.isolation).
		scriptHostVerb: cmdScriptHost,
	}
	if verb == "help" || verb == "-h" || verb == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fn, ok := verbs[verb]
	if !ok {
		fmt.Fprintf(stderr, "switchboard: unknown verb %q\n\n%s", verb, usage)
		return 2
	}
	if err := fn(ctx, args, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "switchboard %s: %v\n", verb, err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, "\n", usage)
			return 2
		}
		return 1
	}
	return 0
}

// flags is the flag set every verb starts from.
type flags struct {
	*flag.FlagSet
	config string
}

func newFlags(verb string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(verb, flag.ContinueOnError)}
	f.StringVar(&f.config, "c", "config.toml", "path to config.toml")
	f.StringVar(&f.config, "config", "config.toml", "path to config.toml")
	return f
}

// parse parses args, allowing flags after positional arguments
// (`switchboard run notify_user payload.json --dry-run`).
func (f *flags) parse(args []string) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			return nil, err
		}
		rest := f.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
