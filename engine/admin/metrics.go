package admin

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard/switchboard/engine"
)

// Metrics are the counters and histograms the rest of the program feeds
// and /metrics exposes, in a registry of their own. Every method is safe
// for concurrent use and does nothing on a nil *Metrics, so components can
// take an optional *Metrics without checks.
//
// Label values must come from configuration (source and listener names),
// never from requests, to keep the number of series bounded.
type Metrics struct {
	reg      *prometheus.Registry
	webhooks *prometheus.CounterVec
	enqueued *prometheus.CounterVec
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	reloads  *prometheus.CounterVec
	queue    *queueCollector
}

// NewMetrics registers switchboard's series, plus the Go runtime and
// process collectors, in a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhooks_received_total",
			Help: "Webhook requests answered, by source and HTTP status code.",
		}, []string{"source", "code"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_events_enqueued_total",
			Help: "Events stored durably, by source.",
		}, []string{"source"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_jobs_finished_total",
			Help: "Job attempts finished, by listener and outcome (succeeded, retry, snoozed, failed, interrupted); jobs handed back unrun are not attempts.",
		}, []string{"listener", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_job_duration_seconds",
			Help:    "Time one job attempt ran, by listener.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"listener"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_reloads_total",
			Help: "Config and script reloads, by result (ok or refused).",
		}, []string{"result"}),
		queue: newQueueCollector(),
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("refused")
	m.reg.MustRegister(m.webhooks, m.enqueued, m.jobs, m.duration, m.reloads, m.queue,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveWebhook counts one webhook request answered with status.
func (m *Metrics) ObserveWebhook(source string, status int) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(source, strconv.Itoa(status)).Inc()
}

// ObserveEnqueued counts one event stored from source (a webhook source,
// or the emitting listener's name for emitted events).
func (m *Metrics) ObserveEnqueued(source string) {
	if m == nil {
		return
	}
	m.enqueued.WithLabelValues(source).Inc()
}

// ObserveJob counts one finished attempt of listener and records how long
// it ran.
func (m *Metrics) ObserveJob(listener string, outcome engine.Outcome, d time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(listener, OutcomeName(outcome)).Inc()
	m.duration.WithLabelValues(listener).Observe(d.Seconds())
}

// ObserveReload counts one reload, applied (ok) or refused.
func (m *Metrics) ObserveReload(ok bool) {
	if m == nil {
		return
	}
	result := "refused"
	if ok {
		result = "ok"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// Registry returns the registry the metrics live in, for callers that
// add series of their own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// handler serves the registry in the Prometheus text format. A failing
// queue scrape drops the queue series and keeps the rest.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
	})
}

// setStats points the queue gauges at a store.
func (m *Metrics) setStats(stats func(context.Context) (engine.Stats, error)) {
	m.queue.stats.Store(&stats)
}

// OutcomeName is the label value of an outcome.
func OutcomeName(o engine.Outcome) string { return o.String() }

// queueCollector reads the queue's Stats at scrape time, so depth gauges
// are never stale and cost nothing between scrapes.
type queueCollector struct {
	stats     atomic.Pointer[func(context.Context) (engine.Stats, error)]
	depth     *prometheus.Desc
	listener  *prometheus.Desc
	events    *prometheus.Desc
	fileBytes *prometheus.Desc
	oldestDue *prometheus.Desc
}

func newQueueCollector() *queueCollector {
	return &queueCollector{
		depth: prometheus.NewDesc("switchboard_queue_jobs",
			"Jobs in the queue, by state.", []string{"state"}, nil),
		listener: prometheus.NewDesc("switchboard_queue_listener_jobs",
			"Jobs in the queue, by listener and state.", []string{"listener", "state"}, nil),
		events: prometheus.NewDesc("switchboard_queue_events",
			"Events stored.", nil, nil),
		fileBytes: prometheus.NewDesc("switchboard_queue_file_bytes",
			"Size of the queue's file on disk.", nil, nil),
		oldestDue: prometheus.NewDesc("switchboard_queue_oldest_due_age_seconds",
			"How long the oldest due pending job has waited; 0 when none is due.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.listener
	ch <- c.events
	ch <- c.fileBytes
	ch <- c.oldestDue
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	fn := c.stats.Load()
	if fn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	st, err := (*fn)(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	for _, state := range []engine.JobState{engine.JobPending, engine.JobRunning, engine.JobDone, engine.JobFailed} {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(st.States[state]), string(state))
	}
	for name, counts := range st.Listeners {
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.listener, prometheus.GaugeValue, float64(n), name, string(state))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(st.Events))
	ch <- prometheus.MustNewConstMetric(c.fileBytes, prometheus.GaugeValue, float64(st.FileBytes))
	age := 0.0
	if !st.OldestDue.IsZero() {
		age = max(0, time.Since(st.OldestDue).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.oldestDue, prometheus.GaugeValue, age)
}
