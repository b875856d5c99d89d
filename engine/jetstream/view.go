package jetstream

import (
	"strings"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/switchboard/switchboard/engine"
)

// view is this process's copy of the queue's index: every event (its
// headers, not its payload), every job's state, the pause flags and the
// live processes, kept current by two ordered consumers (events stream,
// headers only; state stream). Listing, counting and choosing what to
// lease read it; every change is still a compare-and-set on the servers,
// so a view that lags costs a lost race, never a wrong write.
type view struct {
	mu sync.RWMutex

	evPos, stPos uint64 // last stream sequence applied, per stream
	waiters      []waiter

	events   *btree.BTreeG[*eventEntry] // by seq
	evBySeq  map[uint64]*eventEntry
	tombs    map[uint64]time.Time // dedupe tombstones in the events stream
	jobs     map[string]*jobEntry
	all      *btree.BTreeG[*jobEntry]                     // every job not deleted, by id
	byState  map[engine.JobState]*btree.BTreeG[*jobEntry] // by id
	pending  map[string]*btree.BTreeG[*jobEntry]          // listener → by (runAt, id)
	running  map[string]*jobEntry
	order    map[string]*btree.BTreeG[*jobEntry] // listener \x00 key → pending and running, by id
	counts   map[string]map[engine.JobState]int
	paused   map[string]time.Time
	procs    map[string]engine.Process
	statRevs map[string]uint64 // subject → seq of other state records (pause, processes)
	// early holds jobs whose records arrived before their event did (the
	// two streams are read by separate consumers), by event id.
	early map[string][]*jobEntry

	onReady func() // called (under mu) when a job may have become claimable
}

type waiter struct {
	ev, st uint64
	ch     chan struct{}
}

// eventEntry is what the view keeps of one stored event.
type eventEntry struct {
	seq      uint64
	dedupe   bool // stored on its delivery's subject (dedupeToken)
	source   string
	delivery string
	at       time.Time
	jobs     []*jobEntry // in id order
}

// jobEntry is what the view keeps of one job.
type jobEntry struct {
	id, eventID, listener string
	state                 engine.JobState
	attempt, maxTries     int
	crashes               int
	runAt, leaseUntil     time.Time
	createdAt, updatedAt  time.Time
	orderKey              string
	holder                string
	started, sem          bool
	errMsg                string
	rev                   uint64  // seq of its record in the state stream; 0: none yet (as created)
	rec                   *record // the record, kept while the job is not done; never modified
	deleted               bool
	indexed               bool
}

func byID(a, b *jobEntry) bool { return a.id < b.id }

func byRunAt(a, b *jobEntry) bool {
	if !a.runAt.Equal(b.runAt) {
		return a.runAt.Before(b.runAt)
	}
	return a.id < b.id
}

func newView() *view {
	v := &view{
		events:   btree.NewG(32, func(a, b *eventEntry) bool { return a.seq < b.seq }),
		evBySeq:  map[uint64]*eventEntry{},
		tombs:    map[uint64]time.Time{},
		jobs:     map[string]*jobEntry{},
		all:      btree.NewG(32, byID),
		byState:  map[engine.JobState]*btree.BTreeG[*jobEntry]{},
		pending:  map[string]*btree.BTreeG[*jobEntry]{},
		running:  map[string]*jobEntry{},
		order:    map[string]*btree.BTreeG[*jobEntry]{},
		counts:   map[string]map[engine.JobState]int{},
		paused:   map[string]time.Time{},
		procs:    map[string]engine.Process{},
		statRevs: map[string]uint64{},
		early:    map[string][]*jobEntry{},
		onReady:  func() {},
	}
	for _, s := range []engine.JobState{engine.JobPending, engine.JobRunning, engine.JobDone, engine.JobFailed} {
		v.byState[s] = btree.NewG(32, byID)
	}
	return v
}

func orderSlot(listener, key string) string { return listener + "\x00" + key }

// index adds e to every index its state puts it in.
func (v *view) index(e *jobEntry) {
	if e.deleted || e.indexed {
		return
	}
	e.indexed = true
	v.all.ReplaceOrInsert(e)
	v.byState[e.state].ReplaceOrInsert(e)
	c := v.counts[e.listener]
	if c == nil {
		c = map[engine.JobState]int{}
		v.counts[e.listener] = c
	}
	c[e.state]++
	switch e.state {
	case engine.JobPending:
		t := v.pending[e.listener]
		if t == nil {
			t = btree.NewG(32, byRunAt)
			v.pending[e.listener] = t
		}
		t.ReplaceOrInsert(e)
	case engine.JobRunning:
		v.running[e.id] = e
	}
	if e.orderKey != "" && (e.state == engine.JobPending || e.state == engine.JobRunning) {
		slot := orderSlot(e.listener, e.orderKey)
		t := v.order[slot]
		if t == nil {
			t = btree.NewG(8, byID)
			v.order[slot] = t
		}
		t.ReplaceOrInsert(e)
	}
}

// unindex removes e from every index, with its current field values.
func (v *view) unindex(e *jobEntry) {
	if !e.indexed {
		return
	}
	e.indexed = false
	v.all.Delete(e)
	v.byState[e.state].Delete(e)
	if c := v.counts[e.listener]; c != nil {
		if c[e.state]--; c[e.state] <= 0 {
			delete(c, e.state)
		}
		if len(c) == 0 {
			delete(v.counts, e.listener)
		}
	}
	switch e.state {
	case engine.JobPending:
		if t := v.pending[e.listener]; t != nil {
			t.Delete(e)
			if t.Len() == 0 {
				delete(v.pending, e.listener)
			}
		}
	case engine.JobRunning:
		delete(v.running, e.id)
	}
	if e.orderKey != "" {
		slot := orderSlot(e.listener, e.orderKey)
		if t := v.order[slot]; t != nil {
			t.Delete(e)
			if t.Len() == 0 {
				delete(v.order, slot)
			}
		}
	}
}

// addSpecs adds the jobs a creating message (event or replay at seq)
// carries, unless their records arrived first.
func (v *view) addSpecs(seq uint64, ev *eventEntry, eventID string, at time.Time, specs []jobSpec) {
	for i, s := range specs {
		id := jobID(seq, i)
		e := v.jobs[id]
		if e == nil {
			runAt := at
			if s.RunAt != 0 {
				runAt = time.Unix(0, s.RunAt)
			}
			e = &jobEntry{
				id: id, eventID: eventID, listener: s.Listener, state: engine.JobPending,
				maxTries: s.MaxTries, runAt: runAt, createdAt: at, updatedAt: at, orderKey: s.OrderKey,
			}
			v.jobs[id] = e
			v.index(e)
			v.onReady()
		}
		if ev != nil {
			ev.jobs = insertByID(ev.jobs, e)
		}
	}
}

// applyRecord makes e (created if absent) what rec at seq says, unless
// the view already holds a later revision.
func (v *view) applyRecord(id string, seq uint64, rec *record) *jobEntry {
	e := v.jobs[id]
	if e != nil && e.rev >= seq {
		return e
	}
	if e == nil {
		e = &jobEntry{id: id}
		v.jobs[id] = e
		v.attach(e, rec.EventID)
	}
	wasRunning := e.indexed && e.state == engine.JobRunning
	v.unindex(e)
	j := &rec.Job
	e.eventID, e.listener, e.state = j.EventID, j.Listener, j.State
	e.attempt, e.maxTries, e.crashes = j.Attempt, j.MaxTries, j.Crashes
	e.runAt, e.leaseUntil, e.createdAt, e.updatedAt = j.RunAt, j.LeaseUntil, j.CreatedAt, j.UpdatedAt
	e.orderKey, e.holder, e.started, e.sem, e.deleted = j.OrderKey, rec.Holder, rec.Started, rec.Sem, rec.Deleted
	e.errMsg = ""
	if j.LastError != nil {
		e.errMsg = strings.ToLower(j.LastError.Message)
	}
	e.rev = seq
	e.rec = nil
	if e.state != engine.JobDone && !e.deleted {
		e.rec = rec
	}
	v.index(e)
	if e.state == engine.JobPending || wasRunning {
		v.onReady()
	}
	return e
}

// attach links a job that arrived by its record to its event, if the
// view has that event.
func (v *view) attach(e *jobEntry, evID string) {
	seq, ok := parseEventID(evID)
	if !ok {
		return
	}
	if ev := v.evBySeq[seq]; ev != nil {
		ev.jobs = insertByID(ev.jobs, e)
	} else if seq > v.evPos {
		v.early[evID] = append(v.early[evID], e)
	}
}

func insertByID(list []*jobEntry, e *jobEntry) []*jobEntry {
	for _, x := range list {
		if x == e {
			return list
		}
	}
	i := len(list)
	for i > 0 && list[i-1].id > e.id {
		i--
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = e
	return list
}

// addEvent records an event message.
func (v *view) addEvent(seq uint64, dedupe bool, source, delivery string, at time.Time, specs []jobSpec) {
	if v.evBySeq[seq] != nil {
		return
	}
	ev := &eventEntry{seq: seq, dedupe: dedupe, source: source, delivery: delivery, at: at}
	v.evBySeq[seq] = ev
	v.events.ReplaceOrInsert(ev)
	id := eventID(seq)
	for _, e := range v.early[id] {
		ev.jobs = insertByID(ev.jobs, e)
	}
	delete(v.early, id)
	v.addSpecs(seq, ev, id, at, specs)
}

// addReplay records a replay message: jobs added to an existing event.
func (v *view) addReplay(seq uint64, evID string, at time.Time, specs []jobSpec) {
	var ev *eventEntry
	if s, ok := parseEventID(evID); ok {
		ev = v.evBySeq[s]
	}
	v.addSpecs(seq, ev, evID, at, specs)
}

// dropEvent forgets an event and its jobs (pruned).
func (v *view) dropEvent(ev *eventEntry) {
	for _, e := range ev.jobs {
		v.unindex(e)
		delete(v.jobs, e.id)
	}
	v.events.Delete(ev)
	delete(v.evBySeq, ev.seq)
}

// advance records applied positions and wakes barriers they satisfy.
func (v *view) advance(ev, st uint64) {
	if ev > v.evPos {
		v.evPos = ev
	}
	if st > v.stPos {
		v.stPos = st
	}
	if len(v.waiters) == 0 {
		return
	}
	kept := v.waiters[:0]
	for _, w := range v.waiters {
		if v.evPos >= w.ev && v.stPos >= w.st {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	v.waiters = kept
}

// waitFor returns a channel closed once the view has applied the events
// stream up to ev and the state stream up to st.
func (v *view) waitFor(ev, st uint64) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := make(chan struct{})
	if v.evPos >= ev && v.stPos >= st {
		close(ch)
		return ch
	}
	v.waiters = append(v.waiters, waiter{ev: ev, st: st, ch: ch})
	return ch
}

// alive reports whether process id has sent a heartbeat within timeout.
func (v *view) alive(id string, now time.Time, timeout time.Duration) bool {
	p, ok := v.procs[id]
	return ok && now.Sub(p.Seen) < timeout
}

// known reports whether the view has a heartbeat record of process id
// (alive or not).
func (v *view) known(id string) bool {
	_, ok := v.procs[id]
	return ok
}
