package handlers

import (
	"math"
	"time"
)

// earthRadiusM is the mean radius of the Earth (IUGG), in metres.
const earthRadiusM = 6371008.8

// distanceM is the great-circle distance between two points in degrees (haversine).
func distanceM(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// validCoordinates reports whether a point is on the globe.
func validCoordinates(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// Trust thresholds of a located check-in.
const (
	// maxAccuracyM: a reported accuracy worse than this cannot place someone in a village.
	maxAccuracyM = 200
	// maxLocationDelay: a location received this long after it was sent is late.
	maxLocationDelay = 10 * time.Minute
	// maxSpeedKmh: faster than any ground travel between two check-ins is a jump no
	// vehicle could make; jumps shorter than minJumpM are GPS noise.
	maxSpeedKmh = 250
	minJumpM    = 5000
)

// Reasons a located check-in may be doubted or noted, as stored.
const (
	reasonStatic         = "static"
	reasonLowAccuracy    = "low_accuracy"
	reasonOutsideFence   = "outside_fence"
	reasonImpossibleJump = "impossible_jump"
	reasonLate           = "late"
)

// fix is what a chat client tells of a location.
type fix struct {
	lat, lon   float64
	live       bool
	accuracyM  float64 // 0 when unknown
	locatedAt  time.Time
	receivedAt time.Time
}

// previousFix is the member's last located check-in, if any.
type previousFix struct {
	lat, lon  float64
	locatedAt time.Time
}

// judge computes the trust verdict of a located check-in and its reasons: a live
// location cannot be placed by hand and is verified; a static pin is unverified; poor
// accuracy, a late location or an impossible jump make it doubtful. Being outside the
// fence is noted but is no doubt: the member says why.
func judge(f fix, distance float64, radiusM float64, prev *previousFix) (verdict string, reasons []string) {
	doubtful := false
	if !f.live {
		reasons = append(reasons, reasonStatic)
	}
	if f.accuracyM > maxAccuracyM {
		reasons = append(reasons, reasonLowAccuracy)
		doubtful = true
	}
	if distance > radiusM {
		reasons = append(reasons, reasonOutsideFence)
	}
	if prev != nil {
		jump := distanceM(prev.lat, prev.lon, f.lat, f.lon)
		hours := f.locatedAt.Sub(prev.locatedAt).Hours()
		if jump > minJumpM && (hours <= 0 || jump/1000/hours > maxSpeedKmh) {
			reasons = append(reasons, reasonImpossibleJump)
			doubtful = true
		}
	}
	if f.receivedAt.Sub(f.locatedAt) > maxLocationDelay {
		reasons = append(reasons, reasonLate)
		doubtful = true
	}
	switch {
	case doubtful:
		return "doubtful", reasons
	case f.live:
		return "verified", reasons
	default:
		return "unverified", reasons
	}
}
