package jetstream

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/engine"
)

// feed is one ordered consumer keeping the view current.
type feed struct {
	cc     jetstream.ConsumeContext
	loaded chan struct{} // closed once the stream's content at start is applied
	once   sync.Once
}

func (f *feed) markLoaded() { f.once.Do(func() { close(f.loaded) }) }

// startFeeds starts the view's consumers and waits until both have applied
// what their streams held at start.
func (q *Queue) startFeeds(ctx context.Context) error {
	evFeed, err := q.startFeed(ctx, q.evStream, true, q.onEventMsg)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	q.feeds = append(q.feeds, evFeed)
	stFeed, err := q.startFeed(ctx, q.stStream, false, q.onStateMsg)
	if err != nil {
		return fmt.Errorf("read jobs: %w", err)
	}
	q.feeds = append(q.feeds, stFeed)
	for _, f := range q.feeds {
		select {
		case <-f.loaded:
		case <-ctx.Done():
			return fmt.Errorf("load the queue index: %w", unavailable(ctx.Err()))
		}
	}
	return nil
}

func (q *Queue) startFeed(ctx context.Context, s jetstream.Stream, headersOnly bool, apply func(jetstream.Msg, *jetstream.MsgMetadata)) (*feed, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	f := &feed{loaded: make(chan struct{})}
	if info.State.Msgs == 0 {
		f.markLoaded()
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{HeadersOnly: headersOnly})
	if err != nil {
		return nil, unavailable(err)
	}
	f.cc, err = c.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		apply(m, meta)
		if meta.NumPending == 0 {
			f.markLoaded()
		}
	},
		// Short pulls with frequent heartbeats: a consumer lost with its
		// stream's leader is noticed (and recreated) within seconds, not
		// the default 30 s, so the view does not stall after a failover.
		jetstream.PullMaxMessages(1024), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			q.log.Debug("queue index feed", "stream", info.Config.Name, "err", err)
		}))
	if err != nil {
		return nil, unavailable(err)
	}
	return f, nil
}

// onEventMsg applies one message of the events stream (headers only).
func (q *Queue) onEventMsg(m jetstream.Msg, meta *jetstream.MsgMetadata) {
	seq := meta.Sequence.Stream
	subj := m.Subject()
	h := m.Headers()
	v := q.view
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.advance(seq, 0)
	rest, ok := strings.CutPrefix(subj, q.n.p+".")
	if !ok {
		return
	}
	kind, _, _ := strings.Cut(rest, ".")
	at := headerTime(h, hCreated)
	switch {
	case kind == "ev" && h.Get(hKind) == "tomb":
		v.tombs[seq] = at
	case kind == "ev":
		specs, err := decodeSpecs(h)
		if err != nil {
			q.log.Error("skip unreadable event", "seq", seq, "err", err)
		}
		v.addEvent(seq, strings.HasPrefix(rest, "ev.d"), h.Get(hSource), h.Get(hDelivery), at, specs)
	case kind == "rp":
		specs, err := decodeSpecs(h)
		if err != nil {
			q.log.Error("skip unreadable replay", "seq", seq, "err", err)
		}
		v.addReplay(seq, h.Get(hEvent), at, specs)
	}
}

// onStateMsg applies one message of the state stream.
func (q *Queue) onStateMsg(m jetstream.Msg, meta *jetstream.MsgMetadata) {
	seq := meta.Sequence.Stream
	subj := m.Subject()
	data := m.Data()
	v := q.view
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.advance(0, seq)
	rest, ok := strings.CutPrefix(subj, q.n.p+".")
	if !ok {
		return
	}
	kind, name, _ := strings.Cut(rest, ".")
	switch kind {
	case "job":
		if e := v.jobs[name]; e != nil && e.rev >= seq {
			return // this process's own write, applied when it was acknowledged
		}
		rec, err := decodeRecord(data)
		if err != nil {
			q.log.Error("skip unreadable job record", "job", name, "err", err)
			return
		}
		v.applyRecord(name, seq, rec)
	case "st":
		if what, l, ok := strings.Cut(name, "."); ok && what == "pause" {
			v.applyPause(l, seq, data)
		}
	case "proc":
		v.applyProc(name, seq, data)
	}
}

func (v *view) applyPause(hexL string, seq uint64, data []byte) {
	key := "pause." + hexL
	if v.statRevs[key] >= seq {
		return
	}
	v.statRevs[key] = seq
	b, err := hex.DecodeString(hexL)
	if err != nil {
		return
	}
	l := string(b)
	var p pauseRec
	if len(data) == 0 || json.Unmarshal(data, &p) != nil || !p.Paused {
		if _, was := v.paused[l]; was {
			delete(v.paused, l)
			v.onReady()
		}
		return
	}
	v.paused[l] = p.Since
}

func (v *view) applyProc(id string, seq uint64, data []byte) {
	key := "proc." + id
	if v.statRevs[key] >= seq {
		return
	}
	v.statRevs[key] = seq
	var p engine.Process
	if len(data) == 0 || json.Unmarshal(data, &p) != nil {
		delete(v.procs, id)
		return
	}
	v.procs[id] = p
}

// pauseRec is the record of a listener's pause flag.
type pauseRec struct {
	Paused bool      `json:"paused"`
	Since  time.Time `json:"since"`
}
