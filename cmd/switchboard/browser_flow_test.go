package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/engine"
)

// TestConsole_Browser walks the console as an operator would, on bbolt,
// NATS JetStream and, when SWITCHBOARD_TEST_POSTGRES_DSN is set,
// PostgreSQL: log in,
// see the newest event on top, open a failed job and its attempts, Retry
// it and watch it finish, Retry all, Forget and Flush after their
// confirmations, pause a listener and see its new jobs wait,
// resume and see them run, see the chart of what just ran; hostile
// payloads and errors render as text; the browser console stays clean.
func TestConsole_Browser(t *testing.T) {
	chromiumPath(t) // skips without chromium
	for name, queue := range queueBackends(t) {
		t.Run(name, func(t *testing.T) { walkConsole(t, queue(t)) })
	}
}

// walkConsole is the walk of TestConsole_Browser on one queue backend.
func walkConsole(t *testing.T, queueKeys string) {
	log := &consoleLog{}
	ctx := newBrowser(t, log)
	app := startConsoleApp(t, consoleConfigOn(t, queueKeys, ""))
	admin := "http://" + app.AdminAddr.String()

	for i := range 3 {
		send(t, app, map[string]any{"type": "tick", "data": map[string]any{"id": "task_0" + string(rune('1'+i))}})
	}
	bad := send(t, app, map[string]any{"type": "render", "data": map[string]any{"id": "task_evil", "title": hostile}})
	failed := consoleJob(t, app, bad, "flaky", engine.JobFailed)
	newest := send(t, app, map[string]any{"type": "tick", "data": map[string]any{"id": "task_last"}})

	step(t, "log in", func(t *testing.T) {
		browse(t, ctx, "log in",
			chromedp.Navigate(admin+"/"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=token]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=token]`), browserToken),
			chromedp.Submit(chromedp.CSS(`form[action="/login"]`)),
			until(`!document.getElementById('nav').hidden && !!document.querySelector('article.listener')`))
	})

	step(t, "the newest event is on top", func(t *testing.T) {
		browse(t, ctx, "events", chromedp.Navigate(admin+"/#/events"), until(`!!document.querySelector('tr[data-event]')`))
		if top := evalJS[string](t, ctx, `document.querySelector('tr[data-event]').dataset.event`); top != newest {
			t.Fatalf("top event %s, want the newest %s", top, newest)
		}
		browse(t, ctx, "search", chromedp.Navigate(admin+"/#/events?q="+strings.ReplaceAll("data.id = task_02", " ", "%20")),
			until(`document.querySelectorAll('tr[data-event]').length === 1 && document.body.textContent.includes('task_02')`))
	})

	step(t, "a hostile payload renders as text", func(t *testing.T) {
		browse(t, ctx, "event", chromedp.Navigate(admin+"/#/events/"+bad), until(`!!document.querySelector('pre.payload')`))
		assertInert(t, ctx, `document.querySelector('pre.payload').textContent`)
	})

	step(t, "a failed job shows its attempts", func(t *testing.T) {
		browse(t, ctx, "job", chromedp.Navigate(admin+"/#/jobs/"+failed.ID), until(`document.querySelectorAll('tr[data-attempt]').length === 2`))
		assertInert(t, ctx, `document.querySelector('tr[data-attempt] pre.error').textContent`)
		if stack := evalJS[string](t, ctx, `document.querySelector('tr[data-attempt] pre.stack').textContent`); !strings.Contains(stack, "flaky.js:4") {
			t.Fatalf("stack %q lacks the script's file:line (flaky.js:4)", stack)
		}
	})

	step(t, "retry and watch it finish", func(t *testing.T) {
		if err := app.queue.KVSet(context.Background(), "flaky", "mode", []byte(`"ok"`), 0); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "retry", clickWhen(`button[data-action=retry]:not([disabled])`),
			until(`document.querySelector('section[data-state]').dataset.state === 'done'`))
	})

	step(t, "retry the failed jobs a filter selects, after a confirmation", func(t *testing.T) {
		if err := app.queue.KVSet(context.Background(), "flaky", "mode", []byte(`"fail"`), 0); err != nil {
			t.Fatal(err)
		}
		ev := send(t, app, map[string]any{"type": "render", "data": map[string]any{"id": "task_again", "title": "plain"}})
		job := consoleJob(t, app, ev, "flaky", engine.JobFailed)
		browse(t, ctx, "failed page", chromedp.Navigate(admin+"/#/failed?listener=flaky&error=cannot+render"),
			until(`!!document.querySelector('tr[data-job="`+job.ID+`"]')`),
			clickWhen(`button[data-action=retry-all]`),
			until(`!document.querySelector('.confirm').hidden && document.querySelector('.confirm').textContent.includes('of listener flaky whose error contains "cannot render"')`))
		if err := app.queue.KVSet(context.Background(), "flaky", "mode", []byte(`"ok"`), 0); err != nil {
			t.Fatal(err)
		}
		browse(t, ctx, "confirm", clickWhen(`.confirm button[data-action=confirm]`),
			until(`document.getElementById('flash').textContent === 'Retrying 1 job(s).'`))
		consoleJob(t, app, ev, "flaky", engine.JobDone)
	})

	step(t, "forget a failed job and flush the filtered rest, each after a confirmation", func(t *testing.T) {
		if err := app.queue.KVSet(context.Background(), "flaky", "mode", []byte(`"fail"`), 0); err != nil {
			t.Fatal(err)
		}
		forgotten := consoleJob(t, app, send(t, app, map[string]any{"type": "render", "data": map[string]any{"id": "task_forget", "title": "plain"}}), "flaky", engine.JobFailed)
		flushed := consoleJob(t, app, send(t, app, map[string]any{"type": "render", "data": map[string]any{"id": "task_flush", "title": "plain"}}), "flaky", engine.JobFailed)
		browse(t, ctx, "forget", chromedp.Navigate(admin+"/#/jobs/"+forgotten.ID),
			clickWhen(`button[data-action=forget]:not([disabled])`),
			until(`!document.querySelector('.confirm').hidden && document.querySelector('.confirm').textContent.includes('Forget this failed job?')`),
			clickWhen(`.confirm button[data-action=confirm]`),
			until(`location.hash === '#/failed' && document.getElementById('flash').textContent === 'Forgotten job `+forgotten.ID+`.'`))
		browse(t, ctx, "flush", chromedp.Navigate(admin+"/#/failed?listener=flaky&error=cannot+render"),
			until(`!!document.querySelector('tr[data-job="`+flushed.ID+`"]')`),
			clickWhen(`button[data-action=flush]`),
			until(`!document.querySelector('.confirm').hidden && document.querySelector('.confirm').textContent.includes('Delete every failed job of listener flaky whose error contains "cannot render"')`),
			clickWhen(`.confirm button[data-action=confirm]`),
			until(`document.getElementById('flash').textContent === 'Flushed 1 job(s).'`))
		for _, j := range []engine.Job{forgotten, flushed} {
			if _, err := app.queue.GetJob(context.Background(), j.ID); !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("job %s after the console deleted it: %v, want not found", j.ID, err)
			}
		}
	})

	step(t, "pause holds new jobs, resume runs them", func(t *testing.T) {
		pause := `button[data-action=pause][data-listener=steady]`
		browse(t, ctx, "pause", chromedp.Navigate(admin+"/#/listeners"), chromedp.WaitVisible(chromedp.CSS(pause)),
			clickWhen(pause),
			until(`!!document.querySelector('button[data-action=resume][data-listener=steady]')`))
		ev := send(t, app, map[string]any{"type": "tick", "data": map[string]any{"id": "task_paused"}})
		// echo hears the same event: once its job is done the workers have
		// leased everything they could, and steady's must still wait.
		consoleJob(t, app, ev, "echo", engine.JobDone)
		held := consoleJob(t, app, ev, "steady", engine.JobPending)
		browse(t, ctx, "pending jobs", chromedp.Navigate(admin+"/#/jobs?state=pending&listener=steady"),
			until(`!!document.querySelector('tr[data-job="`+held.ID+`"]')`))
		browse(t, ctx, "resume", chromedp.Navigate(admin+"/#/listeners"),
			clickWhen(`button[data-action=resume][data-listener=steady]`),
			chromedp.WaitVisible(chromedp.CSS(pause)),
			chromedp.Navigate(admin+"/#/jobs/"+held.ID),
			until(`document.querySelector('section[data-state]') && document.querySelector('section[data-state]').dataset.state === 'done'`))
	})

	step(t, "the chart shows what just ran", func(t *testing.T) {
		chart := `document.querySelector('article[data-listener=steady] svg.chart')`
		browse(t, ctx, "overview", chromedp.Navigate(admin+"/#/"), until(`!!`+chart+` && Number(`+chart+`.dataset.total) >= 5`))
	})

	step(t, "every action is in the audit list", func(t *testing.T) {
		browse(t, ctx, "audit", chromedp.Navigate(admin+"/#/audit"),
			until(`['retry','retry-failed','forget','flush','pause','resume'].every(a => document.body.textContent.includes(a))`))
	})

	if got := evalJS[bool](t, ctx, `window.__pwned === undefined && !document.querySelector('img[src=x]')`); !got {
		t.Error("hostile markup ran or loaded")
	}
	if p := log.problems(); len(p) > 0 {
		t.Fatalf("the browser console has errors or CSP violations:\n%s", strings.Join(p, "\n"))
	}
}

// assertInert checks that the hostile text is on the page as text, that
// no element was made from it, and that nothing in it ran.
func assertInert(t *testing.T, ctx context.Context, textJS string) {
	t.Helper()
	if text := evalJS[string](t, ctx, textJS); !strings.Contains(text, "<script>window.__pwned=1</script>") ||
		!strings.Contains(text, `"><img src=x onerror=window.__pwned=2>`) {
		t.Fatalf("hostile text not shown as text: %q", text)
	}
	if evalJS[bool](t, ctx, `window.__pwned !== undefined || !!document.querySelector('img[src=x]') || document.scripts.length !== 1`) {
		t.Fatal("hostile markup became elements or ran")
	}
}

// step runs one stage of the walk; the walk stops at the first that fails,
// since every stage builds on the one before.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

// TestConsole_Screenshot writes the README's picture of the overview to
// $SWITCHBOARD_SCREENSHOT: of the console at $SWITCHBOARD_SCREENSHOT_URL
// (logging in with $SWITCHBOARD_SCREENSHOT_TOKEN), which should have run
// for a while to have history to draw. $SWITCHBOARD_SCREENSHOT_PAGE picks
// another page ("#/events").
func TestConsole_Screenshot(t *testing.T) {
	out, base, token := os.Getenv("SWITCHBOARD_SCREENSHOT"), os.Getenv("SWITCHBOARD_SCREENSHOT_URL"), os.Getenv("SWITCHBOARD_SCREENSHOT_TOKEN")
	if out == "" || base == "" {
		t.Skip("set SWITCHBOARD_SCREENSHOT=out.png, SWITCHBOARD_SCREENSHOT_URL and SWITCHBOARD_SCREENSHOT_TOKEN to take the README's screenshot")
	}
	ctx := newBrowser(t, &consoleLog{})
	browse(t, ctx, "log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=token]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=token]`), token),
		chromedp.Submit(chromedp.CSS(`form[action="/login"]`)),
		until(`document.querySelectorAll('svg.chart').length > 0`))
	if page := os.Getenv("SWITCHBOARD_SCREENSHOT_PAGE"); page != "" {
		browse(t, ctx, "page", chromedp.Navigate(base+"/"+page), until(`document.querySelector('main section table, main section pre')`))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
