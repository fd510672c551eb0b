package bottest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
)

// waitTimeout is how long WaitMessages and WaitCalls wait before failing the test:
// long enough for a whole suite running with -race on two busy cores; a passing test
// never waits it out.
const waitTimeout = 30 * time.Second

const (
	botID       = 1000
	botName     = "zhucun"
	botUsername = "zhucun_test_bot"
)

// Call is one request the bot made to the fake API.
type Call struct {
	Method string            // canonical lower-camel name as Telegram spells it, e.g. "sendMessage"
	Params map[string]string // every non-file parameter, raw string value (JSON values as their JSON text)
	Files  map[string]File   // uploaded file parts by field name
	Status int               // HTTP status answered
}

// File is an uploaded or downloaded file: its name and its bytes.
type File struct {
	Name  string
	Bytes []byte
}

// Server is a fake Telegram Bot API. All its methods are safe for concurrent use.
type Server struct {
	token   string
	srv     *httptest.Server
	done    chan struct{} // closed when the test ends; releases held getUpdates
	timeout time.Duration // how long WaitMessages and WaitCalls wait

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every change
	calls        []Call
	queue        []queued
	nextUpdateID int64
	chats        map[int64]*chat
	files        map[string]*storedFile // by file_id
	filePaths    map[string]*storedFile // by file_path
	nextFileID   int
	nextGroupID  int
	callbacks    map[string]bool // callback query ids handed out
	nextCallback int
	webhook      webhook
	faults       map[string][]fault // by lower-case method name
	polling      int                // getUpdates requests being held
	limits       *limiter           // flood limits and migrated chats (limits.go); nil: none
}

// queued is an update waiting for getUpdates.
type queued struct {
	update    models.Update
	replay    bool // put back with Enqueue: survives offsets until delivered once
	delivered bool
}

// webhook is what setWebhook set.
type webhook struct {
	url            string
	secret         string
	allowedUpdates string
}

// fault is a pending injected failure.
type fault struct {
	n          int
	status     int
	retryAfter int
}

// storedFile is a file the server knows by file_id.
type storedFile struct {
	id       string
	uniqueID string
	path     string
	name     string
	data     []byte
}

// NewServer starts a fake Bot API for token; it is closed by t.Cleanup.
func NewServer(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{
		token:        token,
		done:         make(chan struct{}),
		timeout:      waitTimeout,
		changed:      make(chan struct{}),
		nextUpdateID: 1,
		chats:        map[int64]*chat{},
		files:        map[string]*storedFile{},
		filePaths:    map[string]*storedFile{},
		callbacks:    map[string]bool{},
		faults:       map[string][]fault{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}

// URL returns the base URL of the API, e.g. http://127.0.0.1:port; the bot
// calls URL()+"/bot"+token+"/"+method.
func (s *Server) URL() string { return s.srv.URL }

// Token returns the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// BotUsername returns the username getMe reports.
func (s *Server) BotUsername() string { return botUsername }

// botUser is the bot as a Telegram user.
func botUser() *models.User {
	return &models.User{ID: botID, IsBot: true, FirstName: botName, Username: botUsername}
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait blocks until cond, evaluated with s.mu held, is true; it gives up and
// returns false when deadline fires, ctx is done or the server is closed.
func (s *Server) wait(ctx context.Context, deadline <-chan time.Time, cond func() bool) bool {
	for {
		s.mu.Lock()
		ok := cond()
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		}
	}
}

// Calls returns a copy of all calls, in the order they were answered (for
// everything but a held getUpdates, the order they were received).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked("")
}

// CallsTo returns the calls to method (matched case-insensitively), in order.
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

// callsLocked copies the calls to method, or all calls if method is empty.
func (s *Server) callsLocked(method string) []Call {
	out := []Call{}
	for _, c := range s.calls {
		if method != "" && !strings.EqualFold(c.Method, method) {
			continue
		}
		c.Params = maps.Clone(c.Params)
		c.Files = maps.Clone(c.Files)
		out = append(out, c)
	}
	return out
}

// WaitCalls blocks until at least n calls to method were received, then returns
// all calls to it; after a deadline (10s) it calls t.Fatalf with what it has.
func (s *Server) WaitCalls(t testing.TB, method string, n int) []Call {
	t.Helper()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	s.wait(context.Background(), timer.C, func() bool {
		return len(s.callsLocked(method)) >= n
	})
	calls := s.CallsTo(method)
	if len(calls) < n {
		t.Fatalf("bottest: waited %v for %d calls to %s, got %d: %s", s.timeout, n, method, len(calls), describeCalls(s.Calls()))
	}
	return calls
}

// describeCalls lists calls briefly for failure messages.
func describeCalls(calls []Call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n\t%s %d %v", c.Method, c.Status, c.Params)
	}
	if b.Len() == 0 {
		return "no calls at all"
	}
	return b.String()
}

// Fail makes the next n calls to method fail with the given HTTP status and
// Telegram error: 429 carries parameters.retry_after = retryAfter seconds,
// 403 is "Forbidden: bot was blocked by the user", 5xx is "Internal Server
// Error", 400 is "Bad Request". Failed calls are recorded with their Status
// and have no other effect. Calls to Fail add up: their failures happen in
// the order they were asked for.
func (s *Server) Fail(method string, n int, status int, retryAfter int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(method)
	s.faults[key] = append(s.faults[key], fault{n: n, status: status, retryAfter: retryAfter})
}

// takeFaultLocked consumes one injected failure for method, if any.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	key := strings.ToLower(method)
	fs := s.faults[key]
	if len(fs) == 0 {
		return fault{}, false
	}
	f := fs[0]
	fs[0].n--
	if fs[0].n <= 0 {
		fs = fs[1:]
	}
	if len(fs) == 0 {
		delete(s.faults, key)
	} else {
		s.faults[key] = fs
	}
	return f, true
}

// reply is a Bot API answer: a result when status is 200, an error otherwise.
type reply struct {
	status      int
	result      any
	description string
	retryAfter  int
	migrateTo   int64 // parameters.migrate_to_chat_id of a 400
}

// okReply is a successful reply with result.
func okReply(result any) reply { return reply{status: http.StatusOK, result: result} }

// badRequest is a 400 reply with Telegram's "Bad Request: " prefix.
func badRequest(why string) reply {
	return reply{status: http.StatusBadRequest, description: "Bad Request: " + why}
}

// faultReply is the reply an injected failure produces.
func faultReply(f fault) reply {
	r := reply{status: f.status}
	switch {
	case f.status == http.StatusTooManyRequests:
		r.description = fmt.Sprintf("Too Many Requests: retry after %d", f.retryAfter)
		r.retryAfter = f.retryAfter
	case f.status == http.StatusForbidden:
		r.description = "Forbidden: bot was blocked by the user"
	case f.status >= 500:
		r.description = "Internal Server Error"
	case f.status == http.StatusBadRequest:
		r.description = "Bad Request"
	default:
		r.description = http.StatusText(f.status)
	}
	return r
}

// envelope is the JSON shape of every Bot API answer, in Telegram's field order.
type envelope struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *retryParameter `json:"parameters,omitempty"`
}

// retryParameter is the parameters object of a 429 answer (or of a 400 about a group
// upgraded to a supergroup).
type retryParameter struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

// write sends r as a Bot API JSON response.
func (r reply) write(w http.ResponseWriter) {
	body := envelope{OK: r.status == http.StatusOK, Result: r.result}
	if !body.OK {
		body.ErrorCode = r.status
		body.Description = r.description
		if r.retryAfter > 0 || r.migrateTo != 0 {
			body.Parameters = &retryParameter{RetryAfter: r.retryAfter, MigrateToChatID: r.migrateTo}
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(data)
}

// serveHTTP routes /bot<token>/<method> and /file/bot<token>/<path>.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, isFile := strings.CutPrefix(r.URL.Path, "/file/bot"); isFile {
		s.serveFile(w, rest)
		return
	}
	rest, isBot := strings.CutPrefix(r.URL.Path, "/bot")
	if !isBot {
		reply{status: http.StatusNotFound, description: "Not Found"}.write(w)
		return
	}
	token, name, _ := strings.Cut(rest, "/")
	params, files, err := parseParams(r)
	if err != nil {
		s.answer(w, Call{Method: name}, badRequest(err.Error()))
		return
	}
	method, known := canonicalMethod(name)
	call := Call{Method: method, Params: params, Files: files}
	switch {
	case token != s.token:
		s.answer(w, call, reply{status: http.StatusUnauthorized, description: "Unauthorized"})
	case !known:
		s.answer(w, call, reply{status: http.StatusNotFound, description: "Not Found: method not found"})
	case method == "getUpdates":
		s.answer(w, call, s.getUpdates(r.Context(), call))
	default:
		s.mu.Lock()
		rep := s.handleLocked(call)
		s.mu.Unlock()
		s.answer(w, call, rep)
	}
}

// answer records call with rep's status and writes rep.
func (s *Server) answer(w http.ResponseWriter, call Call, rep reply) {
	call.Status = rep.status
	if call.Params == nil {
		call.Params = map[string]string{}
	}
	if call.Files == nil {
		call.Files = map[string]File{}
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()
	rep.write(w)
}

// serveFile serves GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, rest string) {
	token, filePath, _ := strings.Cut(rest, "/")
	if token != s.token {
		reply{status: http.StatusUnauthorized, description: "Unauthorized"}.write(w)
		return
	}
	s.mu.Lock()
	f := s.filePaths[filePath]
	s.mu.Unlock()
	if f == nil {
		reply{status: http.StatusNotFound, description: "Not Found"}.write(w)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(f.data)
}

// storeFileLocked keeps data under a new file_id; kind is "photos" or "documents".
func (s *Server) storeFileLocked(kind, name string, data []byte) *storedFile {
	s.nextFileID++
	n := s.nextFileID
	ext := path.Ext(name)
	if kind == "photos" {
		ext = ".jpg"
	}
	f := &storedFile{
		id:       fmt.Sprintf("file%d", n),
		uniqueID: fmt.Sprintf("uniq%d", n),
		path:     fmt.Sprintf("%s/file_%d%s", kind, n, ext),
		name:     name,
		data:     append([]byte(nil), data...),
	}
	s.files[f.id] = f
	s.filePaths[f.path] = f
	return f
}

// asFile returns a copy of f as a File.
func (f *storedFile) asFile() *File {
	return &File{Name: f.name, Bytes: append([]byte(nil), f.data...)}
}

// photoSizes is how a stored photo appears in a message: thumbnail and full size.
func (f *storedFile) photoSizes() []models.PhotoSize {
	size := len(f.data)
	return []models.PhotoSize{
		{FileID: f.id, FileUniqueID: f.uniqueID, Width: 90, Height: 90, FileSize: size},
		{FileID: f.id, FileUniqueID: f.uniqueID, Width: 800, Height: 600, FileSize: size},
	}
}
