package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Archive keeps photo bytes on disk, content-addressed: a file's name is the SHA-256 of
// its bytes, so the same photo is stored once whoever sent it.
type Archive struct {
	dir string
}

// NewArchive returns the archive under dir (created when first written).
func NewArchive(dir string) *Archive { return &Archive{dir: dir} }

// Path is where the bytes with that hash are kept.
func (a *Archive) Path(sum string) string {
	return filepath.Join(a.dir, sum[:2], sum)
}

// Put stores data and returns its hash. Writing is atomic (a temporary file renamed into
// place), so a crash leaves either the whole file or none.
func (a *Archive) Put(data []byte) (string, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	path := a.Path(sum)
	if _, err := os.Stat(path); err == nil {
		return sum, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	return sum, nil
}

// Get reads the bytes with that hash.
func (a *Archive) Get(sum string) ([]byte, error) {
	b, err := os.ReadFile(a.Path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return b, err
}

// FetchFunc downloads a file by the channel's file id.
type FetchFunc func(ctx context.Context, fileID string) ([]byte, error)

// maxArchivePause bounds the pause between two tries of one photo.
const maxArchivePause = 6 * time.Hour

// ArchivePhotos archives up to limit problem photos whose bytes are not kept yet, one
// transaction each, and returns how many it archived. A photo whose file was archived
// before (same unique id) is not downloaded again. A failed download is retried on a
// later run after a growing pause; it does not stop the others. Several processes may
// run this at once: each photo is taken by one (SKIP LOCKED).
func (db *DB) ArchivePhotos(ctx context.Context, a *Archive, fetch FetchFunc, now time.Time, limit int) (int, error) {
	if db.lite {
		return db.archivePhotosLite(ctx, a, fetch, now, limit)
	}
	done := 0
	for done < limit {
		var found, archived bool
		err := db.InTx(ctx, func(tx *DB) error {
			const pick = `SELECT id, file_id, unique_id, archive_attempts FROM problem_photos
				WHERE sha256 IS NULL AND archive_after <= $1
				ORDER BY archive_after, id LIMIT 1 FOR UPDATE SKIP LOCKED`
			var id int64
			var fileID, uniqueID string
			var attempts int
			err := tx.q.QueryRow(ctx, pick, now).Scan(&id, &fileID, &uniqueID, &attempts)
			if err != nil {
				if errors.Is(interpret(err), ErrNotFound) {
					return nil
				}
				return fmt.Errorf("archive: pick: %w", err)
			}
			found = true
			var sum string
			err = tx.q.QueryRow(ctx, `SELECT sha256 FROM photo_archive WHERE unique_id = $1`, uniqueID).Scan(&sum)
			switch {
			case errors.Is(interpret(err), ErrNotFound):
				data, ferr := fetch(ctx, fileID)
				if ferr == nil {
					sum, ferr = a.Put(data)
				}
				if ferr != nil {
					pause := min(time.Duration(1<<min(attempts, 20))*time.Minute, maxArchivePause)
					const retry = `UPDATE problem_photos SET archive_attempts = archive_attempts + 1,
						archive_after = $2, archive_error = $3 WHERE id = $1`
					_, err := tx.q.Exec(ctx, retry, id, now.Add(pause), ferr.Error())
					return err
				}
				const keep = `INSERT INTO photo_archive (unique_id, sha256, size) VALUES ($1, $2, $3)
					ON CONFLICT (unique_id) DO NOTHING`
				if _, err := tx.q.Exec(ctx, keep, uniqueID, sum, len(data)); err != nil {
					return fmt.Errorf("archive: %w", err)
				}
			case err != nil:
				return fmt.Errorf("archive: %w", err)
			}
			const mark = `UPDATE problem_photos SET sha256 = $2, archive_error = '' WHERE unique_id = $1 AND sha256 IS NULL`
			if _, err := tx.q.Exec(ctx, mark, uniqueID, sum); err != nil {
				return fmt.Errorf("archive: %w", err)
			}
			archived = true
			return nil
		})
		if err != nil {
			return done, err
		}
		if !found {
			return done, nil
		}
		if archived {
			done++
		}
	}
	return done, nil
}

// archiveLease is how long a photo taken for archiving on SQLite is left to the process
// that took it before another may take it (that process died meanwhile).
const archiveLease = 10 * time.Minute

// archivePhotosLite is ArchivePhotos on SQLite. A transaction there holds the file's
// write lock, so the download must not run inside one: a photo is taken in a short
// transaction for archiveLease (its archive_after moves past the lease), downloaded,
// then recorded in a second one.
func (db *DB) archivePhotosLite(ctx context.Context, a *Archive, fetch FetchFunc, now time.Time, limit int) (int, error) {
	done := 0
	for done < limit {
		var id int64
		var fileID, uniqueID string
		var attempts int
		var known *string // the hash of the file, when it was archived before
		err := db.InTx(ctx, func(tx *DB) error {
			const pick = `SELECT id, file_id, unique_id, archive_attempts,
					(SELECT sha256 FROM photo_archive a WHERE a.unique_id = p.unique_id)
				FROM problem_photos p
				WHERE sha256 IS NULL AND archive_after <= $1
				ORDER BY archive_after, id LIMIT 1`
			if err := tx.q.QueryRow(ctx, pick, now).Scan(&id, &fileID, &uniqueID, &attempts, &known); err != nil {
				return interpret(err)
			}
			_, err := tx.q.Exec(ctx, `UPDATE problem_photos SET archive_after = $2 WHERE id = $1`, id, now.Add(archiveLease))
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return done, nil
		}
		if err != nil {
			return done, fmt.Errorf("archive: pick: %w", err)
		}
		sum, size := "", 0
		if known != nil {
			sum = *known
		} else {
			data, ferr := fetch(ctx, fileID)
			if ferr == nil {
				sum, ferr = a.Put(data)
			}
			if ferr != nil {
				pause := min(time.Duration(1<<min(attempts, 20))*time.Minute, maxArchivePause)
				const retry = `UPDATE problem_photos SET archive_attempts = archive_attempts + 1,
					archive_after = $2, archive_error = $3 WHERE id = $1`
				if _, err := db.q.Exec(ctx, retry, id, now.Add(pause), ferr.Error()); err != nil {
					return done, fmt.Errorf("archive: %w", err)
				}
				continue
			}
			size = len(data)
		}
		err = db.InTx(ctx, func(tx *DB) error {
			if known == nil {
				const keep = `INSERT INTO photo_archive (unique_id, sha256, size) VALUES ($1, $2, $3)
					ON CONFLICT (unique_id) DO NOTHING`
				if _, err := tx.q.Exec(ctx, keep, uniqueID, sum, size); err != nil {
					return err
				}
			}
			const mark = `UPDATE problem_photos SET sha256 = $2, archive_error = '' WHERE unique_id = $1 AND sha256 IS NULL`
			_, err := tx.q.Exec(ctx, mark, uniqueID, sum)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("archive: %w", err)
		}
		done++
	}
	return done, nil
}
