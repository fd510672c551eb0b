package handlers_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestInviteGuessesNeverJoin makes real invites, then tries 500 random tokens of the
// right shape and a set of malformed ones as a stranger: none is accepted, every one
// gets the same answer as a token that never existed, and the stranger holds no role.
// The records hold the tokens' hashes only: the token of a real invite appears in no
// column of any table.
func TestInviteGuessesNeverJoin(t *testing.T) {
	t.Parallel()
	w := newForgeryWorld(t)
	ctx := context.Background()

	// Two real invites, made through the flow.
	var tokens []string
	for range 2 {
		w.send(t, adminID, cmd("invite"))
		w.send(t, adminID, press("inv:role:member"))
		w.send(t, adminID, press("inv:node:c"+w.ids["V"]))
		w.send(t, adminID, press("inv:exp:7"))
		replies := w.send(t, adminID, press("inv:uses:1"))
		_, token, ok := strings.Cut(said(replies), "start=")
		if !ok {
			t.Fatalf("no invite link in %q", said(replies))
		}
		token = strings.Fields(token)[0]
		tokens = append(tokens, token)
	}

	invalid := only(t, w.send(t, fwStranger, cmd("start", "AAAAAAAAAAAAAAAAAAAAAA")))
	guesses := []string{"", "x", tokens[0][:21], tokens[0] + "A", strings.ToLower(tokens[0]), strings.ToUpper(tokens[0]),
		tokens[0] + "=", " " + tokens[0][1:], "'; DELETE FROM invites;--", tokens[0][:11] + "\u202e" + tokens[0][12:]}
	for range 500 {
		b := make([]byte, 16)
		rand.Read(b) //nolint:errcheck // never fails
		guesses = append(guesses, base64.RawURLEncoding.EncodeToString(b))
	}
	for _, g := range guesses {
		if g == tokens[0] || g == tokens[1] {
			continue
		}
		got := said(w.send(t, fwStranger, cmd("start", g)))
		if g == "" {
			continue // /start alone: the welcome
		}
		if got != invalid {
			t.Errorf("guess %q: got %q, want %q", g, got, invalid)
		}
	}
	roles, err := w.db.RolesOf(ctx, fwStranger)
	if err != nil || len(roles) != 0 {
		t.Fatalf("the stranger holds %v (%v) after %d guesses, want nothing", roles, err, len(guesses))
	}

	// The tokens are nowhere in the records; their hashes are.
	for _, token := range tokens {
		var n int
		sum := sha256.Sum256([]byte(token))
		if err := w.conn.QueryRow(ctx, `SELECT count(*) FROM invites WHERE token_hash = $1`, sum[:]).Scan(&n); err != nil || n != 1 {
			t.Fatalf("invites under the token's hash: %d (%v), want 1", n, err)
		}
		if where := findText(t, w.conn, token); where != "" {
			t.Errorf("the invite token is stored in %s", where)
		}
	}
	// And the real one still works.
	if got := said(w.send(t, fwStranger, cmd("start", tokens[1]))); got == invalid {
		t.Fatalf("the real token was refused: %q", got)
	}
	t.Logf("%d guesses refused; tokens stored only as SHA-256", len(guesses))
}

// findText names the first table whose rows hold s, as text, hex or base64.
func findText(t *testing.T, conn *pgx.Conn, s string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(s)
	for _, name := range tables {
		var hit bool
		q := `SELECT EXISTS (SELECT 1 FROM ` + pgx.Identifier{name}.Sanitize() + ` t
			WHERE strpos(t::text, $1) > 0 OR ($2 <> '' AND strpos(t::text, $2) > 0))`
		if err := conn.QueryRow(ctx, q, s, hexOf(raw)).Scan(&hit); err != nil {
			t.Fatal(err)
		}
		if hit {
			return name
		}
	}
	return ""
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
