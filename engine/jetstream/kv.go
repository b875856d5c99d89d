package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Listener kv data lives in its own stream, one subject per key (the last
// message is the value). A ttl is an expiry header: reads ignore expired
// values and Prune deletes them.

func (q *Queue) kvSubj(ns, key string) (string, error) {
	switch {
	case ns == "":
		return "", errors.New("kv: namespace (listener name) is empty")
	case key == "":
		return "", fmt.Errorf("kv %s: key is empty", ns)
	}
	return q.n.p + ".kv." + kvToken(ns) + "." + kvToken(key), nil
}

// KVGet returns the value and true, or false if absent or expired.
func (q *Queue) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if err := q.checkOpen(); err != nil {
		return nil, false, err
	}
	subj, err := q.kvSubj(ns, key)
	if err != nil {
		return nil, false, err
	}
	m, err := q.lastMsg(ctx, q.kvStream, subj)
	if err != nil {
		return nil, false, fmt.Errorf("kv get %s/%s: %w", ns, key, err)
	}
	if m == nil || expired(m.Header, time.Now()) {
		return nil, false, nil
	}
	if m.Data == nil {
		return []byte{}, true, nil
	}
	return m.Data, true, nil
}

func expired(h nats.Header, now time.Time) bool {
	v := h.Get(hExpires)
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && now.UnixNano() >= n
}

// KVSet stores value; ttl 0 keeps it until deleted.
func (q *Queue) KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	subj, err := q.kvSubj(ns, key)
	if err != nil {
		return err
	}
	m := nats.NewMsg(subj)
	m.Data = value
	if ttl > 0 {
		m.Header.Set(hExpires, strconv.FormatInt(time.Now().Add(ttl).UnixNano(), 10))
	}
	if _, err := q.publish(ctx, m); err != nil {
		return fmt.Errorf("kv set %s/%s: %w", ns, key, err)
	}
	return nil
}

// KVDelete removes key; absent keys are not an error.
func (q *Queue) KVDelete(ctx context.Context, ns, key string) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	subj, err := q.kvSubj(ns, key)
	if err != nil {
		return err
	}
	if err := q.purgeSubj(ctx, q.kvStream, subj); err != nil {
		return fmt.Errorf("kv delete %s/%s: %w", ns, key, err)
	}
	return nil
}
