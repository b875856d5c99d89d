package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/ingest"
	sbjetstream "github.com/switchboard/switchboard/engine/jetstream"
	"github.com/switchboard/switchboard/engine/loadgen"
)

// switchboard bench --backend nats: the same rows as the bbolt bench, with
// the queue on a NATS JetStream server, against a baseline that verifies
// the signature and does one synchronous JetStream publish per request;
// then the jobs/s of draining a backlog with a no-op listener.

const rowNATSBaseline = "baseline: 1 sync JetStream publish per request"

// natsBench is where the bench's queue and baseline live.
type natsBench struct {
	url      string
	replicas int
	backlog  int
}

func (nb natsBench) configure(cfg *config.Config, prefix string) {
	cfg.Queue.Backend = "nats"
	cfg.NATS.URLs = []string{nb.url}
	cfg.NATS.Replicas = nb.replicas
	cfg.NATS.Prefix = prefix
}

func benchPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "bench" + hex.EncodeToString(b)
}

// benchNATS runs and reports the NATS rows.
func benchNATS(ctx context.Context, o benchOptions, nb natsBench, stdout io.Writer) error {
	// Stats on NATS writes a marker to each stream and waits for it: poll
	// the drained state every 20ms, not every 2ms, so the measurement
	// does not load the servers it measures.
	o.drainPoll = 20 * time.Millisecond
	var rows []benchRow
	var drains []benchRow
	var err error
	run := func() error {
		for _, c := range o.connections {
			prefix := benchPrefix()
			o.configure = func(cfg *config.Config) { nb.configure(cfg, prefix) }
			row, err := benchSwitchboard(ctx, o, c)
			cleanupNATS(nb.url, prefix)
			if err != nil {
				return fmt.Errorf("switchboard on nats at %d connections: %w", c, err)
			}
			rows = append(rows, row)
			if o.baseline {
				if row, err = benchNATSBaseline(ctx, o, nb, c); err != nil {
					return fmt.Errorf("nats baseline at %d connections: %w", c, err)
				}
				rows = append(rows, row)
			}
			if o.ceiling {
				if row, err = benchBaseline(ctx, o, c, false); err != nil {
					return fmt.Errorf("verify-only at %d connections: %w", c, err)
				}
				rows = append(rows, row)
			}
		}
		if nb.backlog > 0 {
			prefix := benchPrefix()
			o.configure = func(cfg *config.Config) { nb.configure(cfg, prefix) }
			d, err := benchDrain(ctx, o, nb.backlog)
			cleanupNATS(nb.url, prefix)
			if err != nil {
				return fmt.Errorf("drain: %w", err)
			}
			drains = append(drains, d)
		}
		return nil
	}
	err = run()
	if len(rows) > 0 {
		fmt.Fprintf(stdout, "queue: NATS JetStream at %s (server %s), %d replica(s)\n", nb.url, natsServerVersion(nb.url), nb.replicas)
		writeBenchReport(stdout, o, rows)
	}
	for _, d := range drains {
		fmt.Fprintf(stdout, "\ndrain: %d jobs queued while the listener was paused (ingest alone, 64 conns: %.0f req/s, p50 %s, p99 %s), "+
			"then run by %d workers with a no-op listener: %.0f jobs/s (%s)\n",
			d.Jobs, d.RPS, loadgen.Round(d.P50), loadgen.Round(d.P99), o.workersOr(4), d.JobsPerSec, d.E2E.Round(time.Millisecond))
	}
	return err
}

func (o benchOptions) workersOr(def int) int {
	if o.workers > 0 {
		return o.workers
	}
	return def
}

// benchDrain queues backlog jobs with the listener paused, resumes it and
// times the run to empty.
func benchDrain(ctx context.Context, o benchOptions, backlog int) (benchRow, error) {
	row := benchRow{Server: "drain", Connections: 64}
	cfg, cleanup, err := benchTempConfig(o)
	if err != nil {
		return row, err
	}
	defer cleanup()
	app, stopApp, err := startBenchApp(ctx, cfg, o)
	if err != nil {
		return row, err
	}
	defer stopApp()
	src := ingestSource(cfg.Sources[0])
	listener := cfg.Listeners[0].Name
	if err := app.queue.SetPaused(ctx, listener, true); err != nil {
		return row, err
	}
	res, err := loadgen.Run(ctx, loadgen.Options{
		URL: "http://" + app.PublicAddr.String() + src.Path, Connections: 64, Requests: backlog, BodySize: o.bodySize,
		Sign: func(body []byte) map[string]string { h, _ := ingest.Sign(src, body, time.Now()); return h },
	})
	if err != nil {
		return row, err
	}
	if res.OK != backlog {
		return row, fmt.Errorf("%d of %d backlog posts acknowledged", res.OK, backlog)
	}
	row.Result = res
	start := time.Now()
	if err := app.queue.SetPaused(ctx, listener, false); err != nil {
		return row, err
	}
	st, err := drainEvery(ctx, app, o.drainTimeout, o.drainPoll)
	if err != nil {
		return row, err
	}
	row.E2E = time.Since(start)
	row.Jobs = uint64(st.States[engine.JobDone] + st.States[engine.JobFailed])
	row.JobsPerSec = float64(row.Jobs) / row.E2E.Seconds()
	return row, nil
}

// benchNATSBaseline loads a hand-written server: verify the HMAC, publish
// the body to a JetStream stream and wait for its acknowledgement, answer
// 200. One round trip to the server per request, nothing batched.
func benchNATSBaseline(ctx context.Context, o benchOptions, nb natsBench, conns int) (benchRow, error) {
	row := benchRow{Server: rowNATSBaseline, Connections: conns}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return row, err
	}
	nc, err := nats.Connect(nb.url)
	if err != nil {
		return row, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return row, err
	}
	name := benchPrefix() + "_baseline"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Replicas: nb.replicas}); err != nil {
		return row, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	app.Post("/*", func(c *fiber.Ctx) error {
		body := c.Body()
		sig, err := hex.DecodeString(strings.TrimSpace(c.Get(loadgen.SignatureHeader)))
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
			return c.Status(fiber.StatusUnauthorized).SendString("bad signature")
		}
		pctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
		defer cancel()
		if _, err := js.Publish(pctx, name+".ev", append([]byte(nil), body...)); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString(err.Error())
		}
		return c.SendString(`{"status":"ok"}`)
	})
	ln, err := listenLocal()
	if err != nil {
		return row, err
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	row.Result, err = loadgen.Run(ctx, loadgen.Options{
		URL: "http://" + ln.Addr().String() + "/webhooks/bench", Connections: conns,
		Duration: o.duration, Requests: o.requests, Rate: o.rate, BodySize: o.bodySize,
		Sign: func(body []byte) map[string]string { return loadgen.SignBaseline(secret, body) },
	})
	return row, errors.Join(err, app.Shutdown(), <-served)
}

// cleanupNATS deletes the streams a bench row created under prefix.
func cleanupNATS(url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = sbjetstream.DeleteStreams(ctx, url, prefix)
}

func natsServerVersion(url string) string {
	nc, err := nats.Connect(url)
	if err != nil {
		return "unknown"
	}
	defer nc.Close()
	return nc.ConnectedServerVersion()
}

// natsBenchFlags adds the --nats-* flags; the server defaults to
// $SWITCHBOARD_TEST_NATS_URL, else nats://127.0.0.1:4222.
func natsBenchFlags(f *flags) *natsBench {
	nb := &natsBench{}
	url := os.Getenv("SWITCHBOARD_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	f.StringVar(&nb.url, "nats-url", url, "with --backend nats: the JetStream server (its streams are created under a fresh prefix and deleted after)")
	f.IntVar(&nb.replicas, "nats-replicas", 1, "with --backend nats: stream replicas")
	return nb
}
