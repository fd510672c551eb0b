package handlers

import (
	"testing"
	"time"
)

// BenchmarkJudge is the check-in verdict: distance to the village centre, then the
// verdict and its reasons from the fix and the member's previous one.
func BenchmarkJudge(b *testing.B) {
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	prev := &previousFix{lat: 28.2281, lon: 112.9388, locatedAt: at.Add(-24 * time.Hour)}
	f := fix{lat: 28.2290, lon: 112.9395, live: true, accuracyM: 15, locatedAt: at, receivedAt: at}
	b.ReportAllocs()
	for b.Loop() {
		d := distanceM(f.lat, f.lon, 28.2281, 112.9388)
		if v, _ := judge(f, d, 1500, prev); v != "verified" {
			b.Fatalf("verdict %s, want verified", v)
		}
	}
}
