package bot_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"zhucun/bot"
)

// TestWebhookAuth posts updates with no, wrong, prefix-only, longer and look-alike
// secrets, oversized bodies with and without the secret, and other methods: every one
// is refused (401 before the body is read, 413, 405) and none is processed — the same
// update delivered afterwards with the secret is handled as new. A deployment without a
// secret refuses everything.
func TestWebhookAuth(t *testing.T) {
	t.Parallel()
	const secret = "Zx9-secret_value-0123456789"
	f := setup(t, bot.PipelineConfig{WebhookSecret: secret})
	srv := httptest.NewServer(f.p.WebhookHandler())
	t.Cleanup(srv.Close)
	u := f.api.NewUser(11, "十一", "en")
	upd := marshal(t, u.Command("help"))
	huge := marshal(t, u.Text(strings.Repeat("x", 1<<20)))

	post := func(h http.Handler, method, secret, body string, header bool) int {
		t.Helper()
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		if header {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	h := f.p.WebhookHandler()
	for _, tc := range []struct {
		name, method, secret, body string
		header                     bool
		want                       int
	}{
		{"no header", http.MethodPost, "", upd, false, http.StatusUnauthorized},
		{"empty", http.MethodPost, "", upd, true, http.StatusUnauthorized},
		{"wrong", http.MethodPost, "nope", upd, true, http.StatusUnauthorized},
		{"prefix only", http.MethodPost, secret[:len(secret)-1], upd, true, http.StatusUnauthorized},
		{"first byte only", http.MethodPost, secret[:1], upd, true, http.StatusUnauthorized},
		{"longer", http.MethodPost, secret + "0", upd, true, http.StatusUnauthorized},
		{"last byte differs", http.MethodPost, secret[:len(secret)-1] + "8", upd, true, http.StatusUnauthorized},
		{"other case", http.MethodPost, strings.ToUpper(secret), upd, true, http.StatusUnauthorized},
		{"padded", http.MethodPost, " " + secret, upd, true, http.StatusUnauthorized},
		{"oversized secret", http.MethodPost, strings.Repeat(secret, 300), upd, true, http.StatusUnauthorized},
		{"oversized body, wrong secret", http.MethodPost, "nope", huge, true, http.StatusUnauthorized},
		{"oversized body", http.MethodPost, secret, huge, true, http.StatusRequestEntityTooLarge},
		{"oversized padding", http.MethodPost, secret, upd + strings.Repeat(" ", 1<<20), true, http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, secret, "", true, http.StatusMethodNotAllowed},
		{"not an update", http.MethodPost, secret, `{"update_id":0}`, true, http.StatusBadRequest},
	} {
		if got := post(h, tc.method, tc.secret, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := len(f.api.Messages(u.ID)); n != 0 {
		t.Fatalf("%d messages after refused deliveries, want 0", n)
	}
	// Without a configured secret, nothing gets in, not even an empty header.
	open := setup(t, bot.PipelineConfig{}).p.WebhookHandler()
	for _, header := range []bool{false, true} {
		if got := post(open, http.MethodPost, "", upd, header); got != http.StatusUnauthorized {
			t.Errorf("no secret configured (header %v): got %d, want 401", header, got)
		}
	}
	// Nothing was marked processed: the update is handled when it comes with the secret.
	if got := post(h, http.MethodPost, secret, upd, true); got != http.StatusOK {
		t.Fatalf("right secret: got %d, want 200", got)
	}
	if msgs := f.api.Messages(u.ID); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "/help") {
		t.Fatalf("messages %+v, want the help once", msgs)
	}

}

// TestWebhookSecretComparedInConstantTime reads the webhook handler's source: the secret
// is compared with crypto/subtle.ConstantTimeCompare (over fixed-length digests) and
// never with == or !=, whose time depends on the common prefix.
func TestWebhookSecretComparedInConstantTime(t *testing.T) {
	t.Parallel()
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, "pipeline.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var handler *ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "WebhookHandler" {
			handler = fn
		}
	}
	if handler == nil {
		t.Fatal("no WebhookHandler in pipeline.go")
	}
	constantTime := 0
	ast.Inspect(handler, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "subtle" {
					constantTime++
				}
			}
		case *ast.BinaryExpr:
			if x.Op != gotoken.EQL && x.Op != gotoken.NEQ {
				return true
			}
			for _, side := range []ast.Expr{x.X, x.Y} {
				var src bytes.Buffer
				src.WriteString(exprString(fset, side))
				other := x.Y
				if side == x.Y {
					other = x.X
				}
				empty := false
				if lit, ok := other.(*ast.BasicLit); ok && lit.Value == `""` {
					empty = true // "is a secret configured" is no comparison of secrets
				}
				if (strings.Contains(src.String(), "Secret") || strings.Contains(src.String(), "Header")) && !empty {
					t.Errorf("%s: the secret is compared with %s", fset.Position(x.Pos()), x.Op)
				}
			}
		}
		return true
	})
	if constantTime != 1 {
		t.Fatalf("%d calls of subtle.ConstantTimeCompare in WebhookHandler, want 1", constantTime)
	}
}

func exprString(fset *gotoken.FileSet, e ast.Expr) string {
	var b strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			b.WriteString(x.Name + ".")
		case *ast.BasicLit:
			b.WriteString(x.Value)
		}
		return true
	})
	return b.String()
}
