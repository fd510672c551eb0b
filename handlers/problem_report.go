package handlers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"zhucun/store"
)

const (
	flowReport         = "pb"
	stepReportVillage  = "village"
	stepReportCategory = "cat"
	stepReportDesc     = "desc"
	stepReportPhotos   = "photos"
	stepReportLocation = "loc"
	stepReportUrgency  = "urg"
	stepReportDup      = "dup"
	stepReportConfirm  = "confirm"

	// maxDescriptionRunes is the longest description a problem may have.
	maxDescriptionRunes = 1000
	// maxProblemPhotos is how many photos one report may carry.
	maxProblemPhotos = 10
	// Duplicates: open problems of the same village and category this close, or with
	// descriptions this alike, are shown before saving.
	duplicateWithinM   = 300
	duplicateSimilarAt = 0.4

	urgencyNormal = "normal"
	urgencyUrgent = "urgent"
)

// categoryMessageID is the message ID of a problem category's name.
func categoryMessageID(code string) string {
	switch code {
	case "economy":
		return "category.economy"
	case "leadership":
		return "category.leadership"
	case "relations":
		return "category.relations"
	case "security":
		return "category.security"
	case "customs":
		return "category.customs"
	case "discipline":
		return "category.discipline"
	case "election":
		return "category.election"
	default:
		return "category.other"
	}
}

func urgencyMessageID(u string) string {
	if u == urgencyUrgent {
		return "report.urgent"
	}
	return "report.normal"
}

// reportVillages returns the villages where the user may report a problem: where they
// are on the team or a resident.
func (r *Request) reportVillages() []store.Region {
	var out []store.Region
	for _, ro := range r.Roles {
		if ro.Role != store.RoleSupervisor && !slices.ContainsFunc(out, func(v store.Region) bool { return v.ID == ro.Region.ID }) {
			out = append(out, ro.Region)
		}
	}
	return out
}

func canReport(r *Request) bool { return len(r.reportVillages()) > 0 }

// reporterRole is the role the user reports in at a village: the strongest they hold.
func (r *Request) reporterRole(villageID int64) string {
	role := ""
	for _, ro := range r.Roles {
		if ro.Region.ID != villageID {
			continue
		}
		switch {
		case ro.Role == store.RoleFirstSecretary:
			return store.RoleFirstSecretary
		case ro.Role == store.RoleMember:
			role = store.RoleMember
		case ro.Role == store.RoleResident && role == "":
			role = store.RoleResident
		}
	}
	return role
}

// isReportButton reports whether text is the report keyboard button in any language.
func (h *Handlers) isReportButton(text string) bool {
	for _, l := range shippedLocales {
		if text == newTranslator(h.bundle, l).T("report.button") {
			return true
		}
	}
	return false
}

func (h *Handlers) reportStart(ctx context.Context, r *Request) error {
	if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
		return err
	}
	villages := r.reportVillages()
	if len(villages) == 0 {
		r.Say("report.not_allowed")
		return nil
	}
	// The problem counts from when the user began to report it (their message's time).
	at := strconv.FormatInt(h.when(r.In).Unix(), 10)
	if len(villages) == 1 {
		r.Goto(flowReport, stepReportCategory)
		r.SetDraft("at", at)
		r.SetDraft("village", strconv.FormatInt(villages[0].ID, 10))
		return h.askCategory(r, villages[0])
	}
	r.Goto(flowReport, stepReportVillage)
	r.SetDraft("at", at)
	var rows [][]Button
	for _, v := range villages {
		rows = append(rows, []Button{button(v.DisplayName(r.Locale()), flowReport, stepReportVillage, strconv.FormatInt(v.ID, 10))})
	}
	r.Prompt(r.T("report.pick_village"), rows)
	return nil
}

func (h *Handlers) reportVillage(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !slices.ContainsFunc(r.reportVillages(), func(x store.Region) bool { return x.ID == id }) {
		r.Say("report.use_buttons")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, id)
	if err != nil {
		return err
	}
	r.SetDraft("village", v)
	r.Goto(flowReport, stepReportCategory)
	return h.askCategory(r, village)
}

// askCategory offers the categories, those the village was flagged for first.
func (h *Handlers) askCategory(r *Request, village store.Region) error {
	order := slices.Clone(village.Categories)
	for _, c := range store.Categories {
		if !slices.Contains(order, c) {
			order = append(order, c)
		}
	}
	var rows [][]Button
	for _, c := range order {
		label := r.T(categoryMessageID(c))
		if slices.Contains(village.Categories, c) {
			label = "★ " + label
		}
		rows = append(rows, []Button{button(label, flowReport, stepReportCategory, c)})
	}
	r.Prompt(r.T("report.pick_category", "Village", village.DisplayName(r.Locale())), rows)
	return nil
}

// reportVillageOf reads the draft's village and checks the user may still report there.
func (h *Handlers) reportVillageOf(ctx context.Context, r *Request) (store.Region, bool, error) {
	id, ok := r.draftInt("village")
	if !ok || !slices.ContainsFunc(r.reportVillages(), func(x store.Region) bool { return x.ID == id }) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return store.Region{}, false, nil
	}
	v, err := r.tx.RegionByID(ctx, id)
	return v, err == nil, err
}

// next moves on to step after an answer, or back to the summary when the answer was an edit.
func (h *Handlers) reportNext(ctx context.Context, r *Request, step string) error {
	if r.Draft("editing") != "" {
		return h.reportSummary(ctx, r)
	}
	r.Goto(flowReport, step)
	switch step {
	case stepReportDesc:
		r.Prompt(r.T("report.ask_description", "Max", maxDescriptionRunes), nil)
	case stepReportPhotos:
		r.Prompt(r.T("report.ask_photos", "Max", maxProblemPhotos), [][]Button{{
			button(r.T("report.no_photos"), flowReport, stepReportPhotos, "done"),
		}})
	case stepReportLocation:
		r.Reply(Reply{Text: r.T("report.ask_location"), Keyboard: [][]KeyButton{{{Text: r.T("checkin.share_location"), RequestLocation: true}}}})
		r.Prompt(r.T("report.or_centre"), [][]Button{{button(r.T("report.use_centre"), flowReport, stepReportLocation, "centre")}})
	case stepReportUrgency:
		r.Prompt(r.T("report.ask_urgency"), [][]Button{{
			button(r.T("report.normal"), flowReport, stepReportUrgency, urgencyNormal),
			button(r.T("report.urgent"), flowReport, stepReportUrgency, urgencyUrgent),
		}})
	}
	return nil
}

func (h *Handlers) reportCategory(ctx context.Context, r *Request) error {
	c, ok := r.Pressed()
	if !ok || !slices.Contains(store.Categories, c) {
		r.Say("report.use_buttons")
		return nil
	}
	r.SetDraft("category", c)
	return h.reportNext(ctx, r, stepReportDesc)
}

func (h *Handlers) reportDescription(ctx context.Context, r *Request) error {
	text := strings.TrimSpace(r.In.Text)
	switch {
	case r.In.Callback != nil || text == "":
		r.Say("report.need_description", "Max", maxDescriptionRunes)
		return nil
	case utf8.RuneCountInString(text) > maxDescriptionRunes:
		r.Say("report.description_too_long", "Max", maxDescriptionRunes, "Length", utf8.RuneCountInString(text))
		return nil
	}
	r.SetDraft("description", text)
	if len(r.In.Photos) > 0 { // a photo with the description as its caption: keep both
		if _, _, _, err := h.addDraftPhoto(ctx, r, maxProblemPhotos); err != nil {
			return err
		}
	}
	return h.reportNext(ctx, r, stepReportPhotos)
}

// reportPhotos gathers photos until the user taps done. Photos are kept in the
// conversation state by message id without changing the conversation itself, so the
// updates of an album may be handled in any order, even by two processes at once.
func (h *Handlers) reportPhotos(ctx context.Context, r *Request) error {
	if v, ok := r.Pressed(); ok && v == "done" {
		photos, err := h.state.DraftPhotos(ctx, r.In.ChatID)
		if err != nil {
			return err
		}
		r.SetDraft("photos", strconv.Itoa(len(photos)))
		return h.reportNext(ctx, r, stepReportLocation)
	}
	if len(r.In.Photos) == 0 {
		if r.In.Document {
			r.Say("report.photo_not_file")
		} else {
			r.Say("report.need_photos", "Max", maxProblemPhotos)
		}
		return nil
	}
	n, first, overflow, err := h.addDraftPhoto(ctx, r, maxProblemPhotos)
	if err != nil {
		return err
	}
	if overflow {
		r.Say("report.too_many_photos", "Max", maxProblemPhotos)
		return nil
	}
	done := [][]Button{{button(r.T("report.photos_done"), flowReport, stepReportPhotos, "done")}}
	switch {
	case r.In.MediaGroupID == "":
		r.Reply(Reply{Text: r.T("report.photo_received", "Count", n, "Max", maxProblemPhotos), Buttons: done})
	case first: // one answer for a whole album
		r.Reply(Reply{Text: r.T("report.album_received", "Max", maxProblemPhotos), Buttons: done})
	}
	return nil
}

// addDraftPhoto keeps the input's photo in the chat's draft (at most max, the first by
// message order).
func (h *Handlers) addDraftPhoto(ctx context.Context, r *Request, max int) (count int, firstOfAlbum, overflow bool, err error) {
	p := r.In.Photos[0]
	return h.state.AddDraftPhoto(ctx, r.In.ChatID, store.DraftPhoto{
		MessageID: r.In.MessageID, FileID: p.FileID, UniqueID: p.UniqueID, MediaGroupID: r.In.MediaGroupID,
	}, max)
}

func (h *Handlers) reportLocation(ctx context.Context, r *Request) error {
	village, ok, err := h.reportVillageOf(ctx, r)
	if err != nil || !ok {
		return err
	}
	if v, ok := r.Pressed(); ok && v == "centre" {
		r.SetDraft("lat", strconv.FormatFloat(*village.Latitude, 'f', -1, 64))
		r.SetDraft("lon", strconv.FormatFloat(*village.Longitude, 'f', -1, 64))
		r.SetDraft("located", "")
		return h.reportNext(ctx, r, stepReportUrgency)
	}
	l := r.In.Location
	switch {
	case l == nil:
		r.Say("report.need_location")
		return nil
	case r.In.Forwarded:
		r.Say("report.forwarded_location")
		return nil
	case !validCoordinates(l.Latitude, l.Longitude):
		r.Say("checkin.bad_coordinates")
		return nil
	}
	r.SetDraft("lat", strconv.FormatFloat(l.Latitude, 'f', -1, 64))
	r.SetDraft("lon", strconv.FormatFloat(l.Longitude, 'f', -1, 64))
	r.SetDraft("located", "1")
	return h.reportNext(ctx, r, stepReportUrgency)
}

func (h *Handlers) reportUrgency(ctx context.Context, r *Request) error {
	u, ok := r.Pressed()
	if !ok || (u != urgencyNormal && u != urgencyUrgent) {
		r.Say("report.use_buttons")
		return nil
	}
	r.SetDraft("urgency", u)
	if r.Draft("editing") != "" {
		return h.reportSummary(ctx, r)
	}
	return h.reportDuplicates(ctx, r)
}

// draftPoint is the problem's place from the draft.
func (r *Request) draftPoint() (lat, lon float64, ok bool) {
	lat, err1 := strconv.ParseFloat(r.Draft("lat"), 64)
	lon, err2 := strconv.ParseFloat(r.Draft("lon"), 64)
	return lat, lon, err1 == nil && err2 == nil
}

// reportDuplicates shows open problems of the same village and category near the same
// place or with a similar description, and lets the reporter add to one instead.
func (h *Handlers) reportDuplicates(ctx context.Context, r *Request) error {
	village, ok, err := h.reportVillageOf(ctx, r)
	if err != nil || !ok {
		return err
	}
	open, _, err := r.tx.Problems(ctx, store.ProblemFilter{RegionIDs: []int64{village.ID},
		Statuses: store.OpenStatuses, Category: r.Draft("category"), Limit: 200})
	if err != nil {
		return err
	}
	lat, lon, _ := r.draftPoint()
	var rows [][]Button
	for _, p := range open {
		near := r.Draft("located") != "" && p.LocationGiven && distanceM(lat, lon, p.Latitude, p.Longitude) <= duplicateWithinM
		if !near && similarity(p.Description, r.Draft("description")) < duplicateSimilarAt {
			continue
		}
		label := r.T("report.same_as", "Number", p.Number(), "Text", truncate(p.Description, 24))
		rows = append(rows, []Button{button(label, flowReport, stepReportDup, strconv.FormatInt(p.ID, 10))})
		if len(rows) == 5 {
			break
		}
	}
	if len(rows) == 0 {
		return h.reportSummary(ctx, r)
	}
	r.Goto(flowReport, stepReportDup)
	rows = append(rows, []Button{button(r.T("report.not_same"), flowReport, stepReportDup, "new")})
	r.Prompt(r.T("report.maybe_duplicate"), rows)
	return nil
}

func (h *Handlers) reportDup(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		r.Say("report.use_buttons")
		return nil
	}
	if v == "new" {
		return h.reportSummary(ctx, r)
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.Say("report.use_buttons")
		return nil
	}
	village, ok, err := h.reportVillageOf(ctx, r)
	if err != nil || !ok {
		return err
	}
	p, err := r.tx.ProblemByID(ctx, id, true)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (p.RegionID != village.ID || !p.Open())) {
		r.Say("common.not_allowed")
		return nil
	}
	if err != nil {
		return err
	}
	// The report joins the problem as an addition to its history, with its photos.
	now := h.cfg.NowFunc()
	hid, err := r.tx.AddProblemEvent(ctx, store.ProblemEvent{ProblemID: p.ID, At: now, ActorID: r.User.ID,
		Action: "add_report", FromStatus: p.Status, ToStatus: p.Status, Note: r.Draft("description")})
	if err != nil {
		return err
	}
	photos, err := h.draftProblemPhotos(ctx, r)
	if err != nil {
		return err
	}
	if err := r.tx.AddProblemPhotos(ctx, p.ID, &hid, store.PhotoReport, photos); err != nil {
		return err
	}
	if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
		return err
	}
	r.EndFlow()
	r.Finish(r.T("report.added_to", "Number", p.Number()))
	return h.notifyLeaders(ctx, r, village, p, "report.notice_added")
}

func (h *Handlers) draftProblemPhotos(ctx context.Context, r *Request) ([]store.ProblemPhoto, error) {
	draft, err := h.state.DraftPhotos(ctx, r.In.ChatID)
	if err != nil {
		return nil, err
	}
	out := make([]store.ProblemPhoto, 0, len(draft))
	for _, d := range draft {
		out = append(out, store.ProblemPhoto{FileID: d.FileID, UniqueID: d.UniqueID})
	}
	return out, nil
}

// reportSummary shows the draft to confirm or edit.
func (h *Handlers) reportSummary(ctx context.Context, r *Request) error {
	village, ok, err := h.reportVillageOf(ctx, r)
	if err != nil || !ok {
		return err
	}
	photos, err := h.state.DraftPhotos(ctx, r.In.ChatID)
	if err != nil {
		return err
	}
	place := r.T("report.at_centre")
	if r.Draft("located") != "" {
		lat, lon, _ := r.draftPoint()
		place = r.T("report.at_point", "Distance", formatDistance(distanceM(*village.Latitude, *village.Longitude, lat, lon)))
	}
	r.SetDraft("editing", "")
	r.Goto(flowReport, stepReportConfirm)
	text := r.T("report.summary", "Village", village.DisplayName(r.Locale()),
		"Category", r.T(categoryMessageID(r.Draft("category"))), "Description", r.Draft("description"),
		"Photos", len(photos), "Place", place, "Urgency", r.T(urgencyMessageID(r.Draft("urgency"))))
	btn := func(id, v string) Button { return button(r.T(id), flowReport, stepReportConfirm, v) }
	r.Prompt(text, [][]Button{
		{btn("report.submit", "submit")},
		{btn("report.edit_category", stepReportCategory), btn("report.edit_description", stepReportDesc)},
		{btn("report.edit_photos", stepReportPhotos), btn("report.edit_location", stepReportLocation)},
		{btn("report.edit_urgency", stepReportUrgency), btn("report.discard", "discard")},
	})
	return nil
}

func (h *Handlers) reportConfirm(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		r.Say("report.use_buttons")
		return nil
	}
	village, ok, err := h.reportVillageOf(ctx, r)
	if err != nil || !ok {
		return err
	}
	switch v {
	case "discard":
		if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
			return err
		}
		r.EndFlow()
		r.Finish(r.T("report.discarded"))
		return nil
	case stepReportCategory:
		r.SetDraft("editing", "1")
		r.Goto(flowReport, stepReportCategory)
		return h.askCategory(r, village)
	case stepReportPhotos:
		if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
			return err
		}
		fallthrough
	case stepReportDesc, stepReportLocation, stepReportUrgency:
		return h.reportEdit(ctx, r, v)
	case "submit":
		return h.reportSave(ctx, r, village)
	}
	r.Say("report.use_buttons")
	return nil
}

// reportEdit asks one question of the draft again; its answer returns to the summary.
func (h *Handlers) reportEdit(ctx context.Context, r *Request, step string) error {
	r.SetDraft("editing", "")
	if err := h.reportNext(ctx, r, step); err != nil {
		return err
	}
	r.SetDraft("editing", "1")
	return nil
}

func (h *Handlers) reportSave(ctx context.Context, r *Request, village store.Region) error {
	lat, lon, ok := r.draftPoint()
	category, desc, urgency := r.Draft("category"), r.Draft("description"), r.Draft("urgency")
	if !ok || category == "" || desc == "" || urgency == "" {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	photos, err := h.draftProblemPhotos(ctx, r)
	if err != nil {
		return err
	}
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	if unix, ok := r.draftInt("at"); ok {
		now = time.Unix(unix, 0)
	}
	p, err := r.tx.AddProblem(ctx, store.Problem{
		RegionID: village.ID, Year: int32(now.In(loc).Year()), Category: category, Description: desc,
		Latitude: lat, Longitude: lon, LocationGiven: r.Draft("located") != "", Urgency: urgency,
		ReportedBy: r.User.ID, ReporterRole: r.reporterRole(village.ID), ReportedAt: now,
	}, photos)
	if err != nil {
		return err
	}
	if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
		return err
	}
	r.EndFlow()
	r.Finish(r.T("report.saved", "Number", p.Number(), "Village", village.DisplayName(r.Locale())))
	return h.notifyLeaders(ctx, r, village, p, "report.notice_new")
}

// notifyLeaders tells the first secretaries of the village about a problem, unless one
// of them is the reporter.
func (h *Handlers) notifyLeaders(ctx context.Context, r *Request, village store.Region, p store.Problem, msg string) error {
	team, err := r.tx.TeamOf(ctx, []int64{village.ID})
	if err != nil {
		return err
	}
	for _, m := range team {
		if m.Role != store.RoleFirstSecretary || m.UserID == r.User.ID {
			continue
		}
		u, err := r.tx.UserByID(ctx, m.UserID)
		if err != nil {
			return err
		}
		tr := h.translatorFor(u)
		r.Reply(Reply{ChatID: m.UserID, Text: tr.T(msg, "Number", p.Number(), "Village", village.DisplayName(tr.locale),
			"Category", tr.T(categoryMessageID(p.Category)), "Text", truncate(p.Description, 80))})
	}
	return nil
}

// truncate shortens s to n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// similarity is the Jaccard index of the character bigrams of two texts, ignoring
// spaces and punctuation: 1 for the same text, 0 for nothing in common.
func similarity(a, b string) float64 {
	ga, gb := bigrams(a), bigrams(b)
	if len(ga) == 0 || len(gb) == 0 {
		return 0
	}
	inter := 0
	for g := range ga {
		if gb[g] {
			inter++
		}
	}
	return float64(inter) / float64(len(ga)+len(gb)-inter)
}

func bigrams(s string) map[string]bool {
	var rs []rune
	for _, c := range strings.ToLower(s) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			rs = append(rs, c)
		}
	}
	out := map[string]bool{}
	for i := 0; i+1 < len(rs); i++ {
		out[string(rs[i:i+2])] = true
	}
	return out
}
