package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// Survey links are "s_" and a random token; invite tokens are the random part alone,
// exactly tokenBytes long, so a start payload is a survey's when it has the prefix and
// is not an invite's length.
const surveyTokenPrefix = "s_"

// newSurveyToken returns a fresh slip or poster token and the hash it is stored under.
func newSurveyToken() (token string, hash []byte) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand)
	token = surveyTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// isSurveyPayload reports whether a start payload is meant for a survey.
func isSurveyPayload(p string) bool {
	return strings.HasPrefix(p, surveyTokenPrefix) && !validTokenShape(p)
}

// validSurveyToken reports whether p could be a slip or poster token we issued.
func validSurveyToken(p string) bool {
	return strings.HasPrefix(p, surveyTokenPrefix) && validTokenShape(strings.TrimPrefix(p, surveyTokenPrefix))
}

// errNoSecret reports a deployment without ZHUCUN_SECRET: open surveys cannot tell who
// answered.
var errNoSecret = errors.New("surveys: no secret configured (ZHUCUN_SECRET)")

// voterHash is what an open survey keeps of an account that answered it: an HMAC-SHA256
// of the survey and the user id under ZHUCUN_SECRET. Without the secret it cannot be
// matched with an account; with it, only by trying accounts one by one, and even then
// it points at no answer (the ballots are kept apart, store.CastBallot).
func (h *Handlers) voterHash(surveyID, userID int64) ([]byte, error) {
	if len(h.cfg.Secret) == 0 {
		return nil, errNoSecret
	}
	m := hmac.New(sha256.New, h.cfg.Secret)
	m.Write([]byte("zhucun survey voter\x00"))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(surveyID))
	binary.BigEndian.PutUint64(b[8:], uint64(userID))
	m.Write(b[:])
	return m.Sum(nil), nil
}

// redactSurveyUpdate returns what of a raw update may be kept as a dead letter. An
// update that belongs to a survey — a button of its flows, a survey link, anything sent
// while the chat is answering or entering a survey — may carry an answer: of it only
// the update id is kept, marked as redacted. Other updates are kept whole. When the
// chat's conversation cannot be read, an update with text or a button is redacted too.
func (h *Handlers) redactSurveyUpdate(ctx context.Context, payload []byte) []byte {
	var u struct {
		UpdateID int64 `json:"update_id"`
		Message  *struct {
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
			Text string `json:"text"`
		} `json:"message"`
		CallbackQuery *struct {
			Data    string `json:"data"`
			Message *struct {
				Chat struct {
					ID int64 `json:"id"`
				} `json:"chat"`
			} `json:"message"`
		} `json:"callback_query"`
	}
	if err := json.Unmarshal(payload, &u); err != nil {
		return payload
	}
	var chatID int64
	survey := false
	switch {
	case u.Message != nil:
		chatID = u.Message.Chat.ID
		_, arg, _ := strings.Cut(u.Message.Text, " ")
		survey = strings.HasPrefix(u.Message.Text, "/start") && strings.HasPrefix(strings.TrimSpace(arg), surveyTokenPrefix)
	case u.CallbackQuery != nil:
		if u.CallbackQuery.Message != nil {
			chatID = u.CallbackQuery.Message.Chat.ID
		}
		flow, _, _ := parseCallback(u.CallbackQuery.Data)
		survey = flow == flowSurvey || flow == flowAnswer
	default:
		return payload // nothing a user wrote
	}
	if !survey && chatID != 0 {
		conv, err := h.state.Load(ctx, chatID)
		survey = err != nil || conv.Flow == flowSurvey || conv.Flow == flowAnswer
	}
	if !survey {
		return payload
	}
	out, _ := json.Marshal(map[string]any{"update_id": u.UpdateID, "redacted": "survey"})
	return out
}
