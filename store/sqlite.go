package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The embedded store keeps the records in a SQLite file through database/sql and
// modernc.org/sqlite (pure Go). The methods of DB run the same SQL on both backends
// where SQL allows; where the dialects differ, a method holds both variants side by
// side and picks by db.lite. What differs in the values is handled here, in one place:
//
//   - times are stored as UTC text with microseconds ("2006-01-02 15:04:05.000000"), so
//     that they sort as text and compare with arguments, and read back as Postgres'
//     timestamptz is (microseconds, local time); dates are "2006-01-02", read back as
//     midnight UTC, as pgx reads a date;
//   - arrays (text[]) and jsonb are JSON text; a slice or map argument is encoded as
//     JSON, and a JSON column is decoded into the slice or map it is scanned into;
//   - booleans are 0 and 1.
//
// now() is a function of the connections (UTC text in the same layout), so SQL that
// stamps a row with the time runs unchanged.

// liteTimeLayout is how times are kept in SQLite.
const liteTimeLayout = "2006-01-02 15:04:05.000000"

// OpenSQLite opens (creating if need be) the SQLite database file at path, in WAL mode,
// with foreign keys on, every transaction taking the write lock at BEGIN (IMMEDIATE)
// and writers waiting for each other instead of failing. The file's directory is created.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	sqldb, err := openSQLiteFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return &DB{q: liteQ{sqldb}, sqldb: sqldb, lite: true}, nil
}

// OpenSQLiteDB opens the SQLite file at path as OpenSQLite does, as a plain database/sql
// handle with one connection: for River's jobs (riversqlite), next to the store's own.
func OpenSQLiteDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := openSQLiteFile(ctx, path)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func openSQLiteFile(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	d := &sqlite.Driver{}
	if err := d.RegisterFunction("now", &sqlite.FunctionImpl{NArgs: 0,
		Scalar: func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
			return time.Now().UTC().Format(liteTimeLayout), nil
		}}); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	sqldb := sql.OpenDB(liteConnector{d: d, dsn: dsn})
	sqldb.SetMaxOpenConns(8)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return sqldb, nil
}

// liteConnector opens connections of one driver, whose functions only they see.
type liteConnector struct {
	d   *sqlite.Driver
	dsn string
}

func (c liteConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c liteConnector) Driver() driver.Driver                        { return c.d }

// sqlQuerier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// liteQ runs SQL on SQLite behind the interface the pgx code uses.
type liteQ struct{ q sqlQuerier }

func (l liteQ) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	res, err := l.q.ExecContext(ctx, q, liteArgs(args)...)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return pgconn.NewCommandTag(fmt.Sprintf("EXEC %d", n)), nil
}

func (l liteQ) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	rows, err := l.q.QueryContext(ctx, q, liteArgs(args)...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	fields := make([]pgconn.FieldDescription, len(cols))
	for i, c := range cols {
		fields[i] = pgconn.FieldDescription{Name: c}
	}
	return &liteRows{rows: rows, fields: fields}, nil
}

func (l liteQ) QueryRow(ctx context.Context, q string, args ...any) pgx.Row {
	rows, err := l.Query(ctx, q, args...)
	return liteRow{rows: rows, err: err}
}

type liteRow struct {
	rows pgx.Rows
	err  error
}

func (r liteRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// liteRows is sql.Rows as pgx.Rows, enough for pgx.CollectRows and RowToStructByName.
type liteRows struct {
	rows   *sql.Rows
	fields []pgconn.FieldDescription
	err    error
}

func (r *liteRows) Close() { r.rows.Close() }
func (r *liteRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}
func (r *liteRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r *liteRows) FieldDescriptions() []pgconn.FieldDescription { return r.fields }
func (r *liteRows) Next() bool                                   { return r.err == nil && r.rows.Next() }
func (r *liteRows) RawValues() [][]byte                          { return nil }
func (r *liteRows) Conn() *pgx.Conn                              { return nil }
func (r *liteRows) TypeMap() *pgtype.Map                         { return nil }

func (r *liteRows) Values() ([]any, error) {
	vals := make([]any, len(r.fields))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

func (r *liteRows) Scan(dest ...any) error {
	vals, err := r.Values()
	if err != nil {
		r.err = err
		return err
	}
	if len(dest) != len(vals) {
		return fmt.Errorf("scan: %d columns into %d values", len(vals), len(dest))
	}
	for i, d := range dest {
		if err := liteAssign(d, vals[i]); err != nil {
			return fmt.Errorf("scan column %s: %w", r.fields[i].Name, err)
		}
	}
	return nil
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// liteArgs turns arguments into what SQLite keeps: see the package comment above.
func liteArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = liteArg(a)
	}
	return out
}

func liteArg(a any) any {
	v := reflect.ValueOf(a)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil
	}
	switch {
	case v.Type() == timeType:
		return v.Interface().(time.Time).UTC().Round(time.Microsecond).Format(liteTimeLayout)
	case v.Type() == rawJSONType:
		return string(v.Bytes())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		return v.Bytes()
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		if v.IsNil() && v.Kind() == reflect.Slice {
			return "[]"
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return a // the driver reports it
		}
		return string(b)
	}
	return v.Interface()
}

// liteAssign stores a value SQLite gave (nil, int64, float64, string, []byte) in dest.
func liteAssign(dest, src any) error {
	dv := reflect.ValueOf(dest)
	if dv.Kind() != reflect.Pointer || dv.IsNil() {
		return fmt.Errorf("destination %T is not a pointer", dest)
	}
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(src)
	}
	dv = dv.Elem()
	if src == nil {
		dv.SetZero()
		return nil
	}
	if dv.Kind() == reflect.Pointer {
		nv := reflect.New(dv.Type().Elem())
		if err := liteAssign(nv.Interface(), src); err != nil {
			return err
		}
		dv.Set(nv)
		return nil
	}
	if dv.Kind() == reflect.Interface {
		dv.Set(reflect.ValueOf(src))
		return nil
	}
	text, isText := src.(string)
	if b, ok := src.([]byte); ok {
		text, isText = string(b), true
	}
	switch {
	case dv.Type() == timeType:
		if !isText {
			return fmt.Errorf("time from %T", src)
		}
		t, err := liteTime(text)
		if err != nil {
			return err
		}
		dv.Set(reflect.ValueOf(t))
		return nil
	case dv.Kind() == reflect.Slice && dv.Type().Elem().Kind() == reflect.Uint8:
		if !isText {
			return fmt.Errorf("bytes from %T", src)
		}
		dv.SetBytes([]byte(text))
		return nil
	case dv.Kind() == reflect.Slice || dv.Kind() == reflect.Map || dv.Kind() == reflect.Struct:
		if !isText {
			return fmt.Errorf("%s from %T", dv.Type(), src)
		}
		return json.Unmarshal([]byte(text), dest)
	case dv.Kind() == reflect.Bool:
		switch s := src.(type) {
		case int64:
			dv.SetBool(s != 0)
			return nil
		case bool:
			dv.SetBool(s)
			return nil
		}
		return fmt.Errorf("bool from %T", src)
	case dv.Kind() == reflect.String:
		if !isText {
			return fmt.Errorf("string from %T", src)
		}
		dv.SetString(text)
		return nil
	}
	sv := reflect.ValueOf(src)
	switch {
	case dv.CanInt() && sv.CanInt():
		if dv.OverflowInt(sv.Int()) {
			return fmt.Errorf("%d overflows %s", sv.Int(), dv.Type())
		}
		dv.SetInt(sv.Int())
	case dv.CanFloat() && sv.CanFloat():
		dv.SetFloat(sv.Float())
	case dv.CanFloat() && sv.CanInt():
		dv.SetFloat(float64(sv.Int()))
	case dv.CanInt() && sv.CanFloat():
		dv.SetInt(int64(sv.Float()))
	default:
		return fmt.Errorf("%s from %T", dv.Type(), src)
	}
	return nil
}

// liteTime reads a stored time: a date is midnight UTC, a timestamp local time, as pgx
// reads date and timestamptz.
func liteTime(s string) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		return time.Parse(time.DateOnly, s)
	}
	t, err := time.Parse(liteTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("read time %q: %w", s, err)
	}
	return t.Local(), nil
}

// interpretLite translates SQLite's errors like interpret does Postgres'.
func interpretLite(err error) (error, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			msg := se.Error()
			if _, cols, ok := strings.Cut(msg, "failed: "); ok {
				msg = cols
			}
			return fmt.Errorf("%w: %s", ErrConflict, msg), true
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound, true
	}
	return err, false
}

// inTxLite runs fn in a transaction on SQLite: BEGIN IMMEDIATE takes the write lock, so
// transactions run one after the other; inside one, a savepoint.
func (db *DB) inTxLite(ctx context.Context, fn func(tx *DB) error) (err error) {
	if db.sqltx != nil {
		name := fmt.Sprintf("sp%d", db.depth+1)
		if _, err := db.sqltx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
			return err
		}
		inner := &DB{q: db.q, lite: true, sqltx: db.sqltx, depth: db.depth + 1}
		if err := fn(inner); err != nil {
			if _, rerr := db.sqltx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO "+name); rerr == nil {
				db.sqltx.ExecContext(context.WithoutCancel(ctx), "RELEASE "+name) //nolint:errcheck // the transaction ends with the outer one
			}
			return err
		}
		_, err := db.sqltx.ExecContext(ctx, "RELEASE "+name)
		return err
	}
	tx, err := db.sqldb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback() //nolint:errcheck // the panic is what matters
			panic(p)
		}
	}()
	if err := fn(&DB{q: liteQ{tx}, lite: true, sqltx: tx}); err != nil {
		tx.Rollback() //nolint:errcheck // the error of fn is what matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
