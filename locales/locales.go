// Package locales embeds the message files of every language zhucun speaks.
package locales

import "embed"

// FS holds the go-i18n message files: LOCALE.toml, and FEATURE.LOCALE.toml for the
// messages of one feature.
//
//go:embed *.toml
var FS embed.FS
