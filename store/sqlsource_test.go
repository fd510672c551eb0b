package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sqlWords are words that make a string literal SQL.
var sqlWords = regexp.MustCompile(`\b(SELECT|INSERT|UPDATE|DELETE|WHERE|ORDER BY|LIMIT|OFFSET|VALUES|RETURNING)\b`)

// TestNoSQLBuiltFromStrings parses every Go source of the module (tests aside): the SQL
// passed to pgx's Exec, Query and QueryRow — directly or through a helper that hands
// its parameter on (the store's collect, collectOne, …) — is made of constants only:
// literals, named constants, constants joined with +, local variables only ever set
// from such, and the results of the package's own functions called with such (column
// lists). Never fmt.Sprintf, never a value: values go as $n arguments. An identifier
// quoted by pgx (pgx.Identifier{…}.Sanitize(), for DDL that takes no arguments) is
// allowed. And no fmt.Sprintf anywhere formats SQL.
func TestNoSQLBuiltFromStrings(t *testing.T) {
	t.Parallel()
	root := ".."
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{} // by directory
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	calls, sprintfs := 0, 0
	for _, files := range pkgs {
		c := newSQLChecker(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if ok && isSprintf(call) {
					sprintfs++
					if lit, ok := call.Args[0].(*ast.BasicLit); ok && sqlWords.MatchString(lit.Value) {
						t.Errorf("%s: fmt.Sprintf formats SQL", fset.Position(call.Pos()))
					}
				}
				return true
			})
		}
		for _, fn := range c.funcs {
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				name, idx := c.sinkOf(call)
				if idx < 0 || idx >= len(call.Args) {
					return true
				}
				arg := call.Args[idx]
				if _, ok := paramIndex(fn, arg); ok && isHelper(c, fn) {
					return true // a helper handing its parameter on: checked where it is called
				}
				if sel, ok := arg.(*ast.SelectorExpr); ok && sel.Sel.Name == "SQL" {
					return true // a migration: an embedded .sql file of the module
				}
				calls++
				if !c.constant(fn, arg, map[string]bool{}) {
					t.Errorf("%s: %s runs SQL that is not made of constants", fset.Position(arg.Pos()), name)
				}
				return true
			})
		}
	}
	if calls < 100 {
		t.Fatalf("found only %d SQL calls; the walk is broken", calls)
	}
	t.Logf("%d SQL calls, all made of constants; %d fmt.Sprintf calls, none formats SQL", calls, sprintfs)
}

// sqlChecker knows one package's constants, functions and SQL sinks.
type sqlChecker struct {
	consts map[string]bool
	funcs  map[string]*ast.FuncDecl // plain functions and methods, by name
	sinks  map[string]int           // call name → index of its SQL argument
}

func newSQLChecker(files []*ast.File) *sqlChecker {
	c := &sqlChecker{consts: map[string]bool{}, funcs: map[string]*ast.FuncDecl{},
		sinks: map[string]int{"Exec": 1, "Query": 1, "QueryRow": 1}}
	for _, f := range files {
		for _, d := range f.Decls {
			constNames(d, c.consts)
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				c.funcs[fn.Name.Name] = fn
			}
		}
	}
	// A function that passes one of its parameters as the SQL of a sink is a sink too.
	for changed := true; changed; {
		changed = false
		for name, fn := range c.funcs {
			if _, ok := c.sinks[name]; ok && name != "Exec" && name != "Query" && name != "QueryRow" {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if _, idx := c.sinkOf(call); idx >= 0 && idx < len(call.Args) {
					if p, ok := paramIndex(fn, call.Args[idx]); ok {
						if _, known := c.sinks[name]; !known {
							c.sinks[name], changed = p, true
						}
					}
				}
				return true
			})
		}
	}
	return c
}

func isHelper(c *sqlChecker, fn *ast.FuncDecl) bool {
	_, ok := c.sinks[fn.Name.Name]
	return ok
}

// sinkOf returns the name and SQL argument index of a call that runs SQL; -1 if none.
func (c *sqlChecker) sinkOf(call *ast.CallExpr) (string, int) {
	fun := call.Fun
	if ix, ok := fun.(*ast.IndexExpr); ok { // collect[T]
		fun = ix.X
	}
	var name string
	switch f := fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
	default:
		return "", -1
	}
	idx, ok := c.sinks[name]
	if !ok {
		return "", -1
	}
	return name, idx
}

// constant reports whether e is made of constants only (see the test).
func (c *sqlChecker) constant(fn *ast.FuncDecl, e ast.Expr, seen map[string]bool) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.ParenExpr:
		return c.constant(fn, x.X, seen)
	case *ast.BinaryExpr:
		return x.Op == token.ADD && c.constant(fn, x.X, seen) && c.constant(fn, x.Y, seen)
	case *ast.Ident:
		if seen[x.Name] {
			return true // judged by its other assignments
		}
		seen[x.Name] = true
		if sets, ok := assignments(fn, x.Name); ok {
			for _, s := range sets {
				if !c.constant(fn, s, seen) {
					return false
				}
			}
			return true
		}
		return c.consts[x.Name]
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sanitize" {
			lit, ok := sel.X.(*ast.CompositeLit)
			typ, ok2 := lit.Type.(*ast.SelectorExpr)
			return ok && ok2 && typ.Sel.Name == "Identifier"
		}
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "pick" {
			// db.pick(pg, lite) returns one of its arguments: the dialect's variant.
			for _, a := range x.Args {
				if !c.constant(fn, a, seen) {
					return false
				}
			}
			return true
		}
		id, ok := x.Fun.(*ast.Ident)
		if !ok || c.funcs[id.Name] == nil {
			return false
		}
		for _, a := range x.Args {
			if !c.constant(fn, a, seen) {
				return false
			}
		}
		return true
	}
	return false
}

// assignments returns what a local variable of fn is set to (false if it is none):
// the right-hand sides of its assignments, the elements of a []string it ranges over.
func assignments(fn *ast.FuncDecl, name string) ([]ast.Expr, bool) {
	var out []ast.Expr
	local := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, l := range s.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					local = true
					if len(s.Rhs) == len(s.Lhs) {
						out = append(out, s.Rhs[i])
					} else {
						out = append(out, &ast.BadExpr{})
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range s.Names {
				if id.Name == name && i < len(s.Values) {
					if g := fn.Body; g != nil {
						local = true
						out = append(out, s.Values[i])
					}
				}
			}
		case *ast.RangeStmt:
			if id, ok := s.Value.(*ast.Ident); ok && id.Name == name {
				local = true
				lit, ok := s.X.(*ast.CompositeLit)
				if !ok {
					out = append(out, &ast.BadExpr{})
					return true
				}
				out = append(out, lit.Elts...)
			}
		}
		return true
	})
	return out, local
}

// paramIndex returns the position of e among fn's parameters, if e is one.
func paramIndex(fn *ast.FuncDecl, e ast.Expr) (int, bool) {
	id, ok := e.(*ast.Ident)
	if !ok {
		return 0, false
	}
	i := 0
	for _, field := range fn.Type.Params.List {
		for _, n := range field.Names {
			if n.Name == id.Name {
				return i, true
			}
			i++
		}
	}
	return 0, false
}

// constNames adds the names n declares as constants.
func constNames(n ast.Node, consts map[string]bool) {
	g, ok := n.(*ast.GenDecl)
	if !ok || g.Tok != token.CONST {
		return
	}
	for _, s := range g.Specs {
		for _, name := range s.(*ast.ValueSpec).Names {
			consts[name.Name] = true
		}
	}
}

func isSprintf(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "fmt" && strings.HasSuffix(sel.Sel.Name, "printf")
}
