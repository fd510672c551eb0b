package handlers

import (
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzParseCallback reads any callback data the way the router and the steps do: no
// data panics; data our buttons make parses back to their flow, step and value; data
// that parses has a flow and a step without colons.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"inv:node:c12", "pl:go:a.asg.12", "sa:q:3.0.1", "wk:s:u.7.0", "lang:pick:",
		"inv", ":node:x", "a::", "::", "pl:go:a.asg.", strings.Repeat("x", 64), "\x00:\x00:\x00", "‮:🙂:;--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		flow, step, ok := parseCallback(data)
		r := &Request{In: Input{Callback: &Callback{Data: data}}}
		value, pressed := r.Pressed()
		if !ok {
			return
		}
		if flow == "" || step == "" || strings.Contains(flow, ":") || strings.Contains(step, ":") {
			t.Fatalf("parseCallback(%q) = %q, %q", data, flow, step)
		}
		if !pressed || flow+":"+step+":"+value != data {
			t.Fatalf("%q: flow %q, step %q, value %q (%v)", data, flow, step, value, pressed)
		}
		if len(data) <= 64 {
			if got := callbackData(flow, step, value); got != data {
				t.Fatalf("callbackData(%q, %q, %q) = %q, want %q", flow, step, value, got, data)
			}
		}
	})
}

// FuzzDeepLink classifies any /start payload: an invite token, a survey slip or
// poster, or nothing we issued. No payload panics, none is both, a token of ours is
// what it says, and only a payload of the right shape is ever looked up.
func FuzzDeepLink(f *testing.F) {
	token, _ := newInviteToken()
	for _, s := range []string{token, surveyTokenPrefix + token, surveyTokenPrefix, "", " ", token + "=",
		strings.Repeat("A", 22), "s_" + strings.Repeat("_", 22), "../../etc", "'; DROP TABLE invites;--", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		invite := validTokenShape(payload)
		survey := isSurveyPayload(payload)
		if invite && survey {
			t.Fatalf("%q is both an invite and a survey payload", payload)
		}
		if invite && (len(payload) != 22 || len(hashToken(payload)) != 32) {
			t.Fatalf("invite token %q of %d characters", payload, len(payload))
		}
		if validSurveyToken(payload) && !survey {
			t.Fatalf("survey token %q not routed to the survey", payload)
		}
		if invite && strings.ContainsAny(payload, "'\";\\ \x00") {
			t.Fatalf("invite token %q has characters outside base64url", payload)
		}
	})
}

// FuzzCoordinates measures and judges any pair of points: no input panics; between
// points on the globe the distance is a finite number no longer than half the Earth's
// circumference and the same both ways; the verdict is one of the three.
func FuzzCoordinates(f *testing.F) {
	f.Add(28.2, 112.9, 28.21, 112.91, 15.0, 1000.0, true, int64(60))
	f.Add(90.0, 180.0, -90.0, -180.0, 0.0, 1.0, false, int64(0))
	f.Add(0.0, 0.0, 0.0, 0.0, 1e9, -1.0, false, int64(-1))
	f.Add(math.NaN(), math.Inf(1), 91.0, -181.0, math.NaN(), math.Inf(-1), true, int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, lat1, lon1, lat2, lon2, accuracy, radius float64, live bool, seconds int64) {
		d := distanceM(lat1, lon1, lat2, lon2)
		if validCoordinates(lat1, lon1) && validCoordinates(lat2, lon2) {
			if math.IsNaN(d) || d < 0 || d > math.Pi*earthRadiusM*(1+1e-9) {
				t.Fatalf("distance %v between (%v, %v) and (%v, %v)", d, lat1, lon1, lat2, lon2)
			}
			if back := distanceM(lat2, lon2, lat1, lon1); math.Abs(back-d) > 1e-6*math.Max(1, d) {
				t.Fatalf("distance %v one way, %v back", d, back)
			}
		}
		at := time.Unix(1_800_000_000, 0)
		prev := &previousFix{lat: lat2, lon: lon2, locatedAt: at.Add(-time.Duration(seconds))}
		verdict, reasons := judge(fix{lat: lat1, lon: lon1, live: live, accuracyM: accuracy, locatedAt: at, receivedAt: at}, d, radius, prev)
		if verdict != "verified" && verdict != "unverified" && verdict != "doubtful" {
			t.Fatalf("verdict %q", verdict)
		}
		if live == (len(reasons) > 0 && reasons[0] == reasonStatic) {
			t.Fatalf("live %v, reasons %v", live, reasons)
		}
	})
}
