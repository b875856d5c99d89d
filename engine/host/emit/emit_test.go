package emit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
)

// memQueue is an engine.Enqueuer that dedupes delivery ids like the real one.
type memQueue struct {
	engine.Replayer // nil: emit never replays
	mu              sync.Mutex
	events          []*engine.Event
	jobs            [][]engine.NewJob
	seen            map[string]string
}

func (q *memQueue) Enqueue(ctx context.Context, ev *engine.Event, jobs []engine.NewJob) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id, ok := q.seen[ev.DeliveryID]; ok && ev.DeliveryID != "" {
		return id, engine.ErrDuplicate
	}
	ev.ID = fmt.Sprintf("evt_%d", len(q.events)+1)
	q.seen[ev.DeliveryID] = ev.ID
	q.events = append(q.events, ev)
	q.jobs = append(q.jobs, jobs)
	return ev.ID, nil
}

func router(t *testing.T, q engine.RouterQueue) *engine.Router {
	t.Helper()
	return engine.NewRouter(q, engine.NewGeneration(1, nil, nil))
}

type recorder struct{ calls []string }

func (r *recorder) Record(module, fn string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func runtime(t *testing.T, s Submitter, jobID string, rec engine.Recorder) *goja.Runtime {
	t.Helper()
	inv := &engine.Invocation{
		Ctx:      context.Background(),
		Event:    &engine.Event{ID: "evt_parent"},
		Job:      &engine.Job{ID: jobID, Listener: "l"},
		Recorder: rec,
	}
	rt := goja.New()
	rt.Set("emit", New(s).Exports(func() *engine.Invocation { return inv }))
	return rt
}

func TestEmit_Submits(t *testing.T) {
	q := &memQueue{seen: map[string]string{}}
	v, err := runtime(t, router(t, q), "job_1", nil).RunString(`emit("media.thumbnailed", {media: 1, url: "https://x/y.webp"})`)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "evt_1" || len(q.events) != 1 {
		t.Fatalf("id %s, %d events", v, len(q.events))
	}
	ev := q.events[0]
	if ev.Name != "media.thumbnailed" || ev.Source != "emit" || ev.Parent != "evt_parent" ||
		string(ev.Payload) != `{"media":1,"url":"https://x/y.webp"}` || !strings.HasPrefix(ev.DeliveryID, "emit:job_1:media.thumbnailed:") {
		t.Fatalf("event = %+v", ev)
	}
}

func TestEmit_Dedupe(t *testing.T) {
	tests := []struct {
		name       string
		jobA, jobB string
		second     string
		wantEvents int
	}{
		{"retry of the same job", "job_1", "job_1", `emit("e", {b: 2, a: 1})`, 1},
		{"another job", "job_1", "job_2", `emit("e", {a: 1, b: 2})`, 2},
		{"other payload", "job_1", "job_1", `emit("e", {a: 1, b: 3})`, 2},
		{"other name", "job_1", "job_1", `emit("f", {a: 1, b: 2})`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &memQueue{seen: map[string]string{}}
			r := router(t, q)
			first, err := runtime(t, r, tt.jobA, nil).RunString(`emit("e", {a: 1, b: 2})`)
			if err != nil {
				t.Fatal(err)
			}
			second, err := runtime(t, r, tt.jobB, nil).RunString(tt.second)
			if err != nil {
				t.Fatal(err)
			}
			if len(q.events) != tt.wantEvents {
				t.Fatalf("%d events, want %d", len(q.events), tt.wantEvents)
			}
			if tt.wantEvents == 1 && first.String() != second.String() {
				t.Fatalf("duplicate emit returned %s, want the first id %s", second, first)
			}
		})
	}
}

type failing struct{}

func (failing) Submit(context.Context, *engine.Event, any) (string, error) {
	return "", fmt.Errorf("enqueue: %w", engine.ErrUnavailable)
}

func TestEmit_Errors(t *testing.T) {
	tests := []struct{ name, script, want string }{
		{"queue unavailable", `emit("e", {})`, "queue unavailable"},
		{"empty name", `emit("", {})`, "event name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtime(t, failing{}, "job_1", nil).RunString(tt.script)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEmit_DryRun(t *testing.T) {
	q := &memQueue{seen: map[string]string{}}
	rec := &recorder{}
	if _, err := runtime(t, router(t, q), "job_1", rec).RunString(`emit("e", {a: 1})`); err != nil {
		t.Fatal(err)
	}
	if len(q.events) != 0 || len(rec.calls) != 1 || rec.calls[0] != "emit.emit [e map[a:1]]" {
		t.Fatalf("%d events, recorded %q", len(q.events), rec.calls)
	}
}

// TestEmit_RoutesLikeIngest: the emitted payload is decoded as ingest
// decodes a webhook, so a listener's numeric `when` hears it.
func TestEmit_RoutesLikeIngest(t *testing.T) {
	when, err := engine.NewFilter("when", map[string]any{"size": int64(3), "ratio": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	q := &memQueue{seen: map[string]string{}}
	r := engine.NewRouter(q, engine.NewGeneration(1, engine.NewRoutes([]*engine.Listener{{Name: "l", On: []string{"e"}, When: when, Tries: 1}}), nil))
	if _, err := runtime(t, r, "job_1", nil).RunString(`emit("e", {size: 3, ratio: 0.5})`); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 1 || len(q.jobs[0]) != 1 {
		t.Fatalf("jobs = %v, want one for listener l", q.jobs)
	}
}

// TestEmit_RefusesUnreadableNumber: a BigInt too large for any script's
// number is refused at emit, naming the field, not stored to fail later.
func TestEmit_RefusesUnreadableNumber(t *testing.T) {
	q := &memQueue{seen: map[string]string{}}
	_, err := runtime(t, router(t, q), "job_1", nil).RunString(`emit("e", {data: {n: 10n ** 400n}})`)
	if err == nil || !strings.Contains(err.Error(), `payload field "data.n"`) || len(q.events) != 0 {
		t.Fatalf("error = %v with %d events, want a refusal naming data.n and nothing stored", err, len(q.events))
	}
}
