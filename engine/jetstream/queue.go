package jetstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/switchboard/switchboard/engine"
)

var _ engine.Queue = (*Queue)(nil)

// Queue is switchboard's queue on NATS JetStream, shared by every process
// opened with the same servers and prefix.
type Queue struct {
	opts Options
	n    names
	log  *slog.Logger

	nc                                                    *nats.Conn
	js                                                    jetstream.JetStream
	evStream, stStream, kvStream, histStream, auditStream jetstream.Stream
	replicas                                              map[string]int // stream → replicas as the servers report them

	proc  engine.Process
	view  *view
	feeds []*feed
	ready chan struct{}

	evCache eventCache
	pauses  pauseCache
	lost    lostClaims

	enqueued, finished, failedTotal atomic.Uint64

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
}

// Open connects to the servers, creates or updates the streams the queue
// needs, loads the index of what they hold, and starts the heartbeat and
// the pruner. It fails if the servers cannot be reached within
// opts.Timeout.
func Open(ctx context.Context, opts Options) (*Queue, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	q := &Queue{opts: o, n: namesFor(o.Prefix), log: o.Logger, ready: make(chan struct{}, 1)}
	q.evCache.init(4096)
	host, _ := os.Hostname()
	q.proc = engine.Process{ID: nuid.Next(), Host: host, PID: os.Getpid(), Started: time.Now().UTC()}
	if err := q.connect(); err != nil {
		return nil, err
	}
	// Creating replicated streams waits on the cluster (a leader elected,
	// a quorum's answer): a process started beside servers still coming
	// up waits for them a while rather than fail.
	octx, cancel := context.WithTimeout(ctx, max(4*o.Timeout, setupWait))
	defer cancel()
	if err := q.setup(octx); err != nil {
		q.nc.Close()
		return nil, err
	}
	for _, w := range q.Warnings() {
		q.log.Warn(w)
	}
	return q, nil
}

// setupWait is the least time Open gives the servers to create or
// update the streams.
const setupWait = 30 * time.Second

func (q *Queue) connect() error {
	o := q.opts
	nopts := []nats.Option{
		nats.Name("switchboard " + q.proc.ID),
		nats.Timeout(o.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// No buffering while disconnected: a write either reaches a server
		// now or fails now, so nothing is stored after its caller was told
		// it failed.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				q.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { q.log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
	}
	switch {
	case o.CredsFile != "":
		nopts = append(nopts, nats.UserCredentials(o.CredsFile))
	case o.Token != "":
		nopts = append(nopts, nats.Token(o.Token))
	case o.User != "" || o.Password != "":
		nopts = append(nopts, nats.UserInfo(o.User, o.Password))
	}
	if o.TLSCA != "" {
		nopts = append(nopts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		nopts = append(nopts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLSCA != "" || o.TLSCert != "" {
		nopts = append(nopts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	url := o.URLs[0]
	for _, u := range o.URLs[1:] {
		url += "," + u
	}
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", url, unavailable(err))
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(o.Timeout),
		jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithDefaultTimeout(o.Timeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream context: %w", err)
	}
	q.nc, q.js = nc, js
	return nil
}

// setup creates the streams, announces this process and loads the index.
func (q *Queue) setup(ctx context.Context) error {
	streams, err := ensureStreams(ctx, q.js, streamConfigs(q.opts, q.n), func() {
		q.log.Info("nats server not answering while setting up; trying another", "server", q.nc.ConnectedUrlRedacted())
		_ = q.nc.ForceReconnect()
	})
	if err != nil {
		return err
	}
	q.evStream, q.stStream, q.kvStream = streams[q.n.events], streams[q.n.state], streams[q.n.kv]
	q.histStream, q.auditStream = streams[q.n.hist], streams[q.n.audit]
	q.replicas = map[string]int{}
	for name, s := range streams {
		q.replicas[name] = s.CachedInfo().Config.Replicas
	}
	if err := waitLeaders(ctx, streams); err != nil {
		return err
	}
	if err := retryNotReady(ctx, q.heartbeat); err != nil {
		return fmt.Errorf("announce process: %w", err)
	}
	q.view = newView()
	q.view.onReady = q.signal
	if err := q.startFeeds(ctx); err != nil {
		q.stopFeeds()
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	q.stop = stop
	q.wg.Add(2)
	go q.heartbeatLoop(bg)
	go q.pruneLoop(bg)
	return nil
}

// Warnings describes what weakens the durability of a 200 on these
// streams: one replica means one server's disk holds every acknowledged
// event, and JetStream's default fsync runs only every two minutes.
func (q *Queue) Warnings() []string {
	return DurabilityWarnings(q.replicas)
}

// DurabilityWarnings returns a warning for streams (name → replica count)
// kept on a single server; none when every stream has three or more
// replicas. switchboard serve and switchboard check print them.
func DurabilityWarnings(replicas map[string]int) []string {
	for name, r := range replicas {
		if r < 3 {
			return []string{fmt.Sprintf("nats: stream %s has %d replica(s): an acknowledged event survives a server crash "+
				"only if that server runs with jetstream sync_interval: always; use replicas = 3 on three servers "+
				"in separate failure domains for the durability bbolt's fsync gives", name, r)}
		}
	}
	return nil
}

// signal wakes the worker pool (coalesced).
func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Ready receives a value whenever jobs may have become claimable, in this
// process or any other sharing the queue.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Ping returns nil if the queue can take writes now: a write to this
// process's sync subject is acknowledged.
func (q *Queue) Ping(ctx context.Context) error {
	if q.closed.Load() {
		return engine.ErrClosed
	}
	m := &nats.Msg{Subject: q.n.syncSubj(q.proc.ID)}
	if _, err := q.publish(ctx, m); err != nil {
		return fmt.Errorf("ping queue: %w", err)
	}
	return nil
}

// Close stops the heartbeat, the pruner and the index feeds, records that
// this process is gone, and closes the connection. It is idempotent.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		if q.stop != nil {
			q.stop()
		}
		q.wg.Wait()
		if q.nc != nil && q.nc.IsConnected() {
			gctx, cancel := context.WithTimeout(ctx, time.Second)
			_, _ = q.publish(gctx, &nats.Msg{Subject: q.n.procSubj(q.proc.ID)})
			cancel()
		}
		q.stopFeeds()
		if q.nc != nil {
			q.nc.Close()
		}
	})
	return nil
}

// crash stops q as a killed process would stop: no goodbye, nothing
// finished. Tests use it.
func (q *Queue) crash() {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		if q.stop != nil {
			q.stop()
		}
		q.wg.Wait()
		q.stopFeeds()
		q.nc.Close()
	})
}

func (q *Queue) stopFeeds() {
	for _, f := range q.feeds {
		if f.cc != nil {
			f.cc.Stop()
		}
	}
}

// ProcessID is this process's id in Processes and in job records.
func (q *Queue) ProcessID() string { return q.proc.ID }

var errClosed = fmt.Errorf("jetstream queue: %w", engine.ErrClosed)

func (q *Queue) checkOpen() error {
	if q.closed.Load() {
		return errClosed
	}
	return nil
}

// isUnavailable reports an error the caller may retry later.
func isUnavailable(err error) bool { return errors.Is(err, engine.ErrUnavailable) }

func isNotFound(err error) bool { return errors.Is(err, engine.ErrNotFound) }
