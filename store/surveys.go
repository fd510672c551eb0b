package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of surveys.
const (
	// SurveyAssessment is answered by sampled households through single-use slips (and
	// on paper); it counts for acceptance.
	SurveyAssessment = "assessment"
	// SurveyOpen is answered through a poster, once per account; it gathers feedback
	// and never counts for acceptance.
	SurveyOpen = "open"
)

// How a ballot came in.
const (
	BallotSlip   = "slip"
	BallotPaper  = "paper"
	BallotPoster = "poster"
)

var (
	// ErrSurveyClosed reports a survey that is closed or not open yet.
	ErrSurveyClosed = errors.New("survey not open")
	// ErrSlipUsed reports a slip that has been answered with already.
	ErrSlipUsed = errors.New("slip already used")
	// ErrAlreadyAnswered reports an account that answered this open survey already.
	ErrAlreadyAnswered = errors.New("already answered")
)

// Survey is one satisfaction survey of a village.
type Survey struct {
	ID         int64           `db:"id"`
	RegionID   int64           `db:"region_id"`
	Kind       string          `db:"kind"`
	TemplateID string          `db:"template_id"`
	Template   json.RawMessage `db:"template"`
	MinAnswers int32           `db:"min_answers"`
	PassRate   float64         `db:"pass_rate"`
	Formula    string          `db:"formula"`
	OpensAt    time.Time       `db:"opens_at"`
	ClosesAt   time.Time       `db:"closes_at"`
	ClosedAt   *time.Time      `db:"closed_at"`
	CreatedBy  int64           `db:"created_by"`
	// SlipsIssued is how many slips an assessment has handed out.
	SlipsIssued int32 `db:"slips_issued"`
}

// OpenAt reports whether the survey takes answers at t.
func (s Survey) OpenAt(t time.Time) bool {
	return s.ClosedAt == nil && !t.Before(s.OpensAt) && t.Before(s.ClosesAt)
}

const surveyColumns = `id, region_id, kind, template_id, template, min_answers, pass_rate, formula,
	opens_at, closes_at, closed_at, created_by, slips_issued`

// CreateSurvey stores a new survey; an open survey comes with the hash of its poster's
// token, an assessment without.
func (db *DB) CreateSurvey(ctx context.Context, s Survey, posterHash []byte) (Survey, error) {
	const q = `INSERT INTO surveys (region_id, kind, template_id, template, min_answers, pass_rate, formula,
			opens_at, closes_at, created_by, poster_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ` + surveyColumns
	out, err := collectOne[Survey](ctx, db, q, s.RegionID, s.Kind, s.TemplateID, s.Template, s.MinAnswers,
		s.PassRate, s.Formula, s.OpensAt, s.ClosesAt, s.CreatedBy, posterHash)
	if err != nil {
		return Survey{}, fmt.Errorf("create survey: %w", err)
	}
	return out, nil
}

// SurveyByID returns one survey; forUpdate locks it for the rest of the transaction.
func (db *DB) SurveyByID(ctx context.Context, id int64, forUpdate bool) (Survey, error) {
	q := `SELECT ` + surveyColumns + ` FROM surveys WHERE id = $1`
	if forUpdate && !db.lite { // SQLite: the transaction holds the write lock already
		q += ` FOR UPDATE`
	}
	return collectOne[Survey](ctx, db, q, id)
}

// SurveyByPoster returns the open survey whose poster token has that hash.
func (db *DB) SurveyByPoster(ctx context.Context, posterHash []byte) (Survey, error) {
	const q = `SELECT ` + surveyColumns + ` FROM surveys WHERE poster_hash = $1`
	return collectOne[Survey](ctx, db, q, posterHash)
}

// SurveysOf returns the surveys of the villages that are open or closed since closedSince,
// the latest closing first, at most limit.
func (db *DB) SurveysOf(ctx context.Context, regionIDs []int64, closedSince time.Time, limit int) ([]Survey, error) {
	const q = `SELECT ` + surveyColumns + ` FROM surveys
		WHERE region_id = ANY($1) AND (closed_at IS NULL OR closed_at >= $2)
		ORDER BY closed_at IS NULL DESC, coalesce(closed_at, closes_at) DESC, id DESC LIMIT $3`
	const qLite = `SELECT ` + surveyColumns + ` FROM surveys
		WHERE region_id IN (SELECT value FROM json_each($1)) AND (closed_at IS NULL OR closed_at >= $2)
		ORDER BY closed_at IS NULL DESC, coalesce(closed_at, closes_at) DESC, id DESC LIMIT $3`
	return collect[Survey](ctx, db, db.pick(q, qLite), regionIDs, closedSince, limit)
}

// DueSurveys returns the surveys still open whose closing time has come by now, the
// earliest first, at most limit.
func (db *DB) DueSurveys(ctx context.Context, now time.Time, limit int) ([]Survey, error) {
	const q = `SELECT ` + surveyColumns + ` FROM surveys
		WHERE closed_at IS NULL AND closes_at <= $1 ORDER BY closes_at, id LIMIT $2`
	return collect[Survey](ctx, db, q, now, limit)
}

// CloseSurvey marks a survey closed at now. It returns false when it was closed already.
func (db *DB) CloseSurvey(ctx context.Context, id int64, now time.Time) (bool, error) {
	tag, err := db.q.Exec(ctx, `UPDATE surveys SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, id, now)
	if err != nil {
		return false, fmt.Errorf("close survey %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClosedAssessments returns a village's assessments closed before t, the latest first,
// at most limit.
func (db *DB) ClosedAssessments(ctx context.Context, regionID int64, before time.Time, limit int) ([]Survey, error) {
	const q = `SELECT ` + surveyColumns + ` FROM surveys
		WHERE region_id = $1 AND kind = 'assessment' AND closed_at IS NOT NULL AND closed_at < $2
		ORDER BY closed_at DESC, id DESC LIMIT $3`
	return collect[Survey](ctx, db, q, regionID, before, limit)
}

// IssueSlips adds one slip per token hash to an assessment, numbered on from the slips
// it has, and returns the first new number.
func (db *DB) IssueSlips(ctx context.Context, surveyID int64, hashes [][]byte) (int, error) {
	const bump = `UPDATE surveys SET slips_issued = slips_issued + $2 WHERE id = $1 AND kind = 'assessment'
		RETURNING slips_issued - $2`
	const add = `INSERT INTO survey_slips (survey_id, number, token_hash)
		SELECT $1, $2 + n, h FROM unnest($3::bytea[]) WITH ORDINALITY AS t(h, n)`
	var before int
	err := db.InTx(ctx, func(tx *DB) error {
		if err := tx.q.QueryRow(ctx, bump, surveyID, len(hashes)).Scan(&before); err != nil {
			return interpret(err)
		}
		if tx.lite { // no arrays in SQLite: one row at a time
			const addLite = `INSERT INTO survey_slips (survey_id, number, token_hash) VALUES ($1, $2, $3)`
			for i, h := range hashes {
				if _, err := tx.q.Exec(ctx, addLite, surveyID, before+i+1, h); err != nil {
					return interpret(err)
				}
			}
			return nil
		}
		_, err := tx.q.Exec(ctx, add, surveyID, before, hashes)
		return interpret(err)
	})
	if err != nil {
		return 0, fmt.Errorf("issue slips: %w", err)
	}
	return before + 1, nil
}

// SurveySlip is a slip as found by its token: the survey it is for, its number, and
// whether it was used.
type SurveySlip struct {
	SurveyID int64 `db:"survey_id"`
	Number   int32 `db:"number"`
	Used     bool  `db:"used"`
}

// SlipByHash returns the slip whose token has that hash.
func (db *DB) SlipByHash(ctx context.Context, tokenHash []byte) (SurveySlip, error) {
	const q = `SELECT survey_id, number, used FROM survey_slips WHERE token_hash = $1`
	return collectOne[SurveySlip](ctx, db, q, tokenHash)
}

// SlipByNumber returns the slip of a survey with that number.
func (db *DB) SlipByNumber(ctx context.Context, surveyID int64, number int32) (SurveySlip, error) {
	const q = `SELECT survey_id, number, used FROM survey_slips WHERE survey_id = $1 AND number = $2`
	return collectOne[SurveySlip](ctx, db, q, surveyID, number)
}

// HasAnswered reports whether the voter hash has answered the survey.
func (db *DB) HasAnswered(ctx context.Context, surveyID int64, voterHash []byte) (bool, error) {
	var ok bool
	const q = `SELECT EXISTS (SELECT 1 FROM survey_voters WHERE survey_id = $1 AND voter_hash = $2)`
	if err := db.q.QueryRow(ctx, q, surveyID, voterHash).Scan(&ok); err != nil {
		return false, fmt.Errorf("has answered: %w", err)
	}
	return ok, nil
}

// Ballot is one household's or account's answers: question id → option id.
type Ballot struct {
	Source     string            `db:"source"`
	AnsweredOn time.Time         `db:"answered_on"`
	Choices    map[string]string `db:"choices"`
}

// Proof is what entitles a ballot, exactly one of: a scanned slip, the number of the
// slip a household answering on paper holds, or the keyed hash of the account that
// answers an open survey.
type Proof struct {
	SlipHash   []byte
	SlipNumber int32
	VoterHash  []byte
}

func (p Proof) source() (string, error) {
	switch {
	case p.SlipHash != nil && p.SlipNumber == 0 && p.VoterHash == nil:
		return BallotSlip, nil
	case p.SlipHash == nil && p.SlipNumber > 0 && p.VoterHash == nil:
		return BallotPaper, nil
	case p.SlipHash == nil && p.SlipNumber == 0 && p.VoterHash != nil:
		return BallotPoster, nil
	}
	return "", errors.New("a ballot needs exactly one proof")
}

// CastBallot records a ballot and its comment ("" for none) on the survey if it is open
// at now, taking the proof: the slip is marked used, or the voter hash recorded. It
// fails with ErrSurveyClosed, ErrSlipUsed, ErrAlreadyAnswered or ErrNotFound (no such
// slip on this survey), and then records nothing. Answers to one survey are recorded
// one at a time.
//
// Afterwards the survey's ballots, comments, slips and voter hashes are all rewritten in
// random order in this transaction: the ballot just cast cannot be told from the others
// by its position in the table or by the transaction that wrote it.
func (db *DB) CastBallot(ctx context.Context, surveyID int64, p Proof, b Ballot, comment string, now time.Time) error {
	source, err := p.source()
	if err != nil {
		return err
	}
	kind := SurveyAssessment
	if source == BallotPoster {
		kind = SurveyOpen
	}
	choices, err := json.Marshal(b.Choices)
	if err != nil {
		return fmt.Errorf("cast ballot: %w", err)
	}
	return db.InTx(ctx, func(tx *DB) error {
		s, err := tx.SurveyByID(ctx, surveyID, true)
		if err != nil {
			return fmt.Errorf("cast ballot: %w", err)
		}
		if !s.OpenAt(now) {
			return ErrSurveyClosed
		}
		if s.Kind != kind {
			return fmt.Errorf("cast ballot: a %s ballot on a %s survey: %w", source, s.Kind, ErrNotFound)
		}
		switch source {
		case BallotSlip, BallotPaper:
			const take = `UPDATE survey_slips SET used = true
				WHERE survey_id = $1 AND (token_hash = $2 OR number = $3) AND NOT used`
			tag, err := tx.q.Exec(ctx, take, surveyID, p.SlipHash, p.SlipNumber)
			if err != nil {
				return fmt.Errorf("cast ballot: %w", err)
			}
			if tag.RowsAffected() == 0 {
				const exists = `SELECT EXISTS (SELECT 1 FROM survey_slips
					WHERE survey_id = $1 AND (token_hash = $2 OR number = $3))`
				var ok bool
				if err := tx.q.QueryRow(ctx, exists, surveyID, p.SlipHash, p.SlipNumber).Scan(&ok); err != nil {
					return fmt.Errorf("cast ballot: %w", err)
				}
				if ok {
					return ErrSlipUsed
				}
				return ErrNotFound
			}
		case BallotPoster:
			const vote = `INSERT INTO survey_voters (survey_id, voter_hash) VALUES ($1, $2)`
			if _, err := tx.q.Exec(ctx, vote, surveyID, p.VoterHash); err != nil {
				if errors.Is(interpret(err), ErrConflict) {
					return ErrAlreadyAnswered
				}
				return fmt.Errorf("cast ballot: %w", err)
			}
		}
		const add = `INSERT INTO survey_ballots (survey_id, source, answered_on, choices) VALUES ($1, $2, $3, $4)`
		if _, err := tx.q.Exec(ctx, add, surveyID, source, b.AnsweredOn.Format(time.DateOnly), choices); err != nil {
			return fmt.Errorf("cast ballot: %w", err)
		}
		if comment != "" {
			const addComment = `INSERT INTO survey_comments (survey_id, body) VALUES ($1, $2)`
			if _, err := tx.q.Exec(ctx, addComment, surveyID, comment); err != nil {
				return fmt.Errorf("cast ballot: %w", err)
			}
		}
		return tx.scatter(ctx, surveyID)
	})
}

// scatter rewrites every row of the survey in the tables that say who answered and what,
// in random order, so that all of them carry this transaction's id and none sits where
// the order of answering put it.
func (db *DB) scatter(ctx context.Context, surveyID int64) error {
	if db.lite {
		for _, table := range []string{"survey_ballots", "survey_comments", "survey_slips", "survey_voters"} {
			if err := db.scatterLite(ctx, table, surveyID); err != nil {
				return err
			}
		}
		return nil
	}
	for _, q := range []string{
		`WITH gone AS (DELETE FROM survey_ballots WHERE survey_id = $1 RETURNING *)
			INSERT INTO survey_ballots SELECT * FROM gone ORDER BY random()`,
		`WITH gone AS (DELETE FROM survey_comments WHERE survey_id = $1 RETURNING *)
			INSERT INTO survey_comments SELECT * FROM gone ORDER BY random()`,
		`WITH gone AS (DELETE FROM survey_slips WHERE survey_id = $1 RETURNING *)
			INSERT INTO survey_slips SELECT * FROM gone ORDER BY random()`,
		`WITH gone AS (DELETE FROM survey_voters WHERE survey_id = $1 RETURNING *)
			INSERT INTO survey_voters SELECT * FROM gone ORDER BY random()`,
	} {
		if _, err := db.q.Exec(ctx, q, surveyID); err != nil {
			return fmt.Errorf("scatter survey %d: %w", surveyID, err)
		}
	}
	return nil
}

// scatterLite rewrites the survey's rows of table in random order on SQLite, which has
// no DELETE in a WITH: through a temporary table, in the caller's transaction. The
// rows get new rowids in random order.
func (db *DB) scatterLite(ctx context.Context, table string, surveyID int64) error {
	name := pgx.Identifier{table}.Sanitize() // quoted, as SQLite reads it too
	for _, q := range []string{
		`CREATE TEMP TABLE scatter AS SELECT * FROM ` + name + ` WHERE survey_id = $1`,
		`DELETE FROM ` + name + ` WHERE survey_id = $1`,
		`INSERT INTO ` + name + ` SELECT * FROM temp.scatter ORDER BY random()`,
		`DROP TABLE temp.scatter`,
	} {
		if _, err := db.q.Exec(ctx, q, surveyID); err != nil {
			return fmt.Errorf("scatter survey %d: %w", surveyID, err)
		}
	}
	return nil
}

// Ballots returns a survey's ballots, in no particular order.
func (db *DB) Ballots(ctx context.Context, surveyID int64) ([]Ballot, error) {
	const q = `SELECT source, answered_on, choices FROM survey_ballots WHERE survey_id = $1`
	return collect[Ballot](ctx, db, q, surveyID)
}

// BallotCounts returns how many ballots a survey has, by source.
func (db *DB) BallotCounts(ctx context.Context, surveyID int64) (map[string]int, error) {
	rows, err := db.q.Query(ctx, `SELECT source, count(*) FROM survey_ballots WHERE survey_id = $1 GROUP BY source`, surveyID)
	if err != nil {
		return nil, fmt.Errorf("ballot counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var source string
		var n int
		if err := rows.Scan(&source, &n); err != nil {
			return nil, fmt.Errorf("ballot counts: %w", err)
		}
		out[source] = n
	}
	return out, rows.Err()
}

// SurveyComments returns a survey's comments in random order.
func (db *DB) SurveyComments(ctx context.Context, surveyID int64) ([]string, error) {
	rows, err := db.q.Query(ctx, `SELECT body FROM survey_comments WHERE survey_id = $1 ORDER BY random()`, surveyID)
	if err != nil {
		return nil, fmt.Errorf("survey comments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("survey comments: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddFollower puts a chat on the list of those told the survey's headline result when it
// closes. Being on it already is not an error.
func (db *DB) AddFollower(ctx context.Context, surveyID, chatID int64) error {
	const add = `INSERT INTO survey_followers (survey_id, chat_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	const scatter = `WITH gone AS (DELETE FROM survey_followers WHERE survey_id = $1 RETURNING *)
		INSERT INTO survey_followers SELECT * FROM gone ORDER BY random()`
	return db.InTx(ctx, func(tx *DB) error {
		if _, err := tx.q.Exec(ctx, add, surveyID, chatID); err != nil {
			return fmt.Errorf("add follower: %w", interpret(err))
		}
		if tx.lite {
			return tx.scatterLite(ctx, "survey_followers", surveyID)
		}
		if _, err := tx.q.Exec(ctx, scatter, surveyID); err != nil {
			return fmt.Errorf("add follower: %w", err)
		}
		return nil
	})
}

// TakeFollowers removes and returns the chats waiting for the survey's headline result.
func (db *DB) TakeFollowers(ctx context.Context, surveyID int64) ([]int64, error) {
	rows, err := db.q.Query(ctx, `DELETE FROM survey_followers WHERE survey_id = $1 RETURNING chat_id`, surveyID)
	if err != nil {
		return nil, fmt.Errorf("take followers: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("take followers: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// QueueSurveyNotices keeps notices (encoded replies) until TakeSurveyNotices hands them out.
func (db *DB) QueueSurveyNotices(ctx context.Context, replies []json.RawMessage) error {
	const q = `INSERT INTO survey_notices (reply) SELECT unnest($1::jsonb[])`
	if len(replies) == 0 {
		return nil
	}
	if db.lite { // no arrays in SQLite: one row at a time, in one transaction
		return db.InTx(ctx, func(tx *DB) error {
			for _, r := range replies {
				if _, err := tx.q.Exec(ctx, `INSERT INTO survey_notices (reply) VALUES ($1)`, r); err != nil {
					return fmt.Errorf("queue survey notices: %w", err)
				}
			}
			return nil
		})
	}
	if _, err := db.q.Exec(ctx, q, replies); err != nil {
		return fmt.Errorf("queue survey notices: %w", err)
	}
	return nil
}

// TakeSurveyNotices removes and returns up to limit queued notices, oldest first. Each is
// handed out once: concurrent takers get different notices.
func (db *DB) TakeSurveyNotices(ctx context.Context, limit int) ([]json.RawMessage, error) {
	const q = `DELETE FROM survey_notices WHERE id IN (
			SELECT id FROM survey_notices ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, reply`
	// SQLite: one statement writes at a time, so no two takers get one notice.
	const qLite = `DELETE FROM survey_notices WHERE id IN (
			SELECT id FROM survey_notices ORDER BY id LIMIT $1)
		RETURNING id, reply`
	rows, err := db.q.Query(ctx, db.pick(q, qLite), limit)
	if err != nil {
		return nil, fmt.Errorf("take survey notices: %w", err)
	}
	defer rows.Close()
	type notice struct {
		id    int64
		reply json.RawMessage
	}
	var got []notice
	for rows.Next() {
		var n notice
		if err := rows.Scan(&n.id, &n.reply); err != nil {
			return nil, fmt.Errorf("take survey notices: %w", err)
		}
		got = append(got, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take survey notices: %w", err)
	}
	// RETURNING gives no order: put them back in the order they were queued.
	slices.SortFunc(got, func(a, b notice) int { return cmp.Compare(a.id, b.id) })
	out := make([]json.RawMessage, len(got))
	for i, n := range got {
		out[i] = n.reply
	}
	return out, nil
}

// SurveySettings are a county's own survey rules; a nil field takes the template's default.
type SurveySettings struct {
	RegionID   int64              `db:"region_id"`
	MinAnswers *int32             `db:"min_answers"`
	PassRate   *float64           `db:"pass_rate"`
	Formula    *string            `db:"formula"`
	Weights    map[string]float64 `db:"weights"`
}

// SurveySettings returns a county's survey rules, none set if it has no row.
func (db *DB) SurveySettings(ctx context.Context, countyID int64) (SurveySettings, error) {
	const q = `SELECT region_id, min_answers, pass_rate, formula, weights FROM survey_settings WHERE region_id = $1`
	s, err := collectOne[SurveySettings](ctx, db, q, countyID)
	if errors.Is(err, ErrNotFound) {
		return SurveySettings{RegionID: countyID, Weights: map[string]float64{}}, nil
	}
	if err != nil {
		return SurveySettings{}, fmt.Errorf("survey settings: %w", err)
	}
	return s, nil
}

// SetSurveySettings stores a county's survey rules.
func (db *DB) SetSurveySettings(ctx context.Context, s SurveySettings) error {
	weights := s.Weights
	if weights == nil {
		weights = map[string]float64{}
	}
	const q = `INSERT INTO survey_settings (region_id, min_answers, pass_rate, formula, weights)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (region_id) DO UPDATE SET min_answers = $2, pass_rate = $3, formula = $4, weights = $5, updated_at = now()`
	if _, err := db.q.Exec(ctx, q, s.RegionID, s.MinAnswers, s.PassRate, s.Formula, weights); err != nil {
		return fmt.Errorf("set survey settings: %w", interpret(err))
	}
	return nil
}

// Overseers returns the first secretaries of a village and the supervisors over it, each
// once, by id.
func (db *DB) Overseers(ctx context.Context, village Region) ([]User, error) {
	q := `SELECT DISTINCT ` + prefixed("u.", userColumns) + `
		FROM role_assignments a JOIN users u ON u.id = a.user_id JOIN regions r ON r.id = a.region_id
		WHERE a.revoked_at IS NULL AND (
			(a.role = 'first_secretary' AND a.region_id = $1) OR
			(a.role = 'supervisor' AND $2 LIKE r.path || '%'))
		ORDER BY u.id`
	return collect[User](ctx, db, q, village.ID, village.Path)
}
