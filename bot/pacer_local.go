package bot

import (
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"
)

// maxLocalLimiters bounds the limiters kept for chats; past it, those back to a full
// burst (idle, so forgetting them changes nothing) are dropped.
const maxLocalLimiters = 10000

// localCounts are the pacer's counts in this process: a token bucket
// (golang.org/x/time/rate) per key, with the rate and burst of redis_rate's limit, and
// the holds after a 429.
type localCounts struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	holds    map[string]time.Time
}

func newLocalCounts() *localCounts {
	return &localCounts{limiters: map[string]*rate.Limiter{}, holds: map[string]time.Time{}}
}

// allow takes one send of key's limit at now, or says how long to wait before asking again.
func (c *localCounts) allow(key string, l redis_rate.Limit, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	lim, ok := c.limiters[key]
	if !ok {
		if len(c.limiters) >= maxLocalLimiters {
			for k, old := range c.limiters {
				if old.TokensAt(now) >= float64(old.Burst()) {
					delete(c.limiters, k)
				}
			}
		}
		lim = rate.NewLimiter(rate.Limit(float64(l.Rate)/l.Period.Seconds()), l.Burst)
		c.limiters[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return l.Period
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// hold keeps keys held until until.
func (c *localCounts) hold(until time.Time, keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.holds {
		if !t.After(time.Now()) {
			delete(c.holds, k)
		}
	}
	for _, k := range keys {
		if until.After(c.holds[k]) {
			c.holds[k] = until
		}
	}
}

// held is how long the longest hold of keys lasts still at now.
func (c *localCounts) held(now time.Time, keys ...string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		longest = max(longest, c.holds[k].Sub(now))
	}
	return longest
}
