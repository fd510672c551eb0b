package bottest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// maxRequestBytes bounds a request body.
const maxRequestBytes = 64 << 20

// canonicalMethod returns the Bot API spelling of a method name given in any
// case, and whether the fake server implements it.
func canonicalMethod(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "getme":
		return "getMe", true
	case "getupdates":
		return "getUpdates", true
	case "setwebhook":
		return "setWebhook", true
	case "deletewebhook":
		return "deleteWebhook", true
	case "getwebhookinfo":
		return "getWebhookInfo", true
	case "sendmessage":
		return "sendMessage", true
	case "editmessagetext":
		return "editMessageText", true
	case "editmessagecaption":
		return "editMessageCaption", true
	case "editmessagereplymarkup":
		return "editMessageReplyMarkup", true
	case "deletemessage":
		return "deleteMessage", true
	case "answercallbackquery":
		return "answerCallbackQuery", true
	case "sendphoto":
		return "sendPhoto", true
	case "senddocument":
		return "sendDocument", true
	case "sendmediagroup":
		return "sendMediaGroup", true
	case "sendlocation":
		return "sendLocation", true
	case "sendchataction":
		return "sendChatAction", true
	case "setmycommands":
		return "setMyCommands", true
	case "getfile":
		return "getFile", true
	}
	return name, false
}

// parseParams reads the parameters of a Bot API request from its query string
// and from a multipart/form-data, application/json or
// application/x-www-form-urlencoded body. Body values win over the query.
func parseParams(r *http.Request) (map[string]string, map[string]File, error) {
	params := map[string]string{}
	files := map[string]File{}
	addValues(params, r.URL.Query())

	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("can't read request body: %w", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return params, files, nil
	}
	mediaType, mediaParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "multipart/form-data":
		err = parseMultipart(body, mediaParams["boundary"], params, files)
	case "application/json":
		err = parseJSON(body, params)
	case "application/x-www-form-urlencoded":
		var values url.Values
		values, err = url.ParseQuery(string(body))
		addValues(params, values)
	default:
		if body[0] != '{' {
			return nil, nil, fmt.Errorf("unsupported Content-Type %q", mediaType)
		}
		err = parseJSON(body, params) // JSON sent without a Content-Type
	}
	if err != nil {
		return nil, nil, err
	}
	return params, files, nil
}

// addValues copies the first value of every key into params.
func addValues(params map[string]string, values url.Values) {
	for k, v := range values {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
}

// parseMultipart reads form fields into params and file parts into files.
func parseMultipart(body []byte, boundary string, params map[string]string, files map[string]File) error {
	if boundary == "" {
		return errors.New("multipart body without boundary")
	}
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxRequestBytes)
	if err != nil {
		return fmt.Errorf("can't parse multipart body: %w", err)
	}
	defer func() { _ = form.RemoveAll() }()
	addValues(params, form.Value)
	for field, headers := range form.File {
		if len(headers) == 0 {
			continue
		}
		data, err := readPart(headers[0])
		if err != nil {
			return err
		}
		files[field] = File{Name: headers[0].Filename, Bytes: data}
	}
	return nil
}

// readPart returns the bytes of an uploaded file part.
func readPart(h *multipart.FileHeader) ([]byte, error) {
	f, err := h.Open()
	if err != nil {
		return nil, fmt.Errorf("can't open file part %q: %w", h.Filename, err)
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(f)
}

// parseJSON reads a JSON object body: strings keep their value, other JSON
// values keep their JSON text, nulls are left out.
func parseJSON(body []byte, params map[string]string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("can't parse JSON body: %w", err)
	}
	for k, raw := range fields {
		raw = bytes.TrimSpace(raw)
		switch {
		case string(raw) == "null":
		case len(raw) > 0 && raw[0] == '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("can't parse JSON field %q: %w", k, err)
			}
			params[k] = v
		default:
			params[k] = string(raw)
		}
	}
	return nil
}
