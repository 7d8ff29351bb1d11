package sim

// Hostile input for the tests that prove adstage-ops prints AWS text as data: text an
// attacker could put in AWS (tag values, image names and labels, launch template
// descriptions, audit reasons), a service made of it, and a check that output carries none
// of it as terminal control. The CLI and console tests share it.

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// hostilePieces are the building blocks of hostile text: escape sequences that set the clipboard
// and the window title or clear the screen, line breaks that fake a row, C1 controls, bidi
// overrides, invalid UTF-8, and plain text.
var hostilePieces = []string{
	"\x1b]52;c;aGVsbG8=\x07", "\x1b]0;pwned\x07", "\x1b[2J", "\x1b[31m", "\x1b", "\x07", "\x00",
	"\n", "\r\n", "\r", "\t", "\x7f", "\u009b", "\u009d", "\u0085", "\u202e", "\u2066", "\u200f",
	"\u2028", "\xff", "\xc3", "web", "healthy", " ", "production", "ami-0", ";", "\\", "%s",
}

// HostileText is a random hostile string of up to n pieces. Tag values AWS accepts are at most 256
// characters; HostileText stays under that.
func HostileText(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < 1+r.IntN(n); i++ {
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
	}
	s := b.String()
	for utf8.RuneCountInString(s) > 200 {
		s = s[:len(s)/2]
	}
	return s
}

// AddHostileService adds a service whose Service tag, image name and label, and launch
// template descriptions are hostile, in production, behind a target group. It returns the
// hostile service name.
func (c *Cloud) AddHostileService(r *rand.Rand, now time.Time) (string, error) {
	svc := "x" + HostileText(r, 6)
	label := HostileText(r, 6)
	img := c.AddImage("hostile-"+fmt.Sprint(r.IntN(1e6)), now.Add(-48*time.Hour), []Tag{{Key: "Service", Value: svc}, {Key: "adstage:label", Value: label}, {Key: "Name", Value: HostileText(r, 6)}})
	img2 := c.AddImage("hostile-b-"+fmt.Sprint(r.IntN(1e6)), now.Add(-24*time.Hour), []Tag{{Key: "Service", Value: svc}, {Key: "adstage:label", Value: HostileText(r, 6)}})
	tpl := fmt.Sprintf("hostile-lt-%d", r.IntN(1e6))
	c.AddTemplate(tpl, []string{img, img2}, []string{HostileText(r, 8), "adstage-ops: " + img + " -> " + img2 + " by " + HostileText(r, 3) + " at 2026-11-29T10:00:00Z: " + HostileText(r, 8)}, 2)
	tg := fmt.Sprintf("hostile-tg-%d", r.IntN(1e6))
	c.AddTargetGroup(tg, 10)
	_, err := c.AddGroup(GroupSpec{Name: fmt.Sprintf("hostile-%d", r.IntN(1e6)), Service: svc, Env: "production", Min: 1, Desired: 2, Max: 4,
		Template: tpl, Version: "2", TargetGroups: []string{tg}, Age: time.Hour, Tags: []Tag{{Key: "Team", Value: HostileText(r, 4), Propagate: true}}})
	return svc, err
}

// sgrSequence is the one escape sequence output may carry: colours and text attributes the console
// itself writes.
var sgrSequence = regexp.MustCompile("\x1b\\[[0-9;:]*m")

// UnsafeOutput says what in out could act on a terminal, "" when nothing: after removing the SGR
// sequences the console writes, any control character but newline, DEL, a C1 control, a
// bidi formatting character, a line or paragraph separator, or invalid UTF-8.
func UnsafeOutput(out string) string {
	rest := sgrSequence.ReplaceAllString(out, "")
	if !utf8.ValidString(rest) {
		return "invalid UTF-8"
	}
	for i, r := range rest {
		switch {
		case r == '\n':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x061c || r == 0x200e || r == 0x200f ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029:
			lo := max(0, i-30)
			return fmt.Sprintf("%U at byte %d: ...%q...", r, i, rest[lo:min(len(rest), i+30)])
		}
	}
	return ""
}
