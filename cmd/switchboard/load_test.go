package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/engine/ingest"
)

// spreadLoad posts distinct signed webhooks round-robin to several
// processes and remembers which were acknowledged.
type spreadLoad struct {
	urls   []string
	src    ingest.Source
	client *http.Client
	limit  *rate.Limiter
	body   func(n int64) []byte

	seq      atomic.Int64
	mu       sync.Mutex
	acked    map[string]bool
	connErrs int
	other    map[int]int
	slowest  time.Duration
}

func newSpreadLoad(procs []*child, perSecond float64, body func(int64) []byte) *spreadLoad {
	var urls []string
	for _, p := range procs {
		urls = append(urls, p.publicURL()+"/webhooks/ittybit")
	}
	return &spreadLoad{
		urls: urls, src: ingestSource(procs[0].cfg.Sources[0]), body: body,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{Timeout: time.Second}).DialContext, MaxIdleConnsPerHost: 8,
		}},
		limit: rate.NewLimiter(rate.Limit(perSecond), 8),
		acked: map[string]bool{}, other: map[int]int{},
	}
}

func (l *spreadLoad) run(ctx context.Context, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.limit.Wait(ctx) == nil {
				l.postOne(ctx)
			}
		}()
	}
	return &wg
}

func (l *spreadLoad) postOne(ctx context.Context) {
	n := l.seq.Add(1)
	body := l.body(n)
	headers, err := ingest.Sign(l.src, body, time.Now())
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.urls[int(n)%len(l.urls)], bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	began := time.Now()
	resp, err := l.client.Do(req)
	took := time.Since(began)
	if err != nil {
		if ctx.Err() == nil {
			l.mu.Lock()
			l.connErrs++
			l.mu.Unlock()
		}
		return
	}
	defer resp.Body.Close()
	var out struct{ Status, Event string }
	decodeErr := json.NewDecoder(resp.Body).Decode(&out)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slowest = max(l.slowest, took)
	switch {
	case resp.StatusCode == http.StatusOK && decodeErr == nil && out.Event != "":
		l.acked[out.Event] = true
	case resp.StatusCode == http.StatusOK:
		l.connErrs++ // cut off by a kill: not seen as acknowledged
	default:
		l.other[resp.StatusCode]++
	}
}

func crashBody(n int64) []byte {
	return fmt.Appendf(nil, `{"id":"task_load_%d","object":"task","status":"completed","n":%d}`, n, n)
}
