package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// routeTable is every route of the bot with the access it requires: commands, and the
// steps of flows, whose flow:step is the prefix of their buttons' callback data. A route
// the handlers register that is missing here, has no access, or requires another one
// than listed fails the test.
var routeTable = map[string]string{
	"/start":       "anyone",
	"/help":        "anyone",
	"/me":          "anyone",
	"/settings":    "anyone",
	"/lang":        "anyone",
	"/feedback":    "anyone",
	"/cancel":      "anyone",
	"/checkin":     "team (member or first secretary)",
	"/note":        "team (member or first secretary)",
	"/report":      "reporter (resident, member or first secretary)",
	"/problems":    "any role",
	"/ledger":      "first secretary, supervisor or admin",
	"/survey":      "first secretary, supervisor or admin",
	"/month":       "staff (member, first secretary, supervisor) or admin",
	"/checkins":    "staff (member, first secretary, supervisor) or admin",
	"/export":      "staff (member, first secretary, supervisor) or admin",
	"/weekly":      "staff (member, first secretary, supervisor) or admin",
	"/present":     "first secretary",
	"/leave":       "first secretary",
	"/invite":      "supervisor, first secretary or admin",
	"/monthly":     "supervisor or admin",
	"/surveyrules": "admin",

	"lang:pick": "anyone",
	"fb:text":   "anyone",
	"fb:anon":   "anyone",
	"st:menu":   "anyone",
	"st:kind":   "anyone",

	"ci:village": "team (member or first secretary)",
	"ci:loc":     "team (member or first secretary)",
	"ci:reason":  "team (member or first secretary)",
	"ci:note":    "team (member or first secretary)",
	"ci:photo":   "team (member or first secretary)",
	"ci:album":   "team (member or first secretary)",

	"pb:village": "reporter (resident, member or first secretary)",
	"pb:cat":     "reporter (resident, member or first secretary)",
	"pb:desc":    "reporter (resident, member or first secretary)",
	"pb:photos":  "reporter (resident, member or first secretary)",
	"pb:loc":     "reporter (resident, member or first secretary)",
	"pb:urg":     "reporter (resident, member or first secretary)",
	"pb:dup":     "reporter (resident, member or first secretary)",
	"pb:confirm": "reporter (resident, member or first secretary)",

	"pl:go":   "any role",
	"pl:who":  "any role",
	"pl:unit": "any role",
	"pl:meas": "any role",
	"pl:due":  "any role",
	"pl:ck":   "any role",
	"pl:why":  "any role",
	"pl:note": "any role",
	"pl:ev":   "any role",

	"pr:who":  "first secretary",
	"lv:who":  "first secretary",
	"lv:days": "first secretary",

	"inv:role": "supervisor, first secretary or admin",
	"inv:node": "supervisor, first secretary or admin",
	"inv:exp":  "supervisor, first secretary or admin",
	"inv:uses": "supervisor, first secretary or admin",

	"wk:d": "staff (member, first secretary, supervisor) or admin",
	"wk:t": "staff (member, first secretary, supervisor) or admin",
	"wk:p": "staff (member, first secretary, supervisor) or admin",
	"wk:s": "supervisor or admin",
	"wk:c": "supervisor or admin",
	"wk:m": "supervisor or admin",

	"wn:text":    "team (member or first secretary)",
	"wn:village": "team (member or first secretary)",

	"sv:menu":  "first secretary, supervisor or admin",
	"sv:vil":   "first secretary, supervisor or admin",
	"sv:tpl":   "first secretary, supervisor or admin",
	"sv:opens": "first secretary, supervisor or admin",
	"sv:days":  "first secretary, supervisor or admin",
	"sv:slips": "first secretary, supervisor or admin",
	"sv:paper": "first secretary, supervisor or admin",

	"sa:q":   "anyone",
	"sa:cmt": "anyone",
	"sa:ok":  "anyone",
	"sa:fol": "anyone",
}

func testHandlers(t *testing.T) *Handlers {
	t.Helper()
	h, err := New(Config{DeepLinkFunc: func(p string) string { return "https://t.me/x?start=" + p }}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEveryRouteRequiresARole fails on a command or flow step with no access check, or
// one the route table does not list with the access it has.
func TestEveryRouteRequiresARole(t *testing.T) {
	t.Parallel()
	h := testHandlers(t)
	for _, c := range h.commands {
		if c.access.allowed == nil || c.access.name == "" {
			t.Errorf("command /%s has no access", c.name)
		}
	}
	for flow, steps := range h.flows {
		for name, st := range steps {
			if st.access.allowed == nil || st.access.name == "" || st.run == nil {
				t.Errorf("step %s:%s has no access or no function", flow, name)
			}
		}
	}
	got := RouteAccess(h)
	for route, access := range got {
		want, ok := routeTable[route]
		switch {
		case !ok:
			t.Errorf("route %s (access %q) is not in the route table", route, access)
		case want != access:
			t.Errorf("route %s requires %q, the route table says %q", route, access, want)
		}
	}
	for route := range routeTable {
		if _, ok := got[route]; !ok {
			t.Errorf("route table lists %s, which the handlers do not register", route)
		}
	}
	if len(got) < 70 {
		t.Fatalf("only %d routes registered; the table walk is broken", len(got))
	}
}

// TestEveryButtonHasARoute reads the package's sources: every button built with a
// constant flow and step (button, callbackData) names a registered step, so no button
// leads anywhere the route table does not cover. A button whose flow or step is a
// variable is checked where the variable is set: the step must be a registered one of
// the flow.
func TestEveryButtonHasARoute(t *testing.T) {
	t.Parallel()
	h := testHandlers(t)
	fset := token.NewFileSet()
	consts := map[string]string{}
	var files []*ast.File
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	checked, variable := 0, 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn, ok := call.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			var flowArg, stepArg ast.Expr
			switch {
			case fn.Name == "button" && len(call.Args) == 4:
				flowArg, stepArg = call.Args[1], call.Args[2]
			case fn.Name == "callbackData" && len(call.Args) == 3:
				flowArg, stepArg = call.Args[0], call.Args[1]
			default:
				return true
			}
			flow, ok1 := identConst(flowArg, consts)
			step, ok2 := identConst(stepArg, consts)
			if !ok1 || !ok2 {
				variable++
				return true
			}
			checked++
			if _, ok := h.flows[flow][step]; !ok {
				t.Errorf("%s: a button of %s:%s, which no route handles", fset.Position(call.Pos()), flow, step)
			}
			return true
		})
	}
	// The step variables are set from these constants (the ledger's note and evidence
	// steps, the present and leave pickers); they must be routes as well.
	for _, route := range []string{"pl:note", "pl:ev", "pr:who", "lv:who"} {
		flow, step, _ := strings.Cut(route, ":")
		if _, ok := h.flows[flow][step]; !ok {
			t.Errorf("variable button step %s is no route", route)
		}
	}
	if checked < 50 || variable > 4 {
		t.Fatalf("checked %d buttons with constant routes and %d with variables; want ≥ 50 and ≤ 4 (a new variable one must be added above)", checked, variable)
	}
	t.Logf("%d button call sites checked against %d routes", checked+variable, len(RouteAccess(h)))
}

func identConst(e ast.Expr, consts map[string]string) (string, bool) {
	id, ok := e.(*ast.Ident)
	if !ok {
		return "", false
	}
	v, ok := consts[id.Name]
	return v, ok
}
