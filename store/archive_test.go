package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

// files counts the photo files under dir.
func files(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// seedProblemWithPhotos saves a problem with photos named by their unique ids; two
// problems may share a photo (the same file sent twice).
func seedProblemWithPhotos(t *testing.T, db *store.DB, village store.Region, uniqueIDs ...string) store.Problem {
	t.Helper()
	ctx := t.Context()
	if _, err := db.TouchUser(ctx, 1, "u", "zh"); err != nil {
		t.Fatal(err)
	}
	var photos []store.ProblemPhoto
	for _, u := range uniqueIDs {
		photos = append(photos, store.ProblemPhoto{FileID: "file-" + u, UniqueID: u})
	}
	p, err := db.AddProblem(ctx, store.Problem{RegionID: village.ID, Year: 2026, Category: "economy",
		Description: "路灯坏了", Latitude: 29.1, Longitude: 106.5, Urgency: "normal", ReportedBy: 1,
		ReporterRole: store.RoleMember, ReportedAt: time.Now()}, photos)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeFetch serves made-up bytes per file id and counts downloads; it fails once the
// budget of downloads is spent (like a job killed midway).
type fakeFetch struct {
	mu        sync.Mutex
	downloads map[string]int
	budget    int
}

func (f *fakeFetch) fetch(_ context.Context, fileID string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.budget == 0 {
		return nil, errors.New("killed")
	}
	f.budget--
	f.downloads[fileID]++
	return []byte("bytes of " + fileID), nil
}

func TestArchivePhotosOnceEach(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		dir := t.TempDir()
		a := store.NewArchive(dir)
		p1 := seedProblemWithPhotos(t, db, regions["V1"], "a", "b", "c", "d")
		p2 := seedProblemWithPhotos(t, db, regions["V2"], "c", "e") // c is shared
		now := time.Now()

		// The first run is cut off after two downloads: the failure is recorded for a later
		// try, and nothing else is lost.
		f := &fakeFetch{downloads: map[string]int{}, budget: 2}
		n, err := db.ArchivePhotos(ctx, a, f.fetch, now, 100)
		if err != nil || n != 2 {
			t.Fatalf("first run: archived %d (%v), want 2", n, err)
		}
		// The second run finds the failed photos paused, and archives them once the pause is over.
		f.budget = 100
		if n, err := db.ArchivePhotos(ctx, a, f.fetch, now, 100); err != nil || n != 0 {
			t.Fatalf("run during the pause: archived %d (%v), want 0", n, err)
		}
		n, err = db.ArchivePhotos(ctx, a, f.fetch, now.Add(24*time.Hour), 100)
		if err != nil || n != 3 { // c (both rows at once), d and e
			t.Fatalf("run after the pause: archived %d (%v), want 3", n, err)
		}
		for id, times := range f.downloads {
			if times != 1 {
				t.Errorf("%s downloaded %d times, want 1", id, times)
			}
		}
		if got := len(f.downloads); got != 5 {
			t.Errorf("%d distinct files downloaded, want 5", got)
		}
		if got := files(t, dir); got != 5 {
			t.Errorf("%d files in the archive, want 5", got)
		}
		for _, p := range []store.Problem{p1, p2} {
			photos, err := db.ProblemPhotos(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ph := range photos {
				if ph.SHA256 == nil {
					t.Fatalf("problem %d photo %s not archived", p.ID, ph.UniqueID)
				}
				b, err := a.Get(*ph.SHA256)
				if err != nil || string(b) != "bytes of file-"+ph.UniqueID {
					t.Fatalf("photo %s: archive holds %q (%v)", ph.UniqueID, b, err)
				}
			}
		}
		// A photo of a file archived before is not downloaded again.
		p3 := seedProblemWithPhotos(t, db, regions["V3"], "a")
		photos, err := db.ProblemPhotos(ctx, p3.ID)
		if err != nil || photos[0].SHA256 == nil {
			t.Fatalf("a known file is archived at once: %+v (%v)", photos, err)
		}
		if n, err := db.ArchivePhotos(ctx, a, f.fetch, now.Add(48*time.Hour), 100); err != nil || n != 0 {
			t.Fatalf("nothing left: archived %d (%v), want 0", n, err)
		}
		if f.downloads["file-a"] != 1 {
			t.Fatalf("file-a downloaded %d times, want 1", f.downloads["file-a"])
		}
	})
}

func TestArchivePhotosConcurrently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		a := store.NewArchive(t.TempDir())
		var ids []string
		for i := 0; i < 10; i++ {
			ids = append(ids, fmt.Sprintf("p%d", i))
		}
		seedProblemWithPhotos(t, db, regions["V1"], ids...)
		f := &fakeFetch{downloads: map[string]int{}, budget: 1000}
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.ArchivePhotos(ctx, a, f.fetch, time.Now(), 100); err != nil {
					t.Errorf("archive: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(f.downloads) != 10 {
			t.Fatalf("%d files downloaded, want 10", len(f.downloads))
		}
		for id, n := range f.downloads {
			if n != 1 {
				t.Errorf("%s downloaded %d times by three workers, want 1", id, n)
			}
		}
	})
}
