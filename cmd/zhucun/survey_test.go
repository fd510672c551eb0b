package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"zhucun/bot/bottest"
	"zhucun/store"
)

// surveyEnv is the demo county with a county supervisor, a township supervisor over
// 东坪村 and 西岭村, the team of 东坪村, and households to answer.
type surveyEnv struct {
	*checkInEnv
	supervisor, township, secretary, member *bottest.User
}

func newSurveyEnv(t *testing.T) *surveyEnv {
	t.Helper()
	w := &surveyEnv{checkInEnv: newCheckInEnv(t)}
	townshipRegion, err := w.db.RegionByCode(w.ctx, "DEMO-QS")
	if err != nil {
		t.Fatal(err)
	}
	w.supervisor = w.join(t, 7100, "周督导", "zh-hans", store.RoleSupervisor, w.county)
	w.township = w.join(t, 7104, "吴督导", "zh-hans", store.RoleSupervisor, townshipRegion)
	w.secretary = w.join(t, 7101, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	w.member = w.join(t, 7102, "张队员", "zh-hans", store.RoleMember, w.dongping)
	return w
}

// household is a resident's phone: a user with no role, or one who joined a village
// as a resident.
func (w *surveyEnv) household(t *testing.T, id int64, lang string, residentOf ...store.Region) *bottest.User {
	t.Helper()
	return w.join(t, id, fmt.Sprintf("村民%d", id), lang, store.RoleResident, residentOf...)
}

// pressRow presses the first button of row i of the newest message with buttons.
func (w *surveyEnv) pressRow(t *testing.T, u *bottest.User, i int) []bottest.Call {
	t.Helper()
	msgs := w.api.Messages(u.ID)
	for j := len(msgs) - 1; j >= 0; j-- {
		if m := msgs[j]; m.Markup != nil && !m.Deleted {
			if i >= len(m.Markup.InlineKeyboard) {
				t.Fatalf("message %q has %d rows of buttons, want row %d", m.Text, len(m.Markup.InlineKeyboard), i)
			}
			data := m.Markup.InlineKeyboard[i][0].CallbackData
			return w.act(t, u, func() { u.Press(m, data) })
		}
	}
	t.Fatalf("no message with buttons in chat %d", u.ID)
	return nil
}

// openSurvey has u open a 7-day survey of the village now, from the menu button newLabel.
func (w *surveyEnv) openSurvey(t *testing.T, u *bottest.User, newLabel, village string) []bottest.Call {
	t.Helper()
	w.command(t, u, "survey")
	w.press(t, u, newLabel)
	w.press(t, u, village)
	w.press(t, u, "现在开始")
	return w.press(t, u, "7 天")
}

var surveyLinkLine = regexp.MustCompile(`No\. (\d+)\t\S+\?start=(s_[A-Za-z0-9_-]{22})`)

// issueSlips has the supervisor issue n slips from the survey card and returns their
// tokens by number, checking the sheet is a PNG that names the village.
func (w *surveyEnv) issueSlips(t *testing.T, u *bottest.User, village string, n int) map[int]string {
	t.Helper()
	w.press(t, u, "发放调查条")
	got := w.text(t, u, strconv.Itoa(n))
	tokens := map[int]string{}
	sheets := 0
	for _, c := range got {
		if c.Method != "sendDocument" {
			continue
		}
		var doc *bottest.File
		for _, m := range w.api.Messages(u.ID) {
			if m.Document != nil && strings.Contains(replyText(c), m.Text) && m.Text == replyText(c) {
				doc = m.Document
			}
		}
		if doc == nil {
			t.Fatalf("document %q not found", replyText(c))
		}
		switch {
		case strings.HasSuffix(doc.Name, ".png"):
			if _, err := png.Decode(bytes.NewReader(doc.Bytes)); err != nil || !strings.Contains(replyText(c), village) {
				t.Fatalf("slip sheet %s captioned %q: %v, want a PNG for %s", doc.Name, replyText(c), err, village)
			}
			sheets++
		case strings.HasSuffix(doc.Name, ".txt"):
			for _, m := range surveyLinkLine.FindAllStringSubmatch(string(doc.Bytes), -1) {
				no, _ := strconv.Atoi(m[1])
				tokens[no] = m[2]
			}
		}
	}
	if len(tokens) != n || sheets != (n+11)/12 {
		t.Fatalf("issuing %d slips: got %d links and %d sheets; replies:%s", n, len(tokens), sheets, describe(got))
	}
	return tokens
}

// answer has u answer through the link: options by row (0 满意 … 3 不了解), a comment
// or none, then submit.
func (w *surveyEnv) answer(t *testing.T, u *bottest.User, token string, options []int, comment string) []bottest.Call {
	t.Helper()
	got := w.command(t, u, "start", token)
	if len(got) != 2 || !strings.Contains(replyText(got[1]), "1/4") {
		t.Fatalf("%d opening the survey: got%s, want the intro and question 1/4", u.ID, describe(got))
	}
	for _, o := range options {
		w.pressRow(t, u, o)
	}
	if comment == "" {
		w.pressRow(t, u, 0) // skip
	} else {
		w.text(t, u, comment)
	}
	return w.pressRow(t, u, 0) // submit
}

// since returns the bot's messages in chat after the first n.
func (w *surveyEnv) since(chatID int64, n int) []bottest.Message {
	return w.api.Messages(chatID)[n:]
}

func joined(msgs []bottest.Message) string {
	var s []string
	for _, m := range msgs {
		s = append(s, m.Text)
	}
	return strings.Join(s, "\n")
}

// TestSurveyAssessmentEndToEnd runs an assessment of 东坪村 through the fake Bot API:
// 15 slips, 13 answers through them (one account answering for two households), 2 on
// paper, refusals, an open survey, a withheld result, and then inspects every table and
// the logs for anything that ties an answer to a person.
func TestSurveyAssessmentEndToEnd(t *testing.T) {
	t.Parallel()
	w := newSurveyEnv(t)
	sup := w.supervisor

	// The team being assessed cannot open its own assessment: its first secretary is not
	// offered one, and a forged press finds no village.
	menu := w.command(t, w.secretary, "survey")
	if text := menu[0].Params["reply_markup"]; strings.Contains(text, "发起测评") || !strings.Contains(text, "发起开放问卷") {
		t.Fatalf("the first secretary's menu offers %s, want only an open survey", text)
	}
	wantReplies(t, w.forge(t, w.secretary, "发起开放问卷", "sv:menu:na"), "没有您可以发起这类问卷的村")

	card := w.openSurvey(t, sup, "发起测评", "东坪村")
	wantReplies(t, card, "东坪村 · 群众满意度测评 · 测评（计入验收）")
	tokens := w.issueSlips(t, sup, "东坪村", 12)

	// 12 households answer through their slips. Rows: 0 满意, 1 基本满意, 2 不满意, 3 不了解.
	answers := [][]int{
		{0, 0, 0, 0}, {0, 0, 1, 0}, {0, 1, 0, 1}, {0, 0, 0, 2}, {1, 1, 0, 0}, {0, 2, 0, 0},
		{0, 0, 1, 3}, {2, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 3, 0}, {0, 0, 0, 1}, {0, 1, 0, 0},
	}
	comments := map[int]string{3: "希望多修几盏路灯", 8: "驻村干部来得少", 11: "感谢工作队帮忙修了水渠"}
	homes := make([]*bottest.User, 13)
	for i := range answers {
		lang := "zh-hans"
		if i == 4 {
			lang = "en"
		}
		var resident []store.Region
		if i == 0 {
			resident = []store.Region{w.dongping}
		}
		homes[i] = w.household(t, int64(7201+i), lang, resident...)
		if lang == "en" {
			got := w.command(t, homes[i], "start", tokens[i+1])
			if len(got) != 2 || !strings.Contains(replyText(got[1]), "Question 1/4: Are you satisfied with the village work team's assistance?") {
				t.Fatalf("an English-speaking resident got%s, want the questions in English", describe(got))
			}
			for _, o := range answers[i] {
				w.pressRow(t, homes[i], o)
			}
			w.press(t, homes[i], "Skip")
			wantReplies(t, w.press(t, homes[i], "Submit"), "Submitted. Thank you")
			continue
		}
		got := w.answer(t, homes[i], tokens[i+1], answers[i], comments[i])
		wantReplies(t, got, "已提交，谢谢您的参与")
	}
	// The first household asks to hear the result.
	wantReplies(t, w.press(t, homes[0], "测评结束时告诉我结果"), "测评结束时会告诉您总体结果")

	// Refused: a slip used twice, a made-up slip, a slip of another village.
	stranger := w.household(t, 7300, "zh-hans")
	wantReplies(t, w.command(t, stranger, "start", tokens[3]), "这张调查条已经用过了")
	made := make([]byte, 16)
	rand.Read(made)
	wantReplies(t, w.command(t, stranger, "start", "s_"+base64.RawURLEncoding.EncodeToString(made)), "这个问卷链接无效")
	w.openSurvey(t, sup, "发起测评", "西岭村")
	xiling := w.issueSlips(t, sup, "西岭村", 4)
	wantReplies(t, w.command(t, homes[0], "start", xiling[1]), "这张调查条是西岭村的，不是您所在村的")

	// More households are sampled; the second household's account answers for another
	// household (the household is the unit, not the account).
	w.command(t, sup, "survey")
	w.press(t, sup, "东坪村 · 测评")
	more := w.issueSlips(t, sup, "东坪村", 3)
	if _, ok := more[13]; !ok || len(more) != 3 || more[15] == "" {
		t.Fatalf("the second issue: got slips %v, want No. 13 to 15", more)
	}
	wantReplies(t, w.answer(t, homes[1], more[13], []int{0, 0, 2, 0}, ""), "已提交")

	// Two households without phones answer on paper; the supervisor enters them by
	// their slips' numbers. A number used already is refused.
	for _, p := range []struct {
		slip    int
		options []int
	}{{14, []int{0, 0, 0, 0}}, {15, []int{3, 1, 0, 2}}} {
		w.press(t, sup, "录入纸质答卷")
		wantReplies(t, w.text(t, sup, "3"), "调查条 No. 3 已经答过了")
		got := w.text(t, sup, strconv.Itoa(p.slip))
		wantReplies(t, got, fmt.Sprintf("录入纸质答卷：东坪村，调查条 No. %d", p.slip), "第 1/4 题")
		for _, o := range p.options {
			w.pressRow(t, sup, o)
		}
		w.press(t, sup, "跳过")
		wantReplies(t, w.press(t, sup, "提交"), fmt.Sprintf("纸质答卷已录入（调查条 No. %d），已标记为纸质", p.slip))
	}
	wantReplies(t, w.command(t, stranger, "start", more[15]), "这张调查条已经用过了")

	// An open survey of the first secretary: once per account, and it never counts.
	posterCalls := w.openSurvey(t, w.secretary, "发起开放问卷", "东坪村")
	var poster string
	for _, c := range posterCalls {
		if m := regexp.MustCompile(`start=(s_[A-Za-z0-9_-]{22})`).FindStringSubmatch(replyText(c)); m != nil && c.Method == "sendPhoto" {
			poster = m[1]
		}
	}
	if poster == "" {
		t.Fatalf("opening an open survey: got%s, want a poster QR code with its link", describe(posterCalls))
	}
	wantReplies(t, w.answer(t, homes[2], poster, []int{2, 2, 2, 2}, ""), "已提交")
	wantReplies(t, w.command(t, homes[2], "start", poster), "您已经回答过这份问卷了")

	// Four answers to 西岭村's assessment.
	for i := 1; i <= 4; i++ {
		w.answer(t, w.household(t, int64(7400+i), "zh-hans"), xiling[i], []int{0, 0, 0, 0}, "")
	}

	// The supervisor closes 东坪村 early: the results go to the first secretary and both
	// supervisors, the headline to the household that asked.
	seen := map[int64]int{}
	for _, u := range []*bottest.User{sup, w.township, w.secretary, w.member, homes[0], homes[1]} {
		seen[u.ID] = len(w.api.Messages(u.ID))
	}
	w.command(t, sup, "survey")
	w.press(t, sup, "东坪村 · 测评")
	w.press(t, sup, "提前结束")
	w.press(t, sup, "确定结束")
	want := []string{
		"收到答卷 15 份：扫码 13 份，纸质 2 份（发放调查条 15 张）。",
		"Q1. 您对驻村工作队驻村帮扶是否满意？\n    满意 11 · 基本满意 2 · 不满意 1 · 不了解 1 → 满意率 92.9%",
		"Q2. 您对村党组织（村党支部）的工作是否满意？\n    满意 10 · 基本满意 4 · 不满意 1 · 不了解 0 → 满意率 93.3%",
		"Q3. 您对驻村工作队帮助群众解决问题、为民办事的情况是否满意？\n    满意 11 · 基本满意 2 · 不满意 1 · 不了解 1 → 满意率 92.9%",
		"Q4. 您对驻村干部在改善乡村面貌方面的工作是否满意？\n    满意 10 · 基本满意 2 · 不满意 2 · 不了解 1 → 满意率 85.7%",
		"总体满意率 91.2%",
		"验收线 90.0%：达标 ✅",
		"这是本村第一次有结果的测评",
	}
	for _, u := range []*bottest.User{sup, w.township, w.secretary} {
		got := w.since(u.ID, seen[u.ID])
		text := joined(got)
		for _, s := range want {
			if !strings.Contains(text, s) {
				t.Errorf("results to %s: got\n%s\nwant %q", u.FirstName, text, s)
			}
		}
		if strings.Contains(text, "按作答方式") {
			t.Errorf("results to %s break down 2 paper answers, under the minimum of 5:\n%s", u.FirstName, text)
		}
		for _, c := range comments {
			if !strings.Contains(text, c) {
				t.Errorf("results to %s lack the comment %q", u.FirstName, c)
			}
		}
		charts := 0
		for _, m := range got {
			if m.Photo != nil {
				if _, err := png.Decode(bytes.NewReader(m.Photo.Bytes)); err != nil {
					t.Errorf("chart to %s: %v", u.FirstName, err)
				}
				charts++
			}
		}
		if charts != 1 {
			t.Errorf("results to %s: got %d charts, want 1", u.FirstName, charts)
		}
	}
	if got := joined(w.since(w.member.ID, seen[w.member.ID])); got != "" {
		t.Errorf("a team member got %q, want nothing", got)
	}
	if got := joined(w.since(homes[0].ID, seen[homes[0].ID])); !strings.Contains(got, "东坪村的满意度测评已结束：共 15 户参与，总体满意率 91.2%") ||
		strings.Contains(got, "满意 11") || strings.Contains(got, comments[3]) {
		t.Errorf("headline to the household that asked: got %q", got)
	}
	if got := joined(w.since(homes[1].ID, seen[homes[1].ID])); got != "" {
		t.Errorf("a household that did not ask got %q", got)
	}

	// 西岭村 with 4 answers: withheld. The open survey: says what it is, never counts.
	w.command(t, sup, "survey")
	w.press(t, sup, "西岭村 · 测评")
	w.press(t, sup, "提前结束")
	got := w.press(t, sup, "确定结束")
	if text := joined(w.since(sup.ID, len(w.api.Messages(sup.ID))-2)); !strings.Contains(text, "收到答卷 4 份") ||
		!strings.Contains(text, "答卷不足 5 份，为免推断出个人的回答，结果不予显示") || strings.Contains(text, "满意率") {
		t.Errorf("results of 4 answers: got%s\n%s, want them withheld", describe(got), text)
	}
	w.command(t, w.secretary, "survey")
	w.press(t, w.secretary, "东坪村 · 开放问卷")
	w.press(t, w.secretary, "提前结束")
	w.press(t, w.secretary, "确定结束")
	if text := joined(w.api.Messages(w.secretary.ID)); !strings.Contains(text, "📊 东坪村 · 群众满意度测评 · 开放问卷（不计入验收）") ||
		!strings.Contains(text, "收到答卷 1 份（开放问卷，每个账号一份）") {
		t.Errorf("results of the open survey to the first secretary: got\n%s", text)
	}

	secrets := []string{}
	for _, tok := range tokens {
		secrets = append(secrets, tok)
	}
	for _, tok := range more {
		secrets = append(secrets, tok)
	}
	for _, tok := range xiling {
		secrets = append(secrets, tok)
	}
	secrets = append(secrets, poster)
	var people []int64
	for id := int64(7201); id <= 7213; id++ {
		people = append(people, id)
	}
	people = append(people, 7300, 7401, 7402, 7403, 7404, sup.ID)
	var content []string
	for _, c := range comments {
		content = append(content, c)
	}
	inspectAnonymity(t, w.env, secrets, people, content)
}

// inspectAnonymity reads every column of every table of the schema, and the logs, and
// fails if an answer could be tied to a person: the answer tables may hold nothing but
// a random id, the survey, the source, the day and the answer; no value of theirs may
// appear in any other table (but the survey's id); no token, in clear or hashed, may be
// stored in clear; answer content may be nowhere else; and the logs hold none of it.
func inspectAnonymity(t *testing.T, e *env, tokens []string, people []int64, comments []string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	type column struct{ table, name, typ string }
	rows, err := conn.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name, &c.typ)
	})
	if err != nil || len(cols) < 50 {
		t.Fatalf("columns of the schema: got %d (%v)", len(cols), err)
	}
	values := map[column][]string{}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT %s::text FROM %s WHERE %s IS NOT NULL`, pgx.Identifier{c.name}.Sanitize(),
			pgx.Identifier{c.table}.Sanitize(), pgx.Identifier{c.name}.Sanitize())
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		values[c] = vs
	}

	answerTables := map[string][]string{
		"survey_ballots":  {"id uuid", "survey_id bigint", "source text", "answered_on date", "choices jsonb"},
		"survey_comments": {"id uuid", "survey_id bigint", "body text"},
	}
	for table, want := range answerTables {
		var got []string
		for _, c := range cols {
			if c.table == table {
				got = append(got, c.name+" "+c.typ)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("columns of %s: got %q, want %q (no user, chat, message, update, token or time)", table, got, want)
		}
	}
	ballots := values[column{"survey_ballots", "choices", "jsonb"}]
	if len(ballots) != 15+1+4 || len(values[column{"survey_comments", "body", "text"}]) != len(comments) {
		t.Fatalf("got %d ballots and %d comments stored, want 20 and %d", len(ballots), len(values[column{"survey_comments", "body", "text"}]), len(comments))
	}

	// What must be nowhere but in the answer tables, and what must be nowhere at all.
	peopleText := map[string]bool{}
	for _, p := range people {
		peopleText[strconv.FormatInt(p, 10)] = true
	}
	hashes := map[string]bool{}
	for _, tok := range tokens {
		sum := sha256.Sum256([]byte(tok))
		hashes[`\x`+hex.EncodeToString(sum[:])] = true
	}
	stored := 0
	for c, vs := range values {
		_, isAnswer := answerTables[c.table]
		for _, v := range vs {
			for _, tok := range tokens {
				if strings.Contains(v, tok[2:]) {
					t.Errorf("%s.%s holds a token: %.80q", c.table, c.name, v)
				}
			}
			if hashes[v] {
				if c != (column{"survey_slips", "token_hash", "bytea"}) && c != (column{"surveys", "poster_hash", "bytea"}) {
					t.Errorf("%s.%s holds the hash of a token", c.table, c.name)
				}
				stored++
			}
			if isAnswer && peopleText[v] {
				t.Errorf("%s.%s holds %s, the id of a user", c.table, c.name, v)
			}
			if isAnswer {
				continue
			}
			for _, s := range comments {
				if strings.Contains(v, s) {
					t.Errorf("%s.%s holds the comment %q", c.table, c.name, s)
				}
			}
			if strings.Contains(v, `"q_team_overall": "`) {
				t.Errorf("%s.%s holds answers: %.120q", c.table, c.name, v)
			}
		}
	}
	if stored != len(tokens) {
		t.Errorf("%d token hashes stored, want %d: the check above looked at nothing", stored, len(tokens))
	}
	// No value of an answer table (but its survey, its source and its day, which many
	// answers share) is found in any other table: nothing to join an answer on.
	for ac, avs := range values {
		if _, ok := answerTables[ac.table]; !ok || ac.name == "survey_id" || ac.name == "source" || ac.name == "answered_on" {
			continue
		}
		set := map[string]bool{}
		for _, v := range avs {
			set[v] = true
		}
		for c, vs := range values {
			if c.table == ac.table {
				continue
			}
			for _, v := range vs {
				if set[v] {
					t.Errorf("%s.%s shares the value %.60q with %s.%s", ac.table, ac.name, v, c.table, c.name)
				}
			}
		}
	}
	// Who answered is kept apart, without time: slips and voters carry no time, and the
	// households waiting for a headline were forgotten once told.
	for _, c := range cols {
		switch c.table {
		case "survey_slips", "survey_voters", "survey_followers":
			if strings.Contains(c.typ, "time") || c.typ == "date" {
				t.Errorf("%s.%s is a %s: who answered must not carry a time", c.table, c.name, c.typ)
			}
		}
	}
	if n := len(values[column{"survey_followers", "chat_id", "bigint"}]); n != 0 {
		t.Errorf("survey_followers holds %d chats after the surveys closed, want none", n)
	}
	var xids int
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM survey_ballots GROUP BY survey_id ORDER BY 1 DESC LIMIT 1`).Scan(&xids); err != nil || xids != 1 {
		t.Errorf("a survey's ballots carry %d transaction ids (%v), want 1: the order of answering shows", xids, err)
	}

	logs := e.logs.String()
	for _, s := range append(append(slices.Clone(comments), tokens...), "sa:q:", "sa:ok:", "sa:cmt:", "q_team_overall") {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	if !strings.Contains(logs, `"msg":"bot ready"`) {
		t.Errorf("no log was captured: the check above looked at nothing")
	}
}
