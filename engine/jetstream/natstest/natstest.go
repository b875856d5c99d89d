// Package natstest runs NATS JetStream servers inside a test process: a
// single server, or a cluster of three whose nodes can be stopped and
// started again over their own store directories. Tests of the jetstream
// queue and of cmd/switchboard use it; it is not part of the binary.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is one in-process NATS server with JetStream.
type Server struct {
	opts *server.Options
	srv  *server.Server
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Name is the server's name (as JetStream names stream leaders).
func (s *Server) Name() string { return s.opts.ServerName }

// Stop shuts the server down (its clients see the connection drop).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Start starts a stopped server again over the same store directory and
// ports.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.srv != nil {
		return
	}
	srv, err := server.NewServer(s.opts)
	if err != nil {
		t.Fatalf("nats server %s: %v", s.opts.ServerName, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		t.Fatalf("nats server %s did not start", s.opts.ServerName)
	}
	s.srv = srv
}

// WaitCurrent waits until the server, restarted into its cluster, has
// caught up with the cluster's JetStream meta group (until then it may
// not answer JetStream requests).
func (s *Server) WaitCurrent(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.srv == nil || !s.srv.JetStreamIsCurrent() {
		if time.Now().After(deadline) {
			t.Fatalf("nats server %s did not catch up with its cluster within 30s", s.opts.ServerName)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// IsStreamLeader reports whether this server leads stream in the global
// account.
func (s *Server) IsStreamLeader(stream string) bool {
	return s.srv != nil && s.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)
}

// Options tune the servers.
type Options struct {
	// SyncAlways fsyncs every write before acknowledging it (the setting
	// a single server needs for switchboard's durability promise).
	SyncAlways bool
}

// Run starts one server on a free loopback port with its own store
// directory; it stops when the test ends.
func Run(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: baseOpts(t, "solo", o)}
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// Cluster starts three clustered servers; they stop when the test ends.
func Cluster(t testing.TB, o Options) []*Server {
	t.Helper()
	ports := [3]int{freePort(t), freePort(t), freePort(t)}
	var servers []*Server
	for i := range 3 {
		opts := baseOpts(t, fmt.Sprintf("n%d", i+1), o)
		opts.Cluster.Name = "switchboard-test"
		opts.Cluster.Host = "127.0.0.1"
		opts.Cluster.Port = ports[i]
		for j, p := range ports {
			if j != i {
				opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		servers = append(servers, &Server{opts: opts})
	}
	// The nodes wait for each other to form the meta group, so start them
	// together.
	done := make(chan error, 3)
	for _, s := range servers {
		go func() {
			srv, err := server.NewServer(s.opts)
			if err != nil {
				done <- err
				return
			}
			srv.Start()
			if !srv.ReadyForConnections(30 * time.Second) {
				done <- fmt.Errorf("nats server %s did not start", s.opts.ServerName)
				return
			}
			s.srv = srv
			done <- nil
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.Stop()
		}
	})
	waitMetaLeader(t, servers)
	return servers
}

// waitMetaLeader waits until the cluster has elected its JetStream meta
// leader and that leader counts every server as an online peer: before,
// a stream with as many replicas as servers cannot be placed.
func waitMetaLeader(t testing.TB, servers []*Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range servers {
			if s.srv != nil && s.srv.JetStreamIsLeader() && len(s.srv.JetStreamClusterPeers()) == len(servers) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the cluster had no JetStream meta leader seeing all %d servers within 30s", len(servers))
}

func baseOpts(t testing.TB, name string, o Options) *server.Options {
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &server.Options{
		ServerName: name, Host: "127.0.0.1", Port: freePort(t),
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
		SyncAlways: o.SyncAlways, MaxPayload: 8 << 20,
	}
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
