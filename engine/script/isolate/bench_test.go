package isolate

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// runner is what both engines offer: run one attempt of a script.
type runner func(ctx context.Context, s *script.Script, inv *engine.Invocation) error

// engines returns the in-process engine and a one-child pool over the
// same modules, for benchmarks in the same run.
func engines(b *testing.B) map[string]runner {
	modules := []engine.Module{probe{}}
	p := newPool(b, Options{Modules: modules})
	return map[string]runner{
		"in-process": script.NewEngine(modules, script.Options{}).Run,
		"process":    p.Run,
	}
}

// BenchmarkAttempt_Trivial: one attempt of a listener that reads the
// payload and returns, in-process and in a script process (the round
// trip of the run and done messages, the event sent along).
func BenchmarkAttempt_Trivial(b *testing.B) {
	benchEach(b, `export default function (event, job) { return event.payload.n }`)
}

// BenchmarkBinding_RoundTrip: an attempt that calls a binding 100
// times; ns/op divided by 100 is one call's cost.
func BenchmarkBinding_RoundTrip(b *testing.B) {
	benchEach(b, `import { probe } from "switchboard";
export default function () { for (let i = 0; i < 100; i++) probe.str("x") }`)
}

func benchEach(b *testing.B, src string) {
	s := compile(b, src)
	for _, name := range []string{"in-process", "process"} {
		run := engines(b)[name]
		b.Run(name, func(b *testing.B) {
			inv, _ := newInv(b, map[string]any{"n": 1})
			ctx := context.Background()
			if err := run(ctx, s, inv); err != nil { // warm: start the child, load the script
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := run(ctx, s, inv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWire_CrossProcess: one small frame to a child that echoes it
// and back: the floor under a binding call's round trip.
func BenchmarkWire_CrossProcess(b *testing.B) {
	cmd := brokenCommand("echo")()
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	w := newWire(out, in, 1<<20)
	m := msg{"k": kCall, "h": int64(1), "args": []any{"x"}}
	dec := &decoder{}
	for b.Loop() {
		if err := w.sendPlain(m); err != nil {
			b.Fatal(err)
		}
		if _, err := w.receive(dec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChild_Start: a pool's first attempt (start a child, set its
// cap, greet it, send the bundle, compile, run) and Close.
func BenchmarkChild_Start(b *testing.B) {
	s := compile(b, `export default function () {}`)
	inv, _ := newInv(b, nil)
	for b.Loop() {
		p, err := New(Options{Command: testCommand, MemoryLimit: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Run(context.Background(), s, inv); err != nil {
			b.Fatal(err)
		}
		p.Close(context.Background())
	}
}
