package handlers

import (
	"context"
	"strings"
	"unicode/utf8"
)

const (
	flowFeedback     = "fb"
	stepFeedbackText = "text"
	stepFeedbackAnon = "anon"

	maxFeedbackRunes = 2000
)

func (h *Handlers) feedbackStart(_ context.Context, r *Request) error {
	r.Goto(flowFeedback, stepFeedbackText)
	r.Say("feedback.prompt")
	return nil
}

func (h *Handlers) feedbackText(_ context.Context, r *Request) error {
	body := strings.TrimSpace(r.In.Text)
	if body == "" || r.In.Callback != nil {
		r.Say("feedback.need_text")
		return nil
	}
	if utf8.RuneCountInString(body) > maxFeedbackRunes {
		r.Say("feedback.too_long", "Max", maxFeedbackRunes)
		return nil
	}
	r.SetDraft("body", body)
	r.Goto(flowFeedback, stepFeedbackAnon)
	r.Prompt(r.T("feedback.ask_anonymous"), [][]Button{{
		button(r.T("feedback.anonymous"), flowFeedback, stepFeedbackAnon, "anon"),
		button(r.T("feedback.named"), flowFeedback, stepFeedbackAnon, "named"),
	}})
	return nil
}

func (h *Handlers) feedbackAnon(ctx context.Context, r *Request) error {
	choice, ok := r.Pressed()
	if !ok || (choice != "anon" && choice != "named") {
		r.Say("feedback.ask_anonymous_again")
		return nil
	}
	body := r.Draft("body")
	var sender *int64
	if choice == "named" {
		sender = &r.User.ID
	}
	if _, err := r.tx.AddFeedback(ctx, sender, body, h.cfg.NowFunc()); err != nil {
		return err
	}
	r.EndFlow()
	r.Prompt(r.T("feedback.thanks"), nil)
	for _, admin := range h.cfg.AdminIDs {
		tr := newTranslator(h.bundle, h.cfg.DefaultLocale)
		if u, err := r.tx.UserByID(ctx, admin); err == nil {
			tr = h.translatorFor(u)
		}
		text := tr.T("feedback.to_admin_anonymous", "Body", body)
		if sender != nil {
			text = tr.T("feedback.to_admin_named", "Body", body, "Name", r.User.FirstName, "ID", r.User.ID)
		}
		r.Reply(Reply{ChatID: admin, Text: text})
	}
	return nil
}
