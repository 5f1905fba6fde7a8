// Package oneline turns messages into the one line a user sees: error
// texts from other programs (BuildKit, cargo, TOML parsers, registries)
// carry newlines and indentation that would break the kit's one-line
// errors and log lines.
package oneline

import (
	"strings"
)

// String collapses every run of white space (newlines included) to one
// space and trims the ends.
func String(s string) string { return strings.Join(strings.Fields(s), " ") }

// Err is String of err's message; "" for a nil error.
func Err(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// Lines keeps the line structure of err's message visible: each line
// break becomes " | " (BuildKit's multi-line errors stay readable), then
// white space collapses as in String. "" for a nil error.
func Lines(err error) string {
	if err == nil {
		return ""
	}
	s := strings.TrimSpace(err.Error())
	s = strings.ReplaceAll(s, "\r", "")
	return String(strings.ReplaceAll(s, "\n", " | "))
}
