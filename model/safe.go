package model

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SafeText makes text that did not come from adstage-ops itself (tag values, image names and
// labels, launch template descriptions, refresh and health reasons, other operators' audit
// reasons, AWS error messages) safe to print on a terminal: it can carry no escape sequence,
// no line break and no direction override. Every C0 control (newline and tab included), DEL,
// every C1 control (U+0080-U+009F, which some terminals obey like ESC sequences) and the
// Unicode bidirectional formatting characters are shown visibly as Go escapes ("\x1b", "\n",
// "\u202e"); invalid UTF-8 bytes become "\xNN". Everything else passes as it is, so ordinary
// text costs nothing.
func SafeText(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isSafe reports whether s needs no change: the common case, checked without allocating.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			if c < 0x80 {
				return false
			}
			// Non-ASCII: decode the rest.
			for _, r := range s[i:] {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
					return false
				}
			}
			return true
		}
	}
	return true
}

// unsafeRune reports C1 controls and the bidirectional formatting characters (Unicode
// UAX #9: LRM, RLM, ALM, the embeddings and overrides, and the isolates), and the line and
// paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
