package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"zhucun/locales"
)

// messageID is the shape of a message ID: feature.key.
var messageID = regexp.MustCompile(`^[a-z][a-z_]*\.[a-z][a-z_.]*$`)

// usedMessageIDs returns every string literal of the shape of a message ID in the
// non-test source of the packages that show messages: this one, and web/ (the
// playground page's own texts).
func usedMessageIDs(t *testing.T) map[string]bool {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.go", "../web/*.go"} {
		matched, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matched...)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && messageID.MatchString(s) {
				used[s] = true
			}
			return true
		})
	}
	return used
}

func localeFiles(t *testing.T) map[string]map[string]string {
	t.Helper()
	names, err := fs.Glob(locales.FS, "*.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, name := range names {
		b, err := fs.ReadFile(locales.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		msgs := map[string]string{}
		if err := toml.Unmarshal(b, &msgs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// "zh-Hans.toml" and "problem.zh-Hans.toml" both hold zh-Hans messages.
		base := strings.TrimSuffix(name, ".toml")
		locale := base[strings.LastIndex(base, ".")+1:]
		if out[locale] == nil {
			out[locale] = map[string]string{}
		}
		for id, text := range msgs {
			if _, dup := out[locale][id]; dup {
				t.Errorf("%s: message %q is defined twice", name, id)
			}
			out[locale][id] = text
		}
	}
	return out
}

func TestLocalesComplete(t *testing.T) {
	t.Parallel()
	used := usedMessageIDs(t)
	files := localeFiles(t)
	var shipped []string
	for l := range files {
		shipped = append(shipped, l)
	}
	sort.Strings(shipped)
	want := slices.Clone(shippedLocales)
	sort.Strings(want)
	if !slices.Equal(shipped, want) {
		t.Fatalf("locale files %v, want %v", shipped, want)
	}
	if len(used) < 20 {
		t.Fatalf("found only %d message IDs in the source; the scan is broken", len(used))
	}
	for locale, msgs := range files {
		for id := range used {
			if strings.TrimSpace(msgs[id]) == "" {
				t.Errorf("%s: message %q is used in handlers/ or web/ but missing", locale, id)
			}
		}
		for id := range msgs {
			if !used[id] {
				t.Errorf("%s: message %q is not used anywhere in handlers/ or web/", locale, id)
			}
		}
	}
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func TestLocalesAgreeOnPlaceholders(t *testing.T) {
	t.Parallel()
	files := localeFiles(t)
	base := files[shippedLocales[0]]
	for locale, msgs := range files {
		for id, text := range msgs {
			got, want := placeholders(text), placeholders(base[id])
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: placeholders %v, want %v as in %s", locale, id, got, want, shippedLocales[0])
			}
		}
	}
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestMissingMessageRendersItsID(t *testing.T) {
	t.Parallel()
	b, err := newBundle("zh-Hans")
	if err != nil {
		t.Fatal(err)
	}
	tr := newTranslator(b, "en")
	if got, want := tr.T("no.such_message"), "no.such_message"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := tr.T("invite.days", "Days", 7), "7 days"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
