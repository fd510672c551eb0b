package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"zhucun/store"
)

// maxFileBytes caps an uploaded photo, as Telegram caps what a bot may download.
const maxFileBytes = 20 << 20

// Files keeps the files of the web chat on disk under ids of their own, as Telegram
// keeps a bot's files under file ids: photos users upload, and photos and documents
// the bot sends.
type Files struct {
	dir string
}

// NewFiles returns the file store under dir (created when first written).
func NewFiles(dir string) *Files { return &Files{dir: dir} }

// Put stores data under a fresh file id and returns it. Writing is atomic.
func (f *Files) Put(data []byte) (string, error) {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	id := "w" + hex.EncodeToString(b[:])
	if err := os.MkdirAll(f.dir, 0o750); err != nil {
		return "", fmt.Errorf("store file: %w", err)
	}
	tmp, err := os.CreateTemp(f.dir, ".put-*")
	if err != nil {
		return "", fmt.Errorf("store file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("store file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.dir, id)); err != nil {
		return "", fmt.Errorf("store file: %w", err)
	}
	return id, nil
}

// Fetch returns the bytes of a file by its id; it is the web channel's store.FetchFunc,
// so the photo archive reads uploaded photos from here.
func (f *Files) Fetch(_ context.Context, fileID string) ([]byte, error) {
	if !validFileID(fileID) {
		return nil, fmt.Errorf("file %q: %w", fileID, store.ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, fileID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("file %s: %w", fileID, store.ErrNotFound)
	}
	return b, err
}

// validFileID reports whether s could be an id Put made: "w" and 24 hex digits.
func validFileID(s string) bool {
	if len(s) != 25 || s[0] != 'w' {
		return false
	}
	_, err := hex.DecodeString(s[1:])
	return err == nil
}
