package model

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Tag keys adstage-ops writes on images it bakes (besides the configured service tag key).
const (
	TagSourceInstance = "adstage:source-instance"
	TagBakedBy        = "adstage:baked-by"
	TagBakedAt        = "adstage:baked-at" // RFC 3339
	TagLabel          = "adstage:label"
	// TagCopiedFrom is on an image promote copied from another account or region: the
	// source image's ID (a later promote of the same image reuses the copy).
	TagCopiedFrom = "adstage:copied-from"
)

// ReleaseNote is what promote writes into a launch template version's description, so that
// the release history in AWS says who released what, when, from which AMI and why.
type ReleaseNote struct {
	Who  string
	When time.Time
	From string // AMI before
	To   string // AMI after
	Why  string
}

// maxDescription is AWS's limit on a launch template version description.
const maxDescription = 255

// String formats the note as "adstage-ops: ami-1 -> ami-2 by ARN at RFC3339: why",
// trimmed to AWS's 255 characters (the reason is cut first).
func (n ReleaseNote) String() string {
	head := fmt.Sprintf("adstage-ops: %s -> %s by %s at %s", n.From, n.To, n.Who, n.When.UTC().Format(time.RFC3339))
	s := head
	if n.Why != "" {
		s += ": " + n.Why
	}
	return CutBytes(s, maxDescription)
}

// CutBytes returns the longest prefix of s of at most n bytes that ends on a character
// boundary: AWS's description limits (255) are kept in bytes, the strictest reading, and a
// cut through a multi-byte character would leave invalid UTF-8, which AWS refuses.
func CutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ParseReleaseNote reads a description written by ReleaseNote.String. The second result is
// false for descriptions written by anything else.
func ParseReleaseNote(s string) (ReleaseNote, bool) {
	rest, ok := strings.CutPrefix(s, "adstage-ops: ")
	if !ok {
		return ReleaseNote{}, false
	}
	var n ReleaseNote
	from, rest, ok := strings.Cut(rest, " -> ")
	if !ok {
		return ReleaseNote{}, false
	}
	to, rest, ok := strings.Cut(rest, " by ")
	if !ok {
		return ReleaseNote{}, false
	}
	who, rest, ok := strings.Cut(rest, " at ")
	if !ok {
		return ReleaseNote{}, false
	}
	when, why, _ := strings.Cut(rest, ": ")
	t, err := time.Parse(time.RFC3339, when)
	if err != nil {
		return ReleaseNote{}, false
	}
	n.From, n.To, n.Who, n.When, n.Why = from, to, who, t, why
	return n, true
}
