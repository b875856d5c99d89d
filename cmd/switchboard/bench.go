package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/loadgen"
)

// benchOptions are the bench verb's flags.
type benchOptions struct {
	config       string // "" = generated
	connections  []int
	duration     time.Duration
	requests     int
	rate         float64 // requests/s over all connections; 0 = as fast as answered
	bodySize     int
	script       string // "" = generated no-op listener
	baseline     bool
	ceiling      bool
	workers      int
	orderBy      string        // the bench listener's order_by ("" = none)
	retention    time.Duration // done jobs, events and delivery ids; 0 = the config's
	dir          string        // parent of the temp dirs; "" = os.TempDir()
	drainTimeout time.Duration
	cpuProfile   string // per switchboard row: CPUPROFILE.c<conns>
	log          io.Writer
	// configure, if set, adjusts each row's config (the queue backend).
	configure func(*config.Config)
	// drainPoll is how often the drained state is polled (default 2ms;
	// a shared backend's Stats costs a round trip to its servers).
	drainPoll time.Duration
}

// benchRow is one measured line of the report.
type benchRow struct {
	Server      string
	Connections int
	loadgen.Result
	// Switchboard rows only.
	E2E        time.Duration // load start until no job is pending or running
	Jobs       uint64        // jobs finished (done or failed)
	Failed     uint64
	JobsPerSec float64
	PeakRSS    int64 // VmHWM during the row, bytes
	EndRSS     int64 // VmRSS after the queue drained, bytes
	AnonRSS    int64 // RssAnon then: RSS without mapped files (bbolt's mmap)
	FileBytes  int64 // the bbolt file (queue.db or baseline.db)
	// FileHalf is queue.db's size half-way through the load: with a
	// retention shorter than the run, FileBytes ≈ FileHalf shows the file
	// reached a steady size.
	FileHalf int64
}

const (
	rowSwitchboard = "switchboard"
	rowBaseline    = "baseline: 1 bbolt Update per request"
	rowCeiling     = "verify only, no storage (client ceiling)"
)

// cmdBench starts the real server on a temp dir, loads it with signed
// webhooks, and compares it with the naive per-request-fsync baseline.
func cmdBench(ctx context.Context, args []string, stdout io.Writer) error {
	f := newFlags("bench")
	o := benchOptions{log: os.Stderr}
	conns := f.String("connections", "64", "concurrent connections; a list (1,64) runs each level")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "load duration per row")
	f.IntVar(&o.requests, "requests", 0, "stop each row after N requests (0: run for --duration)")
	f.Float64Var(&o.rate, "rate", 0, "cap the requests sent per second over all connections, for a steady load (0: no cap)")
	f.IntVar(&o.bodySize, "body-size", 1024, "bytes per webhook body")
	f.StringVar(&o.script, "listener-script", "", "listener script (default: a generated no-op)")
	f.BoolVar(&o.baseline, "baseline", true, "also load the verify + one bbolt Update per request server")
	f.BoolVar(&o.ceiling, "ceiling", true, "also load a verify-only server (what the client can do)")
	f.IntVar(&o.workers, "workers", 0, "queue workers (default: the config's)")
	f.DurationVar(&o.retention, "retention", 0, "keep done jobs, their events and delivery ids (dedupe) this long (default: the config's); short values show the file's steady state")
	f.StringVar(&o.dir, "dir", "", "where to create the temp dirs (default: the system temp dir; fsync cost depends on its disk)")
	f.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "give up waiting for the jobs after this long")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each switchboard row to `FILE`.c<conns>")
	backend := f.String("backend", "bbolt", "queue backend to measure: bbolt, postgres (see bench_postgres.go) or nats (see --nats-url)")
	dsn := f.String("dsn", "", "--backend postgres: the database (default: $SWITCHBOARD_TEST_POSTGRES_DSN)")
	procs := f.String("processes", "1,3", "--backend postgres: switchboard processes sharing the queue; a list runs each")
	backlog := f.Int("backlog", 20000, "--backend postgres or nats: jobs in the backlog the drain rows work off")
	nb := natsBenchFlags(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: bench takes no arguments", errUsage)
	}
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "c" || fl.Name == "config" {
			o.config = f.config
		}
	})
	if o.connections, err = parseConnections(*conns); err != nil {
		return fmt.Errorf("%w: --connections: %v", errUsage, err)
	}
	if o.config != "" && o.script != "" {
		return fmt.Errorf("%w: --listener-script applies to the generated config; drop -c or the flag", errUsage)
	}
	switch *backend {
	case "postgres":
		p, err := parseConnections(*procs)
		if err != nil {
			return fmt.Errorf("%w: --processes: %v", errUsage, err)
		}
		return cmdBenchPostgres(ctx, o, *dsn, p, *backlog, stdout)
	case "nats":
		nb.backlog = *backlog
		return benchNATS(ctx, o, *nb, stdout)
	case "bbolt":
	default:
		return fmt.Errorf("%w: --backend %q is not bbolt, postgres or nats", errUsage, *backend)
	}
	rows, err := runBench(ctx, o)
	if len(rows) > 0 {
		writeBenchReport(stdout, o, rows)
	}
	return err
}

// parseConnections reads "64" or "1,16,64".
func parseConnections(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// runBench measures every row; on error it returns the rows so far.
func runBench(ctx context.Context, o benchOptions) ([]benchRow, error) {
	if o.duration <= 0 && o.requests <= 0 {
		return nil, errors.New("set --duration or --requests")
	}
	var rows []benchRow
	for _, c := range o.connections {
		row, err := benchSwitchboard(ctx, o, c)
		if err != nil {
			return rows, fmt.Errorf("switchboard at %d connections: %w", c, err)
		}
		rows = append(rows, row)
		if o.baseline {
			if row, err = benchBaseline(ctx, o, c, true); err != nil {
				return rows, fmt.Errorf("baseline at %d connections: %w", c, err)
			}
			rows = append(rows, row)
		}
		if o.ceiling {
			if row, err = benchBaseline(ctx, o, c, false); err != nil {
				return rows, fmt.Errorf("verify-only at %d connections: %w", c, err)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// benchSwitchboard runs the whole app in this process on a fresh temp dir
// and loads it until every job it acknowledged has run.
func benchSwitchboard(ctx context.Context, o benchOptions, conns int) (benchRow, error) {
	row := benchRow{Server: rowSwitchboard, Connections: conns}
	cfg, cleanup, err := benchTempConfig(o)
	if err != nil {
		return row, err
	}
	defer cleanup()
	src := ingestSource(cfg.Sources[0])
	if _, err := ingest.Sign(src, nil, time.Now()); err != nil {
		return row, err
	}
	resetPeakRSS()
	app, stopApp, err := startBenchApp(ctx, cfg, o)
	if err != nil {
		return row, err
	}
	defer stopApp()

	stopProfile, err := startProfile(o.cpuProfile, conns)
	if err != nil {
		return row, err
	}
	defer stopProfile()
	queueFile := filepath.Join(cfg.Resolve(cfg.Storage.Dir), "queue.db")
	stopSizes := sampleSize(queueFile, 250*time.Millisecond)
	defer stopSizes()
	start := time.Now()
	row.Result, err = loadgen.Run(ctx, loadgen.Options{
		URL:         "http://" + app.PublicAddr.String() + src.Path,
		Connections: conns,
		Duration:    o.duration,
		Requests:    o.requests,
		Rate:        o.rate,
		BodySize:    o.bodySize,
		Sign: func(body []byte) map[string]string {
			h, _ := ingest.Sign(src, body, time.Now()) // checked above: cannot fail
			return h
		},
	})
	if err != nil {
		return row, err
	}
	halfway := start.Add(time.Since(start) / 2)
	st, err := drainEvery(ctx, app, o.drainTimeout, o.drainPoll)
	if err != nil {
		return row, err
	}
	row.E2E = time.Since(start)
	stopProfile()
	// The committed state counts, not the Finished/FailedTotal counters:
	// those are bumped after the commit and may lag the drained state.
	row.Failed = uint64(st.States[engine.JobFailed])
	row.Jobs = uint64(st.States[engine.JobDone]) + row.Failed
	// With a short --retention, done jobs are pruned during the run and
	// only the counters still count them.
	row.Jobs = max(row.Jobs, st.Finished+st.FailedTotal)
	row.JobsPerSec = float64(row.Jobs) / row.E2E.Seconds()
	row.PeakRSS, row.EndRSS, row.AnonRSS = readRSS()
	if fi, err := os.Stat(queueFile); err == nil {
		row.FileBytes = fi.Size()
	}
	row.FileHalf = sizeAt(stopSizes(), halfway)
	return row, nil
}

// sizeSample is a file's size at one moment.
type sizeSample struct {
	at   time.Time
	size int64
}

// sampleSize records path's size every interval until the returned func
// is called; that func stops the sampling, returns the samples and may be
// called again.
func sampleSize(path string, interval time.Duration) func() []sizeSample {
	var samples []sizeSample // the sampler's until stopped is closed
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if fi, err := os.Stat(path); err == nil {
					samples = append(samples, sizeSample{now, fi.Size()})
				}
			}
		}
	}()
	var once sync.Once
	return func() []sizeSample {
		once.Do(func() { close(done); <-stopped })
		return samples
	}
}

// sizeAt returns the last sampled size at or before t, 0 if none.
func sizeAt(samples []sizeSample, t time.Time) int64 {
	var size int64
	for _, s := range samples {
		if s.at.After(t) {
			break
		}
		size = s.size
	}
	return size
}

// startProfile starts a CPU profile into path.c<conns> ("" profiles
// nothing); the returned func stops it and may be called more than once.
func startProfile(path string, conns int) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.c%d", path, conns))
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// drain waits until no job is pending or running.
func drain(ctx context.Context, app *App, timeout time.Duration) (engine.Stats, error) {
	return drainEvery(ctx, app, timeout, 0)
}

// drainEvery is drain polling every poll (0: 2ms).
func drainEvery(ctx context.Context, app *App, timeout, poll time.Duration) (engine.Stats, error) {
	deadline := time.Now().Add(timeout)
	if poll <= 0 {
		poll = 2 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		st, err := app.queue.Stats(ctx)
		if err != nil {
			return st, err
		}
		if st.States[engine.JobPending] == 0 && st.States[engine.JobRunning] == 0 {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("jobs still pending/running after %s: %v", timeout, st.States)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-tick.C:
		}
	}
}

// benchTempConfig makes a fresh temp dir and the row's config in it
// (adjusted for the backend by o.configure); cleanup removes the dir.
func benchTempConfig(o benchOptions) (cfg *config.Config, cleanup func(), err error) {
	dir, err := os.MkdirTemp(o.dir, "switchboard-bench-*")
	if err != nil {
		return nil, nil, err
	}
	if cfg, err = benchConfig(dir, o); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if o.configure != nil {
		o.configure(cfg)
	}
	return cfg, func() { os.RemoveAll(dir) }, nil
}

// startBenchApp opens and runs the app in this process and waits until it
// is ready; stop shuts it down and closes it.
func startBenchApp(ctx context.Context, cfg *config.Config, o benchOptions) (app *App, stop func(), err error) {
	app, err = Open(ctx, cfg, newLogger(cfg.Log, o.log))
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	stop = func() {
		cancelRun()
		<-done
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if cerr := app.Close(closeCtx); cerr != nil {
			fmt.Fprintf(o.log, "bench: close: %v\n", cerr)
		}
	}
	select {
	case <-app.Ready:
		return app, stop, nil
	case err := <-done:
		done <- err // for stop's receive
		stop()
		return nil, nil, fmt.Errorf("server stopped before it was ready: %w", err)
	}
}

// benchConfig loads the user's config with its server, admin and storage
// pointed at dir, or generates one source and one listener there.
func benchConfig(dir string, o benchOptions) (*config.Config, error) {
	if o.config != "" {
		cfg, err := config.Load(o.config)
		if err != nil {
			return nil, err
		}
		if len(cfg.Sources) == 0 {
			return nil, fmt.Errorf("%s has no [[sources]] to send as", cfg.Path)
		}
		cfg.Server.Listen, cfg.Admin.Listen = "127.0.0.1:0", ""
		cfg.Storage.Dir = filepath.Join(dir, "data")
		cfg.Log.Level = "warn"
		if o.workers > 0 {
			cfg.Queue.Workers = o.workers
		}
		if o.retention > 0 {
			cfg.Queue.Retention = config.Duration(o.retention)
			cfg.Queue.DedupeWindow = config.Duration(o.retention)
		}
		return cfg, nil
	}
	script, err := benchListener(dir, o)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	body := benchTOML{listen: "127.0.0.1:0", secret: hex.EncodeToString(secret), script: script}.text(o)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return nil, err
	}
	return config.Load(path)
}

// benchListener returns the absolute path of the bench listener: --script,
// or a generated no-op one under dir/scripts, beside data/ as in the
// shipped layout (the watcher watches a listener's directory tree, and
// the queue's file in it would make every commit an event to look at).
func benchListener(dir string, o benchOptions) (string, error) {
	if o.script != "" {
		return filepath.Abs(o.script)
	}
	script := filepath.Join(dir, "scripts", "bench_listener.js")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		return "", err
	}
	return script, os.WriteFile(script, []byte("export default function () {}\n"), 0o644)
}

// benchTOML is a generated bench config: one signed source and one
// listener. The in-process rows and the PostgreSQL children differ only
// in their addresses, admin token and [queue] backend lines.
type benchTOML struct {
	listen      string
	adminListen string // "" = no admin listener
	adminToken  string
	queue       string // extra [queue] lines, e.g. backend and dsn
	secret      string // hex
	script      string
}

// text renders the config with o's workers, retention and order_by.
func (t benchTOML) text(o benchOptions) string {
	var queue, admin, listener strings.Builder
	if t.queue != "" {
		fmt.Fprintln(&queue, t.queue)
	}
	if o.workers > 0 {
		fmt.Fprintf(&queue, "workers = %d\n", o.workers)
	}
	if o.retention > 0 {
		fmt.Fprintf(&queue, "retention = %q\ndedupe_window = %q\n", o.retention.String(), o.retention.String())
	}
	fmt.Fprintf(&admin, "listen = %q\n", t.adminListen)
	if t.adminToken != "" {
		fmt.Fprintf(&admin, "token = %q\n", t.adminToken)
	}
	if o.orderBy != "" {
		fmt.Fprintf(&listener, "order_by = %q\n", o.orderBy)
	}
	return fmt.Sprintf(`[server]
listen = %q
shutdown_timeout = "10s"
[admin]
%s[storage]
dir = "data"
[queue]
%s[database]
driver = "sqlite"
dsn = "data/app.db"
[mail]
transport = "log"
[log]
level = "warn"

[[sources]]
name = "bench"
path = "/webhooks/bench"
verify = "ittybit"
secret = %q
event = "bench.event"

[[listeners]]
name = "bench"
script = %q
on = ["bench.event"]
tries = 1
timeout = "30s"
%s`, t.listen, admin.String(), queue.String(), t.secret, t.script, listener.String())
}

// benchBaseline loads the naive server (stored) or the verify-only one.
func benchBaseline(ctx context.Context, o benchOptions, conns int, stored bool) (benchRow, error) {
	row := benchRow{Server: rowCeiling, Connections: conns}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return row, err
	}
	var srv *loadgen.BaselineServer
	if stored {
		row.Server = rowBaseline
		dir, err := os.MkdirTemp(o.dir, "switchboard-baseline-*")
		if err != nil {
			return row, err
		}
		defer os.RemoveAll(dir)
		if srv, err = loadgen.Baseline(dir, secret); err != nil {
			return row, err
		}
	} else {
		var err error
		if srv, err = loadgen.VerifyOnly(secret); err != nil {
			return row, err
		}
	}
	ln, err := listenLocal()
	if err != nil {
		srv.Close()
		return row, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	row.Result, err = loadgen.Run(ctx, loadgen.Options{
		URL:         "http://" + ln.Addr().String() + "/webhooks/bench",
		Connections: conns,
		Duration:    o.duration,
		Requests:    o.requests,
		Rate:        o.rate,
		BodySize:    o.bodySize,
		Sign:        func(body []byte) map[string]string { return loadgen.SignBaseline(secret, body) },
	})
	row.FileBytes, _ = srv.FileSize()
	return row, errors.Join(err, srv.Close(), <-done)
}

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
