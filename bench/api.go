package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiLimits are Telegram's flood limits as the fake API enforces them: a send over a
// limit is answered 429 with retry_after.
type apiLimits struct {
	// PerSecond bounds all sends of the bot in any one second.
	PerSecond int
	// ChatPerSecond is the sustained rate of sends to one chat after a burst of ChatBurst.
	ChatPerSecond float64
	ChatBurst     int
}

// reply is a message the bot sent or edited in a chat, as a virtual user sees it.
type reply struct {
	method string
	text   string
	msgID  int
	markup []byte // reply_markup as sent, JSON
	at     time.Time
}

// fakeAPI is a Bot API written for load: it answers the methods the bots call, enforces
// Telegram's limits, hands replies to the virtual users, and delivers updates by
// webhook (at most one in flight per chat, at most maxConns at once) or by long polling.
type fakeAPI struct {
	token  string
	limits apiLimits
	srv    *http.Server
	ln     net.Listener

	users func(chatID int64) *vuser // the virtual user of a chat, nil when none

	tooMany  atomic.Int64 // 429 answered
	sends    atomic.Int64 // sends accepted
	callback atomic.Int64 // answerCallbackQuery calls
	acked    counter      // updates acknowledged: 200 to the webhook or polled past

	limMu     sync.Mutex
	window    []time.Time // accepted sends of the last second, oldest first (ring)
	windowPos int
	chatTAT   map[int64]time.Time

	// long polling
	pollMu  sync.Mutex
	pending []queued      // updates not yet acknowledged, by id
	pollCh  chan struct{} // closed and replaced when an update arrives

	// webhook delivery
	hook *webhook
}

// queued is an update waiting for its delivery.
type queued struct {
	id     int64
	chatID int64
	body   []byte
}

func newFakeAPI(token string, limits apiLimits, users func(int64) *vuser) (*fakeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &fakeAPI{token: token, limits: limits, ln: ln, users: users,
		chatTAT: map[int64]time.Time{}, pollCh: make(chan struct{})}
	if limits.PerSecond > 0 {
		a.window = make([]time.Time, limits.PerSecond)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/bot"+token+"/{method}", a.serveMethod)
	mux.HandleFunc("/file/bot"+token+"/", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("\xff\xd8\xff\xe0 bench photo"))
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln) //nolint:errcheck // ends with close
	return a, nil
}

// URL is the base URL the bots are pointed at.
func (a *fakeAPI) URL() string { return "http://" + a.ln.Addr().String() }

func (a *fakeAPI) close() {
	a.srv.Close()
	if a.hook != nil {
		a.hook.stop()
	}
}

// params reads a Bot API call's parameters: JSON or a (multipart) form.
func params(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(v)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return out, nil // a call without parameters: the client sends an empty body
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = v[0]
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.Form {
			out[k] = v[0]
		}
	}
	return out, nil
}

func writeOK(w http.ResponseWriter, result string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true,"result":`+result+`}`)
}

func writeErr(w http.ResponseWriter, code int, desc string, retryAfter int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	extra := ""
	if retryAfter > 0 {
		extra = `,"parameters":{"retry_after":` + strconv.Itoa(retryAfter) + `}`
	}
	fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":%q%s}`, code, desc, extra)
}

func (a *fakeAPI) serveMethod(w http.ResponseWriter, r *http.Request) {
	method := strings.ToLower(r.PathValue("method"))
	p, err := params(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	switch method {
	case "getme":
		writeOK(w, `{"id":1000,"is_bot":true,"first_name":"bench","username":"bench_bot"}`)
	case "getupdates":
		a.getUpdates(w, r, p)
	case "sendmessage", "sendphoto", "editmessagetext", "editmessagereplymarkup", "senddocument":
		a.send(w, method, p)
	case "answercallbackquery":
		a.callback.Add(1)
		writeOK(w, "true")
	case "getfile":
		id := p["file_id"]
		writeOK(w, `{"file_id":`+strconv.Quote(id)+`,"file_unique_id":"u`+id+`","file_size":16,"file_path":"photos/`+id+`.jpg"}`)
	default: // deleteWebhook, setMyCommands, deleteMessage…
		writeOK(w, "true")
	}
}

// limit reports how long a send to chatID must wait, 0 when it may go now (and is counted).
func (a *fakeAPI) limit(chatID int64, now time.Time) time.Duration {
	a.limMu.Lock()
	defer a.limMu.Unlock()
	if n := len(a.window); n > 0 {
		oldest := a.window[a.windowPos] // the n-th newest accepted send
		if d := now.Sub(oldest); d < time.Second {
			return time.Second - d
		}
	}
	var tat time.Time
	if a.limits.ChatPerSecond > 0 && chatID > 0 {
		interval := time.Duration(float64(time.Second) / a.limits.ChatPerSecond)
		tat = a.chatTAT[chatID]
		if tat.Before(now) {
			tat = now
		}
		if allowAt := tat.Add(-time.Duration(a.limits.ChatBurst-1) * interval); now.Before(allowAt) {
			return allowAt.Sub(now)
		}
		a.chatTAT[chatID] = tat.Add(interval)
	}
	if n := len(a.window); n > 0 {
		a.window[a.windowPos] = now
		a.windowPos = (a.windowPos + 1) % n
	}
	return 0
}

func (a *fakeAPI) send(w http.ResponseWriter, method string, p map[string]string) {
	now := time.Now()
	chatID, err := strconv.ParseInt(p["chat_id"], 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "Bad Request: chat_id is empty", 0)
		return
	}
	if d := a.limit(chatID, now); d > 0 {
		a.tooMany.Add(1)
		secs := int((d + time.Second - 1) / time.Second)
		writeErr(w, http.StatusTooManyRequests, "Too Many Requests: retry after "+strconv.Itoa(secs), secs)
		return
	}
	a.sends.Add(1)
	u := a.users(chatID)
	rep := reply{method: method, text: p["text"], markup: []byte(p["reply_markup"]), at: now}
	if rep.text == "" {
		rep.text = p["caption"]
	}
	msgID := 0
	if u != nil {
		if id, err := strconv.Atoi(p["message_id"]); err == nil {
			msgID = id
		} else {
			msgID = int(u.nextMsgID.Add(1))
		}
		rep.msgID = msgID
		u.receive(rep)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":1000,"is_bot":true,"first_name":"bench"},"text":%s}`,
		msgID, now.Unix(), chatID, strconv.Quote(rep.text))
	writeOK(w, b.String())
}

// enqueue takes an update a virtual user sent, for delivery.
func (a *fakeAPI) enqueue(q queued) {
	if a.hook != nil {
		a.hook.enqueue(q)
		return
	}
	a.pollMu.Lock()
	a.pending = append(a.pending, q)
	close(a.pollCh)
	a.pollCh = make(chan struct{})
	a.pollMu.Unlock()
}

// getUpdates is long polling: updates before offset are acknowledged and dropped; up
// to limit of the rest are answered, waiting up to timeout seconds for one to come.
func (a *fakeAPI) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	limit, _ := strconv.Atoi(p["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p["timeout"])
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		a.pollMu.Lock()
		drop := 0
		for drop < len(a.pending) && a.pending[drop].id < offset {
			drop++
		}
		if drop > 0 {
			a.acked.Add(int64(drop))
			a.pending = append(a.pending[:0], a.pending[drop:]...)
		}
		n := min(limit, len(a.pending))
		var b bytes.Buffer
		if n > 0 {
			b.WriteByte('[')
			for i, q := range a.pending[:n] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(q.body)
			}
			b.WriteByte(']')
		}
		ch := a.pollCh
		a.pollMu.Unlock()
		if n > 0 {
			writeOK(w, b.String())
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			writeOK(w, "[]")
			return
		case <-r.Context().Done():
			return
		}
	}
}

// webhook delivers updates to a bot's webhook as Telegram does: per chat in order with
// at most one update in flight, over at most conns connections; an answer other than
// 200 is retried.
type webhook struct {
	url, secret string
	client      *http.Client
	acked       *counter
	failures    atomic.Int64 // answers other than 200 (retried)

	mu     sync.Mutex
	chats  map[int64]*chatQueue
	ready  chan int64 // chats with an update to deliver and none in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type chatQueue struct {
	q      []queued
	active bool // in ready or in flight
}

func (a *fakeAPI) startWebhook(url, secret string, conns, chats int) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &webhook{url: url, secret: secret, acked: &a.acked, chats: map[int64]*chatQueue{},
		ready: make(chan int64, chats+1), cancel: cancel,
		client: &http.Client{Transport: &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}}}
	a.hook = h
	for range conns {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.worker(ctx)
		}()
	}
}

func (h *webhook) stop() {
	h.cancel()
	h.wg.Wait()
	h.client.CloseIdleConnections()
}

func (h *webhook) enqueue(q queued) {
	h.mu.Lock()
	c := h.chats[q.chatID]
	if c == nil {
		c = &chatQueue{}
		h.chats[q.chatID] = c
	}
	c.q = append(c.q, q)
	wake := !c.active
	c.active = true
	h.mu.Unlock()
	if wake {
		h.ready <- q.chatID
	}
}

func (h *webhook) worker(ctx context.Context) {
	for {
		var chatID int64
		select {
		case <-ctx.Done():
			return
		case chatID = <-h.ready:
		}
		h.mu.Lock()
		c := h.chats[chatID]
		q := c.q[0]
		h.mu.Unlock()
		for !h.post(ctx, q) {
			if ctx.Err() != nil {
				return
			}
			h.failures.Add(1)
			select { // Telegram retries a failed delivery after a while
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		h.acked.Add(1)
		h.mu.Lock()
		c.q = c.q[1:]
		more := len(c.q) > 0
		if !more {
			c.active = false
			if cap(c.q) > 64 {
				c.q = nil
			}
		}
		h.mu.Unlock()
		if more {
			h.ready <- chatID
		}
	}
}

func (h *webhook) post(ctx context.Context, q queued) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(q.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.secret)
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// counter counts and lets one wait for a count.
type counter struct {
	mu      sync.Mutex
	n       int64
	changed chan struct{} // closed and replaced on every Add
}

func (c *counter) Add(d int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

func (c *counter) Load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitAcked waits until n updates are acknowledged or timeout passes.
func (a *fakeAPI) waitAcked(n int64, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c := &a.acked
		c.mu.Lock()
		if c.n >= n {
			c.mu.Unlock()
			return
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return
		}
	}
}
