package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
)

// adminFlags adds what every verb that talks to the running server needs.
type adminFlags struct {
	*flags
	url, token string
	limit      int
	jsonOut    bool
}

func newAdminFlags(verb string) *adminFlags {
	f := &adminFlags{flags: newFlags(verb)}
	f.StringVar(&f.url, "admin", "", "admin base URL (default: http://<admin.listen> from config)")
	f.StringVar(&f.token, "token", "", "admin token (default: $SWITCHBOARD_ADMIN_TOKEN, admin.token, or <storage.dir>/admin.token)")
	f.IntVar(&f.limit, "limit", 50, "how many rows to list")
	f.BoolVar(&f.jsonOut, "json", false, "print JSON instead of a table")
	return f
}

// client builds an admin client. With both --admin and --token it needs
// no config; otherwise it reads from the config only the admin address,
// the token and where the server writes its token file
// (config.LoadClient), so a config broken elsewhere does not stop it.
func (f *adminFlags) client() (*admin.Client, error) {
	url, token := f.url, f.token
	if token == "" {
		token = os.Getenv("SWITCHBOARD_ADMIN_TOKEN")
	}
	if url == "" || token == "" {
		cl, err := config.LoadClient(f.config)
		if err != nil {
			return nil, fmt.Errorf("%w (or pass --admin and --token)", err)
		}
		if url == "" {
			if cl.AdminListen == "" {
				return nil, fmt.Errorf("admin.listen is empty in %s: the admin API is off", cl.Path)
			}
			url = "http://" + cl.AdminListen
		}
		if token == "" {
			if token, err = clientToken(cl); err != nil {
				return nil, err
			}
		}
	}
	return &admin.Client{BaseURL: strings.TrimRight(url, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// clientToken is admin.token from the config, else the token file the
// server wrote.
func clientToken(cl *config.Client) (string, error) {
	if cl.TokenErr != nil {
		return "", fmt.Errorf("%w (or set SWITCHBOARD_ADMIN_TOKEN, or pass --token)", cl.TokenErr)
	}
	if t := cl.Token.Reveal(); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(cl.TokenFile)
	if err != nil {
		return "", fmt.Errorf("no admin token: set SWITCHBOARD_ADMIN_TOKEN or pass --token (%v)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdEvents: events ls [--newest] [--search Q] | show ID | replay ID.
func cmdEvents(ctx context.Context, args []string, w io.Writer) error {
	f := newAdminFlags("events")
	newest := f.Bool("newest", false, "with ls: newest first")
	search := f.String("search", "", `with ls: an event id, "delivery = ID", "source = NAME" or "data.id = VALUE"`)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: events ls|show ID|replay ID", errUsage)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "ls" && len(pos) == 1:
		page, err := c.SearchEvents(ctx, admin.EventSearch{Q: *search, Newest: *newest, Limit: f.limit})
		if err != nil {
			return err
		}
		events := page.Events
		if f.jsonOut {
			return printJSON(w, events)
		}
		return admin.FormatEvents(w, events)
	case pos[0] == "show" && len(pos) == 2:
		ev, jobs, err := c.GetEvent(ctx, pos[1])
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, map[string]any{"event": ev, "jobs": jobs})
		}
		return admin.FormatEvent(w, ev, jobs)
	case pos[0] == "replay" && len(pos) == 2:
		ids, err := c.Replay(ctx, pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "replayed %s: %d job(s) %s\n", pos[1], len(ids), strings.Join(ids, " "))
		return nil
	}
	return fmt.Errorf("%w: events ls|show ID|replay ID", errUsage)
}

// cmdFailed: failed ls | show ID | retry ID | retry --all | forget ID | flush.
func cmdFailed(ctx context.Context, args []string, w io.Writer) error {
	f := newAdminFlags("failed")
	all := f.Bool("all", false, "with retry: retry every failed job")
	var filter engine.JobFilter
	f.StringVar(&filter.Listener, "listener", "", "with ls, retry --all, flush: only this listener's failed jobs")
	f.StringVar(&filter.ErrorContains, "error", "", "with ls, retry --all, flush: only jobs whose last error contains this")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: failed ls|show ID|retry ID|retry --all|forget ID|flush", errUsage)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "ls" && len(pos) == 1:
		jobs, err := c.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed, Limit: f.limit,
			Listener: filter.Listener, ErrorContains: filter.ErrorContains})
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, jobs)
		}
		return admin.FormatJobs(w, jobs)
	case pos[0] == "show" && len(pos) == 2:
		job, err := c.GetJob(ctx, pos[1])
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, job)
		}
		return admin.FormatJob(w, job)
	case pos[0] == "retry" && len(pos) == 2:
		if err := c.RetryJob(ctx, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(w, "retrying %s\n", pos[1])
		return nil
	case pos[0] == "retry" && len(pos) == 1 && *all:
		n, err := c.RetryFailedWhere(ctx, filter)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "retrying %d failed job(s)\n", n)
		return nil
	case pos[0] == "forget" && len(pos) == 2:
		if err := c.ForgetJob(ctx, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(w, "forgot %s\n", pos[1])
		return nil
	case pos[0] == "flush" && len(pos) == 1:
		n, err := c.FlushFailedWhere(ctx, filter)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "forgot %d failed job(s)\n", n)
		return nil
	}
	return fmt.Errorf("%w: failed ls|show ID|retry ID|retry --all|forget ID|flush", errUsage)
}

// cmdQueue: queue stats | processes.
func cmdQueue(ctx context.Context, args []string, w io.Writer) error {
	f := newAdminFlags("queue")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "stats" && pos[0] != "processes") {
		return fmt.Errorf("%w: queue stats|processes", errUsage)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	if pos[0] == "processes" {
		ps, err := c.Processes(ctx)
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, ps)
		}
		return admin.FormatProcesses(w, ps, time.Now())
	}
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if f.jsonOut {
		return printJSON(w, st)
	}
	return admin.FormatStats(w, st)
}
