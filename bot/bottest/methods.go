package bottest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// maxUpdatesLimit is the largest getUpdates limit Telegram accepts.
const maxUpdatesLimit = 100

// okJSON is a successful reply whose result is v marshaled now, so that later
// changes to v do not race with writing the response.
func okJSON(v any) reply {
	data, err := json.Marshal(v)
	if err != nil {
		return reply{status: http.StatusInternalServerError, description: "Internal Server Error: " + err.Error()}
	}
	return okReply(json.RawMessage(data))
}

// handleLocked answers every method but getUpdates; s.mu must be held.
func (s *Server) handleLocked(c Call) reply {
	if f, failing := s.takeFaultLocked(c.Method); failing {
		return faultReply(f)
	}
	if rep, limited := s.limitLocked(c); limited {
		return rep
	}
	switch c.Method {
	case "getMe":
		return okJSON(botUser())
	case "setWebhook":
		return s.setWebhookLocked(c)
	case "deleteWebhook":
		if boolParam(c, "drop_pending_updates") {
			s.queue = nil
		}
		s.webhook = webhook{}
		return okReply(true)
	case "getWebhookInfo":
		info := models.WebhookInfo{URL: s.webhook.url, PendingUpdateCount: len(s.queue)}
		_ = json.Unmarshal([]byte(s.webhook.allowedUpdates), &info.AllowedUpdates)
		return okJSON(info)
	case "sendMessage":
		return s.sendMessageLocked(c)
	case "editMessageText", "editMessageCaption", "editMessageReplyMarkup":
		return s.editLocked(c)
	case "deleteMessage":
		return s.deleteMessageLocked(c)
	case "answerCallbackQuery":
		if !s.callbacks[c.Params["callback_query_id"]] {
			return badRequest("query is too old and response timeout expired or query ID is invalid")
		}
		return okReply(true)
	case "sendPhoto", "sendDocument":
		return s.sendFileLocked(c)
	case "sendMediaGroup":
		return s.sendMediaGroupLocked(c)
	case "sendLocation":
		return s.sendLocationLocked(c)
	case "sendChatAction":
		if _, why := chatIDParam(c); why != "" {
			return badRequest(why)
		}
		if c.Params["action"] == "" {
			return badRequest("wrong parameter action in request")
		}
		return okReply(true)
	case "setMyCommands":
		var cmds []models.BotCommand
		if err := json.Unmarshal([]byte(c.Params["commands"]), &cmds); err != nil {
			return badRequest("can't parse commands JSON object")
		}
		if why := checkCommands(cmds); why != "" {
			return badRequest(why)
		}
		return okReply(true)
	case "getFile":
		f := s.files[c.Params["file_id"]]
		if f == nil {
			return badRequest("invalid file_id")
		}
		return okJSON(models.File{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: int64(len(f.data)), FilePath: f.path})
	}
	return reply{status: http.StatusNotFound, description: "Not Found: method not found"}
}

// chatIDParam parses chat_id; only numeric ids are known to the fake server.
func chatIDParam(c Call) (int64, string) {
	id, err := strconv.ParseInt(c.Params["chat_id"], 10, 64)
	if err != nil || id == 0 {
		return 0, "chat not found"
	}
	return id, ""
}

// boolParam parses a boolean parameter; anything unparsable is false.
func boolParam(c Call, name string) bool {
	v, _ := strconv.ParseBool(c.Params[name])
	return v
}

// setWebhookLocked sets (or, with an empty url, removes) the webhook.
func (s *Server) setWebhookLocked(c Call) reply {
	if boolParam(c, "drop_pending_updates") {
		s.queue = nil
	}
	s.webhook = webhook{url: c.Params["url"], secret: c.Params["secret_token"], allowedUpdates: c.Params["allowed_updates"]}
	if s.webhook.url == "" {
		s.webhook = webhook{}
	}
	return okReply(true)
}

// getUpdates answers getUpdates, holding the request while nothing is queued.
func (s *Server) getUpdates(ctx context.Context, c Call) reply {
	offset, err := strconv.ParseInt(paramOr(c, "offset", "0"), 10, 64)
	if err != nil {
		return badRequest("wrong parameter offset")
	}
	limit, err := strconv.Atoi(paramOr(c, "limit", "100"))
	if err != nil {
		return badRequest("wrong parameter limit")
	}
	limit = min(max(limit, 1), maxUpdatesLimit)
	timeout, err := strconv.Atoi(paramOr(c, "timeout", "0"))
	if err != nil {
		return badRequest("wrong parameter timeout")
	}

	s.mu.Lock()
	if f, failing := s.takeFaultLocked(c.Method); failing {
		s.mu.Unlock()
		return faultReply(f)
	}
	if s.webhook.url != "" {
		s.mu.Unlock()
		return reply{status: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	s.confirmLocked(offset)
	s.mu.Unlock()

	if timeout > 0 {
		s.hold(ctx, time.Duration(timeout)*time.Second)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	updates := []models.Update{}
	for i := range s.queue {
		if len(updates) == limit {
			break
		}
		s.queue[i].delivered = true
		updates = append(updates, s.queue[i].update)
	}
	return okJSON(updates)
}

// hold waits up to timeout for an update to be queued, counted in s.polling.
func (s *Server) hold(ctx context.Context, timeout time.Duration) {
	s.mu.Lock()
	s.polling++
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.polling--
		s.notifyLocked()
		s.mu.Unlock()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	s.wait(ctx, timer.C, func() bool { return len(s.queue) > 0 })
}

// paramOr returns parameter name, or def if it is missing or empty.
func paramOr(c Call, name, def string) string {
	if v := c.Params[name]; v != "" {
		return v
	}
	return def
}

// confirmLocked drops the updates an offset confirms, as Telegram does: all
// with update_id < offset, or for a negative offset all but the last -offset.
// An update put back with Enqueue stays until it has been delivered once.
func (s *Server) confirmLocked(offset int64) {
	switch {
	case offset == 0:
	case offset < 0:
		if keep := int(-offset); len(s.queue) > keep {
			s.queue = s.queue[len(s.queue)-keep:]
		}
	default:
		kept := s.queue[:0]
		for _, q := range s.queue {
			if q.update.ID >= offset || (q.replay && !q.delivered) {
				kept = append(kept, q)
			}
		}
		clear(s.queue[len(kept):])
		s.queue = kept
	}
}

// sendMessageLocked answers sendMessage.
func (s *Server) sendMessageLocked(c Call) reply {
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	text := c.Params["text"]
	if text == "" {
		return badRequest("message text is empty")
	}
	if why := checkText(text, c.Params["parse_mode"], maxTextLength, "message is too long"); why != "" {
		return badRequest(why)
	}
	mk, why := markupParam(c)
	if why != "" {
		return badRequest(why)
	}
	return s.sendLocked(chatID, mk, func(sm *sentMessage) {
		sm.wire.Text = text
		sm.view.Text = text
	})
}

// markupParam parses and validates reply_markup.
func markupParam(c Call) (markup, string) {
	mk, err := parseMarkup(c.Params["reply_markup"])
	if err != nil {
		return mk, "can't parse reply keyboard markup JSON object"
	}
	return mk, checkInline(mk.inline)
}

// sendFileLocked answers sendPhoto and sendDocument.
func (s *Server) sendFileLocked(c Call) reply {
	field, kind := "photo", "photos"
	if c.Method == "sendDocument" {
		field, kind = "document", "documents"
	}
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	caption := c.Params["caption"]
	if why := checkText(caption, c.Params["parse_mode"], maxCaptionLength, "message caption is too long"); why != "" {
		return badRequest(why)
	}
	mk, why := markupParam(c)
	if why != "" {
		return badRequest(why)
	}
	f, why := s.inputFileLocked(c, field, kind)
	if why != "" {
		return badRequest(why)
	}
	return s.sendLocked(chatID, mk, func(sm *sentMessage) {
		sm.wire.Caption = caption
		sm.view.Text = caption
		if field == "photo" {
			sm.wire.Photo = f.photoSizes()
			sm.view.Photo = f.asFile()
			return
		}
		sm.wire.Document = &models.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, FileSize: int64(len(f.data))}
		sm.view.Document = f.asFile()
	})
}

// inputFileLocked resolves a file parameter: an uploaded part, "attach://name",
// a known file_id, or an HTTP URL (kept without bytes).
func (s *Server) inputFileLocked(c Call, field, kind string) (*storedFile, string) {
	if up, uploaded := c.Files[field]; uploaded {
		return s.storeFileLocked(kind, up.Name, up.Bytes), ""
	}
	v := c.Params[field]
	if name, attached := strings.CutPrefix(v, "attach://"); attached {
		up, found := c.Files[name]
		if !found {
			return nil, "wrong file identifier/HTTP URL specified"
		}
		return s.storeFileLocked(kind, up.Name, up.Bytes), ""
	}
	switch {
	case v == "":
		return nil, "there is no " + field + " in the request"
	case s.files[v] != nil:
		return s.files[v], ""
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		return s.storeFileLocked(kind, v, nil), ""
	}
	return nil, "wrong file identifier/HTTP URL specified"
}

// sendLocationLocked answers sendLocation.
func (s *Server) sendLocationLocked(c Call) reply {
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	lat, errLat := strconv.ParseFloat(c.Params["latitude"], 64)
	lon, errLon := strconv.ParseFloat(c.Params["longitude"], 64)
	if errLat != nil || errLon != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return badRequest("wrong latitude or longitude")
	}
	loc := models.Location{Latitude: lat, Longitude: lon}
	loc.HorizontalAccuracy, _ = strconv.ParseFloat(c.Params["horizontal_accuracy"], 64)
	loc.LivePeriod, _ = strconv.Atoi(c.Params["live_period"])
	mk, why := markupParam(c)
	if why != "" {
		return badRequest(why)
	}
	return s.sendLocked(chatID, mk, func(sm *sentMessage) {
		wire, view := loc, loc
		sm.wire.Location = &wire
		sm.view.Location = &view
	})
}

// editLocked answers editMessageText, editMessageCaption and editMessageReplyMarkup.
func (s *Server) editLocked(c Call) reply {
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	id, _ := strconv.Atoi(c.Params["message_id"])
	sm := s.findLocked(chatID, id)
	if sm == nil {
		return badRequest("message to edit not found")
	}
	mk, why := markupParam(c)
	if why != "" {
		return badRequest(why)
	}
	if mk.keyboard != nil || mk.remove {
		return badRequest("inline keyboard expected")
	}
	media := sm.view.Photo != nil || sm.view.Document != nil
	text := sm.view.Text
	switch c.Method {
	case "editMessageText":
		if media || sm.view.Location != nil {
			return badRequest("there is no text in the message to edit")
		}
		text = c.Params["text"]
		if text == "" {
			return badRequest("message text is empty")
		}
		why = checkText(text, c.Params["parse_mode"], maxTextLength, "message is too long")
	case "editMessageCaption":
		if !media {
			return badRequest("there is no caption in the message to edit")
		}
		text = c.Params["caption"]
		why = checkText(text, c.Params["parse_mode"], maxCaptionLength, "message caption is too long")
	}
	if why != "" {
		return badRequest(why)
	}
	if text == sm.view.Text && sameInline(mk.inline, sm.view.Markup) {
		return badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	sm.view.Text = text
	if media {
		sm.wire.Caption = text
	} else {
		sm.wire.Text = text
	}
	sm.view.Markup = mk.inline
	sm.wire.ReplyMarkup = mk.inline
	sm.view.Edited = true
	sm.wire.EditDate = int(time.Now().Unix())
	return okJSON(&sm.wire)
}

// deleteMessageLocked answers deleteMessage; the message stays in Messages marked Deleted.
func (s *Server) deleteMessageLocked(c Call) reply {
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	id, _ := strconv.Atoi(c.Params["message_id"])
	sm := s.findLocked(chatID, id)
	if sm == nil {
		return badRequest("message to delete not found")
	}
	sm.view.Deleted = true
	return okReply(true)
}
