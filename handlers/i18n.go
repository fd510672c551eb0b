package handlers

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"zhucun/locales"
	"zhucun/store"
)

// Locales the bot speaks, the default first.
var shippedLocales = []string{"zh-Hans", "en"}

// newBundle loads every message file in locales/.
func newBundle(defaultLocale string) (*i18n.Bundle, error) {
	tag, err := language.Parse(defaultLocale)
	if err != nil {
		return nil, fmt.Errorf("default locale %q: %w", defaultLocale, err)
	}
	b := i18n.NewBundle(tag)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(locales.FS, "*.toml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := b.LoadMessageFileFS(locales.FS, f); err != nil {
			return nil, fmt.Errorf("load %s: %w", f, err)
		}
	}
	return b, nil
}

// localeFor picks the locale a user sees: their own choice, else their client's
// language, else the default.
func localeFor(chosen, languageCode, def string) string {
	if chosen != "" {
		return chosen
	}
	lc := strings.ToLower(languageCode)
	switch {
	case strings.HasPrefix(lc, "zh"):
		return "zh-Hans"
	case strings.HasPrefix(lc, "en"):
		return "en"
	}
	return def
}

// translatorFor is the translator of a person's language (the default for a person the
// bot has not met, such as an admin who never wrote to it).
func (h *Handlers) translatorFor(u store.User) translator {
	return newTranslator(h.bundle, localeFor(u.Locale, u.LanguageCode, h.cfg.DefaultLocale))
}

// translator renders message IDs in one locale.
type translator struct {
	locale string
	l      *i18n.Localizer
}

func newTranslator(b *i18n.Bundle, locale string) translator {
	return translator{locale: locale, l: i18n.NewLocalizer(b, locale)}
}

// T renders the message id with optional template data given as key, value pairs. A
// missing ID is a programming error caught by TestLocalesComplete; at run time it
// renders the ID itself rather than nothing.
func (tr translator) T(id string, kv ...any) string {
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	s, err := tr.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}
