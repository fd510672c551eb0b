package handlers

import (
	"context"
	"slices"
	"strings"

	"zhucun/store"
)

func (h *Handlers) start(ctx context.Context, r *Request) error {
	if token := strings.TrimSpace(r.In.Args); token != "" {
		if isSurveyPayload(token) {
			return h.surveyStart(ctx, r, token)
		}
		return h.redeem(ctx, r, token)
	}
	r.Say("start.welcome", "Name", r.User.FirstName)
	return h.help(ctx, r)
}

func (h *Handlers) help(_ context.Context, r *Request) error {
	lines := []string{r.T("help.title")}
	for _, c := range h.commands {
		if c.help == "" || !c.access.allowed(r) {
			continue
		}
		lines = append(lines, "/"+c.name+" — "+r.T(c.help))
	}
	r.Reply(Reply{Text: strings.Join(lines, "\n"), Keyboard: r.mainKeyboard()})
	return nil
}

func (h *Handlers) me(ctx context.Context, r *Request) error {
	lines := []string{r.T("me.title", "Name", r.User.FirstName, "ID", r.User.ID)}
	if r.Admin {
		lines = append(lines, "• "+r.T("role.admin"))
	}
	for _, ro := range r.Roles {
		where, err := h.regionPath(ctx, r, ro.Region)
		if err != nil {
			return err
		}
		lines = append(lines, "• "+r.roleName(ro.Role)+" — "+where)
	}
	if !r.Admin && len(r.Roles) == 0 {
		lines = append(lines, r.T("me.no_roles"))
	}
	lines = append(lines, r.T("me.language", "Language", r.T("lang.name")))
	r.Reply(Reply{Text: strings.Join(lines, "\n")})
	return nil
}

// regionPath names a region with its ancestors, "某县 / 某镇 / 某村".
func (h *Handlers) regionPath(ctx context.Context, r *Request, region store.Region) (string, error) {
	chain, err := r.tx.Ancestors(ctx, region)
	if err != nil {
		return "", err
	}
	names := make([]string, len(chain))
	for i, c := range chain {
		names[i] = c.DisplayName(r.Locale())
	}
	return strings.Join(names, " / "), nil
}

const (
	flowLang     = "lang"
	stepLangPick = "pick"
)

func (h *Handlers) langStart(_ context.Context, r *Request) error {
	r.Goto(flowLang, stepLangPick)
	var row []Button
	for _, l := range shippedLocales {
		row = append(row, button(newTranslator(h.bundle, l).T("lang.name"), flowLang, stepLangPick, l))
	}
	r.Prompt(r.T("lang.prompt"), [][]Button{row})
	return nil
}

func (h *Handlers) langPick(ctx context.Context, r *Request) error {
	l, ok := r.Pressed()
	if !ok || !slices.Contains(shippedLocales, l) {
		r.Say("lang.prompt")
		return nil
	}
	if err := r.tx.SetLocale(ctx, r.User.ID, l); err != nil {
		return err
	}
	r.setLocale(l)
	r.EndFlow()
	r.Prompt(r.T("lang.saved", "Language", r.T("lang.name")), nil)
	return nil
}
