package isolate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// proc is one child process as the parent sees it. Apart from its
// reaper goroutine and Close, only the goroutine holding it (the
// attempt, or the start-up) uses it: that goroutine reads the child's
// messages itself, so a message is in hand without a goroutine handoff.
type proc struct {
	pool     *Pool
	cmd      *exec.Cmd
	w        *wire    // stdin and stdout
	ctl      *wire    // the interrupt pipe (the child's fd 3)
	out      *os.File // the child's stdout, read with deadlines
	dec      *decoder
	exited   chan struct{}
	stderr   tail
	cap      int64 // RLIMIT_DATA set on it
	startRSS int64 // its resident memory when it came up

	protoErr error       // the child sent a bad message
	killed   atomic.Bool // this process killed it
	closing  atomic.Bool // Close is stopping it
	dead     bool        // gone or broken: never reused

	// The bridge: one goja runtime calling the real module exports.
	vm        *goja.Runtime
	handles   map[uint64]entry
	permanent uint64 // handles up to this id are the modules'; later ones the attempt's
	nextID    uint64
	enc       encoder
	cur       atomic.Pointer[engine.Invocation]
	att       *attempt
	seq       int64
}

// spawn starts a child, sets its memory cap and greets it.
func (p *Pool) spawn(ctx context.Context) (*proc, error) {
	pr := &proc{pool: p, exited: make(chan struct{}), handles: map[uint64]entry{}}
	if err := pr.start(); err != nil {
		return nil, fmt.Errorf("start script process: %w: %w", engine.ErrCrashed, err)
	}
	p.started.Add(1)
	ctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	if err := pr.handshake(ctx); err != nil {
		pr.kill()
		<-pr.exited
		return nil, fmt.Errorf("start script process: %w: %w%s", engine.ErrCrashed, err, pr.stderr.first())
	}
	return pr, nil
}

func (pr *proc) start() error {
	p := pr.pool
	cmd := p.opts.Command()
	var pipes [3][2]*os.File // stdin, stdout, control: read end, write end
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes[:i])
			return err
		}
		pipes[i] = [2]*os.File{r, w}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes[0][0], pipes[1][1], &pr.stderr
	cmd.ExtraFiles = []*os.File{pipes[2][0]} // fd 3
	cmd.Env = append(cmd.Env, "GOMEMLIMIT="+strconv.FormatInt(p.opts.MemoryLimit, 10))
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	err := cmd.Start()
	pipes[0][0].Close()
	pipes[1][1].Close()
	pipes[2][0].Close()
	if err != nil {
		pipes[0][1].Close()
		pipes[1][0].Close()
		pipes[2][1].Close()
		return err
	}
	pr.cmd, pr.out = cmd, pipes[1][0]
	pr.w = newWire(pr.out, pipes[0][1], int(p.opts.budget()+1<<20))
	pr.ctl = newWire(eof{}, pipes[2][1], 0)
	pr.dec = &decoder{limit: p.opts.budget() + 1<<20, fn: pr.childFunc}
	p.mu.Lock()
	if p.closed {
		// Close ran while this child started: it would never stop it.
		p.mu.Unlock()
		cmd.Process.Kill()
		cmd.Wait()
		pr.out.Close()
		pr.w.closeWrite()
		pr.ctl.closeWrite()
		return fmt.Errorf("script processes: %w", engine.ErrClosed)
	}
	p.live[pr] = struct{}{}
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait() // the state is in cmd.ProcessState
		pr.out.Close()
		pr.w.closeWrite()
		pr.ctl.closeWrite()
		p.forget(pr, pr.closing.Load())
		close(pr.exited)
	}()
	return nil
}

func closeAll(pipes [][2]*os.File) {
	for _, p := range pipes {
		p[0].Close()
		p[1].Close()
	}
}

// eof is the reading side of the write-only interrupt wire.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// handshake: the child says it is up, the parent caps its memory at its
// present footprint plus MemoryLimit and sends the hello, the child says
// it is ready.
func (pr *proc) handshake(ctx context.Context) error {
	up, err := pr.expect(ctx, kUp)
	if err != nil {
		return err
	}
	if up.int("v") != protocolVersion || up.int("pid") != int64(pr.cmd.Process.Pid) {
		return fmt.Errorf("script process speaks protocol %d as pid %d, want %d as pid %d", up.int("v"), up.int("pid"), protocolVersion, pr.cmd.Process.Pid)
	}
	if pr.cap, pr.startRSS, err = setCap(pr.cmd.Process.Pid, pr.pool.opts.MemoryLimit); err != nil {
		return err
	}
	hello := pr.hello()
	if err := pr.w.send(&pr.enc, hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	_, err = pr.expect(ctx, kReady)
	return err
}

// expect reads the child's next message, which must be kind, by the
// deadline of ctx.
func (pr *proc) expect(ctx context.Context, kind string) (msg, error) {
	dl, _ := ctx.Deadline()
	pr.out.SetReadDeadline(dl)
	defer pr.out.SetReadDeadline(time.Time{})
	m, err := pr.w.receive(pr.dec)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("script process not %s within %s", kind, pr.pool.opts.StartTimeout)
	case err != nil:
		return nil, fmt.Errorf("script process ended before it was %s: %w", kind, err)
	case m.kind() != kind:
		return nil, fmt.Errorf("script process said %q, want %q", m.kind(), kind)
	}
	return m, nil
}

func (pr *proc) kill() {
	pr.killed.Store(true)
	if pr.cmd != nil && pr.cmd.Process != nil {
		_ = pr.cmd.Process.Kill()
	}
}

// stop ends a child that must not be reused.
func (pr *proc) stop() {
	if !pr.exitedNow() {
		pr.kill()
	}
}

func (pr *proc) exitedNow() bool {
	select {
	case <-pr.exited:
		return true
	default:
		return false
	}
}

// death waits for the child to exit (killing it if its stdout ended but
// it lingers) and says why it ended.
func (pr *proc) death(a *attempt) error {
	pr.dead = true
	select {
	case <-pr.exited:
	case <-time.After(2 * time.Second):
		pr.kill()
		<-pr.exited
	}
	err := pr.exitError(a)
	pr.pool.opts.Logger.Warn("script process ended", "pid", pr.cmd.Process.Pid, "err", err)
	return err
}

// exitError classifies how the child ended: killed by this process at
// the deadline (a timeout), stopped at its memory cap (stderr shows one
// of outOfMemorySigns, written once RLIMIT_DATA refused a mapping; a
// SIGKILL this process did not send: the kernel's OOM killer; or any
// crash with its peak resident memory past half the limit above where
// it started), a broken protocol, or any other crash (its exit status
// and first stderr line).
func (pr *proc) exitError(a *attempt) error {
	st := pr.cmd.ProcessState
	status := "exit status unknown"
	var ws syscall.WaitStatus
	if st != nil {
		status = st.String()
		ws, _ = st.Sys().(syscall.WaitStatus)
	}
	switch {
	case a != nil && a.killed:
		return fmt.Errorf("%w; its script process did not stop within %s and was killed", script.ContextError(a.ctx, a.start, a.ctx.Err()), pr.pool.opts.Grace)
	case pr.protoErr != nil:
		return fmt.Errorf("listener stopped: %w: it sent a bad message (%v) and was killed", engine.ErrCrashed, pr.protoErr)
	case pr.stderr.outOfMemory():
		return fmt.Errorf("listener stopped: %w (its script process reached the %s memory cap, scripts.memory_limit beyond its start-up size, and the kernel refused more)", engine.ErrMemoryLimit, mib(pr.pool.opts.MemoryLimit))
	case !pr.killed.Load() && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		return fmt.Errorf("listener stopped: %w (its script process was killed by SIGKILL, most likely by the kernel's out-of-memory killer)", engine.ErrMemoryLimit)
	case pr.peakRSS(st) >= pr.startRSS+pr.pool.opts.MemoryLimit/2:
		// The Go runtime does not always say "out of memory" when a
		// mapping is refused (a nil from its own allocator can become a
		// SIGSEGV in the collector): a crash with the process's memory
		// near its cap is taken for the cap.
		return fmt.Errorf("listener stopped: %w (its script process crashed, %s%s, with %s resident, near its %s memory cap)",
			engine.ErrMemoryLimit, status, pr.stderr.first(), mib(pr.peakRSS(st)), mib(pr.pool.opts.MemoryLimit))
	}
	return fmt.Errorf("listener stopped: %w (%s)%s", engine.ErrCrashed, status, pr.stderr.first())
}

// peakRSS is the most memory the exited child had resident (wait4's
// rusage).
func (pr *proc) peakRSS(st *os.ProcessState) int64 {
	if st == nil {
		return 0
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

func mib(n int64) string { return strconv.FormatInt(n>>20, 10) + " MiB" }

// tail keeps the start of a child's stderr, where the Go runtime writes
// its fatal error before the goroutine dump.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const tailBytes = 4 << 10

// outOfMemorySigns are what a child writes when the cap refuses it
// memory: the Go runtime's fatal errors once mmap fails, and cgo's when
// a new thread's stack cannot be mapped (the binary links runtime/cgo
// for the net package; RLIMIT_DATA counts thread stacks too), and the
// race detector's in race-enabled builds (tests).
var outOfMemorySigns = []string{"fatal error: out of memory", "runtime: out of memory", "runtime: cannot allocate memory",
	"pthread_create failed: Resource temporarily unavailable", "ThreadSanitizer failed to allocate",
	"ThreadSanitizer: out of memory"}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := tailBytes - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (t *tail) outOfMemory() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sign := range outOfMemorySigns {
		if bytes.Contains(t.buf.Bytes(), []byte(sign)) {
			return true
		}
	}
	return false
}

// first is ": " and the first line the child wrote to stderr, if any.
func (t *tail) first() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	line, _, _ := bytes.Cut(bytes.TrimSpace(t.buf.Bytes()), []byte("\n"))
	if len(line) == 0 {
		return ""
	}
	return ": " + string(line)
}
