package bottest

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// Telegram's limits that the fake server enforces.
const (
	maxTextLength     = 4096
	maxCaptionLength  = 1024
	maxCallbackData   = 64
	maxCommandLength  = 32
	maxCommandDescLen = 256
)

// htmlTag reports whether Telegram's HTML parse mode accepts the tag name.
func htmlTag(name string) bool {
	switch name {
	case "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
		"tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji":
		return true
	}
	return false
}

// checkText validates a message text or caption against parseMode and the
// length limit, as Telegram does; it returns the error description or "".
func checkText(text, parseMode string, limit int, tooLong string) string {
	length := utf8.RuneCountInString(text)
	switch strings.ToLower(parseMode) {
	case "":
	case "markdown", "markdownv2":
		return "" // not parsed: the raw length would overstate the visible one
	case "html":
		n, err := htmlLength(text)
		if err != nil {
			return "can't parse entities: " + err.Error()
		}
		length = n
	default:
		return "unsupported parse_mode"
	}
	if length > limit {
		return tooLong
	}
	return ""
}

// htmlLength checks that every tag in text is a supported, properly nested
// HTML tag and returns the length of the text without tags (an entity counts
// as one character), or the first error.
func htmlLength(text string) (int, error) {
	var open []string
	length := 0
	for i := 0; i < len(text); {
		switch text[i] {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return 0, fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := text[i+1 : i+end]
			closing := strings.HasPrefix(tag, "/")
			name, _, _ := strings.Cut(strings.TrimPrefix(tag, "/"), " ")
			name = strings.ToLower(name)
			if !htmlTag(name) {
				return 0, fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
			}
			if !closing {
				open = append(open, name)
			} else if len(open) == 0 || open[len(open)-1] != name {
				return 0, fmt.Errorf("unexpected end tag at byte offset %d", i)
			} else {
				open = open[:len(open)-1]
			}
			i += end + 1
		case '&':
			if end := strings.IndexByte(text[i:], ';'); end > 0 && end < 10 {
				i += end + 1
			} else {
				i++
			}
			length++
		default:
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			length++
		}
	}
	if len(open) > 0 {
		return 0, fmt.Errorf("can't find end tag corresponding to start tag %q", open[len(open)-1])
	}
	return length, nil
}

// checkInline validates an inline keyboard's callback data.
func checkInline(mk *models.InlineKeyboardMarkup) string {
	if mk == nil {
		return ""
	}
	for _, row := range mk.InlineKeyboard {
		for _, b := range row {
			if len(b.CallbackData) > maxCallbackData {
				return "BUTTON_DATA_INVALID"
			}
		}
	}
	return ""
}

// checkCommands validates setMyCommands' commands as Telegram does.
func checkCommands(cmds []models.BotCommand) string {
	for _, c := range cmds {
		if c.Command == "" || len(c.Command) > maxCommandLength {
			return "BOT_COMMAND_INVALID"
		}
		for _, r := range c.Command {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return "BOT_COMMAND_INVALID"
			}
		}
		if n := utf8.RuneCountInString(c.Description); n == 0 || n > maxCommandDescLen {
			return "BOT_COMMAND_DESCRIPTION_INVALID"
		}
	}
	return ""
}
