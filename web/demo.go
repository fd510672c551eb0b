package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	mrand "math/rand/v2"
	"slices"
	"time"

	"zhucun/store"
	"zhucun/surveys"
)

// The demo county: its code in deploy/regions-demo.csv, and the villages its teams work in.
const (
	demoCounty  = "DEMO"
	demoVillage = "DEMO-QS-01" // 东坪村: the team the picker leads with
	demoOther   = "DEMO-QS-02" // 西岭村: a second team, so digests compare two villages
)

// demoCast is who the playground's visitor can be, with synthetic Telegram-like ids;
// region is the code of the node their role is held at.
var demoCast = []struct {
	id     int64
	name   string
	role   string
	region string
}{
	{8000000001, "管理员 Admin", RoleAdmin, ""},
	{8000000002, "周敏", RoleSupervisor, demoCounty},
	{8000000003, "李建国", RoleFirstSecretary, demoVillage},
	{8000000004, "王芳", RoleMember, demoVillage},
	{8000000005, "陈志强", RoleMember, demoVillage},
	{8000000006, "赵桂英", RoleResident, demoVillage},
	{8000000007, "刘洋", RoleFirstSecretary, demoOther},
	{8000000008, "孙丽", RoleMember, demoOther},
	{8000000009, "新用户", RoleNewcomer, ""},
}

// DemoAdminIDs are the ids of the demo admins, for the handlers' config.
func DemoAdminIDs() []int64 {
	var out []int64
	for _, p := range demoCast {
		if p.role == RoleAdmin {
			out = append(out, p.id)
		}
	}
	return out
}

// Seeded reports whether db holds the demo county already.
func Seeded(ctx context.Context, db *store.DB) (bool, error) {
	_, err := db.RegionByCode(ctx, demoCounty)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look for the demo county: %w", err)
}

// DemoPeople returns the people of the picker, with the names of their regions.
func DemoPeople(ctx context.Context, db *store.DB) ([]Person, error) {
	var out []Person
	for _, c := range demoCast {
		p := Person{ID: c.id, Name: c.name, Role: c.role}
		if c.region != "" {
			r, err := db.RegionByCode(ctx, c.region)
			if err != nil {
				return nil, fmt.Errorf("demo people: %s: %w", c.region, err)
			}
			p.Region, p.RegionEn = r.Name, r.NameEn
		}
		out = append(out, p)
	}
	return out, nil
}

// offSiteKm is how far north of the demo county's villages its off-site point lies.
const offSiteKm = 15

// DemoPlaces returns the places a visitor can share: the centre of every village of the
// demo county, and a point off-site.
func DemoPlaces(ctx context.Context, db *store.DB) ([]Place, error) {
	county, err := db.RegionByCode(ctx, demoCounty)
	if err != nil {
		return nil, fmt.Errorf("demo places: %w", err)
	}
	villages, err := db.VillagesUnder(ctx, county)
	if err != nil {
		return nil, fmt.Errorf("demo places: %w", err)
	}
	var out []Place
	var north, lon float64
	for _, v := range villages {
		if v.Latitude == nil || v.Longitude == nil {
			continue
		}
		out = append(out, Place{Name: v.Name, NameEn: v.NameEn, Latitude: *v.Latitude, Longitude: *v.Longitude})
		if *v.Latitude > north || north == 0 {
			north, lon = *v.Latitude, *v.Longitude
		}
	}
	if len(out) > 0 {
		out = append(out, Place{Name: "村外", NameEn: "Off-site", Latitude: north + offSiteKm/111.0, Longitude: lon, OffSite: true})
	}
	return out, nil
}

// Seed fills a fresh database with the demo county: the region tree (rows, from
// deploy/regions-demo.csv), the people of the picker and their roles, a month of
// check-ins and leave, problems in every state (with photos kept in files), weekly
// updates, and a closed assessment and an open survey. Photos go to the files of the
// web chat whose data is under dir. It runs in one transaction,
// through the store's API only, as of now in loc.
func Seed(ctx context.Context, db *store.DB, rows []store.RegionInput, dir string, now time.Time, loc *time.Location) error {
	return db.InTx(ctx, func(tx *store.DB) error {
		s := &seeder{tx: tx, files: filesIn(dir), now: now, loc: loc, rnd: mrand.New(mrand.NewPCG(2026, 11)), region: map[string]store.Region{}}
		return s.run(ctx, rows)
	})
}

type seeder struct {
	tx     *store.DB
	files  *Files
	now    time.Time
	loc    *time.Location
	rnd    *mrand.Rand
	region map[string]store.Region
}

func (s *seeder) run(ctx context.Context, rows []store.RegionInput) error {
	if _, _, err := s.tx.UpsertRegions(ctx, rows); err != nil {
		return fmt.Errorf("seed regions: %w", err)
	}
	for _, r := range rows {
		reg, err := s.tx.RegionByCode(ctx, r.Code)
		if err != nil {
			return err
		}
		s.region[r.Code] = reg
	}
	if _, ok := s.region[demoVillage]; !ok {
		return fmt.Errorf("seed: the region rows have no %s", demoVillage)
	}
	for _, c := range demoCast {
		if _, err := s.tx.TouchUser(ctx, c.id, c.name, "zh-hans"); err != nil {
			return fmt.Errorf("seed people: %w", err)
		}
		if c.region == "" {
			continue
		}
		role := map[string]string{RoleSupervisor: store.RoleSupervisor, RoleFirstSecretary: store.RoleFirstSecretary,
			RoleMember: store.RoleMember, RoleResident: store.RoleResident}[c.role]
		if err := s.tx.GrantRoleSince(ctx, c.id, role, s.region[c.region].ID, s.at(demoDays+30, 9, 0)); err != nil {
			return fmt.Errorf("seed roles: %w", err)
		}
	}
	for _, step := range []func(context.Context) error{s.checkIns, s.problems, s.weekly, s.surveys} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// demoDays is how many days of records the demo has; its people joined a month before.
const demoDays = 30

// day is the local date n days before today, as a date.
func (s *seeder) day(n int) time.Time {
	t := s.now.In(s.loc).AddDate(0, 0, -n)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// at is the instant of hour:minute on the local day n days before today.
func (s *seeder) at(n, hour, minute int) time.Time {
	t := s.now.In(s.loc).AddDate(0, 0, -n)
	return time.Date(t.Year(), t.Month(), t.Day(), hour, minute, 0, 0, s.loc)
}

// checkIns records the last 30 days of the two teams: most working days on site with a
// live location, some off-site for a meeting, some self-declared, a few days of leave.
// Today only 陈志强 has checked in, so the others can try it.
func (s *seeder) checkIns(ctx context.Context) error {
	team := []struct {
		id      int64
		village string
	}{{8000000003, demoVillage}, {8000000004, demoVillage}, {8000000005, demoVillage}, {8000000007, demoOther}, {8000000008, demoOther}}
	for _, m := range team {
		v := s.region[m.village]
		var leave []time.Time
		for n := demoDays; n >= 0; n-- {
			day := s.day(n)
			at := s.at(n, 8+s.rnd.IntN(2), s.rnd.IntN(60))
			switch {
			case n == 0 && (m.id != 8000000005 || at.After(s.now)):
				continue
			case day.Weekday() == time.Sunday:
				continue
			case m.id == 8000000004 && (n == 12 || n == 13):
				leave = append(leave, day)
				continue
			case s.rnd.IntN(10) == 0: // not in the village, nor recorded
				continue
			}
			c := store.CheckIn{UserID: m.id, RegionID: v.ID, Day: day, CheckedAt: at, RecordedBy: m.id}
			switch k := s.rnd.IntN(10); {
			case k == 0:
				c.Source, c.OnSite, c.Verdict = store.SourceSelf, true, store.VerdictSelfDeclared
			case k == 1:
				s.located(&c, v, offSiteKm*1000, true)
				c.OffSiteReason = "meeting"
			default:
				s.located(&c, v, float64(50+s.rnd.IntN(400)), true)
			}
			if _, err := s.tx.AddCheckIn(ctx, c); err != nil {
				return fmt.Errorf("seed check-ins: %w", err)
			}
		}
		if len(leave) > 0 {
			if _, err := s.tx.AddLeave(ctx, m.id, v.ID, leave, 8000000003); err != nil {
				return fmt.Errorf("seed leave: %w", err)
			}
		}
	}
	return nil
}

// located fills a check-in with a location distanceM north of the village centre.
func (s *seeder) located(c *store.CheckIn, v store.Region, distanceM float64, live bool) {
	lat, lon := *v.Latitude+distanceM/111_000, *v.Longitude
	acc := float64(8 + s.rnd.IntN(20))
	received := c.CheckedAt.Add(2 * time.Second)
	c.Source = store.SourceLocation
	c.Latitude, c.Longitude, c.AccuracyM, c.Live = &lat, &lon, &acc, &live
	c.LocatedAt, c.ReceivedAt, c.DistanceM = &c.CheckedAt, &received, &distanceM
	c.OnSite = distanceM <= float64(*v.RadiusM)
	c.Verdict = store.VerdictVerified
}

// demoProblem is a problem of the seed and how far along its lifecycle it got.
type demoProblem struct {
	village, category, description string
	reporter                       int64
	role                           string
	daysAgo                        int
	urgent                         bool
	status                         string
	// deadlineIn is the deadline in days from today (negative: overdue).
	deadlineIn int
	note       string // the progress note, or the reason it was closed
}

var demoProblems = []demoProblem{
	{village: demoVillage, category: "customs", description: "村口三盏路灯不亮，晚上老人孩子出行不安全。", reporter: 8000000006,
		role: store.RoleResident, daysAgo: 2, status: store.StatusReported},
	{village: demoVillage, category: "economy", description: "村东头灌溉水渠淤堵，下雨时水漫进农田。", reporter: 8000000004,
		role: store.RoleMember, daysAgo: 6, status: store.StatusAssigned, deadlineIn: 12},
	{village: demoVillage, category: "leadership", description: "村党群服务中心屋顶漏雨，会议室无法使用。", reporter: 8000000003,
		role: store.RoleFirstSecretary, daysAgo: 15, status: store.StatusInProgress, deadlineIn: 6, note: "已联系施工队，防水材料已到村。"},
	{village: demoVillage, category: "relations", description: "两户村民因宅基地边界发生纠纷，多次争吵。", reporter: 8000000005,
		role: store.RoleMember, daysAgo: 20, urgent: true, status: store.StatusAssigned, deadlineIn: -4},
	{village: demoVillage, category: "customs", description: "村小学门口路面坑洼，雨天积水。", reporter: 8000000004,
		role: store.RoleMember, daysAgo: 18, status: store.StatusResolved, deadlineIn: 2, note: "已用碎石填平并硬化路面。"},
	{village: demoVillage, category: "customs", description: "垃圾收集点两周未清运，气味很大。", reporter: 8000000006,
		role: store.RoleResident, daysAgo: 26, status: store.StatusVerified, deadlineIn: -16, note: "已与镇环卫站约定每周清运两次。"},
	{village: demoVillage, category: "customs", description: "村口路灯坏了。", reporter: 8000000005,
		role: store.RoleMember, daysAgo: 1, status: store.StatusClosed, note: "与村口路灯不亮的问题重复。"},
	{village: demoOther, category: "relations", description: "两个宗族因祖坟山林权属争执，需要调解。", reporter: 8000000008,
		role: store.RoleMember, daysAgo: 9, status: store.StatusAssigned, deadlineIn: 20},
	{village: demoOther, category: "security", description: "村委会监控摄像头损坏。", reporter: 8000000007,
		role: store.RoleFirstSecretary, daysAgo: 22, status: store.StatusVerified, deadlineIn: -12, note: "已更换两台摄像头。"},
}

// problems records the demo problems through their lifecycles, each step in its history.
func (s *seeder) problems(ctx context.Context) error {
	for i, d := range demoProblems {
		v := s.region[d.village]
		secretary := map[string]int64{demoVillage: 8000000003, demoOther: 8000000007}[d.village]
		reported := s.at(d.daysAgo, 10, 5*i)
		photo, err := s.photo(i, "report")
		if err != nil {
			return err
		}
		urgency := "normal"
		if d.urgent {
			urgency = "urgent"
		}
		p, err := s.tx.AddProblem(ctx, store.Problem{
			RegionID: v.ID, Year: int32(reported.In(s.loc).Year()), Category: d.category, Description: d.description,
			Latitude: *v.Latitude + 0.002, Longitude: *v.Longitude + 0.001, LocationGiven: true, Urgency: urgency,
			ReportedBy: d.reporter, ReporterRole: d.role, ReportedAt: reported,
		}, []store.ProblemPhoto{photo})
		if err != nil {
			return fmt.Errorf("seed problems: %w", err)
		}
		step := func(action, to string, by int64, at time.Time, note string, photos ...store.ProblemPhoto) error {
			from := p.Status
			p.Status, p.UpdatedAt = to, at
			if err := s.tx.UpdateProblem(ctx, p); err != nil {
				return err
			}
			hid, err := s.tx.AddProblemEvent(ctx, store.ProblemEvent{ProblemID: p.ID, At: at, ActorID: by,
				Action: action, FromStatus: from, ToStatus: to, Note: note})
			if err != nil || len(photos) == 0 {
				return err
			}
			return s.tx.AddProblemPhotos(ctx, p.ID, &hid, photos[0].Kind, photos)
		}
		if d.status == store.StatusReported {
			continue
		}
		if d.status == store.StatusClosed {
			closed := reported.Add(3 * time.Hour)
			p.CloseReason, p.ClosedAt = d.note, &closed
			if err := step("close_duplicate", store.StatusClosed, secretary, closed, d.note); err != nil {
				return fmt.Errorf("seed problems: %w", err)
			}
			continue
		}
		deadline := s.day(-d.deadlineIn)
		responsible := map[string]int64{demoVillage: 8000000005, demoOther: 8000000008}[d.village]
		p.ResponsibleID, p.ResponsibleUnit, p.Deadline = &responsible, "村委会", &deadline
		p.Measures = "一事一策：摸清情况，明确责任人，限期办结。"
		if err := step("assign", store.StatusAssigned, secretary, reported.Add(20*time.Hour), ""); err != nil {
			return fmt.Errorf("seed problems: %w", err)
		}
		if d.status == store.StatusAssigned {
			continue
		}
		progress, err := s.photo(i, "progress")
		if err != nil {
			return err
		}
		if err := step("progress", store.StatusInProgress, responsible, reported.Add(72*time.Hour), d.note, progress); err != nil {
			return fmt.Errorf("seed problems: %w", err)
		}
		if d.status == store.StatusInProgress {
			continue
		}
		resolved := reported.Add(5 * 24 * time.Hour)
		evidence, err := s.photo(i, "evidence")
		if err != nil {
			return err
		}
		p.ResolvedAt = &resolved
		if err := step("resolve", store.StatusResolved, responsible, resolved, d.note, evidence); err != nil {
			return fmt.Errorf("seed problems: %w", err)
		}
		if d.status == store.StatusResolved {
			continue
		}
		verified := resolved.Add(26 * time.Hour)
		p.VerifiedAt = &verified
		if err := step("verify", store.StatusVerified, secretary, verified, ""); err != nil {
			return fmt.Errorf("seed problems: %w", err)
		}
	}
	return nil
}

// photo makes a placeholder photo of a problem (a coloured scene), keeps it in the
// files and returns it as a problem photo of that kind.
func (s *seeder) photo(n int, kind string) (store.ProblemPhoto, error) {
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	hue := float64(n*47%360) / 360
	shade := map[string]color.RGBA{"report": {200, 60, 50, 255}, "progress": {220, 160, 40, 255}, "evidence": {60, 160, 80, 255}}[kind]
	for y := 0; y < h; y++ {
		// Sky above, fields below in bands, and a block of the kind's colour in front.
		var c color.RGBA
		if y < h/2 {
			r, g, b := hsv(hue+0.5, 0.3, 0.6+0.35*float64(y)/h)
			c = color.RGBA{r, g, b, 255}
		} else {
			r, g, b := hsv(hue+0.25, 0.45, 0.4+0.1*float64((y/12)%3))
			c = color.RGBA{r, g, b, 255}
		}
		for x := 0; x < w; x++ {
			px := c
			if y >= h/2-40 && y < h/2+30 && x >= w/3+n*5 && x < w/3+n*5+90 {
				px = shade
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = px.R, px.G, px.B, px.A
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return store.ProblemPhoto{}, fmt.Errorf("seed photo: %w", err)
	}
	id, err := s.files.Put(buf.Bytes())
	if err != nil {
		return store.ProblemPhoto{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	k := map[string]string{"report": store.PhotoReport, "progress": store.PhotoProgress, "evidence": store.PhotoEvidence}[kind]
	return store.ProblemPhoto{Kind: k, FileID: id, UniqueID: "w" + hex.EncodeToString(sum[:16])}, nil
}

// hsv converts a colour from HSV (each 0…1) to RGB.
func hsv(h, s, v float64) (r, g, b uint8) {
	h = math.Mod(h, 1) * 6
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var rf, gf, bf float64
	switch int(h) {
	case 0:
		rf, gf = c, x
	case 1:
		rf, gf = x, c
	case 2:
		gf, bf = c, x
	case 3:
		gf, bf = x, c
	case 4:
		rf, bf = x, c
	default:
		rf, bf = c, x
	}
	m := v - c
	return uint8((rf + m) * 255), uint8((gf + m) * 255), uint8((bf + m) * 255)
}

// weekly records the two past weeks' updates of both teams (the older read by the
// supervisor, one late) and this week's draft of 东坪村, begun.
func (s *seeder) weekly(ctx context.Context) error {
	today := s.day(0)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	for _, village := range []string{demoVillage, demoOther} {
		v := s.region[village]
		secretary := map[string]int64{demoVillage: 8000000003, demoOther: 8000000007}[village]
		for back := 2; back >= 1; back-- {
			week := monday.AddDate(0, 0, -7*back)
			u, err := s.tx.EnsureWeeklyUpdate(ctx, v.ID, week)
			if err != nil {
				return fmt.Errorf("seed weekly: %w", err)
			}
			y, m, d := week.Date()
			deadline := time.Date(y, m, d+7, 0, 0, 0, 0, s.loc) // Sunday 24:00, the default
			submitted := time.Date(y, m, d+6, 18, 30, 0, 0, s.loc)
			if village == demoOther && back == 1 {
				submitted = deadline.Add(10 * time.Hour) // late
			}
			sections := map[string]string{
				"work_done":       "走访农户 23 户，召开党员大会 1 次；协调解决灌溉用水问题。",
				"problems_solved": "村小学门口路面已硬化；垃圾收集点恢复定期清运。",
				"next_week_plan":  "推进党群服务中心屋顶维修；调解宅基地纠纷。",
				"help_needed":     "屋顶维修资金缺口约 2 万元，请镇里协调。",
			}
			for _, k := range []string{"work_done", "problems_solved", "next_week_plan", "help_needed"} {
				if err := s.tx.SetWeeklySection(ctx, u.ID, k, sections[k], secretary, submitted.Add(-time.Hour)); err != nil {
					return fmt.Errorf("seed weekly: %w", err)
				}
			}
			figures, err := s.figures(ctx, v, week, deadline, submitted)
			if err != nil {
				return err
			}
			version, err := s.tx.SubmitWeeklyUpdate(ctx, u.ID, figures, secretary, submitted, deadline)
			if err != nil {
				return fmt.Errorf("seed weekly: %w", err)
			}
			if back == 2 {
				if err := s.tx.MarkWeeklyRead(ctx, u.ID, version, 8000000002, submitted.Add(40*time.Hour)); err != nil {
					return fmt.Errorf("seed weekly: %w", err)
				}
			}
		}
	}
	u, err := s.tx.EnsureWeeklyUpdate(ctx, s.region[demoVillage].ID, monday)
	if err != nil {
		return fmt.Errorf("seed weekly: %w", err)
	}
	if err := s.tx.SetWeeklySection(ctx, u.ID, "work_done", "走访脱贫户 8 户，了解春耕用工需求。", 8000000003, s.now.Add(-2*time.Hour)); err != nil {
		return fmt.Errorf("seed weekly: %w", err)
	}
	return nil
}

// figures are a week's figures as the bot stores them with a submitted update: the
// team's days from the check-ins and leave, the problems by category.
func (s *seeder) figures(ctx context.Context, v store.Region, monday, end, asOf time.Time) ([]byte, error) {
	sunday := monday.AddDate(0, 0, 6)
	y, w := monday.ISOWeek()
	type member struct {
		UserID  int64  `json:"user_id"`
		Name    string `json:"name"`
		OnSite  int    `json:"on_site"`
		OffSite int    `json:"off_site"`
		Leave   int    `json:"leave"`
	}
	type count struct {
		Category string `json:"category,omitempty"`
		Reported int    `json:"reported"`
		Resolved int    `json:"resolved"`
		Verified int    `json:"verified"`
		Overdue  int    `json:"overdue"`
	}
	f := struct {
		Week     string    `json:"week"`
		From     string    `json:"from"`
		To       string    `json:"to"`
		AsOf     time.Time `json:"as_of"`
		Members  []member  `json:"members"`
		Problems []count   `json:"problems"`
		Total    count     `json:"total"`
	}{Week: fmt.Sprintf("%d-W%02d", y, w), From: monday.Format(time.DateOnly), To: sunday.Format(time.DateOnly), AsOf: earlier(asOf, end).UTC()}
	team, err := s.tx.TeamOf(ctx, []int64{v.ID})
	if err != nil {
		return nil, err
	}
	checkIns, err := s.tx.CheckInsOf(ctx, []int64{v.ID}, monday, sunday)
	if err != nil {
		return nil, err
	}
	leave, err := s.tx.LeaveOf(ctx, []int64{v.ID}, monday, sunday)
	if err != nil {
		return nil, err
	}
	for _, m := range team {
		mw := member{UserID: m.UserID, Name: m.FirstName}
		for _, c := range checkIns {
			switch {
			case c.UserID != m.UserID:
			case c.OnSite:
				mw.OnSite++
			default:
				mw.OffSite++
			}
		}
		for _, l := range leave {
			if l.UserID == m.UserID {
				mw.Leave++
			}
		}
		f.Members = append(f.Members, mw)
	}
	start := time.Date(monday.Year(), monday.Month(), monday.Day(), 0, 0, 0, 0, s.loc)
	dayOf := func(t time.Time) time.Time {
		l := t.In(s.loc)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	}
	asOfInstant := earlier(asOf, end)
	rows, err := s.tx.ProblemCounts(ctx, []int64{v.ID}, start, end, asOfInstant, dayOf(asOfInstant))
	if err != nil {
		return nil, err
	}
	for _, c := range store.Categories {
		for _, r := range rows {
			if r.Category == c {
				f.Problems = append(f.Problems, count{Category: c, Reported: r.Reported, Resolved: r.Resolved, Verified: r.Verified, Overdue: r.Overdue})
				f.Total.Reported += r.Reported
				f.Total.Resolved += r.Resolved
				f.Total.Verified += r.Verified
				f.Total.Overdue += r.Overdue
			}
		}
	}
	return json.Marshal(f)
}

// surveys records a closed assessment of 东坪村 (paper answers from sampled households,
// above the minimum, so its results show) and an open survey of 西岭村 still taking
// answers through its poster.
func (s *seeder) surveys(ctx context.Context) error {
	tpls, err := surveys.All()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tpls, func(t surveys.Template) bool { return t.ID == "assessment" })
	if i < 0 {
		return errors.New("seed surveys: no assessment template")
	}
	tpl := tpls[i]
	snapshot, err := json.Marshal(tpl)
	if err != nil {
		return err
	}
	create := func(village, kind string, opens, closes time.Time, poster []byte) (store.Survey, error) {
		return s.tx.CreateSurvey(ctx, store.Survey{
			RegionID: s.region[village].ID, Kind: kind, TemplateID: tpl.ID, Template: snapshot,
			MinAnswers: int32(tpl.Rules.MinAnswers), PassRate: tpl.Rules.PassRate, Formula: tpl.Rules.Formula,
			OpensAt: opens, ClosesAt: closes, CreatedBy: 8000000002,
		}, poster)
	}
	ballot := func(answeredOn time.Time, satisfiedShare int) store.Ballot {
		choices := map[string]string{}
		for _, q := range tpl.Questions {
			switch k := s.rnd.IntN(100); {
			case k < satisfiedShare:
				choices[q.ID] = tpl.Options[0].ID
			case k < satisfiedShare+(100-satisfiedShare)/2:
				choices[q.ID] = tpl.Options[1].ID
			case k < 97:
				choices[q.ID] = tpl.Options[2].ID
			default:
				choices[q.ID] = tpl.Options[len(tpl.Options)-1].ID
			}
		}
		return store.Ballot{AnsweredOn: answeredOn, Choices: choices}
	}
	comments := []string{"工作队常来家里走访，办事实在。", "希望路灯早点修好。", "", "", "水渠的事情解决得很及时。", ""}

	closes := s.at(30, 0, 0)
	assessment, err := create(demoVillage, store.SurveyAssessment, s.at(40, 9, 0), closes, nil)
	if err != nil {
		return fmt.Errorf("seed surveys: %w", err)
	}
	households := max(tpl.Rules.MinAnswers+12, 30)
	hashes := make([][]byte, households+5)
	for i := range hashes {
		hashes[i] = randomHash()
	}
	if _, err := s.tx.IssueSlips(ctx, assessment.ID, hashes); err != nil {
		return fmt.Errorf("seed surveys: %w", err)
	}
	for n := 1; n <= households; n++ {
		at := s.at(35, 10, n)
		proof := store.Proof{SlipNumber: int32(n)}
		if err := s.tx.CastBallot(ctx, assessment.ID, proof, ballot(at, 70), comments[n%len(comments)], at); err != nil {
			return fmt.Errorf("seed surveys: %w", err)
		}
	}
	if _, err := s.tx.CloseSurvey(ctx, assessment.ID, closes); err != nil {
		return err
	}

	// An open survey's poster hangs on the notice board; its link is not kept anywhere
	// (only its hash is), as for any poster printed and handed out.
	open, err := create(demoOther, store.SurveyOpen, s.at(3, 0, 0), s.at(-11, 0, 0), hashOf(posterToken()))
	if err != nil {
		return fmt.Errorf("seed surveys: %w", err)
	}
	for n := 0; n < 7; n++ {
		at := s.at(2, 12, n)
		if err := s.tx.CastBallot(ctx, open.ID, store.Proof{VoterHash: randomHash()}, ballot(at, 60), comments[(n+1)%len(comments)], at); err != nil {
			return fmt.Errorf("seed surveys: %w", err)
		}
	}
	return nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// randomHash is a hash nobody can tie to anyone: the slips and the voters of the demo
// surveys are made up.
func randomHash() []byte {
	b := make([]byte, sha256.Size)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

// posterToken is a token shaped like the handlers' survey tokens ("s_" and 16 random
// bytes).
func posterToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return "s_" + base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
