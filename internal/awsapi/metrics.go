package awsapi

// Prometheus metrics, served without authentication at GET /metrics: they
// hold counts and timings, never key ids, principals or parameters.

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyward/keyward/internal/audit"
)

// metrics counts requests by service, operation and error code, times them
// by operation, and reports the audit log's counters at each scrape.
//
// Label children for every known operation are made up front, so the hot
// path is one map lookup, one atomic add and one histogram observation.
// Operation names a client makes up are counted as "unknown", so that no
// client can grow the label set.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	append       prometheus.Histogram
	appendErrors prometheus.Counter
	ops          map[opKey]*opMetrics // read-only after newMetrics
	handler      http.Handler
}

type opKey struct{ service, op string }

type opMetrics struct {
	ok  prometheus.Counter
	dur prometheus.Observer
}

const (
	codeOK    = "OK"
	opUnknown = "unknown"
)

// latencyBuckets span 100µs to about 3s.
var latencyBuckets = prometheus.ExponentialBuckets(100e-6, 2, 16)

func newMetrics(l *audit.Log) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_requests_total",
			Help: "API requests answered, by service (kms, cloudtrail, iam, sts), operation and AWS error code (OK for success).",
		}, []string{"service", "operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyward_request_duration_seconds",
			Help:    "Time from receiving a request to writing its response, audit record included, by service and operation.",
			Buckets: latencyBuckets,
		}, []string{"service", "operation"}),
		append: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keyward_audit_append_duration_seconds",
			Help:    "Time a request waited for its audit record to be durable (queue, group commit and fsync).",
			Buckets: latencyBuckets,
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyward_audit_append_errors_total",
			Help: "Audit appends that failed; each turned its request into an internal error.",
		}),
		ops: map[opKey]*opMetrics{},
	}
	m.reg.MustRegister(m.requests, m.duration, m.append, m.appendErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if l != nil {
		m.reg.MustRegister(auditCollector{l})
	}
	add := func(service, op string) {
		m.ops[opKey{service, op}] = &opMetrics{
			ok:  m.requests.WithLabelValues(service, op, codeOK),
			dur: m.duration.WithLabelValues(service, op),
		}
	}
	for op := range knownOperations {
		add("kms", op)
	}
	add("kms", opUnknown)
	add("cloudtrail", "LookupEvents")
	add("cloudtrail", opUnknown)
	for op, q := range queryOps {
		add(q.svc.name, op)
	}
	add("iam", opUnknown)
	add("sts", opUnknown)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// observe counts one answered request. source is the event source
// ("kms.amazonaws.com").
func (m *metrics) observe(source, op, code string, d time.Duration) {
	if m == nil {
		return
	}
	service := strings.TrimSuffix(source, ".amazonaws.com")
	om := m.ops[opKey{service, op}]
	if om == nil {
		op = opUnknown
		om = m.ops[opKey{service, op}]
		if om == nil {
			return
		}
	}
	om.dur.Observe(d.Seconds())
	if code == "" {
		om.ok.Inc()
	} else {
		m.requests.WithLabelValues(service, op, code).Inc()
	}
}

// appended times one audit append.
func (m *metrics) appended(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.append.Observe(d.Seconds())
	if err != nil {
		m.appendErrors.Inc()
	}
}

// auditCollector reports audit.Log.Stats at each scrape.
type auditCollector struct{ l *audit.Log }

var (
	descAuditRecords    = prometheus.NewDesc("keyward_audit_records_total", "Audit records written since start.", nil, nil)
	descAuditBytes      = prometheus.NewDesc("keyward_audit_bytes_total", "Audit log bytes written since start.", nil, nil)
	descAuditBatches    = prometheus.NewDesc("keyward_audit_batches_total", "Group commits (one write and one fsync each) since start.", nil, nil)
	descAuditFsyncs     = prometheus.NewDesc("keyward_audit_fsyncs_total", "fsync calls on audit log files since start.", nil, nil)
	descAuditQueue      = prometheus.NewDesc("keyward_audit_queue_depth", "Audit records waiting for the writer.", nil, nil)
	descAuditLastBatch  = prometheus.NewDesc("keyward_audit_last_batch_records", "Records in the last group commit.", nil, nil)
	descAuditLastFsync  = prometheus.NewDesc("keyward_audit_last_fsync_seconds", "Duration of the last fsync of an audit log file.", nil, nil)
	descAuditFsync      = prometheus.NewDesc("keyward_audit_fsync_seconds", "Duration of fsyncs of audit log files (each makes a batch of records durable).", nil, nil)
	descAuditDigests    = prometheus.NewDesc("keyward_audit_digests_total", "Signed digests written since start.", nil, nil)
	descAuditDigestErrs = prometheus.NewDesc("keyward_audit_digest_errors_total", "Digests that failed (retried at the next interval).", nil, nil)
	descAuditDeleteErrs = prometheus.NewDesc("keyward_audit_delete_errors_total", "Retention deletions that failed.", nil, nil)
	descAuditSeq        = prometheus.NewDesc("keyward_audit_sequence", "Sequence number of the last audit record.", nil, nil)
	descAuditBroken     = prometheus.NewDesc("keyward_audit_broken", "1 when the audit log stopped after a write error: every request fails until restart.", nil, nil)
	descAuditNoSpace    = prometheus.NewDesc("keyward_audit_no_space", "1 while the audit log's disk has no room for the space it reserves ahead of its records: every new request fails until space is freed.", nil, nil)
)

func (c auditCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAuditRecords, descAuditBytes, descAuditBatches, descAuditFsyncs, descAuditQueue,
		descAuditLastBatch, descAuditLastFsync, descAuditFsync, descAuditDigests, descAuditDigestErrs, descAuditDeleteErrs, descAuditSeq, descAuditBroken, descAuditNoSpace} {
		ch <- d
	}
}

func (c auditCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.l.Stats()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter(descAuditRecords, float64(s.Records))
	counter(descAuditBytes, float64(s.Bytes))
	counter(descAuditBatches, float64(s.Batches))
	counter(descAuditFsyncs, float64(s.Fsyncs))
	gauge(descAuditQueue, float64(s.QueueDepth))
	gauge(descAuditLastBatch, float64(s.LastBatch))
	gauge(descAuditLastFsync, s.LastFsync.Seconds())
	buckets := make(map[float64]uint64, len(audit.FsyncBounds))
	for i, b := range audit.FsyncBounds {
		buckets[b] = s.FsyncBuckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(descAuditFsync, s.FsyncCount, s.FsyncSeconds, buckets)
	counter(descAuditDigests, float64(s.Digests))
	counter(descAuditDigestErrs, float64(s.DigestErrors))
	counter(descAuditDeleteErrs, float64(s.DeleteErrors))
	gauge(descAuditSeq, float64(s.Seq))
	gauge(descAuditBroken, oneIf(s.Broken))
	gauge(descAuditNoSpace, oneIf(s.NoSpace))
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
