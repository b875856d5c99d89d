package admin

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// HistoryReport is the answer of GET /api/history?range=1h|24h: the
// queue's stored per-minute history (every process's), in Step-second
// buckets starting at Times, per listener and per webhook source and
// answer code. Durations are milliseconds; a bucket with no attempt has 0
// quantiles.
type HistoryReport struct {
	Range    string           `json:"range"`
	Step     int              `json:"step"`
	Times    []time.Time      `json:"times"`
	Jobs     []JobHistory     `json:"jobs"`
	Webhooks []WebhookHistory `json:"webhooks"`
}

// JobHistory is one listener's attempts per bucket, and the last five
// minutes in Recent.
type JobHistory struct {
	Listener   string    `json:"listener"`
	Count      []uint64  `json:"count"`
	Failed     []uint64  `json:"failed"`
	RuntimeP50 []float64 `json:"runtimeP50"`
	RuntimeP95 []float64 `json:"runtimeP95"`
	WaitP50    []float64 `json:"waitP50"`
	WaitP95    []float64 `json:"waitP95"`
	Recent     Figures   `json:"recent"`
}

// Figures sum up a stretch of history.
type Figures struct {
	Minutes         int     `json:"minutes"`
	Count           uint64  `json:"count"`
	Failed          uint64  `json:"failed"`
	PerMinute       float64 `json:"perMinute"`
	FailedPerMinute float64 `json:"failedPerMinute"`
	RuntimeP50      float64 `json:"runtimeP50"`
	RuntimeP95      float64 `json:"runtimeP95"`
	WaitP50         float64 `json:"waitP50"`
	WaitP95         float64 `json:"waitP95"`
}

// WebhookHistory is one source's answers with one status code.
type WebhookHistory struct {
	Source string   `json:"source"`
	Code   int      `json:"code"`
	Total  uint64   `json:"total"`
	Count  []uint64 `json:"count"`
}

// chartRange is a range the console draws and its bucket size.
type chartRange struct{ span, step time.Duration }

var chartRanges = map[string]chartRange{"1h": {time.Hour, time.Minute}, "24h": {24 * time.Hour, 10 * time.Minute}}

const (
	recentMinutes = 5
	// settle is how long after its end a bucket is taken as final: every
	// process flushes its samples within seconds (history.Options.Every).
	settle = 2 * time.Minute
)

// chartCache keeps the merged samples of settled buckets, so a refresh
// reads only the newest minutes from the queue.
type chartCache struct {
	mu      sync.Mutex
	buckets map[chartKey]map[string]engine.Sample // series → merged sample
}

type chartKey struct {
	step  time.Duration
	start int64
}

func newChartCache() *chartCache {
	return &chartCache{buckets: map[chartKey]map[string]engine.Sample{}}
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	rng := r.URL.Query().Get("range")
	if rng == "" {
		rng = "1h"
	}
	cr, ok := chartRanges[rng]
	if !ok {
		s.writeError(w, r, invalid("range: %q is not 1h or 24h", rng))
		return
	}
	rep, err := s.history(r.Context(), rng, cr, time.Now().UTC())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// warmCharts reads the last day's history into the chart cache, so the
// first 24 h chart after a start need not decode a day of samples while
// an operator waits.
func (s *Server) warmCharts(ctx context.Context) {
	if _, err := s.history(ctx, "24h", chartRanges["24h"], time.Now().UTC()); err != nil && ctx.Err() == nil {
		s.log.Warn("warm the console's charts", "err", err)
	}
}

// history builds the report of range rng ending at now.
func (s *Server) history(ctx context.Context, rng string, cr chartRange, now time.Time) (HistoryReport, error) {
	step, n := cr.step, int(cr.span/cr.step)
	first := now.Truncate(step).Add(-time.Duration(n-1) * step)
	buckets, recent, err := s.charts.load(ctx, s.opts.Store, s.pending, step, first, n, now)
	if err != nil {
		return HistoryReport{}, err
	}
	rep := HistoryReport{Range: rng, Step: int(step / time.Second), Jobs: []JobHistory{}, Webhooks: []WebhookHistory{}}
	jobs := map[string]*JobHistory{}
	hooks := map[string]*WebhookHistory{}
	for i, b := range buckets {
		rep.Times = append(rep.Times, first.Add(time.Duration(i)*step))
		for series, smp := range b {
			if l, ok := engine.SeriesListener(series); ok {
				jh := jobs[l]
				if jh == nil {
					jh = newJobHistory(l, n)
					jobs[l] = jh
				}
				jh.set(i, smp)
			} else if src, code, ok := webhookSeries(series); ok {
				wh := hooks[series]
				if wh == nil {
					wh = &WebhookHistory{Source: src, Code: code, Count: make([]uint64, n)}
					hooks[series] = wh
				}
				wh.Count[i] = smp.Count
				wh.Total += smp.Count
			}
		}
	}
	for l, fig := range recent {
		if jobs[l] == nil {
			jobs[l] = newJobHistory(l, n)
		}
		jobs[l].Recent = fig
	}
	for _, l := range slices.Sorted(maps.Keys(jobs)) {
		rep.Jobs = append(rep.Jobs, *jobs[l])
	}
	for _, k := range slices.Sorted(maps.Keys(hooks)) {
		rep.Webhooks = append(rep.Webhooks, *hooks[k])
	}
	return rep, nil
}

func newJobHistory(l string, n int) *JobHistory {
	return &JobHistory{Listener: l, Count: make([]uint64, n), Failed: make([]uint64, n),
		RuntimeP50: make([]float64, n), RuntimeP95: make([]float64, n), WaitP50: make([]float64, n), WaitP95: make([]float64, n)}
}

func (jh *JobHistory) set(i int, s engine.Sample) {
	jh.Count[i], jh.Failed[i] = s.Count, s.Failed
	jh.RuntimeP50[i], jh.RuntimeP95[i] = ms(s.Runtime.Quantile(.5)), ms(s.Runtime.Quantile(.95))
	jh.WaitP50[i], jh.WaitP95[i] = ms(s.Wait.Quantile(.5)), ms(s.Wait.Quantile(.95))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// webhookSeries splits "webhook:<source>:<code>".
func webhookSeries(series string) (string, int, bool) {
	rest, ok := strings.CutPrefix(series, "webhook:")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 {
		return "", 0, false
	}
	code, err := strconv.Atoi(rest[i+1:])
	return rest[:i], code, err == nil
}

// pending returns this process's samples not flushed yet.
func (s *Server) pending() []engine.Sample { return s.opts.History.Pending() }

// load returns n buckets of step from first: cached where settled, read
// from the queue (plus samples not flushed yet) otherwise; and each
// listener's figures over the last recentMinutes.
func (c *chartCache) load(ctx context.Context, st Store, pending func() []engine.Sample,
	step time.Duration, first time.Time, n int, now time.Time) ([]map[string]engine.Sample, map[string]Figures, error) {
	out := make([]map[string]engine.Sample, n)
	recentFrom := now.Truncate(time.Minute).Add(-(recentMinutes - 1) * time.Minute)
	fetchFrom := recentFrom
	c.mu.Lock()
	for i := range out {
		start := first.Add(time.Duration(i) * step)
		if b, ok := c.buckets[chartKey{step, start.Unix()}]; ok {
			out[i] = b
		} else if start.Before(fetchFrom) {
			fetchFrom = start
		}
	}
	c.mu.Unlock()
	samples, err := readSamples(ctx, st, fetchFrom, now.Add(time.Minute))
	if err != nil {
		return nil, nil, err
	}
	samples = append(samples, pending()...)
	fresh := make([]map[string]engine.Sample, n)
	recent := map[string]*engine.Sample{}
	for _, smp := range samples {
		if smp.Minute.Before(fetchFrom) {
			continue
		}
		if i := int(smp.Minute.Sub(first) / step); i >= 0 && i < n && out[i] == nil {
			if fresh[i] == nil {
				fresh[i] = map[string]engine.Sample{}
			}
			merged := fresh[i][smp.Series]
			merged.Series = smp.Series
			merged.Add(smp)
			fresh[i][smp.Series] = merged
		}
		if l, ok := engine.SeriesListener(smp.Series); ok && !smp.Minute.Before(recentFrom) {
			if recent[l] == nil {
				recent[l] = &engine.Sample{Series: smp.Series}
			}
			recent[l].Add(smp)
		}
	}
	c.store(step, first, now, out, fresh)
	figs := make(map[string]Figures, len(recent))
	for l, smp := range recent {
		figs[l] = figures(*smp, recentMinutes)
	}
	return out, figs, nil
}

// readSamples reads [from, to) from the queue; a long range (a cold 24 h
// chart) in parallel slices, since decoding the samples is what it costs.
func readSamples(ctx context.Context, st Store, from, to time.Time) ([]engine.Sample, error) {
	const parallel = 4
	if to.Sub(from) < 4*time.Hour {
		s, err := st.Samples(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		return s, nil
	}
	part := to.Sub(from).Truncate(time.Minute)/parallel + time.Minute
	parts := make([][]engine.Sample, parallel)
	errs := make([]error, parallel)
	var wg sync.WaitGroup
	for i := range parallel {
		a, b := from.Add(time.Duration(i)*part), from.Add(time.Duration(i+1)*part)
		if !a.Before(to) {
			break
		}
		if b.After(to) {
			b = to
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], errs[i] = st.Samples(ctx, a, b)
		}()
	}
	wg.Wait()
	var out []engine.Sample
	for i := range parts {
		if errs[i] != nil {
			return nil, fmt.Errorf("read history: %w", errs[i])
		}
		out = append(out, parts[i]...)
	}
	return out, nil
}

// store fills out's gaps from fresh and caches the settled buckets.
func (c *chartCache) store(step time.Duration, first, now time.Time, out, fresh []map[string]engine.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range out {
		if out[i] != nil {
			continue
		}
		b := fresh[i]
		if b == nil {
			b = map[string]engine.Sample{}
		}
		out[i] = b
		start := first.Add(time.Duration(i) * step)
		if !start.Add(step + settle).After(now) {
			c.buckets[chartKey{step, start.Unix()}] = b
		}
	}
	// Forget what no range shows any more.
	for k := range c.buckets {
		if time.Unix(k.start, 0).Before(now.Add(-25 * time.Hour)) {
			delete(c.buckets, k)
		}
	}
}

func figures(s engine.Sample, minutes int) Figures {
	return Figures{Minutes: minutes, Count: s.Count, Failed: s.Failed,
		PerMinute: float64(s.Count) / float64(minutes), FailedPerMinute: float64(s.Failed) / float64(minutes),
		RuntimeP50: ms(s.Runtime.Quantile(.5)), RuntimeP95: ms(s.Runtime.Quantile(.95)),
		WaitP50: ms(s.Wait.Quantile(.5)), WaitP95: ms(s.Wait.Quantile(.95))}
}
