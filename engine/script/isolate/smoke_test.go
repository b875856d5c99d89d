package isolate

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

type echoModule struct{}

func (echoModule) Name() string { return "echo" }

func (echoModule) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"say": func(s string, n int64) string { return cur().Job.ID + ":" + s + strings.Repeat("!", int(n)) },
	}
}

func TestSmoke(t *testing.T) {
	p := newPool(t, Options{Modules: []engine.Module{echoModule{}}, MemoryLimit: 64 << 20})
	s := compile(t, `import { echo, log } from "switchboard";
export default function (event, job) {
  const r = echo.say(event.payload.word, 2);
  log.info("said", { r });
  if (r !== "job_1:hi!!") throw new Error("got " + r);
}`)
	inv, logs := newInv(t, map[string]any{"word": "hi"})
	start := time.Now()
	if err := p.Run(runCtx(t, 10*time.Second), s, inv); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("first run %v", time.Since(start))
	start = time.Now()
	if err := p.Run(runCtx(t, 10*time.Second), s, inv); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("second run %v", time.Since(start))
	if !strings.Contains(logs.String(), `"r":"job_1:hi!!"`) {
		t.Fatalf("logs = %s", logs)
	}
}
