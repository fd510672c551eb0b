package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

const testToken = "123:secret"

// apiResponse is a Bot API answer as a client sees it.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// do sends req and decodes the Bot API answer.
func do(t *testing.T, req *http.Request) (int, apiResponse) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: decode answer: %v", req.URL.Path, err)
	}
	if r.OK != (resp.StatusCode == http.StatusOK) || (!r.OK && r.ErrorCode != resp.StatusCode) {
		t.Fatalf("%s: status %d but answer %+v", req.URL.Path, resp.StatusCode, r)
	}
	return resp.StatusCode, r
}

// postJSON calls method with params as a JSON body.
func postJSON(t *testing.T, s *Server, token, method string, params any) (int, apiResponse) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/"+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// postForm calls method with params as an application/x-www-form-urlencoded body.
func postForm(t *testing.T, s *Server, method string, params url.Values) (int, apiResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+s.Token()+"/"+method, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// postMultipart calls method with fields and files as multipart/form-data.
func postMultipart(t *testing.T, s *Server, method string, fields map[string]string, files map[string]File) (int, apiResponse) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for field, f := range files {
		part, err := w.CreateFormFile(field, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(f.Bytes); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+s.Token()+"/"+method, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(t, req)
}

// getUpdates long-polls with a JSON body and decodes the updates.
func getUpdates(t *testing.T, s *Server, offset int64, timeout int) []models.Update {
	t.Helper()
	status, r := postJSON(t, s, s.Token(), "getUpdates", map[string]any{"offset": offset, "timeout": timeout})
	if status != http.StatusOK {
		t.Fatalf("getUpdates: %d %s", status, r.Description)
	}
	var updates []models.Update
	if err := json.Unmarshal(r.Result, &updates); err != nil {
		t.Fatalf("getUpdates result %s: %v", r.Result, err)
	}
	return updates
}

// decode unmarshals a result into v.
func decode(t *testing.T, r apiResponse, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("decode %s: %v", r.Result, err)
	}
}

// waitPolling waits until n getUpdates requests are being held.
func waitPolling(t *testing.T, s *Server, n int) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	if !s.wait(context.Background(), timer.C, func() bool { return s.polling >= n }) {
		t.Fatalf("no held getUpdates")
	}
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	status, r := postJSON(t, s, testToken, "GETME", nil)
	var me models.User
	decode(t, r, &me)
	if status != http.StatusOK || me.ID != 1000 || !me.IsBot || me.FirstName != "zhucun" || me.Username != s.BotUsername() {
		t.Fatalf("getMe = %d %+v", status, me)
	}
	if calls := s.Calls(); len(calls) != 1 || calls[0].Method != "getMe" || calls[0].Status != http.StatusOK {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestLongPollReceivesText(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(42, "Ann", "de")
	sent := u.Text("hello")

	updates := getUpdates(t, s, 0, 5)
	if len(updates) != 1 {
		t.Fatalf("got %d updates", len(updates))
	}
	got := updates[0]
	m := got.Message
	if got.ID != 1 || sent.ID != 1 || m == nil || m.Text != "hello" || m.ID != 1 {
		t.Fatalf("update = %+v", got)
	}
	if m.Chat.ID != 42 || m.Chat.Type != models.ChatTypePrivate || m.From.ID != 42 || m.From.FirstName != "Ann" || m.From.LanguageCode != "de" || m.Date == 0 {
		t.Fatalf("message = %+v from %+v", m, m.From)
	}
}

func TestOffsetConfirms(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(42, "Ann", "en")
	u.Text("one")
	u.Text("two")

	if got := getUpdates(t, s, 0, 0); len(got) != 2 {
		t.Fatalf("first poll: %d updates", len(got))
	}
	if got := getUpdates(t, s, 0, 0); len(got) != 2 {
		t.Fatalf("unconfirmed updates are sent again, got %d", len(got))
	}
	got := getUpdates(t, s, 2, 0)
	if len(got) != 1 || got[0].ID != 2 || got[0].Message.ID != 2 {
		t.Fatalf("offset 2: %+v", got)
	}
	_, r := postForm(t, s, "getUpdates", url.Values{"offset": {"3"}, "limit": {"1"}})
	if string(r.Result) != "[]" {
		t.Fatalf("offset 3: %s", r.Result)
	}
	if n := len(getUpdates(t, s, 0, 0)); n != 0 {
		t.Fatalf("confirmed updates came back: %d", n)
	}
}

func TestHeldGetUpdatesReturnsOnEnqueue(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(7, "Bob", "en")

	got := make(chan []models.Update, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/bot"+testToken+"/getUpdates?timeout=60", "", nil)
		if err != nil {
			got <- nil
			return
		}
		defer func() { _ = resp.Body.Close() }()
		var r struct{ Result []models.Update }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		got <- r.Result
	}()
	waitPolling(t, s, 1)
	u.Text("wake up")

	select {
	case updates := <-got:
		if len(updates) != 1 || updates[0].Message.Text != "wake up" {
			t.Fatalf("held getUpdates returned %+v", updates)
		}
	case <-time.After(waitTimeout):
		t.Fatal("held getUpdates did not return")
	}
}

func TestHeldGetUpdatesEndsWithContext(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/bot"+testToken+"/getUpdates",
			strings.NewReader(`{"timeout":60}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	waitPolling(t, s, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error = %v", err)
	}
	calls := s.WaitCalls(t, "getUpdates", 1)
	if calls[0].Params["timeout"] != "60" {
		t.Fatalf("call = %+v", calls[0])
	}
}

func TestSendMessageMultipartAndJSON(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	s.NewUser(42, "Ann", "en").Text("hi") // takes message_id 1 in chat 42

	keyboard := `{"inline_keyboard":[[{"text":"Yes, please","callback_data":"yes"},{"text":"No","callback_data":"no"}]]}`
	status, r := postMultipart(t, s, "sendMessage",
		map[string]string{"chat_id": "42", "text": "Sure?", "parse_mode": "HTML", "reply_markup": keyboard}, nil)
	var sent models.Message
	decode(t, r, &sent)
	if status != http.StatusOK || sent.ID != 2 || sent.Chat.ID != 42 || sent.From.ID != 1000 || sent.Text != "Sure?" || sent.ReplyMarkup == nil {
		t.Fatalf("multipart sendMessage = %d %+v", status, sent)
	}

	status, r = postJSON(t, s, testToken, "sendmessage", map[string]any{
		"chat_id":      42,
		"text":         "Share your location",
		"reply_markup": map[string]any{"keyboard": [][]map[string]any{{{"text": "Send", "request_location": true}}}},
	})
	if status != http.StatusOK {
		t.Fatalf("JSON sendMessage = %d %s", status, r.Description)
	}

	calls := s.WaitCalls(t, "sendMessage", 2)
	if calls[0].Params["reply_markup"] != keyboard || calls[0].Params["parse_mode"] != "HTML" {
		t.Fatalf("multipart params = %v", calls[0].Params)
	}
	if calls[1].Method != "sendMessage" || calls[1].Params["chat_id"] != "42" || !strings.HasPrefix(calls[1].Params["reply_markup"], `{"keyboard"`) {
		t.Fatalf("JSON params = %+v", calls[1])
	}

	msgs := s.WaitMessages(t, 42, 2)
	if msgs[0].ID != 2 || msgs[0].Text != "Sure?" || msgs[0].Button(t, "Yes") != "yes" || msgs[0].Keyboard != nil {
		t.Fatalf("first message = %+v", msgs[0])
	}
	if msgs[1].ID != 3 || msgs[1].Markup != nil || msgs[1].Keyboard == nil || !msgs[1].Keyboard.Keyboard[0][0].RequestLocation {
		t.Fatalf("second message = %+v", msgs[1])
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"chat_id": 1}, "Bad Request: message text is empty"},
		{map[string]any{"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found"},
		{map[string]any{"chat_id": 1, "text": "<b>bold", "parse_mode": "HTML"}, "Bad Request: can't parse entities"},
		{map[string]any{"chat_id": 1, "text": "1 < 2", "parse_mode": "HTML"}, "Bad Request: can't parse entities"},
		{map[string]any{"chat_id": 1, "text": strings.Repeat("x", 4097)}, "Bad Request: message is too long"},
		{map[string]any{"chat_id": 1, "text": "x", "reply_markup": `{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("d", 65) + `"}]]}`}, "Bad Request: BUTTON_DATA_INVALID"},
	} {
		status, r := postJSON(t, s, testToken, "sendMessage", tc.params)
		if status != http.StatusBadRequest || !strings.HasPrefix(r.Description, tc.want) {
			t.Errorf("sendMessage %v = %d %q, want 400 %q", tc.params, status, r.Description, tc.want)
		}
	}
	status, _ := postJSON(t, s, testToken, "sendMessage", map[string]any{"chat_id": 1, "text": "<b>a &amp; b</b> <a href=\"https://x\">x</a>", "parse_mode": "HTML"})
	if status != http.StatusOK {
		t.Errorf("valid HTML refused: %d", status)
	}
	status, r := postJSON(t, s, testToken, "setMyCommands", map[string]any{"commands": []models.BotCommand{{Command: "Start", Description: "go"}}})
	if status != http.StatusBadRequest || r.Description != "Bad Request: BOT_COMMAND_INVALID" {
		t.Errorf("setMyCommands with upper case = %d %q", status, r.Description)
	}
	if n := len(s.Messages(1)); n != 1 {
		t.Errorf("%d messages, want only the valid one", n)
	}
}

func TestEditAndDelete(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	postJSON(t, s, testToken, "sendMessage", map[string]any{"chat_id": 5, "text": "v1",
		"reply_markup": `{"inline_keyboard":[[{"text":"Go","callback_data":"go"}]]}`})

	status, r := postJSON(t, s, testToken, "editMessageText", map[string]any{"chat_id": 5, "message_id": 1, "text": "v2",
		"reply_markup": `{"inline_keyboard":[[{"text":"Again","callback_data":"again"}]]}`})
	var edited models.Message
	decode(t, r, &edited)
	if status != http.StatusOK || edited.Text != "v2" || edited.EditDate == 0 {
		t.Fatalf("edit = %d %+v", status, edited)
	}
	status, r = postJSON(t, s, testToken, "editMessageText", map[string]any{"chat_id": 5, "message_id": 1, "text": "v2",
		"reply_markup": `{"inline_keyboard":[[{"text":"Again","callback_data":"again"}]]}`})
	if status != http.StatusBadRequest || !strings.Contains(r.Description, "message is not modified") {
		t.Fatalf("same edit = %d %q", status, r.Description)
	}
	m := s.Messages(5)[0]
	if !m.Edited || m.Text != "v2" || m.Button(t, "Again") != "again" {
		t.Fatalf("message after edit = %+v", m)
	}

	if status, _ := postJSON(t, s, testToken, "editMessageReplyMarkup", map[string]any{"chat_id": 5, "message_id": 1}); status != http.StatusOK {
		t.Fatalf("editMessageReplyMarkup = %d", status)
	}
	if m := s.Messages(5)[0]; m.Markup != nil {
		t.Fatalf("markup not removed: %+v", m)
	}
	if status, _ := postJSON(t, s, testToken, "deleteMessage", map[string]any{"chat_id": 5, "message_id": 1}); status != http.StatusOK {
		t.Fatalf("deleteMessage = %d", status)
	}
	if status, _ := postJSON(t, s, testToken, "deleteMessage", map[string]any{"chat_id": 5, "message_id": 1}); status != http.StatusBadRequest {
		t.Fatalf("second deleteMessage = %d", status)
	}
	if msgs := s.Messages(5); len(msgs) != 1 || !msgs[0].Deleted {
		t.Fatalf("messages after delete = %+v", msgs)
	}
}

func TestFailInjectsTooManyRequests(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	s.Fail("sendMessage", 1, http.StatusTooManyRequests, 7)
	s.Fail("SENDMESSAGE", 1, http.StatusForbidden, 0)
	params := map[string]any{"chat_id": 9, "text": "hi"}

	status, r := postJSON(t, s, testToken, "sendMessage", params)
	if status != http.StatusTooManyRequests || r.Parameters.RetryAfter != 7 || r.Description != "Too Many Requests: retry after 7" {
		t.Fatalf("first = %d %+v", status, r)
	}
	status, r = postJSON(t, s, testToken, "sendMessage", params)
	if status != http.StatusForbidden || r.Description != "Forbidden: bot was blocked by the user" {
		t.Fatalf("second = %d %+v", status, r)
	}
	status, r = postJSON(t, s, testToken, "sendMessage", params)
	var m models.Message
	decode(t, r, &m)
	if status != http.StatusOK || m.ID != 1 {
		t.Fatalf("third = %d %+v", status, m)
	}
	calls := s.CallsTo("sendMessage")
	if len(calls) != 3 || calls[0].Status != 429 || calls[1].Status != 403 || calls[2].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
	if msgs := s.Messages(9); len(msgs) != 1 {
		t.Fatalf("failed calls produced messages: %+v", msgs)
	}
}

func TestWrongTokenAndUnknownMethod(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	resp, err := http.Post(s.URL()+"/botWRONG/getMe", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || string(body) != `{"ok":false,"error_code":401,"description":"Unauthorized"}` {
		t.Fatalf("wrong token = %d %s", resp.StatusCode, body)
	}
	status, r := postJSON(t, s, testToken, "sendTelepathy", nil)
	if status != http.StatusNotFound || r.Description != "Not Found: method not found" {
		t.Fatalf("unknown method = %d %q", status, r.Description)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Status != 401 || calls[1].Method != "sendTelepathy" || calls[1].Status != 404 {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	type delivery struct {
		secret string
		update models.Update
	}
	got := make(chan delivery, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d delivery
		d.secret = r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if err := json.NewDecoder(r.Body).Decode(&d.update); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- d
	}))
	t.Cleanup(hook.Close)

	u := s.NewUser(42, "Ann", "en")
	u.Text("before") // queued, then dropped by drop_pending_updates
	status, _ := postForm(t, s, "setWebhook", url.Values{"url": {hook.URL}, "secret_token": {"s3cret"},
		"drop_pending_updates": {"true"}, "allowed_updates": {`["message"]`}})
	if status != http.StatusOK {
		t.Fatalf("setWebhook = %d", status)
	}
	status, r := postJSON(t, s, testToken, "getUpdates", nil)
	if status != http.StatusConflict || !strings.HasPrefix(r.Description, "Conflict: can't use getUpdates method while webhook is active") {
		t.Fatalf("getUpdates with webhook = %d %q", status, r.Description)
	}

	upd := u.Text("via hook")
	_, r = postJSON(t, s, testToken, "getWebhookInfo", nil)
	var info models.WebhookInfo
	decode(t, r, &info)
	if info.URL != hook.URL || info.PendingUpdateCount != 0 || len(info.AllowedUpdates) != 1 {
		t.Fatalf("webhook info = %+v", info)
	}
	if status := s.DeliverWebhook(t, upd); status != http.StatusOK {
		t.Fatalf("DeliverWebhook = %d", status)
	}
	d := <-got
	if d.secret != "s3cret" || d.update.ID != upd.ID || d.update.Message.Text != "via hook" {
		t.Fatalf("delivered %+v", d)
	}

	postJSON(t, s, testToken, "deleteWebhook", nil)
	u.Text("after")
	if got := getUpdates(t, s, 0, 0); len(got) != 1 || got[0].Message.Text != "after" {
		t.Fatalf("after deleteWebhook: %+v", got)
	}
}

func TestPhotoDownload(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	data := []byte("\xff\xd8 not really a jpeg")
	s.NewUser(42, "Ann", "en").Photo(data, "look")

	updates := getUpdates(t, s, 0, 0)
	m := updates[0].Message
	if len(m.Photo) != 2 || m.Caption != "look" || m.MediaGroupID != "" {
		t.Fatalf("photo message = %+v", m)
	}
	_, r := postForm(t, s, "getFile", url.Values{"file_id": {m.Photo[1].FileID}})
	var f models.File
	decode(t, r, &f)
	if f.FileID != m.Photo[1].FileID || f.FileUniqueID == "" || f.FileSize != int64(len(data)) || f.FilePath == "" {
		t.Fatalf("getFile = %+v", f)
	}
	resp, err := http.Get(s.URL() + "/file/bot" + testToken + "/" + f.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("download = %d %q", resp.StatusCode, body)
	}

	// The bot can send the photo on by file_id.
	status, _ := postJSON(t, s, testToken, "sendPhoto", map[string]any{"chat_id": 43, "photo": f.FileID, "caption": "fwd"})
	if msgs := s.Messages(43); status != http.StatusOK || len(msgs) != 1 || !bytes.Equal(msgs[0].Photo.Bytes, data) || msgs[0].Text != "fwd" {
		t.Fatalf("sendPhoto by file_id = %d %+v", status, msgs)
	}
}

func TestAlbum(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	sent := s.NewUser(42, "Ann", "en").Album("trip", []byte("a"), []byte("b"), []byte("c"))
	updates := getUpdates(t, s, 0, 0)
	if len(sent) != 3 || len(updates) != 3 {
		t.Fatalf("album: sent %d, got %d updates", len(sent), len(updates))
	}
	group := updates[0].Message.MediaGroupID
	files := map[string]bool{}
	for i, u := range updates {
		m := u.Message
		if group == "" || m.MediaGroupID != group || (i == 0) != (m.Caption == "trip") || m.ID != i+1 {
			t.Fatalf("album message %d = %+v", i, m)
		}
		files[m.Photo[0].FileID] = true
	}
	if len(files) != 3 {
		t.Fatalf("photos share file ids: %v", files)
	}
}

func TestUserActionsRoundTrip(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(42, "Ann", "en")
	u.Command("start", "ref", "x")
	u.Location(52.5, 13.4)
	u.LiveLocation(52.5, 13.4, 20, 900)
	u.Contact("+4912345")
	u.Forwarded("from afar")
	u.ForwardedLocation(1, 2)

	updates := getUpdates(t, s, 0, 0)
	if len(updates) != 6 {
		t.Fatalf("got %d updates", len(updates))
	}
	cmd := updates[0].Message
	if cmd.Text != "/start ref x" || len(cmd.Entities) != 1 || cmd.Entities[0].Type != models.MessageEntityTypeBotCommand || cmd.Entities[0].Length != 6 {
		t.Fatalf("command = %+v", cmd)
	}
	if loc := updates[1].Message.Location; loc == nil || loc.Latitude != 52.5 || loc.Longitude != 13.4 || loc.LivePeriod != 0 {
		t.Fatalf("location = %+v", loc)
	}
	if loc := updates[2].Message.Location; loc == nil || loc.HorizontalAccuracy != 20 || loc.LivePeriod != 900 {
		t.Fatalf("live location = %+v", loc)
	}
	if c := updates[3].Message.Contact; c == nil || c.PhoneNumber != "+4912345" || c.UserID != 42 {
		t.Fatalf("contact = %+v", c)
	}
	for _, i := range []int{4, 5} {
		o := updates[i].Message.ForwardOrigin
		if o == nil || o.Type != models.MessageOriginTypeUser || o.MessageOriginUser == nil || o.MessageOriginUser.SenderUser.ID == 42 {
			t.Fatalf("forward origin %d = %+v", i, o)
		}
	}
	if updates[4].Message.Text != "from afar" || updates[5].Message.Location == nil {
		t.Fatalf("forwarded = %+v, %+v", updates[4].Message, updates[5].Message)
	}
}

func TestPressAndAnswer(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(42, "Ann", "en")
	postJSON(t, s, testToken, "sendMessage", map[string]any{"chat_id": 42, "text": "Pick",
		"reply_markup": `{"inline_keyboard":[[{"text":"Red","callback_data":"c:red"}]]}`})
	m := s.WaitMessages(t, 42, 1)[0]
	pressed := u.Press(m, m.Button(t, "Red"))

	updates := getUpdates(t, s, 0, 0)
	q := updates[0].CallbackQuery
	if q == nil || q.ID != pressed.CallbackQuery.ID || q.Data != "c:red" || q.From.ID != 42 {
		t.Fatalf("callback query = %+v", q)
	}
	if q.Message.Type != models.MaybeInaccessibleMessageTypeMessage || q.Message.Message.ID != m.ID || q.Message.Message.Chat.ID != 42 ||
		q.Message.Message.Text != "Pick" || q.Message.Message.ReplyMarkup == nil {
		t.Fatalf("callback message = %+v", q.Message.Message)
	}
	if status, _ := postJSON(t, s, testToken, "answerCallbackQuery", map[string]any{"callback_query_id": q.ID, "text": "ok"}); status != http.StatusOK {
		t.Fatalf("answerCallbackQuery = %d", status)
	}
	if status, _ := postJSON(t, s, testToken, "answerCallbackQuery", map[string]any{"callback_query_id": "bogus"}); status != http.StatusBadRequest {
		t.Fatalf("answerCallbackQuery with a bogus id = %d", status)
	}
}

func TestEnqueueReplays(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	first := s.NewUser(42, "Ann", "en").Text("once")
	if got := getUpdates(t, s, 0, 0); len(got) != 1 {
		t.Fatalf("got %d updates", len(got))
	}
	s.Enqueue(first)
	got := getUpdates(t, s, first.ID+1, 0)
	if len(got) != 1 || got[0].ID != first.ID || got[0].Message.Text != "once" {
		t.Fatalf("replay = %+v", got)
	}
	if got := getUpdates(t, s, first.ID+1, 0); len(got) != 0 {
		t.Fatalf("replay delivered twice: %+v", got)
	}
}

func TestWaitMessagesWakesUp(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	errs := make(chan error, 1)
	go func() {
		var err error
		for _, text := range []string{"a", "b"} {
			body := strings.NewReader(`{"chat_id":3,"text":"` + text + `"}`)
			resp, postErr := http.Post(s.URL()+"/bot"+testToken+"/sendMessage", "application/json", body)
			if postErr != nil {
				err = postErr
				break
			}
			_ = resp.Body.Close()
		}
		errs <- err
	}()
	msgs := s.WaitMessages(t, 3, 2)
	if msgs[0].Text != "a" || msgs[1].Text != "b" {
		t.Fatalf("messages = %+v", msgs)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// fatalTB records Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = format
	runtime.Goexit()
}

func TestWaitDeadlineFails(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	s.timeout = 20 * time.Millisecond
	for _, wait := range []func(tb testing.TB){
		func(tb testing.TB) { s.WaitMessages(tb, 1, 1) },
		func(tb testing.TB) { s.WaitCalls(tb, "sendMessage", 1) },
		func(tb testing.TB) { Message{}.Button(tb, "x") },
	} {
		tb := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			wait(tb)
		}()
		<-done
		if tb.msg == "" {
			t.Fatal("wait did not fail")
		}
	}
}

func TestWithGoTelegramBot(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	b, err := tgbot.New(testToken, tgbot.WithServerURL(s.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	me, err := b.GetMe(ctx)
	if err != nil || me.Username != s.BotUsername() {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}
	sent, err := b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID:    int64(42),
		Text:      "<b>Menu</b>",
		ParseMode: models.ParseModeHTML,
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{
			{{Text: "Settings ⚙", CallbackData: "settings"}},
		}},
	})
	if err != nil || sent.ID != 1 || sent.ReplyMarkup == nil {
		t.Fatalf("SendMessage = %+v, %v", sent, err)
	}
	photo := []byte("PNG bytes")
	sentPhoto, err := b.SendPhoto(ctx, &tgbot.SendPhotoParams{
		ChatID:  int64(42),
		Photo:   &models.InputFileUpload{Filename: "pic.png", Data: bytes.NewReader(photo)},
		Caption: "a picture",
	})
	if err != nil || len(sentPhoto.Photo) == 0 || sentPhoto.Caption != "a picture" {
		t.Fatalf("SendPhoto = %+v, %v", sentPhoto, err)
	}

	msgs := s.WaitMessages(t, 42, 2)
	if msgs[0].Text != "<b>Menu</b>" || msgs[0].Button(t, "Settings") != "settings" {
		t.Fatalf("menu = %+v", msgs[0])
	}
	if p := msgs[1].Photo; p == nil || p.Name != "pic.png" || !bytes.Equal(p.Bytes, photo) || msgs[1].Text != "a picture" {
		t.Fatalf("photo = %+v", msgs[1])
	}
	if call := s.CallsTo("sendPhoto")[0]; call.Files["photo"].Name != "pic.png" || call.Params["chat_id"] != "42" {
		t.Fatalf("sendPhoto call = %+v", call)
	}

	s.Fail("sendMessage", 1, http.StatusTooManyRequests, 3)
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: int64(42), Text: "x"})
	var tooMany *tgbot.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 3 {
		t.Fatalf("after Fail: %v", err)
	}
}

func TestGoTelegramBotPolls(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	echo := func(ctx context.Context, b *tgbot.Bot, upd *models.Update) {
		if upd.Message == nil {
			return
		}
		_, _ = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: upd.Message.Chat.ID, Text: "echo: " + upd.Message.Text})
	}
	b, err := tgbot.New(testToken, tgbot.WithServerURL(s.URL()), tgbot.WithDefaultHandler(echo))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		b.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	u := s.NewUser(42, "Ann", "en")
	u.Text("one")
	s.WaitMessages(t, 42, 1)
	u.Text("two")
	msgs := s.WaitMessages(t, 42, 2)
	if msgs[0].Text != "echo: one" || msgs[1].Text != "echo: two" || msgs[0].ID != 2 || msgs[1].ID != 4 {
		t.Fatalf("messages = %+v", msgs)
	}
}

func TestUserDate(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(42, "Ann", "en")
	late := time.Date(2026, 11, 3, 23, 59, 30, 0, time.FixedZone("CST", 8*60*60))

	before := time.Now().Unix()
	u.Text("now")
	u.Date = late
	u.Text("at night")
	u.Location(28.2, 112.9)
	u.Album("", []byte("a"), []byte("b"))
	u.Date = time.Time{}
	u.Text("now again")
	after := time.Now().Unix()

	updates := getUpdates(t, s, 0, 0)
	if len(updates) != 6 {
		t.Fatalf("got %d updates, want 6", len(updates))
	}
	for i, upd := range updates {
		got := int64(upd.Message.Date)
		if i == 0 || i == 5 {
			if got < before || got > after {
				t.Errorf("update %d: got date %d, want the time it was sent, in [%d, %d]", i, got, before, after)
			}
			continue
		}
		if want := late.Unix(); got != want {
			t.Errorf("update %d (%q): got date %d, want %d", i, upd.Message.Text, got, want)
		}
	}
}

func TestSendMediaGroupWithTheLibrary(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	u := s.NewUser(77, "相册", "zh-hans")
	a := u.Photo([]byte("one"), "")
	b := u.Photo([]byte("two"), "")
	api, err := tgbot.New(testToken, tgbot.WithServerURL(s.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := api.SendMediaGroup(context.Background(), &tgbot.SendMediaGroupParams{ChatID: u.ID, Media: []models.InputMedia{
		&models.InputMediaPhoto{Media: a.Message.Photo[len(a.Message.Photo)-1].FileID, Caption: "问题照片"},
		&models.InputMediaPhoto{Media: b.Message.Photo[len(b.Message.Photo)-1].FileID},
	}})
	if err != nil || len(msgs) != 2 || msgs[0].MediaGroupID == "" || msgs[0].MediaGroupID != msgs[1].MediaGroupID {
		t.Fatalf("sendMediaGroup: %+v (%v), want two messages of one group", msgs, err)
	}
	got := s.Messages(u.ID)
	if len(got) != 2 || string(got[0].Photo.Bytes) != "one" || string(got[1].Photo.Bytes) != "two" || got[0].Text != "问题照片" {
		t.Fatalf("messages %+v, want the two photos in order with the caption on the first", got)
	}
}
