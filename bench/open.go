package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"zhucun/store"
)

// runOpen leaves o.open conversations open — members who started a problem report and
// stopped at its first question — then measures the bot's RSS and the Redis bytes per
// open conversation.
func runOpen(ctx context.Context, o options, dir string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "zhucun bench: scenario open, %d conversations, %.0f updates/s, bot on CPU %q, load average %s\n\n", o.open, o.rate, o.botCPU, loadAvg())
	w, err := newWorld(ctx, o.zhucunBin, o.databaseURL, o.redisURL, dir, o.villages, o.open)
	if err != nil {
		return err
	}
	defer w.drop(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	byChat := func(chatID int64) *vuser {
		i := chatID - w.users[0].id
		if i < 0 || i >= int64(len(w.users)) {
			return nil
		}
		return w.users[i]
	}
	api, err := newFakeAPI(benchToken, apiLimits{PerSecond: o.botLimit, ChatPerSecond: 1, ChatBurst: o.chatBurst}, byChat)
	if err != nil {
		return err
	}
	defer api.close()
	p, hookURL, err := startBot(o, dir, "zhucun", "webhook", api, w)
	if err != nil {
		return err
	}
	defer p.stop() //nolint:errcheck // the figures are taken before
	api.startWebhook(hookURL, hookSecret, o.conns, len(w.users)+1)
	rdb, err := store.OpenRedis(ctx, o.redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	usedBefore, err := redisUsed(ctx, rdb)
	if err != nil {
		return err
	}
	rssBefore := p.rss()
	open := []step{{name: "/report", want: [][]expect{{{text: "问题属于哪一类"}}},
		updates: func(u *vuser, _ *driver, _ []reply) ([]models.Update, error) { return one(u.command("report")), nil }}}
	d := newDriver(api, w.users, [][]step{open}, []float64{1}, false, o.stepTimeout)
	p.sampleEvery(500*time.Millisecond, time.Now())
	d.run(ctx, 0, []phase{{rate: o.rate, dur: time.Duration(float64(o.open) / o.rate * float64(time.Second))}}, o.drain)
	p.stopSampling()
	if n := d.completed[0].Load(); n != int64(o.open) {
		return fmt.Errorf("%d conversations opened, want %d (first error: %v)", n, o.open, d.firstErr.Load())
	}
	keys, err := rdb.Keys(ctx, w.prefix+"conv:*").Result()
	if err != nil {
		return err
	}
	usedAfter, err := redisUsed(ctx, rdb)
	if err != nil {
		return err
	}
	var sampled int64
	sample := keys[:min(len(keys), 1000)]
	for _, k := range sample {
		n, err := rdb.MemoryUsage(ctx, k).Result()
		if err != nil {
			return err
		}
		sampled += n
	}
	rssNow := p.rss()
	fmt.Fprintln(stdout, "| open conversations | conversation keys in Redis | bot RSS before → after | bot peak RSS | Redis used_memory growth / conversation | MEMORY USAGE / key (mean of 1,000) |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|")
	fmt.Fprintf(stdout, "| %d | %d | %.1f → %.1f MB | %.1f MB | %.0f B | %.0f B |\n", o.open, len(keys), mb(rssBefore), mb(rssNow), mb(p.peakRSS),
		float64(usedAfter-usedBefore)/float64(o.open), float64(sampled)/float64(max(len(sample), 1)))
	fmt.Fprintf(stdout, "\n(Redis used_memory counts every client of the shared Redis: other work on it during the run shows up in the growth.)\n")
	return nil
}

func redisUsed(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("redis INFO memory has no used_memory")
}
