package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
)

// Redirect outcomes, the label of the redirect latency histogram.
const (
	outcomeHit     = "hit"     // a lead's tap, redirected
	outcomeBot     = "bot"     // a bot visit, redirected
	outcomeMiss    = "miss"    // unknown code
	outcomeGone    = "gone"    // disabled or expired link
	outcomeLimited = "limited" // too many misses from the client
	outcomeError   = "error"   // the click could not be stored
)

// MetricsSources are the parts whose state /metrics reports.
type MetricsSources struct {
	Resolver   *shortener.Resolver
	Dispatcher interface{ Counts() emitter.Counts }
	Store      interface {
		Outbox(ctx context.Context) (int, time.Time, error)
		Health() store.Health
	}
	// Counters reports the links whose counter deltas wait in memory:
	// not journaled yet, and journaled but not folded.
	Counters interface{ Unfolded() (fresh, journaled int) }
	// Window reports the links whose dedup windows it holds in memory and
	// how many clicks it has read a stored marker for.
	Window interface {
		Len() int
		Reads() int64
	}
	Version string
}

// Metrics counts what linkd does for Prometheus. A nil *Metrics counts
// nothing. It is safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	redirects map[string]prometheus.Observer
	clicks    map[bool]prometheus.Counter
	events    map[string]prometheus.Counter
}

// NewMetrics returns Metrics reading src at every scrape.
func NewMetrics(src MetricsSources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "linkd_build_info",
			Help:        "Build information; the value is always 1.",
			ConstLabels: prometheus.Labels{"version": src.Version}},
			func() float64 { return 1 }))
	m.registerTraffic()
	registerSources(m.reg, src)
	return m
}

func (m *Metrics) registerTraffic() {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "linkd_redirect_duration_seconds",
		Help: "Time to answer a request on the public listener, by outcome.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01,
			.025, .05, .1, .25, .5, 1},
	}, []string{"outcome"})
	m.redirects = make(map[string]prometheus.Observer)
	for _, o := range []string{outcomeHit, outcomeBot, outcomeMiss,
		outcomeGone, outcomeLimited, outcomeError} {
		m.redirects[o] = hist.WithLabelValues(o)
	}
	clicks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linkd_clicks_total",
		Help: "Visits to live links: lead clicks and bot visits.",
	}, []string{"kind"})
	m.clicks = map[bool]prometheus.Counter{
		true: clicks.WithLabelValues("lead"), false: clicks.WithLabelValues("bot")}
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linkd_events_total",
		Help: "Events fired, by type.",
	}, []string{"type"})
	m.events = make(map[string]prometheus.Counter)
	for _, t := range emitter.EventTypes {
		m.events[t] = events.WithLabelValues(t)
	}
	m.reg.MustRegister(hist, clicks, events)
}

func registerSources(reg *prometheus.Registry, src MetricsSources) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		counter("linkd_link_cache_hits_total", "Codes resolved from the LRU.",
			func() float64 { h, _ := src.Resolver.CacheStats(); return float64(h) }),
		counter("linkd_link_cache_misses_total", "Codes read from bbolt.",
			func() float64 { _, m := src.Resolver.CacheStats(); return float64(m) }),
		counter("linkd_delivery_retries_total", "Failed attempts scheduled again.",
			func() float64 { return float64(src.Dispatcher.Counts().Retries) }),
		counter("linkd_deliveries_dead_total", "Deliveries given up.",
			func() float64 { return float64(src.Dispatcher.Counts().Dead) }),
		counter("linkd_deliveries_succeeded_total", "Deliveries that arrived.",
			func() float64 { return float64(src.Dispatcher.Counts().Delivered) }),
		counter("linkd_endpoints_disabled_total", "Endpoints disabled by 410 or 5 days of failures.",
			func() float64 { return float64(src.Dispatcher.Counts().Disabled) }),
		gauge("linkd_counter_links_unfolded", "Links whose counter deltas "+
			"have not reached their counters yet.",
			func() float64 { f, j := src.Counters.Unfolded(); return float64(f + j) }),
		gauge("linkd_counter_links_unjournaled", "Links whose counter "+
			"deltas a crash would lose: visits of the last second that "+
			"emitted no event.",
			func() float64 { f, _ := src.Counters.Unfolded(); return float64(f) }),
		gauge("linkd_dedup_links_held", "Links whose last event the "+
			"dedup window holds in memory: every open window, and closed "+
			"ones until their generation is dropped.",
			func() float64 { return float64(src.Window.Len()) }),
		counter("linkd_dedup_marker_reads_total", "Clicks whose dedup "+
			"marker was read from bbolt: more open windows than memory holds.",
			func() float64 { return float64(src.Window.Reads()) }),
		gauge("linkd_db_file_bytes", "Size of the bbolt file.",
			func() float64 { return float64(src.Store.Health().FileSize) }),
		counter("linkd_db_read_transactions_total", "bbolt read transactions started.",
			func() float64 { return float64(src.Store.Health().TxN) }),
		gauge("linkd_db_open_read_transactions", "bbolt read transactions open.",
			func() float64 { return float64(src.Store.Health().OpenTxN) }),
		counter("linkd_db_page_writes_total", "Pages bbolt wrote.",
			func() float64 { return float64(src.Store.Health().Writes) }),
		counter("linkd_db_write_seconds_total", "Time bbolt spent writing pages.",
			func() float64 { return src.Store.Health().WriteTime.Seconds() }),
		&attemptCollector{src.Dispatcher},
		&outboxCollector{src.Store},
	)
}

// attemptCollector reports delivery attempts by outcome.
type attemptCollector struct {
	d interface{ Counts() emitter.Counts }
}

var attemptsDesc = prometheus.NewDesc("linkd_delivery_attempts_total",
	"Webhook delivery attempts, by outcome.", []string{"outcome"}, nil)

func (c *attemptCollector) Describe(ch chan<- *prometheus.Desc) { ch <- attemptsDesc }

func (c *attemptCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.d.Counts()
	for i, n := range counts.Attempts {
		ch <- prometheus.MustNewConstMetric(attemptsDesc,
			prometheus.CounterValue, float64(n), emitter.OutcomeNames[i])
	}
}

// outboxCollector reports the pending deliveries with one scan.
type outboxCollector struct {
	s interface {
		Outbox(ctx context.Context) (int, time.Time, error)
	}
}

var (
	outboxDepth = prometheus.NewDesc("linkd_outbox_pending",
		"Deliveries waiting for a successful attempt.", nil, nil)
	outboxAge = prometheus.NewDesc("linkd_outbox_oldest_pending_seconds",
		"Age of the event of the oldest pending delivery.", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepth
	ch <- outboxAge
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	n, oldest, err := c.s.Outbox(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepth, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(outboxDepth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(outboxAge, prometheus.GaugeValue, age)
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) redirect(outcome string, since time.Time) {
	if m != nil {
		m.redirects[outcome].Observe(time.Since(since).Seconds())
	}
}

func (m *Metrics) click(lead bool) {
	if m != nil {
		m.clicks[lead].Inc()
	}
}

func (m *Metrics) event(typ string, n int) {
	if m != nil && n > 0 {
		m.events[typ].Add(float64(n))
	}
}
