package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/switchboard/switchboard/engine/admin"
)

const listenersUsage = "listeners ls|pause NAME|resume NAME"

// cmdListeners: listeners ls | pause NAME | resume NAME, through the
// running server's admin API. Pausing holds for every process sharing the
// queue and survives restarts; webhooks are still acknowledged and their
// jobs wait.
func cmdListeners(ctx context.Context, args []string, w io.Writer) error {
	f := newAdminFlags("listeners")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: %s", errUsage, listenersUsage)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "ls" && len(pos) == 1:
		rep, err := c.Listeners(ctx)
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, rep)
		}
		return admin.FormatListeners(w, rep.Listeners, time.Now())
	case (pos[0] == "pause" || pos[0] == "resume") && len(pos) == 2:
		act := c.Pause
		if pos[0] == "resume" {
			act = c.Resume
		}
		l, err := act(ctx, pos[1])
		if err != nil {
			return err
		}
		if f.jsonOut {
			return printJSON(w, l)
		}
		return admin.FormatListener(w, l)
	}
	return fmt.Errorf("%w: %s", errUsage, listenersUsage)
}

// cmdAudit: audit — the operator actions recorded, newest first.
func cmdAudit(ctx context.Context, args []string, w io.Writer) error {
	f := newAdminFlags("audit")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1 && pos[0] != "ls") {
		return fmt.Errorf("%w: audit [ls]", errUsage)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	page, err := c.Audit(ctx, f.limit, "")
	if err != nil {
		return err
	}
	if f.jsonOut {
		return printJSON(w, page.Entries)
	}
	return admin.FormatAudit(w, page.Entries)
}
