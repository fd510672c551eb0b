package handlers

import "time"

// Input is one thing a user did in a chat, as any channel delivers it: text, a command,
// a button press, a location, photos, a contact.
type Input struct {
	// UpdateID identifies the input uniquely on its channel; a replay carries the same id.
	UpdateID int64
	// MessageID is the message's id in its chat; the messages of an album are in order of it.
	MessageID    int
	ChatID       int64
	UserID       int64
	FirstName    string
	LanguageCode string
	Private      bool
	Date         time.Time

	Text         string
	Command      string // without the slash, lower case; "" when the input is no command
	Args         string // what follows the command
	Callback     *Callback
	Location     *Location
	Photos       []Photo
	MediaGroupID string
	Contact      *Contact
	Forwarded    bool
	// Document is set when the user sent a file (not a photo): the bot does not take files.
	Document bool
}

// Callback is a press of an inline button.
type Callback struct {
	ID        string
	Data      string
	MessageID int
}

// Location is a shared location. Live locations cannot be placed by hand.
type Location struct {
	Latitude   float64
	Longitude  float64
	Accuracy   float64 // metres, 0 when unknown
	Live       bool
	LivePeriod int
}

// Photo is one photo a user sent, by the channel's file id.
type Photo struct {
	FileID   string
	UniqueID string
	Width    int
	Height   int
}

// Contact is a shared phone contact.
type Contact struct {
	Phone  string
	UserID int64
}

// Kind names the input for metrics and logs.
func (in Input) Kind() string {
	switch {
	case in.Callback != nil:
		return "button"
	case in.Command != "":
		return "command"
	case in.Location != nil:
		return "location"
	case len(in.Photos) > 0:
		return "photo"
	case in.Contact != nil:
		return "contact"
	case in.Text != "":
		return "text"
	case in.Document:
		return "document"
	default:
		return "other"
	}
}

// Reply is one thing the bot says or changes in a chat.
type Reply struct {
	ChatID int64  `json:"chat_id"`
	Text   string `json:"text,omitempty"`
	// Buttons is an inline keyboard under the message.
	Buttons [][]Button `json:"buttons,omitempty"`
	// Keyboard replaces the user's reply keyboard; RemoveKeyboard takes it away.
	Keyboard       [][]KeyButton `json:"keyboard,omitempty"`
	RemoveKeyboard bool          `json:"remove_keyboard,omitempty"`
	// Photo or Document is sent with Text as its caption.
	Photo    *File `json:"photo,omitempty"`
	Document *File `json:"document,omitempty"`
	// PhotoIDs are photos the channel already holds (its file ids), sent as one album
	// with Text as the caption of the first.
	PhotoIDs []string `json:"photo_ids,omitempty"`
	// EditMessageID, when set, replaces that message's text and buttons instead of
	// sending a new message; with RemoveButtons it only takes the buttons away.
	EditMessageID int  `json:"edit_message_id,omitempty"`
	RemoveButtons bool `json:"remove_buttons,omitempty"`
}

// Button is an inline button; Data comes back in a Callback.
type Button struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// KeyButton is a reply-keyboard button; it sends its text, or the user's location or
// contact when asked to.
type KeyButton struct {
	Text            string `json:"text"`
	RequestLocation bool   `json:"request_location,omitempty"`
	RequestContact  bool   `json:"request_contact,omitempty"`
}

// File is a file the bot sends.
type File struct {
	Name  string `json:"name"`
	Bytes []byte `json:"bytes"`
}
