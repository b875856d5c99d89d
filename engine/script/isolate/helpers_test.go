package isolate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// childEnv marks the test binary started as a script process.
const childEnv = "SWITCHBOARD_ISOLATE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "1":
		if err := Serve(os.Stdin, os.Stdout, os.NewFile(3, "interrupts"), nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		misbehave(os.Getenv(childEnv))
	}
	os.Exit(0)
}

// misbehave is a broken child: it writes what mode names, then waits
// to be killed.
func misbehave(mode string) {
	switch mode {
	case "huge": // a frame header announcing 4 GB
		os.Stdout.Write([]byte{0xff, 0xff, 0xff, 0xf0})
	case "echo": // every frame back, as read (for BenchmarkWire_CrossProcess)
		w := newWire(os.Stdin, os.Stdout, 1<<20)
		for {
			m, err := w.receive(&decoder{})
			if err != nil {
				return
			}
			w.sendPlain(m)
		}
	case "corrupt": // a frame holding an array that claims 2^40 elements
		body := append([]byte{tagArray}, binary.AppendUvarint(nil, 1<<40)...)
		os.Stdout.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
		os.Stdout.Write(body)
	}
	io.Copy(io.Discard, os.Stdin)
}

// brokenCommand starts this test binary as a child that misbehaves.
func brokenCommand(mode string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = []string{childEnv + "=" + mode, raceNoSleep}
		return cmd
	}
}

// raceNoSleep stops a race-enabled child from sleeping a second at exit
// (the race runtime's default), which every test would wait for.
const raceNoSleep = "GORACE=atexit_sleep_ms=0"

// testCommand starts this test binary as a script process.
func testCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{childEnv + "=1", raceNoSleep}
	return cmd
}

// newPool returns a pool of this test binary's children, closed when
// the test ends.
func newPool(t testing.TB, opts Options) *Pool {
	t.Helper()
	if opts.Command == nil {
		opts.Command = testCommand
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// compile writes src as handler.js in a temp dir and compiles it.
func compile(t testing.TB, src string) *script.Script {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "handler.js")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := script.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compileIn writes src as handler.js and compiles it as a router with
// isolation does: bundled here, checked in p's checker child.
func compileIn(t testing.TB, p *Pool, src string) (*script.Script, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "handler.js")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return script.CompileChecked(path, p.Check)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newInv(t testing.TB, payload any) (*engine.Invocation, *syncBuffer) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	return &engine.Invocation{
		Ctx: context.Background(),
		Event: &engine.Event{
			ID: "evt_1", Name: "media.processed", Source: "ittybit",
			ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Headers:    map[string]string{"content-type": "application/json"},
			Payload:    raw,
		},
		Job:    &engine.Job{ID: "job_1", Listener: "thumbs", Attempt: 2, MaxTries: 3},
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, buf
}

func runCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
