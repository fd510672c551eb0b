package handlers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhucun/store"
)

const (
	flowCheckIn         = "ci"
	stepCheckInVillage  = "village"
	stepCheckInLocation = "loc"
	stepCheckInReason   = "reason"
	stepCheckInNote     = "note"
	stepCheckInPhoto    = "photo"
	stepCheckInAlbum    = "album"

	maxNoteRunes = 200
)

// offSiteReasons are the reasons a member gives for a check-in outside the village,
// each with its message ID.
var offSiteReasons = []struct{ value, msg string }{
	{"visits", "checkin.reason_visits"},
	{"meeting", "checkin.reason_meeting"},
	{"errand", "checkin.reason_errand"},
	{"other", "checkin.reason_other"},
}

func offSiteReasonMessage(value string) string {
	if value == "" {
		return "checkin.reason_pending"
	}
	for _, o := range offSiteReasons {
		if o.value == value {
			return o.msg
		}
	}
	return "checkin.reason_other"
}

// teamVillages returns the villages where the user is on the team (member or first
// secretary), each once.
func (r *Request) teamVillages() []store.Region {
	var out []store.Region
	for _, ro := range r.Roles {
		if (ro.Role == store.RoleMember || ro.Role == store.RoleFirstSecretary) &&
			!slices.ContainsFunc(out, func(v store.Region) bool { return v.ID == ro.Region.ID }) {
			out = append(out, ro.Region)
		}
	}
	return out
}

// onTeam reports whether the user is on the team of the village.
func (r *Request) onTeam(villageID int64) bool {
	return slices.ContainsFunc(r.teamVillages(), func(v store.Region) bool { return v.ID == villageID })
}

// leads reports whether the user is first secretary of the village.
func (r *Request) leads(villageID int64) bool {
	return slices.ContainsFunc(r.Roles, func(ro store.Role) bool {
		return ro.Role == store.RoleFirstSecretary && ro.Region.ID == villageID
	})
}

// mainKeyboard is the persistent keyboard: check in for team members, report a problem
// for them and for residents; nil for anyone else.
func (r *Request) mainKeyboard() [][]KeyButton {
	var row []KeyButton
	if canCheckIn(r) {
		row = append(row, KeyButton{Text: r.T("checkin.button")})
	}
	if canReport(r) {
		row = append(row, KeyButton{Text: r.T("report.button")})
	}
	if row == nil {
		return nil
	}
	return [][]KeyButton{row}
}

// isCheckInButton reports whether text is the check-in keyboard button in any language.
func (h *Handlers) isCheckInButton(text string) bool {
	for _, l := range shippedLocales {
		if text == newTranslator(h.bundle, l).T("checkin.button") {
			return true
		}
	}
	return false
}

func canCheckIn(r *Request) bool { return len(r.teamVillages()) > 0 }

// rules returns the settings of the county a village lies in, and its time zone.
func (h *Handlers) rules(ctx context.Context, r *Request, village store.Region) (store.CountySettings, *time.Location, error) {
	county, err := r.tx.CountyOf(ctx, village)
	if err != nil {
		return store.CountySettings{}, nil, err
	}
	s, err := r.tx.CountySettings(ctx, county.ID)
	if err != nil {
		return s, nil, err
	}
	loc := h.cfg.Location
	if s.Timezone != "" {
		if l, err := time.LoadLocation(s.Timezone); err == nil {
			loc = l
		}
	}
	return s, loc, nil
}

// when is the time the input was made: the channel's message date, else now.
func (h *Handlers) when(in Input) time.Time {
	if !in.Date.IsZero() {
		return in.Date
	}
	return h.cfg.NowFunc()
}

func (h *Handlers) checkInStart(ctx context.Context, r *Request) error {
	villages := r.teamVillages()
	switch len(villages) {
	case 0:
		r.Say("checkin.not_on_team")
		return nil
	case 1:
		return h.checkInAt(ctx, r, villages[0])
	}
	r.Goto(flowCheckIn, stepCheckInVillage)
	if l := r.In.Location; l != nil { // kept until the village is known
		r.SetDraft("plat", strconv.FormatFloat(l.Latitude, 'f', -1, 64))
		r.SetDraft("plon", strconv.FormatFloat(l.Longitude, 'f', -1, 64))
		r.SetDraft("pacc", strconv.FormatFloat(l.Accuracy, 'f', -1, 64))
		r.SetDraft("plive", strconv.FormatBool(l.Live))
		r.SetDraft("pfwd", strconv.FormatBool(r.In.Forwarded))
		r.SetDraft("pat", strconv.FormatInt(h.when(r.In).Unix(), 10))
	}
	var rows [][]Button
	for _, v := range villages {
		rows = append(rows, []Button{button(v.DisplayName(r.Locale()), flowCheckIn, stepCheckInVillage, strconv.FormatInt(v.ID, 10))})
	}
	r.Prompt(r.T("checkin.pick_village"), rows)
	return nil
}

func (h *Handlers) checkInVillage(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	id, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil {
		r.Say("checkin.use_buttons")
		return nil
	}
	if !r.onTeam(id) {
		r.Say("common.not_allowed")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, id)
	if err != nil {
		return err
	}
	return h.checkInAt(ctx, r, village)
}

// checkInAt records the user present at village today, or asks for the location first
// where the county requires one. A location already in the input is used at once.
func (h *Handlers) checkInAt(ctx context.Context, r *Request, village store.Region) error {
	settings, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	shared, sharedAt, _ := h.sharedLocation(r)
	at := h.when(r.In)
	if shared != nil {
		at = sharedAt
	}
	day := dateOf(at.In(loc))
	prev, err := r.tx.CheckInOn(ctx, r.User.ID, day)
	switch {
	case err == nil:
		r.EndFlow()
		r.Reply(Reply{Text: r.T("checkin.already", "Time", prev.CheckedAt.In(loc).Format("15:04"),
			"Village", h.villageName(ctx, r, prev.RegionID)), Keyboard: r.mainKeyboard()})
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	r.Goto(flowCheckIn, stepCheckInLocation)
	r.SetDraft("village", strconv.FormatInt(village.ID, 10))
	r.SetDraft("day", day.Format(time.DateOnly))
	if shared != nil {
		return h.checkInLocation(ctx, r)
	}
	if settings.LocationRequired {
		r.Reply(Reply{Text: r.T("checkin.location_required", "Village", village.DisplayName(r.Locale())),
			Keyboard: [][]KeyButton{{{Text: r.T("checkin.share_location"), RequestLocation: true}}, {{Text: r.T("checkin.button")}}}})
		return nil
	}
	c, err := r.tx.AddCheckIn(ctx, store.CheckIn{
		UserID: r.User.ID, RegionID: village.ID, Day: day, CheckedAt: at, Source: store.SourceSelf,
		RecordedBy: r.User.ID, OnSite: true, Verdict: store.VerdictSelfDeclared,
	})
	if err != nil {
		return err
	}
	r.SetDraft("checkin", strconv.FormatInt(c.ID, 10))
	r.Reply(Reply{Text: r.T("checkin.saved_self", "Village", village.DisplayName(r.Locale()), "Time", at.In(loc).Format("15:04")),
		Keyboard: [][]KeyButton{{{Text: r.T("checkin.share_location"), RequestLocation: true}}, {{Text: r.T("checkin.button")}}}})
	r.Prompt(r.T("checkin.offer_location"), [][]Button{{button(r.T("checkin.no_location"), flowCheckIn, stepCheckInLocation, "none")}})
	return nil
}

func (h *Handlers) villageName(ctx context.Context, r *Request, id int64) string {
	v, err := r.tx.RegionByID(ctx, id)
	if err != nil {
		return "?"
	}
	return v.DisplayName(r.Locale())
}

// draftInt reads a numeric draft value.
func (r *Request) draftInt(key string) (int64, bool) {
	n, err := strconv.ParseInt(r.Draft(key), 10, 64)
	return n, err == nil
}

// sharedLocation is the location of this input, or one shared before the village was
// picked, with the time it was sent and whether it was forwarded.
func (h *Handlers) sharedLocation(r *Request) (*Location, time.Time, bool) {
	if r.In.Location != nil {
		return r.In.Location, h.when(r.In), r.In.Forwarded
	}
	if r.Draft("plat") == "" {
		return nil, time.Time{}, false
	}
	lat, _ := strconv.ParseFloat(r.Draft("plat"), 64)
	lon, _ := strconv.ParseFloat(r.Draft("plon"), 64)
	acc, _ := strconv.ParseFloat(r.Draft("pacc"), 64)
	unix, _ := strconv.ParseInt(r.Draft("pat"), 10, 64)
	return &Location{Latitude: lat, Longitude: lon, Accuracy: acc, Live: r.Draft("plive") == "true"},
		time.Unix(unix, 0), r.Draft("pfwd") == "true"
}

func (h *Handlers) checkInLocation(ctx context.Context, r *Request) error {
	if v, ok := r.Pressed(); ok && v == "none" {
		_, recorded := r.draftInt("checkin")
		r.EndFlow()
		if recorded {
			r.Prompt(r.T("checkin.kept_self"), nil)
		} else {
			r.Prompt(r.T("checkin.not_recorded"), nil)
		}
		return nil
	}
	l, locatedAt, forwarded := h.sharedLocation(r)
	for _, k := range []string{"plat", "plon", "pacc", "plive", "pfwd", "pat"} {
		delete(r.Conv.Draft, k) // used once
	}
	switch {
	case l == nil:
		r.Say("checkin.need_location")
		return nil
	case forwarded:
		r.Say("checkin.forwarded")
		return nil
	case !validCoordinates(l.Latitude, l.Longitude):
		r.Say("checkin.bad_coordinates")
		return nil
	}
	villageID, ok1 := r.draftInt("village")
	day, err := time.Parse(time.DateOnly, r.Draft("day"))
	if !ok1 || err != nil || !r.onTeam(villageID) {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, villageID)
	if err != nil {
		return err
	}
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	f := fix{lat: l.Latitude, lon: l.Longitude, live: l.Live, accuracyM: l.Accuracy, locatedAt: locatedAt, receivedAt: h.cfg.NowFunc()}
	distance := distanceM(*village.Latitude, *village.Longitude, l.Latitude, l.Longitude)

	c := store.CheckIn{UserID: r.User.ID, RegionID: village.ID, Day: day, CheckedAt: f.locatedAt, RecordedBy: r.User.ID}
	if id, ok := r.draftInt("checkin"); ok {
		if c, err = r.tx.CheckInByID(ctx, id); err != nil {
			return err
		}
		if c.UserID != r.User.ID {
			r.EndFlow()
			r.Say("common.not_allowed")
			return nil
		}
	}
	var prev *previousFix
	if p, err := r.tx.PreviousLocated(ctx, r.User.ID, c.ID, f.locatedAt); err == nil {
		prev = &previousFix{lat: *p.Latitude, lon: *p.Longitude, locatedAt: *p.LocatedAt}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	verdict, reasons := judge(f, distance, float64(*village.RadiusM), prev)
	c.Source = store.SourceLocation
	c.Latitude, c.Longitude, c.AccuracyM, c.Live = &f.lat, &f.lon, &f.accuracyM, &f.live
	c.LocatedAt, c.ReceivedAt, c.DistanceM = &f.locatedAt, &f.receivedAt, &distance
	c.OnSite = distance <= float64(*village.RadiusM)
	c.Verdict, c.Reasons = verdict, reasons
	if c.ID == 0 {
		c, err = r.tx.AddCheckIn(ctx, c)
		if errors.Is(err, store.ErrConflict) { // recorded meanwhile, e.g. by the first secretary
			r.EndFlow()
			r.Say("checkin.already_today")
			return nil
		}
		if err != nil {
			return err
		}
		r.SetDraft("checkin", strconv.FormatInt(c.ID, 10))
	} else if err := r.tx.UpdateCheckIn(ctx, c); err != nil {
		return err
	}

	summary := r.T("checkin.located", "Village", village.DisplayName(r.Locale()), "Distance", formatDistance(distance),
		"Time", f.locatedAt.In(loc).Format("15:04"), "Verdict", r.T(verdictMessage(verdict)))
	if len(reasons) > 0 {
		summary += "\n" + r.reasonList(reasons)
	}
	if c.OnSite {
		r.Reply(Reply{Text: summary, Keyboard: r.mainKeyboard()})
		return h.askPhoto(r)
	}
	r.Reply(Reply{Text: summary, Keyboard: r.mainKeyboard()})
	r.Goto(flowCheckIn, stepCheckInReason)
	var rows [][]Button
	for _, o := range offSiteReasons {
		rows = append(rows, []Button{button(r.T(o.msg), flowCheckIn, stepCheckInReason, o.value)})
	}
	r.Prompt(r.T("checkin.ask_reason"), rows)
	return nil
}

// askPhoto asks for the optional photo in a message of its own, so the answer before it
// stays readable.
func (h *Handlers) askPhoto(r *Request) error {
	r.Goto(flowCheckIn, stepCheckInPhoto)
	r.Reply(Reply{Text: r.T("checkin.ask_photo"), Buttons: [][]Button{{button(r.T("checkin.skip_photo"), flowCheckIn, stepCheckInPhoto, "skip")}}})
	return nil
}

// formatDistance writes a distance as metres or kilometres.
func formatDistance(m float64) string {
	if m < 1000 {
		return strconv.Itoa(int(m+0.5)) + " m"
	}
	return strconv.FormatFloat(m/1000, 'f', 1, 64) + " km"
}

func verdictMessage(v string) string {
	switch v {
	case store.VerdictVerified:
		return "checkin.verdict_verified"
	case store.VerdictUnverified:
		return "checkin.verdict_unverified"
	case store.VerdictDoubtful:
		return "checkin.verdict_doubtful"
	case store.VerdictProxy:
		return "checkin.verdict_proxy"
	default:
		return "checkin.verdict_self_declared"
	}
}

// reasonList renders trust reasons, one per line.
func (r *Request) reasonList(reasons []string) string {
	var lines []string
	for _, reason := range reasons {
		var id string
		switch reason {
		case reasonStatic:
			id = "checkin.why_static"
		case reasonLowAccuracy:
			id = "checkin.why_low_accuracy"
		case reasonOutsideFence:
			id = "checkin.why_outside_fence"
		case reasonImpossibleJump:
			id = "checkin.why_impossible_jump"
		case reasonLate:
			id = "checkin.why_late"
		default:
			continue
		}
		lines = append(lines, "· "+r.T(id))
	}
	return strings.Join(lines, "\n")
}

// currentCheckIn loads the check-in of the flow and checks it is the user's.
func (h *Handlers) currentCheckIn(ctx context.Context, r *Request) (store.CheckIn, bool, error) {
	id, ok := r.draftInt("checkin")
	if !ok {
		r.EndFlow()
		r.Say("common.flow_gone")
		return store.CheckIn{}, false, nil
	}
	c, err := r.tx.CheckInByID(ctx, id)
	if err != nil {
		return c, false, err
	}
	if c.UserID != r.User.ID {
		r.EndFlow()
		r.Say("common.not_allowed")
		return c, false, nil
	}
	return c, true, nil
}

func (h *Handlers) checkInReason(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok || !slices.ContainsFunc(offSiteReasons, func(o struct{ value, msg string }) bool { return o.value == v }) {
		r.Say("checkin.use_buttons")
		return nil
	}
	if v == "other" {
		r.Goto(flowCheckIn, stepCheckInNote)
		r.Prompt(r.T("checkin.ask_note"), nil)
		return nil
	}
	c, ok, err := h.currentCheckIn(ctx, r)
	if err != nil || !ok {
		return err
	}
	c.OffSiteReason = v
	if err := r.tx.UpdateCheckIn(ctx, c); err != nil {
		return err
	}
	r.Prompt(r.T("checkin.reason_saved", "Reason", r.T(offSiteReasonMessage(v))), nil)
	return h.askPhoto(r)
}

func (h *Handlers) checkInNote(ctx context.Context, r *Request) error {
	note := strings.TrimSpace(r.In.Text)
	if note == "" || r.In.Command != "" || r.In.Callback != nil {
		r.Say("checkin.ask_note")
		return nil
	}
	if len([]rune(note)) > maxNoteRunes {
		r.Say("checkin.note_too_long", "Max", maxNoteRunes)
		return nil
	}
	c, ok, err := h.currentCheckIn(ctx, r)
	if err != nil || !ok {
		return err
	}
	c.OffSiteReason, c.OffSiteNote = "other", note
	if err := r.tx.UpdateCheckIn(ctx, c); err != nil {
		return err
	}
	r.Say("checkin.reason_saved", "Reason", note)
	return h.askPhoto(r)
}

func (h *Handlers) checkInPhoto(ctx context.Context, r *Request) error {
	if v, ok := r.Pressed(); ok && v == "skip" {
		r.EndFlow()
		r.Prompt(r.T("checkin.done"), nil)
		return nil
	}
	if len(r.In.Photos) == 0 {
		r.Say("checkin.need_photo")
		return nil
	}
	c, ok, err := h.currentCheckIn(ctx, r)
	if err != nil || !ok {
		return err
	}
	p := r.In.Photos[0]
	c.PhotoFileID, c.PhotoUniqueID = p.FileID, p.UniqueID
	if err := r.tx.UpdateCheckIn(ctx, c); err != nil {
		return err
	}
	r.EndFlow()
	if g := r.In.MediaGroupID; g != "" {
		// The other photos of the album arrive as inputs of their own: the first is kept.
		r.Goto(flowCheckIn, stepCheckInAlbum)
		r.SetDraft("album", g)
	}
	r.Say("checkin.photo_saved")
	return nil
}

// checkInAlbum takes the rest of an album sent at the photo step: they are not kept,
// and the user is told so once. Anything else leaves the flow and is handled as usual.
func (h *Handlers) checkInAlbum(ctx context.Context, r *Request) error {
	if len(r.In.Photos) > 0 && r.In.MediaGroupID != "" && r.In.MediaGroupID == r.Draft("album") {
		if r.Draft("told") == "" {
			r.SetDraft("told", "1")
			r.Say("checkin.album_rest")
		}
		return nil
	}
	r.EndFlow()
	return h.route(ctx, r)
}
