package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"zhucun/store"
	"zhucun/store/storetest"
	"zhucun/web"
)

// Demo people the tests act as (web/demo.go).
const (
	demoSupervisor = 8000000002
	demoSecretary  = 8000000003
	demoMember     = 8000000004
)

// playgroundEnv is a demo file for the playground, on the embedded store, with the web
// chat's data next to it; db reads the same file.
type playgroundEnv struct {
	db   *store.DB
	file string
	logs *logBuffer
}

func newPlaygroundEnv(t *testing.T) *playgroundEnv {
	t.Helper()
	return &playgroundEnv{file: filepath.Join(t.TempDir(), "demo.db"), logs: newLogBuffer()}
}

// start runs a playground on the env until stop is called or the test ends, and
// returns its address.
func (e *playgroundEnv) start(t *testing.T) (base string, stop func()) {
	t.Helper()
	// DATABASE_URL and REDIS_URL are set to show that the playground ignores them.
	vals := map[string]string{
		"DATABASE_URL": storetest.DatabaseURL(), "REDIS_URL": storetest.RedisURL(),
		"ZHUCUN_HTTP_ADDR": "127.0.0.1:0", "ZHUCUN_DATA_DIR": filepath.Dir(e.file),
	}
	cfg, err := loadConfig(e2eFlags(), nil, func(k string) string { return vals[k] }, false)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := newPlayground(ctx, cfg, e.file, slog.New(slog.NewJSONHandler(e.logs, nil)))
	if err != nil {
		cancel()
		t.Fatalf("newPlayground: %v", err)
	}
	if e.db == nil {
		if e.db, err = store.OpenURL(ctx, e.file); err != nil {
			t.Fatalf("open %s: %v", e.file, err)
		}
		t.Cleanup(e.db.Close)
	}
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p.url(), stop
}

// say sends a text (or a command) as a demo person.
func say(t *testing.T, base string, id int64, text string) {
	t.Helper()
	post(t, base, id, map[string]any{"text": text, "lang": "en"})
}

func post(t *testing.T, base string, id int64, body map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(base+"/api/chats/"+itoa(id)+"/send", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("send %s: got HTTP %d %s, want 204", b, resp.StatusCode, msg)
	}
}

// sendPhoto uploads a photo as a demo person.
func sendPhoto(t *testing.T, base string, id int64, photo []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "site.png")
	fw.Write(photo)
	mw.WriteField("lang", "en")
	mw.Close()
	resp, err := http.Post(base+"/api/chats/"+itoa(id)+"/photo", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("send photo: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("send photo: got HTTP %d, want 204", resp.StatusCode)
	}
}

// transcript reads a chat as the page gets it: the first event of its stream.
func transcript(t *testing.T, base string, id int64) []web.Message {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/chats/"+itoa(id)+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: content type %q, want text/event-stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "reset" {
			var msgs []web.Message
			if err := json.Unmarshal([]byte(data), &msgs); err != nil {
				t.Fatalf("events: %v", err)
			}
			return msgs
		}
	}
	t.Fatalf("events: the stream ended before the transcript: %v", sc.Err())
	return nil
}

// tap presses the newest inline button of a chat whose data starts with prefix.
func tap(t *testing.T, base string, id int64, prefix string) {
	t.Helper()
	msgs := transcript(t, base, id)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, row := range msgs[i].Buttons {
			for _, b := range row {
				if strings.HasPrefix(b.Data, prefix) {
					post(t, base, id, map[string]any{"callback": map[string]any{"data": b.Data, "message_id": msgs[i].ID}, "lang": "en"})
					return
				}
			}
		}
	}
	t.Fatalf("no button %s… in chat %d:\n%s", prefix, id, dump(msgs))
}

// lastText is the newest bot message's text.
func lastText(t *testing.T, base string, id int64) string {
	t.Helper()
	msgs := transcript(t, base, id)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].From == "bot" {
			return msgs[i].Text
		}
	}
	return ""
}

func dump(msgs []web.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(itoa(int64(m.ID)) + " " + m.From + ": " + m.Text + "\n")
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// testPhoto is a small PNG.
func testPhoto(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{shade, uint8(x * 4), uint8(y * 5), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPlaygroundSession(t *testing.T) {
	t.Parallel()
	e := newPlaygroundEnv(t)
	base, _ := e.start(t)
	resp, err := http.Get(base + "/api/session?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Lang    string            `json:"lang"`
		Strings map[string]string `json:"strings"`
		People  []web.Person      `json:"people"`
		Places  []web.Place       `json:"places"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Lang != "en" || !strings.Contains(s.Strings["web.banner"], "Demo") {
		t.Errorf("got lang %q banner %q, want en and the demo banner", s.Lang, s.Strings["web.banner"])
	}
	var roles []string
	for _, p := range s.People {
		roles = append(roles, p.Role)
	}
	for _, want := range []string{web.RoleAdmin, web.RoleSupervisor, web.RoleFirstSecretary, web.RoleMember, web.RoleResident} {
		if !slices.Contains(roles, want) {
			t.Errorf("the picker has roles %v, want %s among them", roles, want)
		}
	}
	offSite := slices.IndexFunc(s.Places, func(p web.Place) bool { return p.OffSite })
	if len(s.Places) != 7 || offSite < 0 {
		t.Errorf("got places %+v, want the 6 demo villages and an off-site point", s.Places)
	}

	// The seed: problems in every state, and the page itself.
	county, err := e.db.RegionByCode(context.Background(), "DEMO")
	if err != nil {
		t.Fatal(err)
	}
	villages, err := e.db.VillagesUnder(context.Background(), county)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, v := range villages {
		ids = append(ids, v.ID)
	}
	problems, _, err := e.db.Problems(context.Background(), store.ProblemFilter{RegionIDs: ids, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]bool{}
	for _, p := range problems {
		statuses[p.Status] = true
	}
	for _, want := range []string{store.StatusReported, store.StatusAssigned, store.StatusInProgress, store.StatusResolved, store.StatusVerified, store.StatusClosed} {
		if !statuses[want] {
			t.Errorf("the demo has no %s problem (has %v)", want, statuses)
		}
	}
	page, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(b), `id="banner"`) || !strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /: got %s %q, want the page", page.Header.Get("Content-Type"), b)
	}
}

// A restart in the middle of a flow keeps the draft, the transcript and the update ids
// moving on; the demo county is seeded once.
func TestPlaygroundRestartKeepsTheDraft(t *testing.T) {
	t.Parallel()
	e := newPlaygroundEnv(t)
	base, stop := e.start(t)
	say(t, base, demoMember, "/report")
	tap(t, base, demoMember, "pb:cat:customs")
	say(t, base, demoMember, "村委会门前两盏路灯不亮")
	if got := lastText(t, base, demoMember); !strings.Contains(got, "photos") {
		t.Fatalf("after the description: got %q, want the photos prompt", got)
	}
	stop()

	base, _ = e.start(t)
	msgs := transcript(t, base, demoMember)
	if len(msgs) != 4 || msgs[0].Text != "/report" || msgs[3].From != "bot" {
		t.Fatalf("after the restart the chat holds:\n%s\nwant the conversation so far", dump(msgs))
	}
	photo := testPhoto(t, 120)
	sendPhoto(t, base, demoMember, photo)
	if got := lastText(t, base, demoMember); !strings.Contains(got, "Photo 1 received") {
		t.Fatalf("after the photo: got %q, want it received (the draft survived the restart)", got)
	}
	tap(t, base, demoMember, "pb:photos:done")
	tap(t, base, demoMember, "pb:loc:centre")
	tap(t, base, demoMember, "pb:urg:normal")
	if strings.Contains(lastText(t, base, demoMember), "similar problems") {
		tap(t, base, demoMember, "pb:dup:new")
	}
	tap(t, base, demoMember, "pb:confirm:submit")
	if got := lastText(t, base, demoMember); !strings.Contains(got, "Problem recorded") {
		t.Fatalf("after submitting: got %q, want the problem recorded", got)
	}
	if got := lastText(t, base, demoSecretary); !strings.Contains(got, "村委会门前两盏路灯不亮") {
		t.Errorf("the first secretary's chat ends with %q, want the new problem", got)
	}
	if n := strings.Count(e.logs.String(), "demo county seeded"); n != 1 {
		t.Errorf("the demo county was seeded %d times, want once", n)
	}

	// The photo the archive fetches is the one uploaded.
	ctx := context.Background()
	village, err := e.db.RegionByCode(ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := e.db.Problems(ctx, store.ProblemFilter{RegionIDs: []int64{village.ID}, ReportedBy: demoMember, Limit: 1})
	if err != nil || len(list) != 1 || list[0].Description != "村委会门前两盏路灯不亮" {
		t.Fatalf("got problems %+v (%v), want the one reported", list, err)
	}
	photos, err := e.db.ProblemPhotos(ctx, list[0].ID)
	if err != nil || len(photos) != 1 {
		t.Fatalf("got photos %+v (%v), want 1", photos, err)
	}
	got, err := web.NewFiles(filepath.Join(playgroundDir(e.file), "files")).Fetch(ctx, photos[0].FileID)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("fetching the problem's photo: got %d bytes (%v), want the %d uploaded", len(got), err, len(photo))
	}
}
