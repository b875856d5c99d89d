package script

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// ErrMemoryLimit is the cause of an attempt stopped because the process
// heap passed Options.MemoryLimit while it ran (engine.ErrMemoryLimit).
var ErrMemoryLimit = engine.ErrMemoryLimit

const (
	metricObjects = "/memory/classes/heap/objects:bytes" // live and not yet swept
	metricLive    = "/gc/heap/live:bytes"                // live at the last GC
)

// watchdog samples the heap while any script runs and interrupts every
// running runtime when the heap, after a forced collection, still holds
// more than limit. It runs only while there is something to watch.
type watchdog struct {
	limit    uint64
	interval time.Duration

	mu      sync.Mutex
	running map[*Runtime]struct{}
	active  bool // the sampling goroutine is running
	// threshold is the heap size that triggers the next forced collection;
	// raised after a collection finds the live heap under the limit, so a
	// large but legitimate heap does not force a collection on every tick.
	threshold uint64
}

func newWatchdog(limit int64, interval time.Duration) *watchdog {
	return &watchdog{limit: uint64(limit), threshold: uint64(limit), interval: interval, running: map[*Runtime]struct{}{}}
}

// enter starts watching r; the caller must call leave when r stops.
func (w *watchdog) enter(r *Runtime) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running[r] = struct{}{}
	if !w.active {
		w.active = true
		go w.loop()
	}
}

// leave stops watching r. After leave returns the watchdog never
// interrupts r again; r.overLimit says whether it did before.
func (w *watchdog) leave(r *Runtime) {
	w.mu.Lock()
	delete(w.running, r)
	w.mu.Unlock()
}

func (w *watchdog) loop() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	samples := []metrics.Sample{{Name: metricObjects}, {Name: metricLive}}
	for range t.C {
		w.mu.Lock()
		if len(w.running) == 0 {
			w.active = false
			w.mu.Unlock()
			return
		}
		threshold := w.threshold
		// Only runtimes already running when the heap is measured can
		// have filled it: one that starts during the collection below
		// must not pay for a job that ended meanwhile.
		suspects := make([]*Runtime, 0, len(w.running))
		for r := range w.running {
			suspects = append(suspects, r)
		}
		w.mu.Unlock()

		metrics.Read(samples[:1])
		heap := value(samples[0])
		if heap < threshold {
			continue
		}
		live := w.measure(t.C, samples, heap)

		w.mu.Lock()
		if live > w.limit {
			for _, r := range suspects {
				if _, still := w.running[r]; !still {
					continue
				}
				r.overLimit.Store(true)
				r.vm.Interrupt(ErrMemoryLimit)
			}
			w.threshold = w.limit
		} else {
			w.threshold = max(w.limit, live+w.limit/2)
		}
		w.mu.Unlock()
	}
}

// measure returns the live heap: much of the heap may be garbage, and
// only a collection tells. A script may go on allocating while the
// collection runs, so the heap is watched meanwhile: if it grows by more
// than the limit before the collection ends, whatever that growth is, it
// alone passes the limit, and waiting would only let it grow more.
func (w *watchdog) measure(tick <-chan time.Time, samples []metrics.Sample, start uint64) uint64 {
	collected := make(chan struct{})
	go func() {
		runtime.GC()
		close(collected)
	}()
	for {
		select {
		case <-collected:
			metrics.Read(samples[1:])
			return value(samples[1])
		case <-tick:
		}
		metrics.Read(samples[:1])
		if heap := value(samples[0]); heap > start+w.limit {
			return heap - start
		}
	}
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}
