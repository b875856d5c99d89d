package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/engine"
)

// errConflict is a compare-and-set write that lost: the subject's last
// message was not the one expected.
var errConflict = errors.New("write conflict")

// Message headers switchboard sets.
const (
	hKind     = "Sb-Kind"     // "ev" event, "rp" replay, "tomb" pruned event's dedupe tombstone
	hSource   = "Sb-Source"   // event source
	hDelivery = "Sb-Delivery" // event delivery id
	hAt       = "Sb-At"       // event: when it was received (RFC 3339 nanos)
	hCreated  = "Sb-Created"  // when the event or replay was stored: its jobs' creation time
	hName     = "Sb-Name"     // event name
	hParent   = "Sb-Parent"   // id of the event whose listener emitted this one
	hHeaders  = "Sb-Headers"  // event headers, JSON
	hJobs     = "Sb-Jobs"     // JSON []jobSpec
	hEvent    = "Sb-Event"    // replay: the event id it adds jobs to
	hExpires  = "Sb-Expires"  // kv: expiry, unix nanos
)

// streamConfigs lists the streams the queue needs for o.
func streamConfigs(o Options, n names) []jetstream.StreamConfig {
	r := o.Replicas
	return []jetstream.StreamConfig{{
		Name:        n.events,
		Description: "switchboard events and replays",
		Subjects:    []string{n.p + ".ev.*", n.p + ".rp.*", n.p + ".esync.*"},
		Retention:   jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgsPerSubject: -1, MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardNew,
		Duplicates: 2 * time.Minute, AllowRollup: true,
	}, {
		Name:        n.state,
		Description: "switchboard jobs, limits, pauses and processes",
		Subjects:    []string{n.p + ".job.*", n.p + ".st.>", n.p + ".proc.*", n.p + ".sync.*"},
		Retention:   jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgsPerSubject: 1, MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardNew,
	}, {
		Name:        n.kv,
		Description: "switchboard listener key/value data",
		Subjects:    []string{n.p + ".kv.*.*"},
		Retention:   jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgsPerSubject: 1, MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardNew,
	}, {
		Name:        n.hist,
		Description: "switchboard per-minute history",
		Subjects:    []string{n.p + ".hist.*"},
		Retention:   jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgsPerSubject: 1, MaxMsgs: -1, MaxBytes: -1, MaxAge: o.HistoryRetention,
	}, {
		Name:        n.audit,
		Description: "switchboard operator audit log",
		Subjects:    []string{n.auditSubj()},
		Retention:   jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgs: -1, MaxBytes: -1, MaxAge: o.HistoryRetention,
	}}
}

// ensureStreams creates the streams, or updates those whose settings
// differ from cfgs (a new replica count or retention on upgrade). Many
// processes may run it at once: a create that loses the race reads the
// winner's stream.
// reconnect, called when the server keeps not answering, moves the
// connection to another server of the pool.
func ensureStreams(ctx context.Context, js jetstream.JetStream, cfgs []jetstream.StreamConfig, reconnect func()) (map[string]jetstream.Stream, error) {
	out := make(map[string]jetstream.Stream, len(cfgs))
	for _, cfg := range cfgs {
		s, err := ensureStream(ctx, js, cfg, reconnect)
		var api *jetstream.APIError
		if errors.As(err, &api) && api.ErrorCode == 10074 {
			return nil, fmt.Errorf("create stream %s with %d replicas: %w (a single server takes replicas = 1)",
				cfg.Name, cfg.Replicas, err)
		}
		if noPeers(err) {
			return nil, fmt.Errorf("create stream %s with %d replicas: %w (fewer than %d JetStream servers are up and known to the cluster)",
				cfg.Name, cfg.Replicas, err, cfg.Replicas)
		}
		if err != nil {
			return nil, fmt.Errorf("create or update stream %s: %w", cfg.Name, unavailable(err))
		}
		out[cfg.Name] = s
	}
	return out, nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, reconnect func()) (jetstream.Stream, error) {
	unanswered := 0
	for try := 0; ; try++ {
		s, err := ensureStreamOnce(ctx, js, cfg)
		// Another process may have created the stream first: look again.
		// A cluster that has just formed may not know all its peers yet.
		again := notReady(err) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse)
		if err == nil || !(again || (try < 4 && storeRace(err)) || (try < 100 && noPeers(err))) {
			return s, err
		}
		// A server that keeps not answering (one that has just rejoined
		// its cluster, say) is left for another one.
		if !notReady(err) {
			unanswered = 0
		} else if unanswered++; unanswered%3 == 0 && reconnect != nil {
			reconnect()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (the servers were not ready: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ensureStreamOnce(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, cfg.Name)
	switch {
	case err == nil && sameSettings(s.CachedInfo().Config, cfg):
		return s, nil
	case err == nil:
		return js.UpdateStream(ctx, cfg)
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, err
	}
	return js.CreateStream(ctx, cfg)
}

// waitLeaders waits until every stream has a leader: one just created in
// a cluster elects it first, and until then its writes get no response.
func waitLeaders(ctx context.Context, streams map[string]jetstream.Stream) error {
	for name, s := range streams {
		err := retryNotReady(ctx, func(ctx context.Context) error {
			info, err := s.Info(ctx)
			if err == nil && info.Cluster != nil && info.Cluster.Leader == "" {
				return jetstream.ErrNoStreamResponse // no leader yet: ask again
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("wait for stream %s to elect a leader: %w", name, unavailable(err))
		}
	}
	return nil
}

// retryNotReady runs fn until it succeeds, fails in a way notReady does
// not excuse, or ctx ends.
func retryNotReady(ctx context.Context, fn func(context.Context) error) error {
	for {
		err := fn(ctx)
		if err == nil || !notReady(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (the servers were not ready: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// notReady reports an answer that servers still forming a cluster give
// (no JetStream leader yet, no responders, a request that timed out):
// asking again shortly works, unlike a refusal of the settings.
func notReady(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == 10008 // JetStream system temporarily unavailable
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, context.DeadlineExceeded)
}

// noPeers reports a stream the cluster cannot place: fewer servers than
// the replica count are up, or a cluster that has just elected its
// leader has not yet heard from all of them (seen in tests, for about a
// second). It is worth waiting for a while, not for ever.
func noPeers(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == 10005
}

// storeRace reports a create that failed because the server was removing
// the account's stream directory as the last other stream was deleted
// (seen on 2.9: "error creating store for stream"); trying again works.
func storeRace(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == 10049
}

// sameSettings compares the settings the queue chooses.
func sameSettings(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Replicas == want.Replicas &&
		have.MaxAge == want.MaxAge && have.MaxMsgsPerSubject == want.MaxMsgsPerSubject &&
		have.AllowRollup == want.AllowRollup && have.Description == want.Description &&
		(want.Duplicates == 0 || have.Duplicates == want.Duplicates)
}

// unavailable wraps errors that mean the servers cannot answer now
// (timeouts, lost connections, no stream leader) with ErrUnavailable.
func unavailable(err error) error {
	if err == nil || errors.Is(err, engine.ErrUnavailable) {
		return err
	}
	var api *jetstream.APIError
	if errors.As(err, &api) && api.Code != 503 && api.Code != 408 {
		return err
	}
	switch {
	case errors.Is(err, errConflict), errors.Is(err, engine.ErrNotFound):
		return err
	}
	return fmt.Errorf("%w: %w", engine.ErrUnavailable, err)
}

// isWrongLastSeq reports a compare-and-set conflict (10071, or 10164 on
// replicated streams of newer servers).
func isWrongLastSeq(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// casMsg builds a message whose write succeeds only if subj's last
// message is last (0: none).
func casMsg(subj string, data []byte, last uint64) *nats.Msg {
	m := nats.NewMsg(subj)
	m.Data = data
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fmt.Sprint(last))
	return m
}

// publish writes m and waits for JetStream's acknowledgement. A lost
// compare-and-set is errConflict; anything the servers could not answer
// wraps ErrUnavailable.
func (q *Queue) publish(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	ack, err := q.js.PublishMsg(ctx, m, jetstream.WithRetryAttempts(0))
	if err != nil {
		if isWrongLastSeq(err) {
			return nil, errConflict
		}
		return nil, unavailable(err)
	}
	return ack, nil
}

// publishAll writes msgs concurrently (pipelined on the connection) and
// returns one ack or error per message, in order.
func (q *Queue) publishAll(ctx context.Context, msgs []*nats.Msg) ([]*jetstream.PubAck, []error) {
	acks := make([]*jetstream.PubAck, len(msgs))
	errs := make([]error, len(msgs))
	if len(msgs) == 1 {
		acks[0], errs[0] = q.publish(ctx, msgs[0])
		return acks, errs
	}
	futs := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		futs[i], errs[i] = q.js.PublishMsgAsync(m, jetstream.WithRetryAttempts(0))
		if errs[i] != nil {
			errs[i] = unavailable(errs[i])
		}
	}
	timer := time.NewTimer(q.opts.Timeout)
	defer timer.Stop()
	for i, f := range futs {
		if f == nil {
			continue
		}
		select {
		case acks[i] = <-f.Ok():
		case err := <-f.Err():
			if isWrongLastSeq(err) {
				errs[i] = errConflict
			} else {
				errs[i] = unavailable(err)
			}
		case <-timer.C:
			errs[i] = fmt.Errorf("%w: no acknowledgement within %s", engine.ErrUnavailable, q.opts.Timeout)
		case <-ctx.Done():
			errs[i] = unavailable(ctx.Err())
		}
	}
	return acks, errs
}

// lastMsg returns the last message on subj in stream s, or nil if none.
func (q *Queue) lastMsg(ctx context.Context, s jetstream.Stream, subj string) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	m, err := s.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return m, nil
}

// msgAt returns the message at seq in stream s, or nil if there is none.
func (q *Queue) msgAt(ctx context.Context, s jetstream.Stream, seq uint64) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return m, nil
}

// deleteSeq removes the message at seq of stream s; one already gone is
// not an error.
func (q *Queue) deleteSeq(ctx context.Context, s jetstream.Stream, seq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	err := s.DeleteMsg(ctx, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		var api *jetstream.APIError
		if errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil
		}
		return unavailable(err)
	}
	return nil
}

// purgeSubj removes every message on subj of stream s.
func (q *Queue) purgeSubj(ctx context.Context, s jetstream.Stream, subj string) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteStreams deletes the streams a queue under prefix created on the
// server at url, and all they hold (for throwaway prefixes: benchmarks,
// tests). Streams already gone are not an error.
func DeleteStreams(ctx context.Context, url, prefix string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("delete streams of %s: %w", prefix, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("delete streams of %s: %w", prefix, err)
	}
	n := namesFor(prefix)
	var errs []error
	for _, s := range []string{n.events, n.state, n.kv, n.hist, n.audit} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete stream %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}
