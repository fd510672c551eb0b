package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"zhucun/bot"
	"zhucun/jobs"
	"zhucun/store"
)

// backends are where the bot keeps what it knows, as DATABASE_URL and REDIS_URL name
// them (DESIGN §3, §4):
//
//   - DATABASE_URL postgres:// or postgresql:// → the records in Postgres; anything
//     else is the path of a SQLite file (empty: zhucun.db in ZHUCUN_DATA_DIR);
//   - REDIS_URL set → conversation state in Redis and the pacer counting there, shared
//     by the replicas; unset → state embedded in a SQLite file beside the records
//     (see stateFile) and the pacer counting in this process;
//   - River's jobs run in the records' database: Postgres through a pool of their own,
//     or the same SQLite file through a handle of their own.
type backends struct {
	DB    *store.DB
	State *store.State
	Pacer *bot.Pacer
	River jobs.DB

	rdb       *redis.Client
	riverPool *pgxpool.Pool
	riverSQL  *sql.DB
}

// openBackends opens the backends cfg names and applies the migrations of the records
// and of River's tables; it returns the migrations applied. Close releases what it
// opened; on an error nothing is left open. The playground and serve open theirs with it.
func openBackends(ctx context.Context, cfg config) (_ *backends, applied []string, err error) {
	b := &backends{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.DB, err = store.OpenURL(ctx, cfg.DatabaseURL); err != nil {
		return nil, nil, err
	}
	if applied, err = b.DB.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	if b.DB.Embedded() {
		if b.riverSQL, err = store.OpenSQLiteDB(ctx, cfg.DatabaseURL); err != nil {
			return nil, nil, fmt.Errorf("open database for jobs: %w", err)
		}
		b.River = jobs.SQLite(b.riverSQL)
	} else {
		if b.riverPool, err = openRiverPool(ctx, cfg); err != nil {
			return nil, nil, err
		}
		b.River = jobs.Postgres(b.riverPool)
	}
	riverApplied, err := jobs.Migrate(ctx, b.River)
	if err != nil {
		return nil, nil, err
	}
	applied = append(applied, riverApplied...)

	if cfg.RedisURL != "" {
		if b.rdb, err = store.OpenRedis(ctx, cfg.RedisURL); err != nil {
			return nil, nil, err
		}
		b.State = store.NewState(b.rdb, cfg.RedisPrefix, cfg.ConversationTTL)
		b.Pacer = bot.NewPacer(b.rdb, cfg.RedisPrefix, sendLimits(cfg))
		return b, applied, nil
	}
	if b.State, err = store.OpenEmbeddedState(ctx, stateFile(cfg), cfg.ConversationTTL); err != nil {
		return nil, nil, err
	}
	b.Pacer = bot.NewLocalPacer(sendLimits(cfg))
	return b, applied, nil
}

// Close releases the backends.
func (b *backends) Close() {
	if b.State != nil {
		b.State.Close()
	}
	if b.rdb != nil {
		b.rdb.Close()
	}
	if b.riverPool != nil {
		b.riverPool.Close()
	}
	if b.riverSQL != nil {
		b.riverSQL.Close()
	}
	if b.DB != nil {
		b.DB.Close()
	}
}

// stateFile is the SQLite file of the embedded conversation state: beside a SQLite
// records file ("zhucun.db" → "zhucun.state.db"), in the data dir next to Postgres.
// It is a file of its own because the state is written while a records transaction
// holds the records file's write lock (as Redis is written apart from Postgres).
func stateFile(cfg config) string {
	if store.IsPostgresURL(cfg.DatabaseURL) {
		return filepath.Join(cfg.DataDir, "state.db")
	}
	ext := filepath.Ext(cfg.DatabaseURL)
	if ext == "" {
		return cfg.DatabaseURL + ".state.db"
	}
	return strings.TrimSuffix(cfg.DatabaseURL, ext) + ".state" + ext
}

// secretFileBytes is the size of the key embeddedSecret makes.
const secretFileBytes = 32

// embeddedSecret returns the key of voter hashes and signed links kept in the file
// "secret" of dataDir, making one (32 random bytes, base64, mode 0600) the first time.
// It stands in for ZHUCUN_SECRET on the embedded store, so that a restart keeps the
// hashes of those who answered a survey.
func embeddedSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		key := make([]byte, secretFileBytes)
		rand.Read(key)
		// Written whole to a temporary file (mode 0600), then linked into place: a
		// process starting at the same time finds no file or the whole key, and the
		// first link wins.
		f, err := os.CreateTemp(dataDir, ".secret-*")
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		defer os.Remove(f.Name())
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
			return embeddedSecret(dataDir) // another process made it first
		} else if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < secretFileBytes {
		return nil, fmt.Errorf("secret: %s holds no key of %d base64 bytes", path, secretFileBytes)
	}
	return key, nil
}
