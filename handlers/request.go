package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"zhucun/store"
)

// Request is one input on its way through the handlers: who sent it, what they may do,
// where their conversation stands, and the replies gathered so far.
type Request struct {
	In    Input
	User  store.User
	Roles []store.Role
	Admin bool
	Conv  store.Conversation

	tx          *store.DB
	h           *Handlers
	tr          translator
	replies     []Reply
	convChanged bool
}

func (h *Handlers) newRequest(ctx context.Context, tx *store.DB, in Input, conv store.Conversation) (*Request, error) {
	in.FirstName, in.LanguageCode = storableName(in.FirstName), storableName(in.LanguageCode)
	u, err := tx.TouchUser(ctx, in.UserID, in.FirstName, in.LanguageCode)
	if err != nil {
		return nil, err
	}
	roles, err := tx.RolesOf(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	r := &Request{
		In: in, User: u, Roles: roles, Admin: slices.Contains(h.cfg.AdminIDs, u.ID), Conv: conv,
		tx: tx, h: h,
	}
	r.setLocale(localeFor(u.Locale, u.LanguageCode, h.cfg.DefaultLocale))
	return r, nil
}

func (r *Request) setLocale(locale string) { r.tr = newTranslator(r.h.bundle, locale) }

// Locale is the locale the user is answered in.
func (r *Request) Locale() string { return r.tr.locale }

// T renders a message in the user's locale.
func (r *Request) T(id string, kv ...any) string { return r.tr.T(id, kv...) }

// Reply adds a reply; one without a ChatID goes to the input's chat.
func (r *Request) Reply(rep Reply) {
	if rep.ChatID == 0 {
		rep.ChatID = r.In.ChatID
	}
	r.replies = append(r.replies, rep)
}

// Say replies with one message.
func (r *Request) Say(id string, kv ...any) { r.Reply(Reply{Text: r.T(id, kv...)}) }

// Prompt asks for the next step with buttons. After a button press it replaces the
// pressed message, so a flow stays one message on a slow connection.
func (r *Request) Prompt(text string, buttons [][]Button) {
	rep := Reply{Text: text, Buttons: buttons}
	if r.In.Callback != nil {
		rep.EditMessageID = r.In.Callback.MessageID
	}
	r.Reply(rep)
}

// Finish ends a flow's exchange with text in a new message that brings back the main
// keyboard; the buttons of a pressed message are taken away.
func (r *Request) Finish(text string) {
	if r.In.Callback != nil {
		r.Reply(Reply{EditMessageID: r.In.Callback.MessageID, RemoveButtons: true})
	}
	r.Reply(Reply{Text: text, Keyboard: r.mainKeyboard()})
}

// Goto moves the conversation to a step of a flow, keeping its draft.
func (r *Request) Goto(flow, step string) {
	if r.Conv.Flow != flow {
		r.Conv.Draft = nil
	}
	r.Conv.Flow, r.Conv.Step = flow, step
	r.convChanged = true
}

// EndFlow leaves the current flow and drops its draft.
func (r *Request) EndFlow() {
	r.Conv.Flow, r.Conv.Step, r.Conv.Draft = "", "", nil
	r.convChanged = true
}

// SetDraft keeps a value of the flow's draft.
func (r *Request) SetDraft(key, value string) {
	if r.Conv.Draft == nil {
		r.Conv.Draft = map[string]string{}
	}
	r.Conv.Draft[key] = value
	r.convChanged = true
}

// Draft reads a value of the flow's draft.
func (r *Request) Draft(key string) string { return r.Conv.Draft[key] }

// Pressed returns the value of the button pressed for the current step, if the input
// is such a press.
func (r *Request) Pressed() (string, bool) {
	if r.In.Callback == nil {
		return "", false
	}
	_, rest, _ := strings.Cut(r.In.Callback.Data, ":")
	_, value, ok := strings.Cut(rest, ":")
	return value, ok
}

// button builds an inline button for a step of a flow.
func button(text, flow, step, value string) Button {
	return Button{Text: text, Data: callbackData(flow, step, value)}
}

// callbackData encodes flow, step and value; Telegram allows 64 bytes.
func callbackData(flow, step, value string) string {
	d := flow + ":" + step + ":" + value
	if len(d) > 64 {
		panic(fmt.Sprintf("callback data %q is longer than 64 bytes", d))
	}
	return d
}

// parseCallback returns the flow and step a button belongs to.
func parseCallback(data string) (flow, step string, ok bool) {
	flow, rest, ok1 := strings.Cut(data, ":")
	step, _, ok2 := strings.Cut(rest, ":")
	return flow, step, ok1 && ok2 && flow != "" && step != ""
}
