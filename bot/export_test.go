package bot

import "github.com/prometheus/client_golang/prometheus"

// DeadLetters exposes the dead-letter counter to tests.
func (m *Metrics) DeadLetters() prometheus.Counter { return m.deadLetters }
