package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"
)

// Options says where to send load and how much.
type Options struct {
	// URL is the full webhook URL, e.g. http://127.0.0.1:8080/webhooks/ittybit.
	URL string
	// Connections is how many requests are in flight at once, each on its
	// own keep-alive connection. Default 1.
	Connections int
	// Duration stops the load after this long (in-flight requests finish).
	Duration time.Duration
	// Requests stops the load after this many requests if > 0. At least one
	// of Duration and Requests must be set.
	Requests int
	// BodySize is the size of each JSON body in bytes. Default 1024.
	BodySize int
	// Sign returns the headers that sign body (e.g. from ingest.Sign). It is
	// called from many goroutines at once. Nil sends unsigned requests.
	Sign func(body []byte) map[string]string
	// Timeout bounds each request. Default 30s.
	Timeout time.Duration
	// Rate caps the requests started per second over all connections, for
	// a steady load the server can sustain; 0 sends each request as soon
	// as the connection's previous one is answered.
	Rate float64
}

// Result is what one Run measured. Latencies are of answered requests
// (any status), from writing the request to reading the whole answer.
type Result struct {
	Sent       int         // requests attempted
	OK         int         // answered 2xx
	Errors     int         // no answer: connection or timeout errors
	Statuses   map[int]int // answers by status code
	FirstError string      // the first transport error, if any
	Elapsed    time.Duration
	RPS        float64 // OK / Elapsed: acknowledged requests per second
	P50        time.Duration
	P99        time.Duration
	P999       time.Duration
	Max        time.Duration
}

// String is a one-line human summary.
func (r Result) String() string {
	return fmt.Sprintf("sent %d ok %d errors %d in %s: %.0f req/s, p50 %s p99 %s p999 %s max %s",
		r.Sent, r.OK, r.Errors, r.Elapsed.Round(time.Millisecond), r.RPS,
		Round(r.P50), Round(r.P99), Round(r.P999), Round(r.Max))
}

// Round shortens a latency for printing: three significant digits.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	default:
		return d.Round(100 * time.Nanosecond)
	}
}

// Run sends load as opts says until the duration or request count is
// reached or ctx ends, and reports what was acknowledged. Every request
// carries a distinct body (a unique "id" inside), so deduplication never
// drops one. Run fails only if opts are unusable; failed requests are
// counted in the Result.
func Run(ctx context.Context, opts Options) (Result, error) {
	target, err := parseURL(opts.URL)
	if err != nil {
		return Result{}, err
	}
	if opts.Duration <= 0 && opts.Requests <= 0 {
		return Result{}, errors.New("loadgen: set Duration or Requests")
	}
	opts = withDefaults(opts)
	tmpl, err := newTemplate(opts.BodySize)
	if err != nil {
		return Result{}, err
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}

	var claimed atomic.Int64
	var lim *rate.Limiter
	if opts.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(opts.Rate), opts.Connections)
	}
	workers := make([]*worker, opts.Connections)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{opts: &opts, target: target, tmpl: tmpl, statuses: map[int]int{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, &claimed, lim)
		}()
	}
	wg.Wait()
	return collect(workers, time.Since(start)), nil
}

func withDefaults(o Options) Options {
	if o.Connections < 1 {
		o.Connections = 1
	}
	if o.BodySize <= 0 {
		o.BodySize = 1024
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return o
}

type target struct {
	addr, uri string
	tls       bool
}

func parseURL(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("loadgen: parse url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return target{}, fmt.Errorf("loadgen: url %q is not http(s)://host/path", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	return target{addr: addr, uri: u.String(), tls: u.Scheme == "https"}, nil
}

// worker owns one connection and the figures of the requests it sent.
type worker struct {
	opts     *Options
	target   target
	tmpl     *template
	hist     Histogram
	statuses map[int]int
	sent     int
	errors   int
	firstErr error
}

func (w *worker) loop(ctx context.Context, claimed *atomic.Int64, lim *rate.Limiter) {
	client := &fasthttp.HostClient{
		Addr:                w.target.addr,
		IsTLS:               w.target.tls,
		MaxConns:            1,
		MaxConnWaitTimeout:  w.opts.Timeout,
		ReadTimeout:         w.opts.Timeout,
		WriteTimeout:        w.opts.Timeout,
		MaxIdleConnDuration: time.Minute,
	}
	defer client.CloseIdleConnections()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	body := make([]byte, len(w.tmpl.body))
	for ctx.Err() == nil {
		if lim != nil && lim.Wait(ctx) != nil {
			return // ctx ended while waiting for the next slot
		}
		n := claimed.Add(1)
		if w.opts.Requests > 0 && n > int64(w.opts.Requests) {
			return
		}
		w.tmpl.fill(body, uint64(n))
		req.Reset()
		req.SetRequestURI(w.target.uri)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		if w.opts.Sign != nil {
			for k, v := range w.opts.Sign(body) {
				req.Header.Set(k, v)
			}
		}
		req.SetBodyRaw(body)
		w.sent++
		t0 := time.Now()
		err := client.Do(req, resp)
		lat := time.Since(t0)
		if err != nil {
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
			continue
		}
		w.hist.Record(lat)
		w.statuses[resp.StatusCode()]++
	}
}

func collect(workers []*worker, elapsed time.Duration) Result {
	r := Result{Statuses: map[int]int{}, Elapsed: elapsed}
	var h Histogram
	for _, w := range workers {
		r.Sent += w.sent
		r.Errors += w.errors
		if r.FirstError == "" && w.firstErr != nil {
			r.FirstError = w.firstErr.Error()
		}
		for code, n := range w.statuses {
			r.Statuses[code] += n
			if code >= 200 && code < 300 {
				r.OK += n
			}
		}
		h.Merge(&w.hist)
	}
	if elapsed > 0 {
		r.RPS = float64(r.OK) / elapsed.Seconds()
	}
	r.P50, r.P99, r.P999, r.Max = h.Quantile(0.50), h.Quantile(0.99), h.Quantile(0.999), h.Max()
	return r
}

// template is a JSON body of a fixed size with a slot for a unique id:
// fill writes the request number into the slot, so building a body costs
// a copy, not an encode.
type template struct {
	body []byte
	slot int // offset of the 20-digit request number
}

const idDigits = 20

func newTemplate(size int) (*template, error) {
	run := make([]byte, 6)
	if _, err := rand.Read(run); err != nil {
		return nil, fmt.Errorf("loadgen: random run id: %w", err)
	}
	head := `{"id":"evt_bench_` + hex.EncodeToString(run) + `_`
	mid := `","object":"event","kind":"task.succeeded","created_at":` +
		strconv.FormatInt(time.Now().Unix(), 10) +
		`,"data":{"id":"task_bench","object":"task","kind":"video","status":"succeeded","pad":"`
	tail := `"}}`
	fixed := len(head) + idDigits + len(mid) + len(tail)
	pad := max(size-fixed, 0)
	b := make([]byte, 0, fixed+pad)
	b = append(b, head...)
	slot := len(b)
	b = append(b, make([]byte, idDigits)...)
	b = append(b, mid...)
	for i := range pad {
		b = append(b, 'a'+byte(i%26))
	}
	b = append(b, tail...)
	return &template{body: b, slot: slot}, nil
}

// fill copies the template into dst (len(dst) == len(t.body)) with n as
// the zero-padded request number.
func (t *template) fill(dst []byte, n uint64) {
	copy(dst, t.body)
	for i := t.slot + idDigits - 1; i >= t.slot; i-- {
		dst[i] = '0' + byte(n%10)
		n /= 10
	}
}
