// Package locales embeds the message files of every language zhucun speaks.
package locales

import "embed"

// FS holds the go-i18n message files, one TOML file per locale.
//
//go:embed *.toml
var FS embed.FS
