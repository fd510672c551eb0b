package bot

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus collectors.
type Metrics struct {
	updates     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	sends       *prometheus.CounterVec
	deadLetters prometheus.Counter
}

// NewMetrics registers the pipeline's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhucun_updates_total",
			Help: "Updates handled, by kind of input and outcome (ok, ignored, unavailable, failed, dead_letter).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zhucun_update_duration_seconds",
			Help:    "Time from taking an update to having delivered its replies.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhucun_sends_total",
			Help: "Bot API sends, by method and outcome (ok, retry_after, blocked, error).",
		}, []string{"method", "outcome"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zhucun_dead_letters_total",
			Help: "Updates set aside after failing every attempt.",
		}),
	}
	reg.MustRegister(m.updates, m.duration, m.sends, m.deadLetters)
	return m
}
