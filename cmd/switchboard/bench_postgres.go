package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/loadgen"
	"github.com/switchboard/switchboard/engine/postgres"
)

// pgBench measures switchboard on PostgreSQL: ingest at each connection
// level with each number of processes (real `switchboard serve` children
// of this binary sharing one schema), the pgx baseline at each level, and
// draining a backlog with each number of processes.
type pgBench struct {
	o       benchOptions
	dsn     string
	procs   []int
	backlog int
	bin     string
}

// pgRow is one measured line.
type pgRow struct {
	kind        string // "switchboard", "baseline", "drain"
	processes   int
	connections int
	loadgen.Result
	jobs       int
	e2e        time.Duration
	jobsPerSec float64
}

func cmdBenchPostgres(ctx context.Context, o benchOptions, dsn string, procs []int, backlog int, stdout io.Writer) error {
	if dsn == "" {
		dsn = os.Getenv("SWITCHBOARD_TEST_POSTGRES_DSN")
	}
	if dsn == "" {
		return fmt.Errorf("%w: --backend postgres needs --dsn or SWITCHBOARD_TEST_POSTGRES_DSN", errUsage)
	}
	if o.config != "" || o.cpuProfile != "" {
		return fmt.Errorf("%w: --backend postgres generates its config and runs the server as child processes: drop -c and --cpuprofile", errUsage)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary to run its children: %w", err)
	}
	b := &pgBench{o: o, dsn: dsn, procs: procs, backlog: backlog, bin: bin}
	rows, err := b.run(ctx)
	if len(rows) > 0 {
		b.report(stdout, rows)
	}
	return err
}

func (b *pgBench) run(ctx context.Context) ([]pgRow, error) {
	var rows []pgRow
	for _, c := range b.o.connections {
		for _, p := range b.procs {
			row, err := b.ingest(ctx, p, c, false)
			if err != nil {
				return rows, fmt.Errorf("switchboard, %d processes, %d connections: %w", p, c, err)
			}
			rows = append(rows, row)
		}
		row, err := b.ingest(ctx, 1, c, true)
		if err != nil {
			return rows, fmt.Errorf("switchboard ingest only, %d connections: %w", c, err)
		}
		rows = append(rows, row)
		if b.o.baseline {
			row, err := b.baselineRow(ctx, c)
			if err != nil {
				return rows, fmt.Errorf("baseline at %d connections: %w", c, err)
			}
			rows = append(rows, row)
		}
	}
	for _, p := range b.procs {
		row, err := b.drainRow(ctx, p)
		if err != nil {
			return rows, fmt.Errorf("drain with %d processes: %w", p, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// newSchema returns a fresh schema name and a func that drops it.
func (b *pgBench) newSchema() (string, func()) {
	r := make([]byte, 5)
	_, _ = rand.Read(r)
	schema := "sbbench_" + hex.EncodeToString(r)
	return schema, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, b.dsn)
		if err != nil {
			fmt.Fprintf(b.o.log, "bench: drop schema %s: %v\n", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintf(b.o.log, "bench: drop schema %s: %v\n", schema, err)
		}
	}
}

// ingest loads p processes with c connections spread over them, then
// waits until every job ran. With paused the listener is paused
// throughout: the row measures storing alone, no worker competing.
func (b *pgBench) ingest(ctx context.Context, p, c int, paused bool) (pgRow, error) {
	row := pgRow{kind: "switchboard", processes: p, connections: c}
	schema, drop := b.newSchema()
	defer drop()
	if paused {
		row.kind = "ingest-only"
		q, err := postgres.Open(ctx, postgres.Options{DSN: b.dsn, Schema: schema})
		if err != nil {
			return row, err
		}
		err = q.SetPaused(ctx, "bench", true)
		q.Close(context.Background())
		if err != nil {
			return row, err
		}
	}
	cl, err := startPGChildren(ctx, b, schema, p)
	defer cl.stop()
	if err != nil {
		return row, err
	}
	start := time.Now()
	results := make([]loadgen.Result, p)
	errs := make([]error, p)
	var wg sync.WaitGroup
	for i := range p {
		share := c / p
		if i < c%p {
			share++
		}
		if share == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = loadgen.Run(ctx, loadgen.Options{
				URL: cl.procs[i].url, Connections: share, Duration: b.o.duration, Requests: b.o.requests / p,
				Rate: b.o.rate / float64(p), BodySize: b.o.bodySize,
				Sign: func(body []byte) map[string]string {
					h, _ := ingest.Sign(ingestSource(cl.src), body, time.Now())
					return h
				},
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return row, err
	}
	row.Result = mergeResults(results)
	if paused {
		return row, nil
	}
	st, err := cl.drain(ctx, b.o.drainTimeout)
	if err != nil {
		return row, err
	}
	row.e2e = time.Since(start)
	row.jobs = st.States[engine.JobDone] + st.States[engine.JobFailed]
	row.jobsPerSec = float64(row.jobs) / row.e2e.Seconds()
	return row, nil
}

// mergeResults adds up the loads sent to each process. The latency
// quantiles are the worst process's: the per-process histograms are not
// kept, so this overstates them rather than understates.
func mergeResults(rs []loadgen.Result) loadgen.Result {
	var out loadgen.Result
	for _, r := range rs {
		if r.Sent == 0 {
			continue
		}
		out.Sent, out.OK, out.Errors = out.Sent+r.Sent, out.OK+r.OK, out.Errors+r.Errors
		out.Elapsed = max(out.Elapsed, r.Elapsed)
		out.P50, out.P99, out.P999, out.Max = max(out.P50, r.P50), max(out.P99, r.P99), max(out.P999, r.P999), max(out.Max, r.Max)
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
	}
	if out.Elapsed > 0 {
		out.RPS = float64(out.OK) / out.Elapsed.Seconds()
	}
	return out
}

func (b *pgBench) baselineRow(ctx context.Context, c int) (pgRow, error) {
	row := pgRow{kind: "baseline", connections: c}
	schema, drop := b.newSchema()
	defer drop()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	srv, err := newPGBaseline(ctx, b.dsn, schema, c, secret)
	if err != nil {
		return row, err
	}
	defer srv.close()
	row.Result, err = srv.run(ctx, b.o, c)
	return row, err
}

// drainRow stores a backlog of b.backlog jobs for a paused no-op
// listener, starts p processes, resumes the listener and times how long
// they take to work it off.
func (b *pgBench) drainRow(ctx context.Context, p int) (pgRow, error) {
	row := pgRow{kind: "drain", processes: p, jobs: b.backlog}
	schema, drop := b.newSchema()
	defer drop()
	q, err := postgres.Open(ctx, postgres.Options{DSN: b.dsn, Schema: schema, Timeout: 30 * time.Second})
	if err != nil {
		return row, err
	}
	defer q.Close(context.Background())
	if err := q.SetPaused(ctx, "bench", true); err != nil {
		return row, err
	}
	if err := fillBacklog(ctx, q, b.backlog); err != nil {
		return row, err
	}
	cl, err := startPGChildren(ctx, b, schema, p)
	defer cl.stop()
	if err != nil {
		return row, err
	}
	start := time.Now()
	if err := q.SetPaused(ctx, "bench", false); err != nil {
		return row, err
	}
	if _, err := cl.drain(ctx, b.o.drainTimeout); err != nil {
		return row, err
	}
	row.e2e = time.Since(start)
	row.jobsPerSec = float64(b.backlog) / row.e2e.Seconds()
	return row, nil
}

// fillBacklog enqueues n events of one job each for listener bench.
func fillBacklog(ctx context.Context, q *postgres.Queue, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				ev := &engine.Event{Name: "bench.event", Source: "bench", ReceivedAt: time.Now(), Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
				if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "bench", MaxTries: 1}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
