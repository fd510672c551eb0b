package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"zhucun/store"
)

// world is what one run of the bot works on: a fresh Postgres schema, a Redis prefix,
// a region tree and the members who are the virtual users.
type world struct {
	baseURL, schema, dbURL string
	redisURL, prefix       string
	dir                    string
	users                  []*vuser
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// villageAt is where the i-th village's centre is: spread over a province.
func villageAt(i int) (lat, lon float64) {
	return 25 + float64(i%40)*0.1, 110 + float64(i/40)*0.1
}

// newWorld creates a schema and migrates and seeds it through the binary's own
// commands (migrate, import regions), then adds n members, spread over the villages,
// through the store API.
func newWorld(ctx context.Context, bin, baseURL, redisURL, dir string, villages, n int) (*world, error) {
	w := &world{baseURL: baseURL, schema: "bench_" + randomHex(6), redisURL: redisURL, prefix: "bench:" + randomHex(6) + ":", dir: dir}
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{w.schema}.Sanitize()); err != nil {
		return nil, err
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", w.schema)
	u.RawQuery = q.Encode()
	w.dbURL = u.String()

	var csv bytes.Buffer
	csv.WriteString("code,parent_code,level,name,name_en,latitude,longitude,radius_m,categories\n")
	csv.WriteString("BENCH,,county,压测县,Bench County,,,,\n")
	towns := max(villages/20, 1)
	for t := range towns {
		fmt.Fprintf(&csv, "BENCH-%02d,BENCH,township,第%d镇,Township %d,,,,\n", t, t, t)
	}
	for i := range villages {
		lat, lon := villageAt(i)
		fmt.Fprintf(&csv, "BENCH-%02d-%04d,BENCH-%02d,village,第%d村,Village %d,%.4f,%.4f,1500,economy\n", i%towns, i, i%towns, i, i, lat, lon)
	}
	csvPath := filepath.Join(dir, "regions.csv")
	if err := os.WriteFile(csvPath, csv.Bytes(), 0o600); err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"migrate"}, {"import", "regions", csvPath}} {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+w.dbURL)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("zhucun %v: %v\n%s", args, err, out)
		}
	}

	db, err := store.Open(ctx, w.dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ids := make([]int64, villages)
	for i := range villages {
		r, err := db.RegionByCode(ctx, fmt.Sprintf("BENCH-%02d-%04d", i%towns, i))
		if err != nil {
			return nil, err
		}
		ids[i] = r.ID
	}
	w.users = make([]*vuser, n)
	for i := range n {
		lat, lon := villageAt(i % villages)
		w.users[i] = newVUser(int64(10_000_000+i), "队员"+strconv.Itoa(i), lat+0.001, lon+0.001)
	}
	const batch = 500
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for from := 0; from < n; from += batch {
		g.Go(func() error {
			return db.InTx(gctx, func(tx *store.DB) error {
				for i := from; i < min(from+batch, n); i++ {
					u := w.users[i]
					if _, err := tx.TouchUser(gctx, u.id, u.name, "zh-hans"); err != nil {
						return err
					}
					if err := tx.GrantRole(gctx, u.id, store.RoleMember, ids[i%villages], nil, nil); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("seed members: %w", err)
	}
	return w, nil
}

// counts are the records a run left.
type counts struct{ processed, checkIns, problems int64 }

func (w *world) counts(ctx context.Context) (counts, error) {
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		return counts{}, err
	}
	defer conn.Close(ctx)
	var c counts
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM processed_updates), (SELECT count(*) FROM check_ins),
		(SELECT count(*) FROM problems)`).Scan(&c.processed, &c.checkIns, &c.problems)
	return c, err
}

// drop removes the schema and the Redis keys of the run.
func (w *world) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, w.baseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{w.schema}.Sanitize()+" CASCADE")
	if rerr := dropRedis(ctx, w.redisURL, w.prefix); err == nil {
		err = rerr
	}
	return err
}

func dropRedis(ctx context.Context, redisURL, prefix string) error {
	rdb, err := store.OpenRedis(ctx, redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
	return iter.Err()
}
