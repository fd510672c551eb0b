// Package web is the playground's web chat: a second channel over the handlers'
// protocol. A page served from the binary lets a visitor pick a demo person and talk to
// the same flows the Telegram bot runs; the bot's messages reach the page as
// server-sent events.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // the sizes of uploaded photos
	_ "image/png"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"zhucun/handlers"
	"zhucun/locales"
)

//go:embed static
var static embed.FS

// Handler is what the web chat needs from the handlers.
type Handler interface {
	Handle(ctx context.Context, in handlers.Input) ([]handlers.Reply, error)
	Ready(ctx context.Context) error
	Busy(in handlers.Input) handlers.Reply
	Apology(in handlers.Input) handlers.Reply
	SetAside(ctx context.Context, updateID int64, kind string, attempts int, lastErr string, payload []byte) error
	Delivered(ctx context.Context, updateID int64) error
}

// Roles of the people on the picker.
const (
	RoleAdmin          = "admin"
	RoleSupervisor     = "supervisor"
	RoleFirstSecretary = "first_secretary"
	RoleMember         = "member"
	RoleResident       = "resident"
	// RoleNewcomer holds no role yet: the one to send an invite link to.
	RoleNewcomer = "newcomer"
)

// Person is someone the visitor can be: a demo user with a synthetic Telegram-like id.
type Person struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Region   string `json:"region,omitempty"`
	RegionEn string `json:"region_en,omitempty"`
}

// Place is a point the visitor can share as their location.
type Place struct {
	Name      string  `json:"name"`
	NameEn    string  `json:"name_en"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	// OffSite marks a point outside every village.
	OffSite bool `json:"off_site,omitempty"`
}

// Config is what the web chat needs to know.
type Config struct {
	// Dir keeps the chats' transcripts, the files and the update ids.
	Dir    string
	People []Person
	Places []Place
	// DefaultLocale is the page's language until the visitor picks one.
	DefaultLocale string
	Logger        *slog.Logger
	// MaxAttempts is how often an input is tried before it is set aside.
	MaxAttempts int
	// UpdateTimeout bounds the handling of one input.
	UpdateTimeout time.Duration
}

// Server is the web chat.
type Server struct {
	cfg     Config
	h       Handler
	files   *Files
	ids     *updateIDs
	strings map[string]map[string]string // locale → message ID → text

	mu    sync.Mutex
	chats map[int64]*chat

	done      chan struct{}
	closeOnce sync.Once
}

// pageLocales are the languages the page speaks, the default first.
var pageLocales = []string{"zh-Hans", "en"}

// pageMessages are the page's own texts (not the bot's), served to it by ID.
var pageMessages = []string{
	"web.title", "web.banner", "web.who_are_you", "web.switch_person", "web.language",
	"web.role_admin", "web.role_supervisor", "web.role_first_secretary", "web.role_member",
	"web.role_resident", "web.role_newcomer", "web.id",
	"web.placeholder", "web.send", "web.send_photo", "web.send_location",
	"web.location_title", "web.off_site", "web.live", "web.static", "web.share", "web.close",
	"web.download", "web.edited", "web.error_send", "web.error_file", "web.reconnecting",
	"web.contact_shared", "web.location_live", "web.location_static", "web.empty_chat",
}

// New returns the web chat over h, keeping its data under cfg.Dir.
func New(cfg Config, h Handler) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.UpdateTimeout <= 0 {
		cfg.UpdateTimeout = 30 * time.Second
	}
	if cfg.DefaultLocale == "" {
		cfg.DefaultLocale = pageLocales[0]
	}
	strs, err := loadStrings()
	if err != nil {
		return nil, err
	}
	ids, err := openUpdateIDs(filepath.Join(cfg.Dir, "update-id"))
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, h: h, files: filesIn(cfg.Dir), ids: ids, strings: strs,
		chats: map[int64]*chat{}, done: make(chan struct{}),
	}
	return s, nil
}

// filesIn is the file store of the web chat whose data is under dir.
func filesIn(dir string) *Files { return NewFiles(filepath.Join(dir, "files")) }

// loadStrings reads the page's texts from locales/web.LOCALE.toml.
func loadStrings() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, l := range pageLocales {
		b, err := fs.ReadFile(locales.FS, "web."+l+".toml")
		if err != nil {
			return nil, fmt.Errorf("page texts: %w", err)
		}
		msgs := map[string]string{}
		if err := toml.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("page texts web.%s.toml: %w", l, err)
		}
		for _, id := range pageMessages {
			if msgs[id] == "" {
				return nil, fmt.Errorf("page texts web.%s.toml: %s is missing", l, id)
			}
		}
		out[l] = msgs
	}
	return out, nil
}

// Files is where the chat keeps its files; its Fetch reads the photos users sent.
func (s *Server) Files() *Files { return s.files }

// Close ends the event streams, so that the HTTP server can shut down.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// chat returns the chat with that id, loaded from disk the first time.
func (s *Server) chat(id int64) (*chat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[id]; c != nil {
		return c, nil
	}
	c, err := loadChat(filepath.Join(s.cfg.Dir, "chats"), id)
	if err != nil {
		return nil, err
	}
	s.chats[id] = c
	return c, nil
}

// person returns the person with that id, if the picker has them.
func (s *Server) person(id int64) (Person, bool) {
	for _, p := range s.cfg.People {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

// Handler returns the page, its assets and its API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static") // the directory is embedded
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	page, _ := fs.ReadFile(static, "static/index.html") // embedded
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page) //nolint:errcheck // the client went away
	})
	mux.HandleFunc("GET /api/session", s.session)
	mux.HandleFunc("GET /api/chats/{id}/events", s.events)
	mux.HandleFunc("POST /api/chats/{id}/send", s.send)
	mux.HandleFunc("POST /api/chats/{id}/photo", s.photo)
	mux.HandleFunc("GET /files/{id}", s.file)
	mux.HandleFunc("GET /files/{id}/{name}", s.file)
	return mux
}

// session tells the page its texts in a language, who one can be and where one can be.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	lang := pageLocale(r.URL.Query().Get("lang"), s.cfg.DefaultLocale)
	writeJSON(w, map[string]any{
		"lang": lang, "langs": pageLocales, "strings": s.strings[lang],
		"people": s.cfg.People, "places": s.cfg.Places,
	})
}

// pageLocale is the shipped locale nearest to lang, else def.
func pageLocale(lang, def string) string {
	switch l := strings.ToLower(lang); {
	case strings.HasPrefix(l, "zh"):
		return "zh-Hans"
	case strings.HasPrefix(l, "en"):
		return "en"
	}
	return def
}

// chatOf reads the chat id of a request: one of the people on the picker.
func (s *Server) chatOf(w http.ResponseWriter, r *http.Request) (Person, *chat, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p, ok := s.person(id)
	if err != nil || !ok {
		http.Error(w, "no such person", http.StatusNotFound)
		return Person{}, nil, false
	}
	c, err := s.chat(id)
	if err != nil {
		s.cfg.Logger.Error("load chat", slog.Int64("chat_id", id), slog.String("error", err.Error()))
		http.Error(w, "chat unavailable", http.StatusInternalServerError)
		return Person{}, nil, false
	}
	return p, c, true
}

// keepAlive is how often an idle event stream gets a comment line.
const keepAlive = 20 * time.Second

// events streams a chat: first the whole transcript ("reset"), then every new or
// changed message.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	_, c, ok := s.chatOf(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	msgs, evs, stop := c.watch()
	defer stop()
	if msgs == nil {
		msgs = []Message{}
	}
	write := func(name string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("reset", msgs) {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case e, open := <-evs:
			if !open || !write(e.Type, e.Message) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// sendRequest is what the page sends: text (or a command), a button press, a
// location or a shared contact; Lang is the page's language.
type sendRequest struct {
	Lang     string `json:"lang"`
	Text     string `json:"text"`
	Callback *struct {
		Data      string `json:"data"`
		MessageID int    `json:"message_id"`
	} `json:"callback"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Live      bool    `json:"live"`
	} `json:"location"`
	Contact bool `json:"contact"`
}

// livePeriod is how long a live location the page shares runs, in seconds.
const livePeriod = 900

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	p, c, ok := s.chatOf(w, r)
	if !ok {
		return
	}
	var req sendRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	in := s.input(p, req.Lang)
	var shown *Message
	switch {
	case req.Callback != nil:
		in.Callback = &handlers.Callback{Data: req.Callback.Data, MessageID: req.Callback.MessageID}
	case req.Location != nil:
		l := &handlers.Location{Latitude: req.Location.Latitude, Longitude: req.Location.Longitude, Accuracy: 25}
		if req.Location.Live {
			l.Live, l.LivePeriod, l.Accuracy = true, livePeriod, 10
		}
		in.Location = l
		shown = &Message{Location: l}
	case req.Contact:
		phone := fmt.Sprintf("+86 100 %04d %04d", p.ID/10000%10000, p.ID%10000) // synthetic, like the id
		in.Contact = &handlers.Contact{Phone: phone, UserID: p.ID}
		shown = &Message{Contact: phone}
	case strings.TrimSpace(req.Text) != "":
		in.Text = req.Text
		in.Command, in.Args = command(req.Text)
		shown = &Message{Text: req.Text}
	default:
		http.Error(w, "empty message", http.StatusBadRequest)
		return
	}
	s.reply(w, r, c, in, shown)
}

// maxUpload caps the body of a photo upload: the photo and its caption.
const maxUpload = maxFileBytes + 64<<10

func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	p, c, ok := s.chatOf(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		http.Error(w, "photo too large or malformed", http.StatusRequestEntityTooLarge)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, _, err := r.FormFile("photo")
	if err != nil {
		http.Error(w, "no photo", http.StatusBadRequest)
		return
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil || len(buf) > maxFileBytes {
		http.Error(w, "photo too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(buf))
	if err != nil {
		http.Error(w, "not a photo (JPEG or PNG)", http.StatusUnsupportedMediaType)
		return
	}
	fileID, err := s.files.Put(buf)
	if err != nil {
		s.cfg.Logger.Error("store photo", slog.String("error", err.Error()))
		http.Error(w, "photo not stored", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(buf)
	in := s.input(p, r.FormValue("lang"))
	in.Text = r.FormValue("caption")
	in.Photos = []handlers.Photo{{FileID: fileID, UniqueID: "w" + hex.EncodeToString(sum[:16]), Width: cfg.Width, Height: cfg.Height}}
	s.reply(w, r, c, in, &Message{Text: in.Text, Photos: []string{fileID}})
}

// input is an input of p in their private chat.
func (s *Server) input(p Person, lang string) handlers.Input {
	return handlers.Input{
		ChatID: p.ID, UserID: p.ID, FirstName: p.Name, Private: true, Date: time.Now(),
		LanguageCode: strings.ToLower(pageLocale(lang, s.cfg.DefaultLocale)),
	}
}

// command reads "/cmd@bot args" from a text that starts with a slash.
func command(text string) (name, args string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return "", ""
	}
	name, args, _ = strings.Cut(text[1:], " ")
	name, _, _ = strings.Cut(name, "@")
	return strings.ToLower(name), strings.TrimSpace(args)
}

// reply handles an input and answers the page once its replies are in the chats.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, c *chat, in handlers.Input, shown *Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.UpdateTimeout)
	defer cancel()
	if err := s.Process(ctx, c.id, in, shown); err != nil {
		s.cfg.Logger.Error("input not handled", slog.Int64("chat_id", c.id), slog.String("error", err.Error()))
		http.Error(w, "not handled", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Process runs one input of a chat: it gets the next update id, shows the user's
// message (if any) in the chat, runs the handlers (one input of a chat at a time) and
// puts the replies into their chats. A panic or an error is retried; an input that
// fails every attempt is set aside and answered with an apology. It fails only when
// the input could not be taken at all.
func (s *Server) Process(ctx context.Context, chatID int64, in handlers.Input, shown *Message) error {
	c, err := s.chat(chatID)
	if err != nil {
		return err
	}
	c.turn.Lock()
	defer c.turn.Unlock()
	if in.UpdateID, err = s.ids.take(); err != nil {
		return err
	}
	if in.Callback != nil {
		in.Callback.ID = "w" + strconv.FormatInt(in.UpdateID, 10)
	}
	if shown != nil {
		shown.From = "user"
		m, err := c.add(*shown)
		if err != nil {
			return err
		}
		in.MessageID = m.ID
	}
	kind := in.Kind()
	var lastErr error
	for attempt := 1; attempt <= s.cfg.MaxAttempts; attempt++ {
		replies, err := s.handle(ctx, in)
		if err == nil {
			s.deliver(in, replies)
			if err := s.h.Delivered(ctx, in.UpdateID); err != nil {
				s.cfg.Logger.Warn("replies not marked sent", slog.Int64("update_id", in.UpdateID), slog.String("error", err.Error()))
			}
			return nil
		}
		if rerr := s.h.Ready(ctx); rerr != nil {
			s.cfg.Logger.Warn("input not handled: service unavailable", slog.Int64("update_id", in.UpdateID),
				slog.String("error", rerr.Error()))
			s.deliver(in, []handlers.Reply{s.h.Busy(in)})
			return nil
		}
		lastErr = err
		s.cfg.Logger.Error("input failed", slog.Int64("update_id", in.UpdateID), slog.String("kind", kind),
			slog.Int("attempt", attempt), slog.String("error", err.Error()))
	}
	payload, _ := json.Marshal(in)
	if err := s.h.SetAside(ctx, in.UpdateID, kind, s.cfg.MaxAttempts, lastErr.Error(), payload); err != nil {
		return fmt.Errorf("update %d: set aside: %w", in.UpdateID, err)
	}
	s.cfg.Logger.Error("input set aside", slog.Int64("update_id", in.UpdateID), slog.String("kind", kind))
	s.deliver(in, []handlers.Reply{s.h.Apology(in)})
	return nil
}

// handle runs the handlers with a panic turned into an error.
func (s *Server) handle(ctx context.Context, in handlers.Input) (replies []handlers.Reply, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
			s.cfg.Logger.Error("handler panic", slog.Int64("update_id", in.UpdateID), slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	return s.h.Handle(ctx, in)
}

// deliver puts replies into their chats. A reply that cannot be shown is logged: the
// records are committed.
func (s *Server) deliver(in handlers.Input, replies []handlers.Reply) {
	for _, rep := range replies {
		if err := s.Deliver(rep); err != nil {
			s.cfg.Logger.Error("reply not shown", slog.Int64("update_id", in.UpdateID), slog.Int64("chat_id", rep.ChatID),
				slog.String("error", err.Error()))
		}
	}
}

// Deliver shows one reply of the bot in its chat: a new message, or an edit of one.
// Photos and documents sent as bytes are kept in the chat's files.
func (s *Server) Deliver(rep handlers.Reply) error {
	c, err := s.chat(rep.ChatID)
	if err != nil {
		return err
	}
	if rep.EditMessageID != 0 && rep.Photo == nil && rep.Document == nil && len(rep.PhotoIDs) == 0 {
		return c.edit(rep.EditMessageID, func(m *Message) {
			if rep.RemoveButtons {
				m.Buttons = nil
				return
			}
			m.Text, m.Buttons = rep.Text, rep.Buttons
		})
	}
	m := Message{From: "bot", Text: rep.Text, Buttons: rep.Buttons, Keyboard: rep.Keyboard, RemoveKeyboard: rep.RemoveKeyboard}
	switch {
	case len(rep.PhotoIDs) > 0:
		m.Photos = rep.PhotoIDs
	case rep.Photo != nil:
		id, err := s.files.Put(rep.Photo.Bytes)
		if err != nil {
			return err
		}
		m.Photos = []string{id}
	case rep.Document != nil:
		id, err := s.files.Put(rep.Document.Bytes)
		if err != nil {
			return err
		}
		m.Document = &Document{FileID: id, Name: rep.Document.Name}
	}
	_, err = c.add(m)
	return err
}

// file serves a file of the chat; with a name, as a download under that name.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	b, err := s.files.Fetch(r.Context(), r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(b))
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	if name := r.PathValue("name"); name != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		if ext := strings.ToLower(filepath.Ext(name)); ext == ".xlsx" {
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		}
	}
	w.Write(b) //nolint:errcheck // the client went away
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
