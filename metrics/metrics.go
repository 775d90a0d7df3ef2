// Package metrics keeps ward's Prometheus metrics: what its HTTP server
// answered, what its activity log recorded, how its background work and
// mail deliveries went, the database pools, and the Go runtime. Each
// instance keeps its own registry (no global state), served on the
// operator's metrics listener.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one instance's registry and the metrics ward records.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	events     *prometheus.CounterVec
	reasons    *prometheus.CounterVec
	tasks      *prometheus.CounterVec
	taskWait   *prometheus.HistogramVec
	taskRun    *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	security   *prometheus.CounterVec
	dkim       prometheus.Histogram
}

// Short, fine buckets: most of ward's answers take a millisecond or two.
var fast = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New registers ward's metrics and the Go runtime's and process's.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern.", Buckets: fast}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_events_total",
			Help: "Activity log events by kind, result and method: sign-ins, codes sent, held back or suppressed, failures, factors disabled, reports of unsolicited codes."},
			[]string{"kind", "result", "method"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_risk_reasons_total",
			Help: "Reasons the risk checks gave on sign-in events (new_device, new_country, …), by the event's result."}, []string{"reason", "result"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_tasks_total",
			Help: "Background task attempts (deliver, later) by outcome (done, error)."}, []string{"kind", "outcome"}),
		taskWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_task_wait_seconds",
			Help: "Time from a task's commit to the start of an attempt.", Buckets: fast}, []string{"kind"}),
		taskRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_task_run_seconds",
			Help: "Time an attempt of a task ran (a delivery includes the relay's answer).", Buckets: fast}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_deliveries_total",
			Help: "Delivery attempts by channel (email, sms) and the message's status after it (sent, retrying, failed, expired)."}, []string{"channel", "status"}),
		security: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_security_events_total",
			Help: "Security events (docs/SECURITY-EVENTS.md) by event and outcome: refusals while a factor waits or is off (factor_refused), rate limits, replayed codes, cross-origin requests, bad admin tokens."},
			[]string{"event", "outcome"}),
		dkim: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ward_dkim_sign_seconds",
			Help: "Time to DKIM-sign one mail (all its signatures).", Buckets: fast}),
	}
	reg.MustRegister(m.requests, m.latency, m.events, m.reasons, m.tasks, m.taskWait, m.taskRun, m.deliveries, m.security, m.dkim,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
//
// A series that cannot be read (the outbox's depth, when the database
// does not answer within 2 s: its pool exhausted, say) is left out of
// that scrape and counted in promhttp_metric_handler_errors_total; the
// rest are served, the pool's waits among them, when they matter most.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Request counts one answered request. route is the pattern that
// matched ("GET /account/devices/{id}"), never the path: paths carry ids
// and would make a series per request.
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

// Event counts one committed activity log event and the risk reasons
// given for it (only their code: "new_country:US" counts as new_country).
func (m *Metrics) Event(kind, result, method string, reasons []string) {
	m.events.WithLabelValues(kind, result, method).Inc()
	for _, r := range reasons {
		code, _, _ := strings.Cut(r, ":")
		if isReasonCode(code) {
			m.reasons.WithLabelValues(code, result).Inc()
		}
	}
}

// isReasonCode keeps the label set small: risk reasons are snake_case
// words; other reasons (masked addresses, app names) are not counted.
func isReasonCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// Task counts one attempt of a background task.
func (m *Metrics) Task(kind string, waited, ran time.Duration, err error) {
	outcome := "done"
	if err != nil {
		outcome = "error"
	}
	m.tasks.WithLabelValues(kind, outcome).Inc()
	m.taskWait.WithLabelValues(kind).Observe(waited.Seconds())
	m.taskRun.WithLabelValues(kind).Observe(ran.Seconds())
}

// Delivery counts one delivery attempt and what became of the message.
func (m *Metrics) Delivery(channel, status string) {
	m.deliveries.WithLabelValues(channel, status).Inc()
}

// SecurityEvent counts one security event.
func (m *Metrics) SecurityEvent(event, outcome string) {
	m.security.WithLabelValues(event, outcome).Inc()
}

// DKIMSign records the time one mail's signatures took.
func (m *Metrics) DKIMSign(took time.Duration) { m.dkim.Observe(took.Seconds()) }

// Backlog publishes the outbox's depth and the age of its oldest waiting
// task, read from the database when scraped (so every instance reports
// the shared queue).
func (m *Metrics) Backlog(read func(ctx context.Context) (n int, oldest time.Time, err error)) {
	m.reg.MustRegister(&backlog{read: read,
		depth: prometheus.NewDesc("ward_outbox_tasks", "Background tasks due or running (deliveries and work left for later), across instances.", nil, nil),
		age:   prometheus.NewDesc("ward_outbox_oldest_seconds", "Age of the oldest task due or running (0 when none): a delivery that should have happened by now.", nil, nil),
	})
}

type backlog struct {
	read       func(ctx context.Context) (int, time.Time, error)
	depth, age *prometheus.Desc
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- b.depth; ch <- b.age }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := b.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(b.depth, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, time.Since(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(b.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(b.age, prometheus.GaugeValue, age)
}

// DB publishes a database/sql pool's use (open, in use, waits) as
// go_sql_* metrics labelled db_name.
func (m *Metrics) DB(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// PoolStat is what a pool that is not database/sql's (pgx) tells of its
// use.
type PoolStat struct {
	InUse, Idle, Max int
	// Waits counts the acquisitions that found no idle connection, and
	// Waited is the time they spent waiting for one: a pool too small
	// for the load shows here before anywhere else.
	Waits  int64
	Waited time.Duration
}

// Pool publishes a pool that is not database/sql's (pgx): connections
// in use, idle and the most allowed, and the waits for one.
func (m *Metrics) Pool(name string, stat func() PoolStat) {
	labels := prometheus.Labels{"db_name": name}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ward_db_connections_in_use", Help: "Database connections in use.", ConstLabels: labels},
			func() float64 { return float64(stat().InUse) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ward_db_connections_idle", Help: "Database connections idle.", ConstLabels: labels},
			func() float64 { return float64(stat().Idle) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ward_db_connections_max", Help: "Database connections allowed.", ConstLabels: labels},
			func() float64 { return float64(stat().Max) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ward_db_connection_waits_total",
			Help: "Times a connection was wanted and none was idle.", ConstLabels: labels},
			func() float64 { return float64(stat().Waits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ward_db_connection_wait_seconds_total",
			Help: "Time spent waiting for a database connection.", ConstLabels: labels},
			func() float64 { return stat().Waited.Seconds() }))
}
