package model

import (
	"testing"
	"unicode/utf8"
)

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web", "web"},
		{"café ☕", "café ☕"},
		{"\x1b]52;c;aGVsbG8=\x07", `\x1b]52;c;aGVsbG8=\x07`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b[2J", `\x1b[2J`},
		{"web\nfake   production   3   3   healthy", `web\nfake   production   3   3   healthy`},
		{"a\tb\rc\x7f", `a\tb\rc\x7f`},
		{"\u009b31m\u009d0;x\u009c", `\u009b31m\u009d0;x\u009c`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"\u2066x\u2069\u200e", `\u2066x\u2069\u200e`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	}
	for _, tt := range tests {
		if got := SafeText(tt.in); got != tt.want {
			t.Errorf("SafeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafeText: whatever goes in, what comes out is valid UTF-8 with no control character,
// no C1 control and no bidirectional formatting character, and safe text is left alone.
func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"", "web", "\x1b[31m", "a\nb", "\u009b", "\u202e", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SafeText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("SafeText(%q) = %q is not valid UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("SafeText(%q) = %q keeps %U", s, out, r)
			}
		}
		if isSafe(s) && out != s {
			t.Fatalf("safe text %q changed to %q", s, out)
		}
		if SafeText(out) != out {
			t.Fatalf("SafeText is not idempotent on %q", s)
		}
	})
}
