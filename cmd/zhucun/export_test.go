package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestExportMonthly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.importDemo(t)
	dir := t.TempDir()
	export := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"export", "monthly"}, args...), e.getenv(nil), &out, &errOut)
		return out.String(), err
	}
	sheets := func(t *testing.T, data []byte) []string {
		t.Helper()
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("open the report: %v", err)
		}
		defer f.Close()
		return f.GetSheetList()
	}

	t.Run("to a file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(dir, "qs.xlsx")
		out, err := export(t, "--node", "DEMO-QS", "--month", "2026-11", "--out", path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, "wrote "+path+": monthly report of DEMO-QS 2026-11") {
			t.Fatalf("stdout: got %q", out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sheets(t, data), []string{"汇总", "东坪村", "南塘村", "西岭村"}; !slices.Equal(got, want) {
			t.Fatalf("sheets: got %q, want %q", got, want)
		}
	})
	t.Run("to stdout, in English, for the county", func(t *testing.T) {
		t.Parallel()
		out, err := export(t, "--node", "DEMO", "--month", "2026-11", "--out", "-", "--lang", "en")
		if err != nil {
			t.Fatal(err)
		}
		got := sheets(t, []byte(out))
		if len(got) != 7 || got[0] != "Summary" || !slices.Contains(got, "Dongping Village") {
			t.Fatalf("sheets: got %q, want Summary and the six villages by their English names", got)
		}
	})
	for _, tc := range []struct {
		name   string
		args   []string
		config bool // a usage error (exit 2) rather than a failure
		want   []string
	}{
		{"no node, no month", nil, true, []string{"--node: required", `--month: expected YYYY-MM, got ""`, "usage: zhucun export monthly"}},
		{"bad month", []string{"--node", "DEMO", "--month", "2026-13"}, true, []string{`--month: expected YYYY-MM, got "2026-13"`}},
		{"bad language", []string{"--node", "DEMO", "--month", "2026-11", "--lang", "fr"}, true, []string{`--lang: expected zh-Hans or en, got "fr"`}},
		{"unknown region", []string{"--node", "NOPE", "--month", "2026-11", "--out", filepath.Join(dir, "nope.xlsx")}, false, []string{`region "NOPE": not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := export(t, tc.args...)
			var ce *configError
			if err == nil || errors.As(err, &ce) != tc.config {
				t.Fatalf("got %v, want a usage error: %t", err, tc.config)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
			if i := slices.Index(tc.args, "--out"); i >= 0 {
				if _, err := os.Stat(tc.args[i+1]); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: got %v, want no file written", tc.args[i+1], err)
				}
			}
		})
	}
	t.Run("no report named", func(t *testing.T) {
		t.Parallel()
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"export"}, e.getenv(nil), &out, &errOut)
		var ce *configError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "usage: zhucun export monthly") {
			t.Fatalf("got %v, want the usage", err)
		}
	})
}
