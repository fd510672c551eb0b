package bottest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-telegram/bot/models"
)

// sendMediaGroupLocked answers sendMediaGroup: 2–10 photos or documents, each given by
// file id, URL or "attach://name", one message each with a shared media_group_id.
func (s *Server) sendMediaGroupLocked(c Call) reply {
	chatID, why := chatIDParam(c)
	if why != "" {
		return badRequest(why)
	}
	var media []struct {
		Type    string `json:"type"`
		Media   string `json:"media"`
		Caption string `json:"caption"`
	}
	if err := json.Unmarshal([]byte(c.Params["media"]), &media); err != nil {
		return badRequest("can't parse media JSON object")
	}
	if len(media) < 2 || len(media) > 10 {
		return badRequest("wrong number of media in the group: must be 2–10")
	}
	s.nextGroupID++
	group := fmt.Sprintf("botalbum%d", s.nextGroupID)
	var sent []models.Message
	for _, m := range media {
		if m.Type != "photo" && m.Type != "document" {
			return badRequest("unsupported media type " + m.Type)
		}
		one := Call{Method: c.Method, Params: map[string]string{m.Type: m.Media}, Files: c.Files}
		kind := "photos"
		if m.Type == "document" {
			kind = "documents"
		}
		f, why := s.inputFileLocked(one, m.Type, kind)
		if why != "" {
			return badRequest(why)
		}
		r := s.sendLocked(chatID, markup{}, func(sm *sentMessage) {
			sm.wire.Caption = m.Caption
			sm.wire.MediaGroupID = group
			sm.view.Text = m.Caption
			if m.Type == "photo" {
				sm.wire.Photo = f.photoSizes()
				sm.view.Photo = f.asFile()
				return
			}
			sm.wire.Document = &models.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, FileSize: int64(len(f.data))}
			sm.view.Document = f.asFile()
		})
		var msg models.Message
		if raw, ok := r.result.(json.RawMessage); !ok || json.Unmarshal(raw, &msg) != nil {
			return reply{status: http.StatusInternalServerError, description: "Internal Server Error: encode message"}
		}
		sent = append(sent, msg)
	}
	return okJSON(sent)
}
