package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"zhucun/handlers"
)

// Message is one message of a chat as the page shows it: the user's or the bot's.
type Message struct {
	ID   int       `json:"id"`
	From string    `json:"from"` // "user" or "bot"
	Time time.Time `json:"time"`
	Text string    `json:"text,omitempty"`
	// Buttons is the inline keyboard under the message.
	Buttons [][]handlers.Button `json:"buttons,omitempty"`
	// Keyboard replaces the reply keyboard; RemoveKeyboard takes it away.
	Keyboard       [][]handlers.KeyButton `json:"keyboard,omitempty"`
	RemoveKeyboard bool                   `json:"remove_keyboard,omitempty"`
	// Photos are the ids of the photos shown with the message (an album when several).
	Photos []string `json:"photos,omitempty"`
	// Document is a file offered for download.
	Document *Document          `json:"document,omitempty"`
	Location *handlers.Location `json:"location,omitempty"`
	Contact  string             `json:"contact,omitempty"`
	// Edited is set once the bot changed the message.
	Edited bool `json:"edited,omitempty"`
}

// Document is a file the bot sent: its id and its name.
type Document struct {
	FileID string `json:"file_id"`
	Name   string `json:"name"`
}

// event is one change of a chat: a new message or a changed one.
type event struct {
	Type    string  `json:"type"` // "message" or "edit"
	Message Message `json:"message"`
}

// subscriberBuffer is how many events a slow page may fall behind before it is cut off
// (its EventSource reconnects and gets the whole chat again).
const subscriberBuffer = 64

// chat is one private chat: its transcript, kept on disk as a log of events, and the
// pages watching it.
type chat struct {
	id   int64
	path string
	// turn lets one input of the chat be handled at a time, in order.
	turn sync.Mutex

	mu     sync.Mutex
	msgs   []Message
	nextID int
	subs   map[chan event]struct{}
}

// loadChat reads a chat's transcript from its log, if it has one.
func loadChat(dir string, id int64) (*chat, error) {
	c := &chat{id: id, path: filepath.Join(dir, strconv.FormatInt(id, 10)+".jsonl"), nextID: 1, subs: map[chan event]struct{}{}}
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chat %d: %w", id, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			break // a line cut short by a crash ends the log
		}
		c.apply(e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chat %d: %w", id, err)
	}
	return c, nil
}

// apply changes the transcript by one event; c.mu is held or c is not shared yet.
func (c *chat) apply(e event) {
	switch e.Type {
	case "message":
		c.msgs = append(c.msgs, e.Message)
		c.nextID = max(c.nextID, e.Message.ID+1)
	case "edit":
		for i := range c.msgs {
			if c.msgs[i].ID == e.Message.ID {
				c.msgs[i] = e.Message
			}
		}
	}
}

// add appends a message with the chat's next message id and returns it.
func (c *chat) add(m Message) (Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m.ID = c.nextID
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	return m, c.record(event{Type: "message", Message: m})
}

// edit changes the message with that id; a message the chat does not have (or no longer
// has) is left alone, as Telegram answers "message to edit not found".
func (c *chat) edit(id int, change func(*Message)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if m.ID == id {
			change(&m)
			m.Edited = true
			return c.record(event{Type: "edit", Message: m})
		}
	}
	return nil
}

// record writes an event to the log, applies it and tells the watchers; c.mu is held.
func (c *chat) record(e event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("chat %d: %w", c.id, err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o750); err != nil {
		return fmt.Errorf("chat %d: %w", c.id, err)
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("chat %d: %w", c.id, err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("chat %d: %w", c.id, err)
	}
	c.apply(e)
	for ch := range c.subs {
		select {
		case ch <- e:
		default: // too slow: cut off; its page reconnects and reloads the chat
			delete(c.subs, ch)
			close(ch)
		}
	}
	return nil
}

// watch returns the transcript so far and a channel of the events after it; the
// channel is closed when the watcher falls too far behind. stop ends the watch.
func (c *chat) watch() (msgs []Message, events <-chan event, stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan event, subscriberBuffer)
	c.subs[ch] = struct{}{}
	msgs = append([]Message(nil), c.msgs...)
	return msgs, ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.subs[ch]; ok {
			delete(c.subs, ch)
			close(ch)
		}
	}
}

// messages returns a copy of the transcript.
func (c *chat) messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}
