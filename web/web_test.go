package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store/storetest"
	"zhucun/web"
)

const person = 8000000004

// newServer is a web chat under dir over real handlers on a fresh schema.
func newServer(t *testing.T, dir string) (*web.Server, string) {
	t.Helper()
	h, err := handlers.New(handlers.Config{DeepLinkFunc: func(p string) string { return "http://x/?start=" + p }},
		storetest.DB(t), storetest.State(t, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Dir: dir, People: []web.Person{{ID: person, Name: "王芳", Role: web.RoleMember}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts.URL
}

// chat reads the transcript the page gets first.
func chat(t *testing.T, base string) []web.Message {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/chats/"+strconv.Itoa(person)+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var msgs []web.Message
			if err := json.Unmarshal([]byte(data), &msgs); err != nil {
				t.Fatal(err)
			}
			return msgs
		}
	}
	t.Fatalf("no transcript: %v", sc.Err())
	return nil
}

func TestEditsChangeTheMessageAndSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := newServer(t, dir)
	buttons := [][]handlers.Button{{{Text: "A", Data: "x:y:a"}}}
	for _, rep := range []handlers.Reply{
		{ChatID: person, Text: "pick one", Buttons: buttons},
		{ChatID: person, Text: "second", Buttons: buttons},
		{ChatID: person, EditMessageID: 1, Text: "picked A"},
		{ChatID: person, EditMessageID: 2, RemoveButtons: true},
		{ChatID: person, EditMessageID: 99, Text: "no such message"},
	} {
		if err := s.Deliver(rep); err != nil {
			t.Fatal(err)
		}
	}
	_, base := newServer(t, dir) // the same chat, read from disk
	msgs := chat(t, base)
	if len(msgs) != 2 {
		t.Fatalf("got %d messages %+v, want 2", len(msgs), msgs)
	}
	if m := msgs[0]; m.Text != "picked A" || m.Buttons != nil || !m.Edited {
		t.Errorf("first message: got %+v, want its text replaced and its buttons gone", m)
	}
	if m := msgs[1]; m.Text != "second" || m.Buttons != nil || !m.Edited {
		t.Errorf("second message: got %+v, want its text kept and its buttons gone", m)
	}
}

func TestOneInputOfAChatAtATime(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, t.TempDir())
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := handlers.Input{ChatID: person, UserID: person, FirstName: "王芳", Private: true, LanguageCode: "en", Text: "hello " + strconv.Itoa(i)}
			if err := s.Process(context.Background(), person, in, &web.Message{Text: in.Text}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	msgs := chat(t, base)
	if len(msgs) != 2*n {
		t.Fatalf("got %d messages, want %d (each input and its reply)", len(msgs), 2*n)
	}
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "bot"
		}
		if m.From != want || m.ID != i+1 {
			t.Fatalf("message %d: got %s #%d %q, want %s #%d: inputs of one chat interleaved", i, m.From, m.ID, m.Text, want, i+1)
		}
	}
}

func TestPhotoUploadsMustBePhotos(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, t.TempDir())
	body := strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"x.txt\"\r\n\r\nnot a photo\r\n--b--\r\n")
	resp, err := http.Post(base+"/api/chats/"+strconv.Itoa(person)+"/photo", "multipart/form-data; boundary=b", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("got HTTP %d, want 415", resp.StatusCode)
	}
	resp, err = http.Post(base+"/api/chats/12345/send", "application/json", strings.NewReader(`{"text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("someone not on the picker: got HTTP %d, want 404", resp.StatusCode)
	}
}

func TestPhotosAndDocumentsOfTheBotAreServed(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, t.TempDir())
	for _, rep := range []handlers.Reply{
		{ChatID: person, Text: "chart", Photo: &handlers.File{Name: "chart.png", Bytes: []byte("\x89PNG\r\n\x1a\nchart")}},
		{ChatID: person, Text: "report", Document: &handlers.File{Name: "月报 2026-11.xlsx", Bytes: []byte("PK\x03\x04sheet")}},
	} {
		if err := s.Deliver(rep); err != nil {
			t.Fatal(err)
		}
	}
	msgs := chat(t, base)
	if len(msgs) != 2 || len(msgs[0].Photos) != 1 || msgs[1].Document == nil {
		t.Fatalf("got %+v, want a photo and a document", msgs)
	}
	for _, tc := range []struct{ name, path, body, disposition string }{
		{name: "photo", path: "/files/" + msgs[0].Photos[0], body: "\x89PNG\r\n\x1a\nchart"},
		{name: "document", path: "/files/" + msgs[1].Document.FileID + "/x.xlsx", body: "PK\x03\x04sheet", disposition: "attachment"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || b.String() != tc.body || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), tc.disposition) {
			t.Errorf("%s: got HTTP %d %q (%s), want the bytes sent", tc.name, resp.StatusCode, b.String(), resp.Header.Get("Content-Disposition"))
		}
	}
}
