package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// idBlock is how many update ids are reserved on disk at once.
const idBlock = 1000

// updateIDs hands out update ids that increase and never repeat, across restarts too:
// the handlers mark every update id processed, so a repeated id would be dropped as a
// replay. Ids are reserved in blocks written to a file before any of them is used, so
// a crash skips the rest of a block and never reuses one; and a start never begins
// below the clock in milliseconds, so a lost file does not bring old ids back either.
type updateIDs struct {
	path string

	mu       sync.Mutex
	next     int64
	reserved int64 // ids below this are reserved on disk
}

func openUpdateIDs(path string) (*updateIDs, error) {
	u := &updateIDs{path: path, next: 1}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		n, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil || n < 1 {
			return nil, fmt.Errorf("update ids: %s is damaged", path)
		}
		u.next = n
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("update ids: %w", err)
	}
	u.next = max(u.next, time.Now().UnixMilli())
	u.reserved = u.next
	return u, nil
}

// take returns the next update id.
func (u *updateIDs) take() (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.next >= u.reserved {
		if err := u.reserve(u.next + idBlock); err != nil {
			return 0, err
		}
	}
	id := u.next
	u.next++
	return id, nil
}

// reserve writes the high-water mark atomically and durably.
func (u *updateIDs) reserve(upTo int64) error {
	if err := os.MkdirAll(filepath.Dir(u.path), 0o750); err != nil {
		return fmt.Errorf("update ids: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(u.path), ".ids-*")
	if err != nil {
		return fmt.Errorf("update ids: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.WriteString(strconv.FormatInt(upTo, 10) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("update ids: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("update ids: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("update ids: %w", err)
	}
	if err := os.Rename(tmp.Name(), u.path); err != nil {
		return fmt.Errorf("update ids: %w", err)
	}
	u.reserved = upTo
	return nil
}
