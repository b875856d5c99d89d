package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Top-level buckets. Keys that start with tkey (big-endian nanoseconds) sort
// by time; ids sort by creation, so prefix and range scans replace full
// scans everywhere a hot path needs one.
var (
	bEvents  = []byte("events")  // event id → encoded event
	bEvTime  = []byte("evtime")  // tkey(stored at, event id) → nil
	bEvJobs  = []byte("evjobs")  // event id + job id → nil
	bJobs    = []byte("jobs")    // job id → encoded job (jobcodec.go)
	bDueL    = []byte("duel")    // listener bucket: tkey(run at, job id) → nil (pending jobs)
	bLease   = []byte("lease")   // tkey(lease until, job id) → startedMark once the attempt began, else nil (running jobs)
	bDone    = []byte("done")    // tkey(finished at, job id) → nil (done jobs)
	bState   = []byte("state")   // "failed" bucket: job id → nil (the other states have an index above)
	bCounts  = []byte("counts")  // counter key → big-endian uint64
	bDedupe  = []byte("dedupe")  // sha256(source, delivery id) → be(seen nanos) + event id
	bDedupeT = []byte("dedupet") // tkey(seen, dedupe key) → nil
	bKV      = []byte("kv")      // namespace bucket: key → be(expiry nanos, 0 = none) + value
	bKVExp   = []byte("kvexp")   // tkey(expiry, uvarint len(ns) + ns + key) → nil
	bMeta    = []byte("meta")    // "ping" → last ping time
	bOrder   = []byte("order")   // orderPrefix(listener, key) + job id → nil: ordered jobs pending
	bOrderS  = []byte("orders")  // orderPrefix(listener, key) → uvarint(running) + id of the job holding the key's due entry
	bPaused  = []byte("paused")  // listener → be(paused at nanos)
	bHist    = []byte("hist")    // tkey(minute, series) → encoded engine.Sample (history.go)
	bAudit   = []byte("audit")   // tkey(at, be(seq)) → JSON engine.AuditEntry

	allBuckets = [][]byte{bEvents, bEvTime, bEvJobs, bJobs, bDueL, bLease, bDone,
		bState, bCounts, bDedupe, bDedupeT, bKV, bKVExp, bMeta, bOrder, bOrderS, bPaused, bHist, bAudit}

	// Indexes earlier versions kept and Open drops: a global due index
	// (the per-listener ones hold the same keys) and a job-id set per
	// state besides failed (the due, lease and done indexes hold them).
	// Every bucket a commit touches is at least one more page written
	// and fsync'd.
	legacyBuckets      = [][]byte{[]byte("due")}
	legacyStateBuckets = []engine.JobState{engine.JobPending, engine.JobRunning, engine.JobDone}
)

// ID prefixes. An id is the prefix plus 16 lowercase hex digits of a
// per-bucket sequence, so ids of one kind sort by creation as strings.
const (
	eventPrefix = "evt_"
	jobPrefix   = "job_"
	idLen       = 4 + 16
)

func formatID(prefix string, seq uint64) string { return fmt.Sprintf("%s%016x", prefix, seq) }

// nanos maps t to an unsigned, order-preserving key; times before 1970
// (including the zero time) all map to 0.
func nanos(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

// tkey is an 8-byte big-endian time followed by suffix.
func tkey(t time.Time, suffix string) []byte {
	k := make([]byte, 8, 8+len(suffix))
	binary.BigEndian.PutUint64(k, nanos(t))
	return append(k, suffix...)
}

// splitTkey returns the time and suffix of a tkey; the suffix is copied.
func splitTkey(k []byte) (time.Time, string) {
	if len(k) < 8 {
		return time.Time{}, ""
	}
	return fromNanos(binary.BigEndian.Uint64(k)), string(k[8:])
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// dedupeKey scopes a delivery id to its source. Hashing keeps the key short
// whatever a sender puts in its delivery-id header.
func dedupeKey(source, deliveryID string) []byte {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(deliveryID))
	return h.Sum(nil)
}

func totalKey(s engine.JobState) []byte { return []byte("t\x00" + string(s)) }

func listenerKey(listener string, s engine.JobState) []byte {
	return []byte("l\x00" + listener + "\x00" + string(s))
}

var eventsKey = []byte("events")

// eventMeta is an Event without its payload. The payload is stored after it
// verbatim, because encoding/json would compact and re-escape a RawMessage
// and the stored bytes must be exactly those received.
type eventMeta struct {
	Name       string            `json:"name"`
	Source     string            `json:"source"`
	DeliveryID string            `json:"deliveryId,omitempty"`
	ReceivedAt time.Time         `json:"receivedAt"`
	Headers    map[string]string `json:"headers,omitempty"`
	Parent     string            `json:"parent,omitempty"`
}

// encodeEvent returns uvarint(len(meta)) + meta JSON + payload. The result
// shares no memory with ev.
func encodeEvent(ev *engine.Event) ([]byte, error) {
	meta, err := json.Marshal(eventMeta{
		Name: ev.Name, Source: ev.Source, DeliveryID: ev.DeliveryID,
		ReceivedAt: ev.ReceivedAt, Headers: ev.Headers, Parent: ev.Parent,
	})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	buf := make([]byte, 0, binary.MaxVarintLen64+len(meta)+len(ev.Payload))
	buf = binary.AppendUvarint(buf, uint64(len(meta)))
	buf = append(buf, meta...)
	return append(buf, ev.Payload...), nil
}

// decodeEvent decodes a stored event; the result shares no memory with data.
func decodeEvent(id string, data []byte) (*engine.Event, error) {
	n, w := binary.Uvarint(data)
	if w <= 0 || uint64(len(data)-w) < n {
		return nil, fmt.Errorf("decode event %s: corrupt record", id)
	}
	var m eventMeta
	if err := json.Unmarshal(data[w:w+int(n)], &m); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", id, err)
	}
	payload := append([]byte(nil), data[w+int(n):]...)
	return &engine.Event{
		ID: id, Name: m.Name, Source: m.Source, DeliveryID: m.DeliveryID,
		ReceivedAt: m.ReceivedAt, Headers: m.Headers, Payload: payload, Parent: m.Parent,
	}, nil
}

// orderPrefix is the bOrder prefix of one listener's ordering key: the
// listener and the key, each length-prefixed so neither can run into the
// other. Job ids follow it and sort by creation.
func orderPrefix(listener, key string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(listener)))
	b = append(b, listener...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

// kvIndexKey names a KV entry in the expiry index.
func kvIndexKey(exp time.Time, ns, key string) []byte {
	k := tkey(exp, "")
	k = binary.AppendUvarint(k, uint64(len(ns)))
	k = append(k, ns...)
	return append(k, key...)
}

// splitKVIndexKey reverses kvIndexKey's suffix.
func splitKVIndexKey(k []byte) (ns, key string, ok bool) {
	if len(k) < 8 {
		return "", "", false
	}
	rest := k[8:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) < n {
		return "", "", false
	}
	return string(rest[w : w+int(n)]), string(rest[w+int(n):]), true
}
