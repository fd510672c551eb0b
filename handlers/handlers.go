// Package handlers is the product: commands, conversation flows, authorisation and the
// rules of the work. It speaks a channel-neutral protocol (Input in, Replies out) and
// never sees Telegram, so the same flows run behind any channel and are tested without
// HTTP.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"zhucun/store"
)

// Config is what the handlers need to know about the deployment.
type Config struct {
	// AdminIDs are the user ids of the admins (ZHUCUN_ADMIN_IDS).
	AdminIDs []int64
	// DefaultLocale is used when a user's language is unknown.
	DefaultLocale string
	// DeepLinkFunc turns a start payload into a link that opens the bot with it.
	DeepLinkFunc func(payload string) string
	// NowFunc is the clock; nil means time.Now.
	NowFunc func() time.Time
	// Location is the local time of the deployment (ZHUCUN_TIMEZONE); a county may set
	// its own. Nil means China Standard Time.
	Location *time.Location
	// Secret keys the hashes that tell an open survey who has answered (ZHUCUN_SECRET).
	// Without it open surveys cannot be answered.
	Secret []byte
}

// Handlers runs inputs through the commands and flows, writing records and the
// processed-update marker in one transaction.
type Handlers struct {
	cfg      Config
	db       *store.DB
	state    *store.State
	bundle   *i18n.Bundle
	commands []command
	flows    map[string]map[string]step
}

// stepFunc handles one step of a flow.
type stepFunc func(ctx context.Context, r *Request) error

// access is who may take a route (a command, or a step of a flow and so its buttons): a
// name for the route table and the check, made again on every input. Records a route
// touches are checked again by the route itself; access only keeps out who has no
// business in it at all (a role revoked midway, a forged press of a stale flow).
type access struct {
	name    string
	allowed func(r *Request) bool
}

// The accesses of the routes.
var (
	accessAnyone     = access{"anyone", anyone}
	accessTeam       = access{"team (member or first secretary)", canCheckIn}
	accessReporter   = access{"reporter (resident, member or first secretary)", canReport}
	accessRoleHolder = access{"any role", canSeeProblems}
	accessStaff      = access{"staff (member, first secretary, supervisor) or admin", canSeeAttendance}
	accessLeader     = access{"first secretary", leadsATeam}
	accessOverseer   = access{"first secretary, supervisor or admin", canExportLedger}
	accessInviter    = access{"supervisor, first secretary or admin", canInvite}
	accessSupervisor = access{"supervisor or admin", canMonthly}
	accessAdmin      = access{"admin", func(r *Request) bool { return r.Admin }}
)

// command is a slash command and who may use it.
type command struct {
	name   string
	help   string // message ID of its line in /help
	access access
	run    func(ctx context.Context, r *Request) error
}

// step is one step of a flow and who may take it.
type step struct {
	access access
	run    stepFunc
}

// steps gives every step of a flow the same access.
func steps(a access, fns map[string]stepFunc) map[string]step {
	out := make(map[string]step, len(fns))
	for name, fn := range fns {
		out[name] = step{access: a, run: fn}
	}
	return out
}

// New returns handlers over records in db and conversations in state.
func New(cfg Config, db *store.DB, state *store.State) (*Handlers, error) {
	if cfg.DefaultLocale == "" {
		cfg.DefaultLocale = "zh-Hans"
	}
	if !slices.Contains(shippedLocales, cfg.DefaultLocale) {
		return nil, fmt.Errorf("default locale %q is not shipped (have %v)", cfg.DefaultLocale, shippedLocales)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*60*60)
	}
	if cfg.DeepLinkFunc == nil {
		return nil, errors.New("handlers: DeepLinkFunc is required")
	}
	b, err := newBundle(cfg.DefaultLocale)
	if err != nil {
		return nil, err
	}
	h := &Handlers{cfg: cfg, db: db, state: state, bundle: b, flows: map[string]map[string]step{}}
	h.commands = []command{
		{name: "start", access: accessAnyone, run: h.start},
		{name: "help", help: "help.cmd_help", access: accessAnyone, run: h.help},
		{name: "me", help: "help.cmd_me", access: accessAnyone, run: h.me},
		{name: "checkin", help: "help.cmd_checkin", access: accessTeam, run: h.checkInStart},
		{name: "report", help: "help.cmd_report", access: accessReporter, run: h.reportStart},
		{name: "problems", help: "help.cmd_problems", access: accessRoleHolder, run: h.problemsStart},
		{name: "ledger", help: "help.cmd_ledger", access: accessOverseer, run: h.ledgerExport},
		{name: "month", help: "help.cmd_month", access: accessStaff, run: h.month},
		{name: "checkins", help: "help.cmd_checkins", access: accessStaff, run: h.checkInsOfDay},
		{name: "present", help: "help.cmd_present", access: accessLeader, run: h.presentStart},
		{name: "leave", help: "help.cmd_leave", access: accessLeader, run: h.leaveStart},
		{name: "export", help: "help.cmd_export", access: accessStaff, run: h.export},
		{name: "invite", help: "help.cmd_invite", access: accessInviter, run: h.inviteStart},
		{name: "settings", help: "help.cmd_settings", access: accessAnyone, run: h.settingsStart},
		{name: "lang", help: "help.cmd_lang", access: accessAnyone, run: h.langStart},
		{name: "feedback", help: "help.cmd_feedback", access: accessAnyone, run: h.feedbackStart},
		{name: "cancel", help: "help.cmd_cancel", access: accessAnyone, run: h.cancel},
	}
	h.flows[flowLang] = steps(accessAnyone, map[string]stepFunc{stepLangPick: h.langPick})
	h.flows[flowFeedback] = steps(accessAnyone, map[string]stepFunc{stepFeedbackText: h.feedbackText, stepFeedbackAnon: h.feedbackAnon})
	h.flows[flowCheckIn] = steps(accessTeam, map[string]stepFunc{
		stepCheckInVillage: h.checkInVillage, stepCheckInLocation: h.checkInLocation,
		stepCheckInReason: h.checkInReason, stepCheckInNote: h.checkInNote,
		stepCheckInPhoto: h.checkInPhoto, stepCheckInAlbum: h.checkInAlbum,
	})
	h.flows[flowReport] = steps(accessReporter, map[string]stepFunc{
		stepReportVillage: h.reportVillage, stepReportCategory: h.reportCategory, stepReportDesc: h.reportDescription,
		stepReportPhotos: h.reportPhotos, stepReportLocation: h.reportLocation, stepReportUrgency: h.reportUrgency,
		stepReportDup: h.reportDup, stepReportConfirm: h.reportConfirm,
	})
	h.flows[flowLedger] = steps(accessRoleHolder, h.ledgerSteps())
	h.flows[flowPresent] = steps(accessLeader, map[string]stepFunc{stepPresentWho: h.presentWho})
	h.flows[flowSettings] = steps(accessAnyone, map[string]stepFunc{stepSettingsMenu: h.settingsMenu, stepSettingsKind: h.settingsKind})
	h.flows[flowLeave] = steps(accessLeader, map[string]stepFunc{stepLeaveWho: h.leaveWho, stepLeaveDays: h.leaveDays})
	h.flows[flowInvite] = steps(accessInviter, map[string]stepFunc{
		stepInviteRole: h.inviteRole, stepInviteNode: h.inviteNode,
		stepInviteExpiry: h.inviteExpiry, stepInviteUses: h.inviteUses,
	})
	h.commands = append(h.commands, h.weeklyCommands()...)
	h.flows[flowWeekly] = h.weeklySteps()
	h.flows[flowNote] = steps(accessTeam, h.noteSteps())
	h.commands = append(h.commands, h.surveyCommands()...)
	h.flows[flowSurvey] = steps(accessOverseer, h.surveySteps())
	h.flows[flowAnswer] = steps(accessAnyone, h.answerSteps())
	return h, nil
}

func anyone(*Request) bool { return true }

// Handle runs one input. Its records, the conversation's next state and the marker that
// the update is processed are written together: the transaction commits only after the
// conversation was saved (a save that lost a race rolls everything back, ErrConflict).
// A replayed input changes nothing and yields no replies. The replies are handed out
// once: the caller must deliver them.
func (h *Handlers) Handle(ctx context.Context, in Input) ([]Reply, error) {
	conv, err := h.state.Load(ctx, in.ChatID)
	if err != nil {
		return nil, err
	}
	var saved *store.Conversation
	var handled []Reply // the replies of this call, when it handled the update
	err = h.db.InTx(ctx, func(tx *store.DB) error {
		handled = nil
		fresh, err := tx.MarkProcessed(ctx, in.UpdateID)
		if err != nil || !fresh {
			return err
		}
		if conv.Update == in.UpdateID && conv.Prev != nil {
			// An earlier try at this update saved the conversation, and its records
			// never committed (they would have, MarkProcessed says no): start again
			// from where the conversation stood before that try.
			version := conv.Version
			conv = *conv.Prev
			conv.Version = version
		}
		prev := conv
		prev.Draft, prev.Update, prev.Prev = maps.Clone(conv.Draft), 0, nil
		r, err := h.newRequest(ctx, tx, in, conv)
		if err != nil {
			return err
		}
		if err := h.route(ctx, r); err != nil {
			return err
		}
		b, err := json.Marshal(r.replies)
		if err != nil {
			return fmt.Errorf("encode replies: %w", err)
		}
		if err := tx.SetReplies(ctx, in.UpdateID, b); err != nil {
			return err
		}
		handled = r.replies
		if r.convChanged {
			r.Conv.Update, r.Conv.Prev = in.UpdateID, &prev
			next, err := h.state.Save(ctx, in.ChatID, r.Conv)
			if err != nil {
				return err
			}
			saved = &next
		}
		return nil
	})
	if err != nil {
		if saved != nil {
			// The records did not commit: put the conversation back where it was, unless
			// someone moved it on meanwhile.
			conv.Version = saved.Version
			h.state.Save(context.WithoutCancel(ctx), in.ChatID, conv) //nolint:errcheck // best effort; the original error is what matters
		}
		return nil, err
	}
	if saved != nil && saved.Prev != nil && saved.Prev.Active() && !saved.Active() {
		// The flow is over and its records are in: its draft is kept nowhere else.
		clean := *saved
		clean.Prev = nil
		h.state.Save(ctx, in.ChatID, clean) //nolint:errcheck // best effort; the next save drops it too
	}
	raw, err := h.claimReplies(ctx, in.UpdateID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // sent already, or none
	}
	if err != nil {
		return nil, err
	}
	if handled != nil {
		return handled, nil // what was just stored: no need to decode it again
	}
	var replies []Reply
	if err := json.Unmarshal(raw, &replies); err != nil {
		return nil, fmt.Errorf("decode replies: %w", err)
	}
	return replies, nil
}

// claimReplies claims the replies of a processed update for sending. While another
// process holds them (it is sending them, or it died doing so and its claim has yet to
// run out) it waits, until ctx ends.
func (h *Handlers) claimReplies(ctx context.Context, updateID int64) (json.RawMessage, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		raw, err := h.db.ClaimReplies(ctx, updateID, replyClaim)
		if !errors.Is(err, store.ErrConflict) {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("replies of %d: %w", updateID, ctx.Err())
		case <-tick.C:
		}
	}
}

// replyClaim is how long a claim on an update's replies lasts before a replay of the
// update may take them over: far longer than sending them takes.
const replyClaim = 10 * time.Second

// Delivered records that the replies of an update are sent (or could not be), so they
// are never sent again, and forgets them.
func (h *Handlers) Delivered(ctx context.Context, updateID int64) error {
	return h.db.RepliesSent(ctx, updateID)
}

// storable reports whether text can be kept as it is: Postgres text holds no NUL and
// only valid UTF-8.
func storable(text string) bool { return utf8.ValidString(text) && !strings.ContainsRune(text, 0) }

// storableName is a name as the client sent it, less what text cannot hold.
func storableName(name string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(name, "\uFFFD"), "\x00", "")
}

// Ready reports whether the records and the conversation state can be reached.
func (h *Handlers) Ready(ctx context.Context) error {
	if err := h.db.Ping(ctx); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := h.state.Ping(ctx); err != nil {
		return fmt.Errorf("conversation state: %w", err)
	}
	return nil
}

// Busy is the answer to an input that could not be handled because a service is
// unreachable, in the language the channel reports for the user.
func (h *Handlers) Busy(in Input) Reply {
	tr := newTranslator(h.bundle, localeFor("", in.LanguageCode, h.cfg.DefaultLocale))
	return Reply{ChatID: in.ChatID, Text: tr.T("common.busy")}
}

// Apology is the answer to an input that failed and was set aside.
func (h *Handlers) Apology(in Input) Reply {
	tr := newTranslator(h.bundle, localeFor("", in.LanguageCode, h.cfg.DefaultLocale))
	return Reply{ChatID: in.ChatID, Text: tr.T("common.apology")}
}

// MarkBlocked records that a user blocked the bot.
func (h *Handlers) MarkBlocked(ctx context.Context, userID int64) error {
	return h.db.MarkBlocked(ctx, userID)
}

// route sends an input to its command, its flow step or the fallback.
func (h *Handlers) route(ctx context.Context, r *Request) error {
	in := r.In
	if !in.Private {
		r.Say("common.private_only")
		return nil
	}
	if in.Callback != nil && !storable(in.Callback.Data) {
		r.Say("common.stale_button") // no button of ours carries such bytes
		return nil
	}
	if !storable(in.Text) || !storable(in.Args) {
		r.Say("common.bad_characters") // the conversation stays on its step
		return nil
	}
	if in.Command == "" && in.Callback == nil { // the keyboard buttons are commands
		switch text := strings.TrimSpace(in.Text); {
		case h.isCheckInButton(text):
			in.Command, r.In.Command = "checkin", "checkin"
		case h.isReportButton(text):
			in.Command, r.In.Command = "report", "report"
		}
	}
	if in.Command != "" {
		if in.Command != "cancel" && r.Conv.Active() {
			r.EndFlow()
		}
		for _, c := range h.commands {
			if c.name != in.Command {
				continue
			}
			if !c.access.allowed(r) {
				r.Say("common.not_allowed")
				return nil
			}
			return c.run(ctx, r)
		}
		r.Say("common.unknown_command")
		return nil
	}
	if in.Callback != nil {
		flow, step, ok := parseCallback(in.Callback.Data)
		if !ok || flow != r.Conv.Flow || step != r.Conv.Step {
			r.Say("common.stale_button")
			return nil
		}
	}
	if r.Conv.Active() {
		st, ok := h.flows[r.Conv.Flow][r.Conv.Step]
		if !ok { // a flow or step this version no longer has
			r.EndFlow()
			r.Say("common.flow_gone")
			return nil
		}
		if !st.access.allowed(r) { // the roles changed since the flow began, or a press was forged
			r.EndFlow()
			r.Say("common.not_allowed")
			return nil
		}
		return st.run(ctx, r)
	}
	if in.Location != nil && canCheckIn(r) {
		return h.checkInStart(ctx, r) // a location shared outside any flow is a check-in
	}
	r.Say("common.unknown_input")
	return nil
}

func (h *Handlers) cancel(_ context.Context, r *Request) error {
	if !r.Conv.Active() {
		r.Reply(Reply{Text: r.T("common.nothing_to_cancel"), RemoveKeyboard: false})
		return nil
	}
	r.EndFlow()
	r.Say("common.cancelled")
	return nil
}

// SetAside records an update that failed every attempt, so its chat moves on; the
// update counts as processed from then on.
func (h *Handlers) SetAside(ctx context.Context, updateID int64, kind string, attempts int, lastErr string, payload []byte) error {
	payload = h.redactSurveyUpdate(ctx, payload) // a survey's update may hold an answer: keep none of it
	return h.db.AddDeadLetter(ctx, store.DeadLetter{
		UpdateID: updateID, Kind: kind, Attempts: int32(attempts), LastError: lastErr, Payload: payload,
	})
}
