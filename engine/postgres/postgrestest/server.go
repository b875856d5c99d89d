package postgrestest

// This file runs a private PostgreSQL server for tests that stop and
// restart it, so that they never disturb the server other tests (and
// other people) share.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a private PostgreSQL cluster in a temporary directory.
type Server struct {
	bin, dir, data string
	port           int
	asUser         string // run the server as this user (root may not), or "" for ourselves
	t              testing.TB
}

// Start initialises and starts a cluster on a free port, or skips the test
// with the reason when this machine cannot run one (no binaries, initdb
// refused). It stops the server and removes its files when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil {
		bins = append([]string{p}, bins...)
	}
	if len(bins) == 0 {
		t.Skip("no initdb found (PATH, /usr/lib/postgresql/*/bin): cannot run a private PostgreSQL for the restart test")
	}
	s := &Server{bin: filepath.Dir(bins[len(bins)-1]), t: t}
	if os.Geteuid() == 0 {
		s.asUser = "postgres" // postgres refuses to run as root
		if _, err := user.Lookup(s.asUser); err != nil {
			t.Skip("running as root and there is no postgres user to run a private PostgreSQL as")
		}
	}
	dir, err := os.MkdirTemp("", "switchboard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir, s.data = dir, filepath.Join(dir, "data")
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if s.asUser != "" {
		u, _ := user.Lookup(s.asUser)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Skipf("cannot hand %s to the postgres user: %v", dir, err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Skipf("initdb failed, cannot run a private PostgreSQL: %v\n%s", err, out)
	}
	s.port = freePort(t)
	s.StartServer()
	return s
}

// DSN is the server's connection string for database postgres.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// StartServer starts the stopped server and waits until it answers.
func (s *Server) StartServer() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=60 -c shared_buffers=32MB", s.port, s.dir)
	if out, err := s.run("pg_ctl", "-D", s.data, "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("start private postgres: %v\n%s\n%s", err, out, log)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("private postgres does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server: mode "fast" (what pg_ctlcluster restart does)
// or "immediate" (as a crash: no checkpoint, WAL replayed at start).
func (s *Server) Stop(mode string) {
	s.t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data, "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		s.t.Fatalf("stop private postgres (%s): %v\n%s", mode, err, out)
	}
}

// Freeze stops every process of the server (SIGSTOP): connections stay
// open and hang, as with a server that stopped answering. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		s.t.Fatalf("read postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{pid}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(strings.Fields(string(b))[0])
			pids = append(pids, child)
		}
	}
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil {
			s.t.Fatalf("signal postgres process %d: %v", p, err)
		}
	}
}

func (s *Server) run(tool string, args ...string) (string, error) {
	path := filepath.Join(s.bin, tool)
	var cmd *exec.Cmd
	if s.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
