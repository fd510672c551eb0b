package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"zhucun/bot/bottest"
	"zhucun/store"
)

// problemWorld drives the problem ledger end to end: through a polling bot (the act
// pattern of checkin_test.go), or through webhook replicas taking turns, where every
// delivery returns once its replies are sent.
type problemWorld struct {
	*checkInEnv
	hooks []*running // webhook replicas; none: the bot polls
	turn  int
}

func newProblemWorld(t *testing.T) *problemWorld {
	t.Helper()
	return &problemWorld{checkInEnv: newCheckInEnv(t)}
}

// newProblemHookWorld imports the demo county and starts that many bots in webhook
// mode on it: nothing polls, updates arrive only as the test delivers them.
func newProblemHookWorld(t *testing.T, replicas int) *problemWorld {
	t.Helper()
	w := &checkInEnv{env: newEnv(t), ctx: context.Background()}
	w.importDemo(t)
	for code, r := range map[string]*store.Region{"DEMO": &w.county, "DEMO-QS-01": &w.dongping, "DEMO-HX-01": &w.liuwan, "DEMO-QS-02": &w.xiling} {
		region, err := w.db.RegionByCode(w.ctx, code)
		if err != nil {
			t.Fatalf("region %s: %v", code, err)
		}
		*r = region
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w.shanghai = loc
	p := &problemWorld{checkInEnv: w}
	for range replicas {
		p.hooks = append(p.hooks, w.start(t, webhookEnv))
	}
	return p
}

// problemChatCalls keeps the calls that show something in chatID's chat, as act does.
func problemChatCalls(calls []bottest.Call, chatID int64) []bottest.Call {
	shows := []string{"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument", "deleteMessage"}
	chat := strconv.FormatInt(chatID, 10)
	var out []bottest.Call
	for _, c := range calls {
		if slices.Contains(shows, c.Method) && c.Params["chat_id"] == chat {
			out = append(out, c)
		}
	}
	return out
}

// send does something as u and returns the bot's whole answer to it in u's chat.
func (p *problemWorld) send(t *testing.T, u *bottest.User, do func() []models.Update) []bottest.Call {
	t.Helper()
	if len(p.hooks) == 0 {
		return p.act(t, u, func() { do() })
	}
	before := len(p.api.Calls())
	for _, upd := range do() {
		r := p.hooks[p.turn%len(p.hooks)]
		p.turn++
		if code := r.deliver(t, upd, hookSecret); code != http.StatusOK {
			t.Fatalf("webhook answered update %d with %d, want 200", upd.ID, code)
		}
	}
	return problemChatCalls(p.api.Calls()[before:], u.ID)
}

func (p *problemWorld) write(t *testing.T, u *bottest.User, text string) []bottest.Call {
	t.Helper()
	return p.send(t, u, func() []models.Update { return []models.Update{u.Text(text)} })
}

func (p *problemWorld) order(t *testing.T, u *bottest.User, cmd string) []bottest.Call {
	t.Helper()
	return p.send(t, u, func() []models.Update { return []models.Update{u.Command(cmd)} })
}

// photo sends one photo and returns the bot's answer and the photo's file id.
func (p *problemWorld) photo(t *testing.T, u *bottest.User, data string) ([]bottest.Call, string) {
	t.Helper()
	var fileID string
	got := p.send(t, u, func() []models.Update {
		upd := u.Photo([]byte(data), "")
		fileID = bestPhoto(upd)
		return []models.Update{upd}
	})
	return got, fileID
}

// bestPhoto is the file id of the largest size of an update's photo.
func bestPhoto(upd models.Update) string {
	sizes := upd.Message.Photo
	return sizes[len(sizes)-1].FileID
}

// click presses the newest inline button in u's chat whose text contains label.
func (p *problemWorld) click(t *testing.T, u *bottest.User, label string) []bottest.Call {
	t.Helper()
	m, data := p.withButton(t, u, label)
	return p.send(t, u, func() []models.Update { return []models.Update{u.Press(m, data)} })
}

// clickData presses, on the newest message with a button labelled label, a button
// with data the bot never offered there.
func (p *problemWorld) clickData(t *testing.T, u *bottest.User, label, data string) []bottest.Call {
	t.Helper()
	m, _ := p.withButton(t, u, label)
	return p.send(t, u, func() []models.Update { return []models.Update{u.Press(m, data)} })
}

// pressOn presses a button with data on the newest bot message in u's chat whose text
// contains text, whatever buttons it has now: an old button of an earlier step.
func (p *problemWorld) pressOn(t *testing.T, u *bottest.User, text, data string) []bottest.Call {
	t.Helper()
	msgs := p.api.Messages(u.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; strings.Contains(m.Text, text) {
			return p.send(t, u, func() []models.Update { return []models.Update{u.Press(m, data)} })
		}
	}
	t.Fatalf("no message containing %q in chat %d", text, u.ID)
	return nil
}

// Stages of the reporting flow: what the bot has asked for.
const (
	reportAtCategory = iota + 1
	reportAtDescription
	reportAtPhotos
	reportAtLocation
	reportAtUrgency
	reportAtSummary
	reportSaved
)

// reportInput is what a reporter answers.
type reportInput struct {
	category string // the label of the category's button
	text     string // the description
}

// reportStep gives the right answer to what is asked at stage (0: nothing yet, so
// /report) without photos, at the village centre, not urgent; it checks the answer.
func (p *problemWorld) reportStep(t *testing.T, u *bottest.User, stage int, in reportInput) []bottest.Call {
	t.Helper()
	var got []bottest.Call
	switch stage {
	case 0:
		got = p.order(t, u, "report")
		wantReplies(t, got, "问题属于哪一类")
	case reportAtCategory:
		got = p.click(t, u, in.category)
		wantReplies(t, got, "请用文字描述问题：")
	case reportAtDescription:
		got = p.write(t, u, in.text)
		wantReplies(t, got, "可以发 1 到 10 张照片")
	case reportAtPhotos:
		got = p.click(t, u, "不拍照")
		wantReplies(t, got, "问题在什么位置？", "用村中心也可以")
	case reportAtLocation:
		got = p.click(t, u, "用村中心")
		wantReplies(t, got, "问题紧急吗？")
	case reportAtUrgency:
		got = p.click(t, u, "一般")
		wantReplies(t, got, "请核对：")
	case reportAtSummary:
		got = p.click(t, u, "✓ 提交")
		// The summary loses its buttons and the answer brings back the main keyboard.
		wantReplies(t, got, "", "问题已登记：")
		if got[0].Method != "editMessageReplyMarkup" {
			t.Fatalf("first reply to ✓ 提交: got %s, want the summary's buttons taken away", got[0].Method)
		}
	default:
		t.Fatalf("no step at stage %d", stage)
	}
	return got
}

// reportTo walks u through the reporting flow until the bot asks what stage names.
func (p *problemWorld) reportTo(t *testing.T, u *bottest.User, stage int, in reportInput) []bottest.Call {
	t.Helper()
	return p.reportFrom(t, u, 0, stage, in)
}

// reportFrom answers the questions of the stages from, up to the one before to, and
// returns the last answer.
func (p *problemWorld) reportFrom(t *testing.T, u *bottest.User, from, to int, in reportInput) []bottest.Call {
	t.Helper()
	var got []bottest.Call
	for s := from; s < to; s++ {
		got = p.reportStep(t, u, s, in)
	}
	return got
}

var problemNumber = regexp.MustCompile(`问题已登记：(\S+) (\d{4}-\d{3})。`)

// report files a problem through the whole flow and returns its village's name and
// its number, as the reporter was told.
func (p *problemWorld) report(t *testing.T, u *bottest.User, in reportInput) (string, string) {
	t.Helper()
	return savedNumber(t, p.reportTo(t, u, reportSaved, in))
}

// savedNumber reads the village and number from the answer to ✓ 提交.
func savedNumber(t *testing.T, got []bottest.Call) (string, string) {
	t.Helper()
	m := problemNumber.FindStringSubmatch(replyText(got[len(got)-1]))
	if m == nil {
		t.Fatalf("saved report: got%s\nwant 问题已登记：<村> <编号>。", describe(got))
	}
	return m[1], m[2]
}

// numbered returns the problem of a village with a number.
func (p *problemWorld) numbered(t *testing.T, village store.Region, number string) store.Problem {
	t.Helper()
	list, _, err := p.db.Problems(p.ctx, store.ProblemFilter{RegionIDs: []int64{village.ID}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for _, pr := range list {
		if pr.Number() == number {
			return pr
		}
		numbers = append(numbers, pr.Number())
	}
	t.Fatalf("problems of %s: got %q, want one numbered %s", village.Name, numbers, number)
	return store.Problem{}
}

// problemNow reads a problem as it is stored now.
func (p *problemWorld) problemNow(t *testing.T, id int64) store.Problem {
	t.Helper()
	pr, err := p.db.ProblemByID(p.ctx, id, false)
	if err != nil {
		t.Fatalf("problem %d: %v", id, err)
	}
	return pr
}

// historyOf lists a problem's history as "action from→to actor: note".
func (p *problemWorld) historyOf(t *testing.T, id int64) []string {
	t.Helper()
	events, err := p.db.ProblemHistory(p.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = fmt.Sprintf("%s %s→%s %s: %s", e.Action, e.FromStatus, e.ToStatus, e.ActorName, e.Note)
	}
	return out
}

// problemInbox reads the bot messages of one chat that arrived since it last looked.
type problemInbox struct {
	api  *bottest.Server
	id   int64
	seen int
}

func (b *problemInbox) next() []string {
	msgs := b.api.Messages(b.id)
	var out []string
	for _, m := range msgs[b.seen:] {
		out = append(out, m.Text)
	}
	b.seen = len(msgs)
	return out
}

// problemCast is the people whose chats a test follows.
type problemCast struct {
	people []*bottest.User
	boxes  map[int64]*problemInbox
}

func newProblemCast(api *bottest.Server, people ...*bottest.User) *problemCast {
	c := &problemCast{people: people, boxes: map[int64]*problemInbox{}}
	for _, u := range people {
		c.boxes[u.ID] = &problemInbox{api: api, id: u.ID}
	}
	return c
}

// told checks what each person but the actor was sent since the last check: one
// message per entry of want, each containing all of the entry's parts; nothing for
// a person want does not name.
func (c *problemCast) told(t *testing.T, step string, actor *bottest.User, want map[*bottest.User][][]string) {
	t.Helper()
	for _, u := range c.people {
		got := c.boxes[u.ID].next()
		if u == actor {
			continue
		}
		w := want[u]
		ok := len(got) == len(w)
		for i := 0; ok && i < len(w); i++ {
			for _, part := range w[i] {
				ok = ok && strings.Contains(got[i], part)
			}
		}
		if !ok {
			t.Fatalf("%s: %s was sent %q, want %d messages containing %q", step, u.FirstName, got, len(w), w)
		}
	}
}

// wantStatus checks a problem's status.
func (p *problemWorld) wantStatus(t *testing.T, step string, id int64, status string) store.Problem {
	t.Helper()
	pr := p.problemNow(t, id)
	if pr.Status != status {
		t.Fatalf("after %s: got status %s, want %s", step, pr.Status, status)
	}
	return pr
}

// openProblem opens a problem's card from /problems and the list labelled list.
func (p *problemWorld) openProblem(t *testing.T, u *bottest.User, list, number string) []bottest.Call {
	t.Helper()
	wantReplies(t, p.order(t, u, "problems"), "问题台账：要查看哪些问题？")
	wantReplies(t, p.click(t, u, list), list+"：共 ")
	got := p.click(t, u, number)
	card := got[len(got)-1]
	if !strings.Contains(replyText(card), "【问题 "+number+"】") {
		t.Fatalf("opening %s: got%s\nwant its card last", number, describe(got))
	}
	return got
}

// assign walks a first secretary through 交办 of an open card.
func (p *problemWorld) assign(t *testing.T, secretary *bottest.User, number, who, unit, measures, deadline string) []bottest.Call {
	t.Helper()
	wantReplies(t, p.click(t, secretary, "交办"), "交办问题 "+number+"：请选择责任人。")
	wantReplies(t, p.click(t, secretary, who), "责任人："+who+"。责任单位是？")
	wantReplies(t, p.write(t, secretary, unit), "整改措施是什么？")
	wantReplies(t, p.write(t, secretary, measures), "完成时限是哪一天？")
	got := p.write(t, secretary, deadline)
	wantReplies(t, got, "✓ 问题 "+number+" 已交办，已通知责任人。")
	return got
}

// resolve walks the responsible person through 整改完成 of an open card with one photo.
func (p *problemWorld) resolve(t *testing.T, u *bottest.User, number, photo string) string {
	t.Helper()
	wantReplies(t, p.click(t, u, "整改完成"), "问题 "+number+" 整改完成：请发送整改后的照片")
	got, fileID := p.photo(t, u, photo)
	wantReplies(t, got, "已收到第 1 张照片")
	wantReplies(t, p.click(t, u, "完成"), "✓ 问题 "+number+" 已整改，等待验收。")
	return fileID
}

// TestProblemLifecycle runs on both backends: on the embedded one the report's draft
// photos are kept in the embedded state.
func TestProblemLifecycle(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) { problemLifecycle(t, &problemWorld{checkInEnv: newCheckInEnvOn(t, e)}) })
}

func problemLifecycle(t *testing.T, p *problemWorld) {
	li := p.join(t, 4101, "李书记", "zh-hans", store.RoleFirstSecretary, p.dongping)
	zhang := p.member(t, 4102, "张队员")
	chen := p.member(t, 4103, "陈队员") // on the team, involved in nothing
	cast := newProblemCast(p.api, li, zhang, chen)
	number := fmt.Sprintf("%d-001", time.Now().In(p.shanghai).Year())
	const desc = "扶贫车间停工三个月，设备一直闲置"

	// Reported by the member, with a photo and a location.
	p.reportTo(t, zhang, reportAtPhotos, reportInput{category: "经济发展缓慢", text: desc})
	got, reportPhoto := p.photo(t, zhang, "jpeg of the idle workshop")
	wantReplies(t, got, "收到第 1 张照片（最多 10 张）")
	wantReplies(t, p.click(t, zhang, "照片发完了"), "问题在什么位置？", "用村中心也可以")
	wantReplies(t, p.act(t, zhang, func() { zhang.LiveLocation(insideLat, insideLon, 15, 900) }), "问题紧急吗？")
	got = p.click(t, zhang, "紧急")
	wantReplies(t, got, "请核对：\n村：东坪村\n分类：经济发展缓慢\n描述："+desc+"\n照片：1 张\n位置：距村中心 ")
	village, got1 := savedNumber(t, p.click(t, zhang, "✓ 提交"))
	if village != "东坪村" || got1 != number {
		t.Fatalf("saved report: got %s %s, want 东坪村 %s", village, got1, number)
	}
	pr := p.numbered(t, p.dongping, number)
	id := pr.ID
	if pr.Status != store.StatusReported || pr.ReportedBy != zhang.ID || pr.ReporterRole != store.RoleMember ||
		!pr.LocationGiven || pr.Urgency != "urgent" || pr.Category != "economy" || pr.Description != desc {
		t.Fatalf("reported problem: got %+v, want reported by %d as member, located, urgent, economy, %q", pr, zhang.ID, desc)
	}
	cast.told(t, "report", zhang, map[*bottest.User][][]string{
		li: {{"东坪村新报告了问题 " + number + "（经济发展缓慢）：" + desc}},
	})

	// Assigned by the first secretary to the member.
	deadline := time.Now().In(p.shanghai).AddDate(0, 0, 14).Format(time.DateOnly)
	got = p.openProblem(t, li, "未办结", number)
	wantReplies(t, got, "问题 "+number+" 的现场照片", "反映人：张队员（工作队员）")
	if got[0].Method != "sendPhoto" || got[0].Params["photo"] != reportPhoto {
		t.Fatalf("card's photo: got %s of %q, want sendPhoto of %q", got[0].Method, got[0].Params["photo"], reportPhoto)
	}
	p.assign(t, li, number, "张队员", "村委会", "联系县工信局，一个月内恢复生产", deadline)
	pr = p.wantStatus(t, "assign", id, store.StatusAssigned)
	if pr.ResponsibleID == nil || *pr.ResponsibleID != zhang.ID || pr.ResponsibleUnit != "村委会" ||
		pr.Measures != "联系县工信局，一个月内恢复生产" || pr.Deadline == nil || pr.Deadline.Format(time.DateOnly) != deadline {
		t.Fatalf("assigned problem: got responsible %v, unit %q, measures %q, deadline %v; want %d, 村委会, the measures, %s",
			ptr(pr.ResponsibleID), pr.ResponsibleUnit, pr.Measures, ptr(pr.Deadline), zhang.ID, deadline)
	}
	// The member is reporter and responsible person: told once.
	cast.told(t, "assign", li, map[*bottest.User][][]string{
		zhang: {{"您被确定为问题 " + number + "（东坪村，经济发展缓慢）的责任人。", "责任单位：村委会", "整改措施：联系县工信局，一个月内恢复生产", "完成时限：" + deadline}},
	})

	// In progress, started by the responsible member.
	p.openProblem(t, zhang, "与我有关", number)
	wantReplies(t, p.click(t, zhang, "开始整改"), "✓ 问题 "+number+" 开始整改。")
	p.wantStatus(t, "start", id, store.StatusInProgress)
	cast.told(t, "start", zhang, nil)

	// A progress note with a photo.
	wantReplies(t, p.click(t, zhang, "记录进展"), "记录问题 "+number+" 的整改进展")
	wantReplies(t, p.write(t, zhang, "已联系施工队，下周进场检修"), "说明已记下。")
	got, progressPhoto := p.photo(t, zhang, "jpeg of the repair crew")
	wantReplies(t, got, "已收到第 1 张照片（最多 10 张）")
	wantReplies(t, p.click(t, zhang, "完成"), "✓ 问题 "+number+" 的进展已记录。")
	p.wantStatus(t, "progress note", id, store.StatusInProgress)
	cast.told(t, "progress note", zhang, nil)

	// Resolved with an evidence photo; without one the step stays.
	wantReplies(t, p.click(t, zhang, "整改完成"), "问题 "+number+" 整改完成：请发送整改后的照片")
	wantReplies(t, p.click(t, zhang, "完成"), "至少需要 1 张整改后的照片")
	p.wantStatus(t, "完成 without evidence", id, store.StatusInProgress)
	got, evidence1 := p.photo(t, zhang, "jpeg of the running machines")
	wantReplies(t, got, "已收到第 1 张照片")
	wantReplies(t, p.click(t, zhang, "完成"), "✓ 问题 "+number+" 已整改，等待验收。")
	if pr := p.wantStatus(t, "resolve", id, store.StatusResolved); pr.ResolvedAt == nil {
		t.Fatalf("resolved problem: got no resolved_at")
	}
	cast.told(t, "resolve", zhang, map[*bottest.User][][]string{
		li: {{"问题 " + number + "（东坪村）已整改，请验收。"}},
	})

	// Sent back by the first secretary with a reason.
	const reason = "照片看不出设备已经运转，请补拍生产现场"
	p.openProblem(t, li, "未办结", number)
	wantReplies(t, p.click(t, li, "退回整改"), "退回问题 "+number+" 重新整改：请写明退回原因")
	wantReplies(t, p.write(t, li, reason), "✓ 问题 "+number+" 已退回，原因已转告责任人。")
	if pr := p.wantStatus(t, "send back", id, store.StatusInProgress); pr.ResolvedAt != nil {
		t.Fatalf("sent back problem: got resolved_at %v, want none", *pr.ResolvedAt)
	}
	cast.told(t, "send back", li, map[*bottest.User][][]string{
		zhang: {{"问题 " + number + "（东坪村）：退回重新整改。", "说明：" + reason, "发送 /problems 查看。"}},
	})

	// Resolved again.
	p.openProblem(t, zhang, "与我有关", number)
	evidence2 := p.resolve(t, zhang, number, "jpeg of the workshop at work")
	p.wantStatus(t, "resolve again", id, store.StatusResolved)
	cast.told(t, "resolve again", zhang, map[*bottest.User][][]string{
		li: {{"问题 " + number + "（东坪村）已整改，请验收。"}},
	})

	// Verified by the first secretary.
	p.openProblem(t, li, "未办结", number)
	got = p.click(t, li, "验收通过")
	wantReplies(t, got, "✓ 问题 "+number+" 验收通过。")
	if card := replyText(got[0]); !strings.Contains(card, "办理状态：已验收") || !strings.Contains(card, "退回重新整改\n    "+reason) {
		t.Fatalf("card after verifying: got %q, want status 已验收 and the send-back with its reason", card)
	}
	if mk := got[0].Params["reply_markup"]; strings.Contains(mk, "pl:go:a.") {
		t.Fatalf("card of a verified problem: got buttons %s, want no transition", mk)
	}
	if pr := p.wantStatus(t, "verify", id, store.StatusVerified); pr.VerifiedAt == nil || pr.ResolvedAt == nil {
		t.Fatalf("verified problem: got verified_at %v, resolved_at %v; want both", ptr(pr.VerifiedAt), ptr(pr.ResolvedAt))
	}
	cast.told(t, "verify", li, map[*bottest.User][][]string{
		zhang: {{"问题 " + number + "（东坪村）：验收通过。"}},
	})

	wantHistory := []string{
		"report →reported 张队员: ",
		"assign reported→assigned 李书记: 张队员 · 村委会 · " + deadline,
		"start assigned→in_progress 张队员: ",
		"progress in_progress→in_progress 张队员: 已联系施工队，下周进场检修",
		"resolve in_progress→resolved 张队员: ",
		"send_back resolved→in_progress 李书记: " + reason,
		"resolve in_progress→resolved 张队员: ",
		"verify resolved→verified 李书记: ",
	}
	if got := p.historyOf(t, id); !slices.Equal(got, wantHistory) {
		t.Fatalf("history:\ngot  %q\nwant %q", got, wantHistory)
	}
	photos, err := p.db.ProblemPhotos(p.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var gotPhotos []string
	for _, ph := range photos {
		gotPhotos = append(gotPhotos, fmt.Sprintf("%d %s %s", ph.Position, ph.Kind, ph.FileID))
	}
	wantPhotos := []string{"1 report " + reportPhoto, "2 progress " + progressPhoto, "3 evidence " + evidence1, "4 evidence " + evidence2}
	if !slices.Equal(gotPhotos, wantPhotos) {
		t.Fatalf("photos: got %q, want %q", gotPhotos, wantPhotos)
	}
}

func TestProblemReportedByResident(t *testing.T) {
	t.Parallel()
	p := newProblemWorld(t)
	li := p.join(t, 4201, "李书记", "zh-hans", store.RoleFirstSecretary, p.dongping)
	zhang := p.member(t, 4202, "张队员")
	chen := p.member(t, 4203, "陈队员")
	wang := p.join(t, 4204, "王大爷", "zh-hans", store.RoleResident, p.dongping)
	cast := newProblemCast(p.api, li, zhang, chen, wang)
	number := fmt.Sprintf("%d-001", time.Now().In(p.shanghai).Year())
	const desc = "村口垃圾堆了一个月没人清理"

	// The resident reports through the keyboard button.
	wantReplies(t, p.write(t, wang, "📝 反映问题"), "东坪村：问题属于哪一类？")
	p.reportFrom(t, wang, reportAtCategory, reportAtUrgency, reportInput{category: "乡风文明和村容村貌", text: desc})
	wantReplies(t, p.click(t, wang, "紧急"), "紧急程度：紧急")
	if _, got := savedNumber(t, p.click(t, wang, "✓ 提交")); got != number {
		t.Fatalf("resident's report: got number %s, want %s", got, number)
	}
	pr := p.numbered(t, p.dongping, number)
	if pr.ReporterRole != store.RoleResident || pr.ReportedBy != wang.ID || pr.LocationGiven {
		t.Fatalf("resident's problem: got reporter %d as %s, location given %t; want %d as resident, at the centre",
			pr.ReportedBy, pr.ReporterRole, pr.LocationGiven, wang.ID)
	}
	cast.told(t, "report", wang, map[*bottest.User][][]string{li: {{"东坪村新报告了问题 " + number}}})

	// The first secretary sees the resident's name; members see only the role.
	got := p.openProblem(t, li, "未办结", number)
	if card := replyText(got[len(got)-1]); !strings.Contains(card, "反映人：王大爷（村民）") {
		t.Fatalf("first secretary's card: got %q, want 反映人：王大爷（村民）", card)
	}
	p.assign(t, li, number, "张队员", "村委会", "组织保洁员清运", time.Now().In(p.shanghai).AddDate(0, 0, 7).Format(time.DateOnly))
	cast.told(t, "assign", li, map[*bottest.User][][]string{zhang: {{"您被确定为问题 " + number}}})

	got = p.openProblem(t, chen, "未办结", number)
	card := replyText(got[len(got)-1])
	if !strings.Contains(card, "反映人：村民\n") || !strings.Contains(card, "村民：反映问题") || strings.Contains(card, "王大爷") {
		t.Fatalf("member's card: got %q, want the reporter as 村民 and no name", card)
	}
	cast.told(t, "a member opens the card", chen, nil)

	p.openProblem(t, zhang, "与我有关", number)
	wantReplies(t, p.click(t, zhang, "开始整改"), "开始整改")
	cast.told(t, "start", zhang, nil)
	p.resolve(t, zhang, number, "jpeg of a clean entrance")
	cast.told(t, "resolve", zhang, map[*bottest.User][][]string{
		li:   {{"问题 " + number + "（东坪村）已整改，请验收。"}},
		wang: {{"您反映的问题 " + number + "（东坪村）已经整改，正在等待验收。", desc}},
	})

	p.openProblem(t, li, "未办结", number)
	wantReplies(t, p.click(t, li, "验收通过"), "验收通过")
	cast.told(t, "verify", li, map[*bottest.User][][]string{
		zhang: {{"问题 " + number + "（东坪村）：验收通过。"}},
		wang:  {{"您反映的问题 " + number + "（东坪村）已整改并验收通过。感谢您的反映！", desc}},
	})

	// Nothing the members were sent names the resident.
	for _, u := range []*bottest.User{zhang, chen} {
		for _, m := range p.api.Messages(u.ID) {
			if strings.Contains(m.Text, "王大爷") {
				t.Fatalf("%s was sent %q, want no resident's name", u.FirstName, m.Text)
			}
		}
	}
}

func TestProblemNumbering(t *testing.T) {
	t.Parallel()
	p := newProblemWorld(t)
	zhang := p.member(t, 4301, "张队员")
	zhao := p.join(t, 4302, "赵队员", "zh-hans", store.RoleMember, p.liuwan)
	at := func(y int, m time.Month, d, hh, mm int) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, p.shanghai)
	}

	for _, tc := range []struct {
		name     string
		u        *bottest.User
		begun    time.Time // the date of /report
		finished time.Time // the date of the messages after it; zero: the same
		in       reportInput
		village  string
		number   string
	}{
		{"first in 东坪村", zhang, at(2026, 11, 20, 10, 0), time.Time{}, reportInput{"经济发展缓慢", "合作社账目半年没有公开"}, "东坪村", "2026-001"},
		{"second in 东坪村", zhang, at(2026, 11, 20, 10, 30), time.Time{}, reportInput{"班子软弱涣散", "两委班子开会经常缺席"}, "东坪村", "2026-002"},
		{"first in 柳湾村", zhao, at(2026, 11, 20, 11, 0), time.Time{}, reportInput{"社会治安", "夜里有人偷电动车"}, "柳湾村", "2026-001"},
		// Begun at 23:50 on New Year's Eve and finished after midnight: the year it began.
		{"begun on New Year's Eve", zhang, at(2026, 12, 31, 23, 50), at(2027, 1, 1, 0, 5), reportInput{"社会治安", "村道路灯全坏了"}, "东坪村", "2026-003"},
		// 00:10 in Shanghai is still 2026 in UTC.
		{"begun on New Year's Day", zhang, at(2027, 1, 1, 0, 10), time.Time{}, reportInput{"其他", "自来水管冬天冻裂"}, "东坪村", "2027-001"},
	} {
		tc.u.Date = tc.begun
		p.reportStep(t, tc.u, 0, tc.in)
		if !tc.finished.IsZero() {
			tc.u.Date = tc.finished
		}
		village, number := savedNumber(t, p.reportFrom(t, tc.u, reportAtCategory, reportSaved, tc.in))
		if village != tc.village || number != tc.number {
			t.Fatalf("%s: got %s %s, want %s %s", tc.name, village, number, tc.village, tc.number)
		}
		region := p.dongping
		if tc.village == "柳湾村" {
			region = p.liuwan
		}
		pr := p.numbered(t, region, tc.number)
		if !pr.ReportedAt.Equal(tc.begun) || pr.Description != tc.in.text {
			t.Fatalf("%s: got %q reported at %v, want %q at %v", tc.name, pr.Description, pr.ReportedAt, tc.in.text, tc.begun)
		}
		tc.u.Date = time.Time{}
	}
}

func TestProblemAlbumAcrossReplicas(t *testing.T) {
	t.Parallel()
	p := newProblemHookWorld(t, 2)
	u := p.member(t, 4401, "张队员")
	in := reportInput{category: "经济发展缓慢", text: "村道塌方，五处需要修补"}
	p.reportTo(t, u, reportAtPhotos, in)

	// Nothing polls: the album's updates are built, then delivered out of order, all at
	// once, taking turns between the two replicas.
	album := u.Album("塌方现场", []byte("one"), []byte("two"), []byte("three"), []byte("four"), []byte("five"))
	var want []string
	for i, upd := range album {
		if i > 0 && upd.Message.ID <= album[i-1].Message.ID {
			t.Fatalf("album message ids: got %d after %d, want them rising", upd.Message.ID, album[i-1].Message.ID)
		}
		want = append(want, bestPhoto(upd))
	}
	before := len(p.api.Calls())
	order := []int{3, 0, 4, 1, 2}
	codes := make([]int, len(order))
	var wg sync.WaitGroup
	for i, k := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = p.hooks[i%2].deliver(t, album[k], hookSecret)
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("delivery of album photo %d: got %d, want 200", order[i]+1, code)
		}
	}
	wantReplies(t, problemChatCalls(p.api.Calls()[before:], u.ID), "收到一组照片。全部发完后点“照片发完了”（最多 10 张）。")

	wantReplies(t, p.click(t, u, "照片发完了"), "问题在什么位置？", "用村中心也可以")
	p.reportStep(t, u, reportAtLocation, in)
	wantReplies(t, p.reportStep(t, u, reportAtUrgency, in), "照片：5 张")
	_, number := savedNumber(t, p.reportStep(t, u, reportAtSummary, in))

	photos, err := p.db.ProblemPhotos(p.ctx, p.numbered(t, p.dongping, number).ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ph := range photos {
		got = append(got, fmt.Sprintf("%d %s %s", ph.Position, ph.Kind, ph.FileID))
	}
	var wantPhotos []string
	for i, fileID := range want {
		wantPhotos = append(wantPhotos, fmt.Sprintf("%d report %s", i+1, fileID))
	}
	if !slices.Equal(got, wantPhotos) {
		t.Fatalf("problem's photos: got %q, want %q (album order)", got, wantPhotos)
	}
	// The answer became the location prompt when 照片发完了 was pressed: count what was sent.
	answers := 0
	for _, c := range problemChatCalls(p.api.Calls(), u.ID) {
		if strings.Contains(replyText(c), "收到一组照片") {
			answers++
		}
	}
	if answers != 1 {
		t.Fatalf("got %d answers 收到一组照片, want 1", answers)
	}
}

func TestReportBadInputKeepsTheStep(t *testing.T) {
	t.Parallel()
	p := newProblemWorld(t)
	// sends is a bad input sent as a message.
	sends := func(do func(u *bottest.User) models.Update) func(t *testing.T, u *bottest.User) []bottest.Call {
		return func(t *testing.T, u *bottest.User) []bottest.Call {
			t.Helper()
			return p.send(t, u, func() []models.Update { return []models.Update{do(u)} })
		}
	}
	text := func(s string) func(t *testing.T, u *bottest.User) []bottest.Call {
		return sends(func(u *bottest.User) models.Update { return u.Text(s) })
	}
	located := func(t *testing.T, u *bottest.User) {
		t.Helper()
		got := p.send(t, u, func() []models.Update { return []models.Update{u.LiveLocation(insideLat, insideLon, 15, 900)} })
		wantReplies(t, got, "问题紧急吗？")
	}
	const useButtons = "请点击按钮选择，或发送 /cancel 取消。"
	for i, tc := range []struct {
		name  string
		at    int // the stage the bad input comes at
		bad   func(t *testing.T, u *bottest.User) []bottest.Call
		says  string
		right func(t *testing.T, u *bottest.User) // the stage's right input, its answer checked; nil: reportStep's
	}{
		{name: "text where a category button is expected", at: reportAtCategory, bad: text("路灯坏了"), says: useButtons},
		{name: "a forged category", at: reportAtCategory, says: useButtons,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return p.clickData(t, u, "经济发展缓慢", "pb:cat:roads")
			}},
		{name: "an empty description", at: reportAtDescription, bad: text(" \n\t "), says: "请用文字描述问题（不超过 1000 字）。"},
		{name: "a description over the limit", at: reportAtDescription, bad: text(strings.Repeat("路", 1001)),
			says: "描述太长了：1001 字，最多 1000 字。请精简后重新发送。",
			right: func(t *testing.T, u *bottest.User) {
				wantReplies(t, p.write(t, u, strings.Repeat("路", 1000)), "可以发 1 到 10 张照片")
			}},
		{name: "a category button at the description step", at: reportAtDescription, says: staleButton,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return p.pressOn(t, u, "请用文字描述问题：", "pb:cat:leadership")
			}},
		{name: "text at the photo step", at: reportAtPhotos, bad: text("照片发不了"),
			says: "请发送照片（最多 10 张），发完后点“照片发完了”；不拍照也可以。",
			right: func(t *testing.T, u *bottest.User) {
				got, _ := p.photo(t, u, "a photo")
				wantReplies(t, got, "收到第 1 张照片（最多 10 张）")
			}},
		{name: "a location at the photo step", at: reportAtPhotos, says: "请发送照片（最多 10 张）",
			bad: sends(func(u *bottest.User) models.Update { return u.Location(insideLat, insideLon) })},
		{name: "text at the location step", at: reportAtLocation, bad: text("在村口小卖部旁边"),
			says: "请发送位置，或点“用村中心”。", right: located},
		{name: "a forwarded location", at: reportAtLocation,
			bad:  sends(func(u *bottest.User) models.Update { return u.ForwardedLocation(insideLat, insideLon) }),
			says: "不能用转发的位置，请发送问题所在的位置，或点“用村中心”。", right: located},
		{name: "coordinates out of range", at: reportAtLocation,
			bad:  sends(func(u *bottest.User) models.Update { return u.Location(123, 456) }),
			says: "这个位置的坐标不正确，请重新发送位置。"},
		{name: "a photo button at the location step", at: reportAtLocation, says: staleButton,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return p.pressOn(t, u, "用村中心也可以", "pb:photos:done")
			}},
		{name: "text at the urgency step", at: reportAtUrgency, bad: text("很急"), says: useButtons},
		{name: "a forged urgency", at: reportAtUrgency, says: useButtons,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return p.clickData(t, u, "一般", "pb:urg:critical")
			}},
		{name: "the centre button at the urgency step", at: reportAtUrgency, says: staleButton,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return p.pressOn(t, u, "问题紧急吗？", "pb:loc:centre")
			}},
		{name: "text at the summary", at: reportAtSummary, bad: text("提交吧"), says: useButtons},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := p.member(t, int64(4500+i), "队员"+strconv.Itoa(i))
			in := reportInput{category: "经济发展缓慢", text: fmt.Sprintf("第%d个问题：%s", i, tc.name)}
			p.reportTo(t, u, tc.at, in)
			wantReplies(t, tc.bad(t, u), tc.says)
			if tc.right != nil {
				tc.right(t, u)
			} else {
				p.reportStep(t, u, tc.at, in)
			}
		})
	}

	t.Run("an eleventh photo", func(t *testing.T) {
		t.Parallel()
		u := p.member(t, 4590, "队员甲")
		in := reportInput{category: "班子软弱涣散", text: "村委会白天经常没人值班"}
		p.reportTo(t, u, reportAtPhotos, in)
		var album []string
		got := p.send(t, u, func() []models.Update {
			var data [][]byte
			for i := range 10 {
				data = append(data, []byte("photo "+strconv.Itoa(i)))
			}
			upds := u.Album("", data...)
			for _, upd := range upds {
				album = append(album, bestPhoto(upd))
			}
			return upds
		})
		wantReplies(t, got, "收到一组照片")
		got, eleventh := p.photo(t, u, "one too many")
		wantReplies(t, got, "最多只能发 10 张照片，多出的没有保存。")
		wantReplies(t, p.click(t, u, "照片发完了"), "问题在什么位置？", "用村中心也可以")
		p.reportStep(t, u, reportAtLocation, in)
		wantReplies(t, p.reportStep(t, u, reportAtUrgency, in), "照片：10 张")
		_, number := savedNumber(t, p.reportStep(t, u, reportAtSummary, in))
		photos, err := p.db.ProblemPhotos(p.ctx, p.numbered(t, p.dongping, number).ID)
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		for _, ph := range photos {
			stored = append(stored, ph.FileID)
		}
		if !slices.Equal(stored, album) {
			t.Fatalf("stored photos: got %q, want the album's %q (not the eleventh, %s)", stored, album, eleventh)
		}
	})

	t.Run("✓ 提交 pressed again", func(t *testing.T) {
		t.Parallel()
		u := p.member(t, 4591, "队员乙")
		p.report(t, u, reportInput{category: "社会治安", text: "晚上有陌生车辆在村里转悠"})
		wantReplies(t, p.pressOn(t, u, "问题已登记：", "pb:confirm:submit"), staleButton)
		list, n, err := p.db.Problems(p.ctx, store.ProblemFilter{RegionIDs: []int64{p.dongping.ID}, ReportedBy: u.ID})
		if err != nil || n != 1 {
			t.Fatalf("problems reported by %d: got %d (%v), want 1", u.ID, n, err)
		}
		if list[0].Category != "security" {
			t.Fatalf("stored problem: got category %s, want security", list[0].Category)
		}
	})
}

// TestReportFileAtPhotoStep sends a photo as a file, which bottest has no helper for: in
// webhook mode the test builds the update itself.
func TestReportFileAtPhotoStep(t *testing.T) {
	t.Parallel()
	p := newProblemHookWorld(t, 1)
	u := p.member(t, 4801, "张队员")
	in := reportInput{category: "经济发展缓慢", text: "水渠堵塞，农田灌溉困难"}
	p.reportTo(t, u, reportAtPhotos, in)
	got := p.send(t, u, func() []models.Update {
		upd := u.Text("")
		upd.Message.Document = &models.Document{FileID: "doc-1", FileUniqueID: "doc-u1", FileName: "现场.jpg", MimeType: "image/jpeg", FileSize: 2048}
		return []models.Update{upd}
	})
	wantReplies(t, got, "请以照片形式发送（不要作为文件发送）。")
	got, _ = p.photo(t, u, "a photo")
	wantReplies(t, got, "收到第 1 张照片（最多 10 张）")
	wantReplies(t, p.click(t, u, "照片发完了"), "问题在什么位置？", "用村中心也可以")
	p.reportStep(t, u, reportAtLocation, in)
	wantReplies(t, p.reportStep(t, u, reportAtUrgency, in), "照片：1 张")
}

func TestProblemForgedTransitions(t *testing.T) {
	t.Parallel()
	p := newProblemWorld(t)
	li := p.join(t, 4601, "李书记", "zh-hans", store.RoleFirstSecretary, p.dongping)
	zhang := p.member(t, 4602, "张队员")
	chen := p.member(t, 4603, "陈队员")
	wang := p.join(t, 4604, "王书记", "zh-hans", store.RoleFirstSecretary, p.liuwan)
	zhao := p.join(t, 4605, "赵队员", "zh-hans", store.RoleMember, p.liuwan)
	resident := p.join(t, 4606, "王大爷", "zh-hans", store.RoleResident, p.dongping)
	cast := newProblemCast(p.api, li, zhang, chen, wang, zhao, resident)
	_, number := p.report(t, zhang, reportInput{category: "经济发展缓慢", text: "合作社的账目一直不公开"})
	cast.told(t, "report", zhang, map[*bottest.User][][]string{li: {{"东坪村新报告了问题 " + number}}})
	pr := p.numbered(t, p.dongping, number)
	id := strconv.FormatInt(pr.ID, 10)

	type forgery struct {
		name string
		u    *bottest.User
		idle bool // pressed outside the ledger; else from /problems, so the ledger's checks answer
		data string
		says string
	}
	// forge makes each press and checks that nothing changed and nobody else was told.
	forge := func(t *testing.T, cases []forgery) {
		t.Helper()
		want, history := p.problemNow(t, pr.ID), p.historyOf(t, pr.ID)
		for _, tc := range cases {
			if tc.idle {
				p.order(t, tc.u, "cancel")
			} else {
				wantReplies(t, p.order(t, tc.u, "problems"), "问题台账：要查看哪些问题？")
			}
			got := p.pressOn(t, tc.u, "", tc.data)
			if len(got) != 1 || !strings.Contains(replyText(got[0]), tc.says) {
				t.Fatalf("%s (%s): got%s\nwant one reply containing %q", tc.name, tc.data, describe(got), tc.says)
			}
			now := p.problemNow(t, pr.ID)
			if now.Status != want.Status || ptr(now.ResponsibleID) != ptr(want.ResponsibleID) || !now.UpdatedAt.Equal(want.UpdatedAt) {
				t.Fatalf("%s: got status %s, responsible %v, updated %v; want %s, %v, %v unchanged", tc.name,
					now.Status, ptr(now.ResponsibleID), now.UpdatedAt, want.Status, ptr(want.ResponsibleID), want.UpdatedAt)
			}
			if got := p.historyOf(t, pr.ID); !slices.Equal(got, history) {
				t.Fatalf("%s: got history %q, want %q unchanged", tc.name, got, history)
			}
			cast.told(t, tc.name, tc.u, nil)
		}
	}

	forge(t, []forgery{
		{name: "a member of 柳湾村 verifies", u: zhao, data: "pl:go:a.ok." + id, says: notAllowed},
		{name: "a member of 柳湾村 opens the card", u: zhao, data: "pl:go:p." + id, says: notAllowed},
		{name: "a member of 柳湾村 verifies outside the ledger", u: zhao, idle: true, data: "pl:go:a.ok." + id, says: staleButton},
		{name: "the first secretary of 柳湾村 assigns", u: wang, data: "pl:go:a.asg." + id, says: notAllowed},
		{name: "the first secretary of 柳湾村 closes", u: wang, data: "pl:go:a.cls." + id, says: notAllowed},
		{name: "a resident who did not report it opens the card", u: resident, data: "pl:go:p." + id, says: notAllowed},
		{name: "the reporting member assigns", u: zhang, data: "pl:go:a.asg." + id, says: notAllowed},
		{name: "the reporting member starts", u: zhang, data: "pl:go:a.go." + id, says: notAllowed},
		{name: "the first secretary verifies a reported problem", u: li, data: "pl:go:a.ok." + id,
			says: "问题 " + number + " 现在是“待交办”，这项操作已不适用。"},
		{name: "the first secretary resolves a reported problem", u: li, data: "pl:go:a.res." + id, says: "现在是“待交办”"},
		{name: "an action that does not exist", u: li, data: "pl:go:a.zz." + id, says: "请点按钮选择，或发送 /cancel 退出。"},
		{name: "a problem that does not exist", u: li, data: "pl:go:a.ok.999999999", says: notAllowed},
	})

	// Someone off the team, forged as the responsible person, is refused; the step stays.
	p.openProblem(t, li, "未办结", number)
	wantReplies(t, p.click(t, li, "交办"), "请选择责任人")
	for _, who := range []*bottest.User{zhao, resident} {
		wantReplies(t, p.clickData(t, li, "张队员", "pl:who:"+strconv.FormatInt(who.ID, 10)), notAllowed)
		if now := p.problemNow(t, pr.ID); now.Status != store.StatusReported || now.ResponsibleID != nil {
			t.Fatalf("after forging %s as responsible: got status %s, responsible %v; want reported, none", who.FirstName, now.Status, ptr(now.ResponsibleID))
		}
	}
	wantReplies(t, p.click(t, li, "张队员"), "责任人：张队员。")
	wantReplies(t, p.write(t, li, "村委会"), "整改措施")
	wantReplies(t, p.write(t, li, "每季度公开一次账目"), "完成时限")
	wantReplies(t, p.write(t, li, time.Now().In(p.shanghai).AddDate(0, 0, 30).Format(time.DateOnly)), "已交办")
	cast.told(t, "assign", li, map[*bottest.User][][]string{zhang: {{"您被确定为问题 " + number}}})

	forge(t, []forgery{
		{name: "the responsible member verifies", u: zhang, data: "pl:go:a.ok." + id, says: notAllowed},
		{name: "the responsible member sends back", u: zhang, data: "pl:go:a.back." + id, says: notAllowed},
		{name: "a member who is not responsible starts", u: chen, data: "pl:go:a.go." + id, says: notAllowed},
		{name: "a member of 柳湾村 starts", u: zhao, data: "pl:go:a.go." + id, says: notAllowed},
		{name: "the first secretary of 柳湾村 verifies", u: wang, data: "pl:go:a.ok." + id, says: notAllowed},
		{name: "the first secretary verifies an assigned problem", u: li, data: "pl:go:a.ok." + id, says: "现在是“已交办”"},
		{name: "the first secretary assigns again", u: li, data: "pl:go:a.asg." + id, says: "现在是“已交办”"},
	})
}

// problemKeyboard describes the reply keyboard the user sees now: that of the newest
// message that set or removed one.
func problemKeyboard(msgs []bottest.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		switch m := msgs[i]; {
		case m.RemoveKeyboard:
			return "removed"
		case m.Keyboard != nil:
			var labels []string
			for _, row := range m.Keyboard.Keyboard {
				for _, b := range row {
					labels = append(labels, b.Text)
				}
			}
			return strings.Join(labels, " | ")
		}
	}
	return "none"
}

// TestReportGivesBackTheMainKeyboard: the location step of a report replaces the reply
// keyboard with a lone 📍 发送位置 button, and nothing after it gives back 📍 打卡 and
// 📝 反映问题 (the check-in flow ends with the main keyboard).
func TestReportGivesBackTheMainKeyboard(t *testing.T) {
	t.Parallel()
	p := newProblemWorld(t)
	u := p.member(t, 4901, "张队员")
	wantReplies(t, p.order(t, u, "help"), "/report")
	const main = "📍 打卡 | 📝 反映问题"
	if got := problemKeyboard(p.api.Messages(u.ID)); got != main {
		t.Fatalf("keyboard after /help: got %q, want %q", got, main)
	}
	p.report(t, u, reportInput{category: "经济发展缓慢", text: "村里的路灯坏了一半"})
	if got := problemKeyboard(p.api.Messages(u.ID)); got != main {
		t.Fatalf("keyboard after the report is saved: got %q, want %q", got, main)
	}
}

// TestReportEleventhPhotoOutOfOrder: the photos of a report are kept in message order
// however their updates arrive, so the one refused over the limit should be the last
// in message order, not the last to arrive.
func TestReportEleventhPhotoOutOfOrder(t *testing.T) {
	t.Parallel()
	p := newProblemHookWorld(t, 2)
	u := p.member(t, 4951, "张队员")
	in := reportInput{category: "经济发展缓慢", text: "河堤有十一处裂缝"}
	p.reportTo(t, u, reportAtPhotos, in)
	got, single := p.photo(t, u, "the first crack")
	wantReplies(t, got, "收到第 1 张照片")
	// An album of ten after it, its updates arriving last photo first.
	var album []string
	got = p.send(t, u, func() []models.Update {
		var data [][]byte
		for i := range 10 {
			data = append(data, []byte("crack "+strconv.Itoa(i)))
		}
		upds := u.Album("", data...)
		for _, upd := range upds {
			album = append(album, bestPhoto(upd))
		}
		slices.Reverse(upds)
		return upds
	})
	wantReplies(t, got, "收到一组照片", "最多只能发 10 张照片，多出的没有保存。")
	wantReplies(t, p.click(t, u, "照片发完了"), "问题在什么位置？", "用村中心也可以")
	p.reportStep(t, u, reportAtLocation, in)
	wantReplies(t, p.reportStep(t, u, reportAtUrgency, in), "照片：10 张")
	_, number := savedNumber(t, p.reportStep(t, u, reportAtSummary, in))
	photos, err := p.db.ProblemPhotos(p.ctx, p.numbered(t, p.dongping, number).ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, ph := range photos {
		stored = append(stored, ph.FileID)
	}
	if want := append([]string{single}, album[:9]...); !slices.Equal(stored, want) {
		t.Fatalf("stored photos: got %q, want the first ten in message order %q (the eleventh, %s, refused)", stored, want, album[9])
	}
}
