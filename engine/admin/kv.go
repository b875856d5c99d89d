package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/switchboard/switchboard/engine"
)

// KVValue is the answer of GET /api/kv/{namespace}/{key}: a listener's
// stored value (the JSON its script set), for `switchboard run` beside a
// running server, which holds the embedded queue's file.
type KVValue struct {
	Found bool            `json:"found"`
	Value json.RawMessage `json:"value,omitempty"`
}

func (s *Server) handleKVGet(w http.ResponseWriter, r *http.Request) {
	ns, key := r.PathValue("ns"), r.PathValue("key")
	if s.opts.KV == nil {
		s.writeError(w, r, fmt.Errorf("kv %s/%s: no kv store configured: %w", ns, key, engine.ErrUnavailable))
		return
	}
	v, ok, err := s.opts.KV.KVGet(r.Context(), ns, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := KVValue{Found: ok}
	if ok && json.Valid(v) {
		out.Value = v
	} else if ok {
		// Written by something other than a script: hand it over as a string.
		out.Value, _ = json.Marshal(string(v))
	}
	writeJSON(w, http.StatusOK, out)
}

// KVGet reads a listener's kv value through the admin API. It implements
// the read half of engine.KV.
func (c *Client) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	var out KVValue
	if err := c.do(ctx, http.MethodGet, pathID("/api/kv/", ns, "/")+pathID("", key, ""), nil, &out); err != nil {
		return nil, false, err
	}
	return out.Value, out.Found, nil
}
