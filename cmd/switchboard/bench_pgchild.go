package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
)

// pgChildren are `switchboard serve` processes sharing one schema.
type pgChildren struct {
	dir   string
	src   config.Source
	procs []*pgChild
	log   io.Writer
}

type pgChild struct {
	cmd   *exec.Cmd
	url   string // the webhook URL
	admin *admin.Client
	done  chan error
}

// startPGChildren writes a config per process (a generated source, a
// no-op listener "bench", the postgres backend on schema) and starts them
// all, waiting until each answers /healthz.
func startPGChildren(ctx context.Context, b *pgBench, schema string, n int) (*pgChildren, error) {
	dir, err := os.MkdirTemp(b.o.dir, "switchboard-pgbench-*")
	if err != nil {
		return &pgChildren{}, err
	}
	cl := &pgChildren{dir: dir, log: b.o.log}
	secret, token := make([]byte, 32), make([]byte, 16)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(token)
	script, err := benchListener(dir, b.o)
	if err != nil {
		return cl, err
	}
	for i := range n {
		pub, adm, err := twoPorts()
		if err != nil {
			return cl, err
		}
		pdir := filepath.Join(dir, fmt.Sprintf("p%d", i))
		path := filepath.Join(pdir, "config.toml")
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return cl, err
		}
		if err := os.WriteFile(path, []byte(benchTOML{
			listen: pub, adminListen: adm, adminToken: hex.EncodeToString(token),
			queue:  fmt.Sprintf("backend = \"postgres\"\ndsn = %q\nschema = %q", b.dsn, schema),
			secret: hex.EncodeToString(secret), script: script,
		}.text(b.o)), 0o600); err != nil {
			return cl, err
		}
		cfg, err := config.Load(path)
		if err != nil {
			return cl, err
		}
		cl.src = cfg.Sources[0]
		logf, err := os.Create(filepath.Join(pdir, "serve.log"))
		if err != nil {
			return cl, err
		}
		cmd := exec.Command(b.bin, "serve", "-c", path)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return cl, fmt.Errorf("start switchboard serve: %w", err)
		}
		c := &pgChild{cmd: cmd, url: "http://" + pub + cfg.Sources[0].Path, done: make(chan error, 1),
			admin: &admin.Client{BaseURL: "http://" + adm, Token: hex.EncodeToString(token)}}
		go func() { c.done <- cmd.Wait(); logf.Close() }()
		cl.procs = append(cl.procs, c)
	}
	for i, c := range cl.procs {
		if err := c.healthy(ctx); err != nil {
			return cl, fmt.Errorf("process %d: %w (log: %s)", i, err, filepath.Join(dir, fmt.Sprintf("p%d", i), "serve.log"))
		}
	}
	return cl, nil
}

func twoPorts() (string, string, error) {
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		addrs = append(addrs, ln.Addr().String())
		defer ln.Close()
	}
	return addrs[0], addrs[1], nil
}

func (c *pgChild) healthy(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.admin.Health(hctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-c.done:
			c.done <- werr
			return fmt.Errorf("switchboard serve exited: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after 30s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drain waits until no job is pending or running, as the first process
// reports for the whole cluster.
func (cl *pgChildren) drain(ctx context.Context, timeout time.Duration) (engine.Stats, error) {
	deadline := time.Now().Add(timeout)
	for {
		rep, err := cl.procs[0].admin.Stats(ctx)
		if err == nil && rep.Stats.States[engine.JobPending] == 0 && rep.Stats.States[engine.JobRunning] == 0 {
			return rep.Stats, nil
		}
		if time.Now().After(deadline) {
			return rep.Stats, fmt.Errorf("jobs still pending or running after %s: %v (%v)", timeout, rep.Stats.States, err)
		}
		select {
		case <-ctx.Done():
			return rep.Stats, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to every process, waits for them and removes the
// temp dir; it is safe on a partly started set.
func (cl *pgChildren) stop() {
	var errs []error
	for _, c := range cl.procs {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for i, c := range cl.procs {
		select {
		case err := <-c.done:
			if err != nil {
				b, _ := os.ReadFile(filepath.Join(cl.dir, fmt.Sprintf("p%d", i), "serve.log"))
				errs = append(errs, fmt.Errorf("process %d: %v\n%s", i, err, tail(string(b), 2000)))
			}
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			errs = append(errs, fmt.Errorf("process %d did not stop within 30s of SIGTERM", i))
		}
	}
	if err := errors.Join(errs...); err != nil && cl.log != nil {
		fmt.Fprintf(cl.log, "bench: stop: %v\n", err)
	}
	if cl.dir != "" {
		os.RemoveAll(cl.dir)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
