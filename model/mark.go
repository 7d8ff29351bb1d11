package model

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Tag keys of the marks adstage-ops writes on images. Marks live on the image (the AMI), so
// every operator and every environment that runs it sees them, with no store of our own.
// A rollback writes TagRolledBack on the image it leaves; `mark` writes TagMark. They are
// two keys so that marking a rolled-back image good keeps the record that it was rolled back.
const (
	TagRolledBack = "adstage:rolled-back"
	TagMark       = "adstage:mark"
)

// MaxTagValue is AWS's limit on a tag value, in Unicode characters.
const MaxTagValue = 256

// MarkKind is what a mark says about an image.
type MarkKind string

const (
	MarkRolledBack MarkKind = "rolled-back"
	MarkBad        MarkKind = "bad"
	MarkGood       MarkKind = "good"
)

// Mark is an operator's verdict on an image, stored as a tag on it: who said what, when, in
// which environment and why.
type Mark struct {
	Kind   MarkKind
	When   time.Time
	Env    string
	Who    string
	Reason string
}

// TagKey is the tag the mark is stored under.
func (m Mark) TagKey() string {
	if m.Kind == MarkRolledBack {
		return TagRolledBack
	}
	return TagMark
}

// TagValue formats the mark as "kind;when;env;who;reason". It fails when the value would not
// fit AWS's 256 characters, naming how long the reason may be.
func (m Mark) TagValue() (string, error) {
	head := strings.Join([]string{string(m.Kind), m.When.UTC().Format(time.RFC3339), m.Env, m.Who}, ";") + ";"
	v := head + m.Reason
	if n := utf8.RuneCountInString(v); n > MaxTagValue {
		room := max(MaxTagValue-utf8.RuneCountInString(head), 0)
		return "", fmt.Errorf("the reason is %d characters; a mark is an image tag, whose value AWS limits to %d characters, and who/when/environment take %d of them: shorten the reason to %d characters", utf8.RuneCountInString(m.Reason), MaxTagValue, MaxTagValue-room, room)
	}
	return v, nil
}

// ParseMark reads a mark from an image tag; ok is false for any other tag, or a value not
// written by TagValue.
func ParseMark(key, value string) (Mark, bool) {
	if key != TagRolledBack && key != TagMark {
		return Mark{}, false
	}
	parts := strings.SplitN(value, ";", 5)
	if len(parts) != 5 {
		return Mark{}, false
	}
	m := Mark{Kind: MarkKind(parts[0]), Env: parts[2], Who: parts[3], Reason: parts[4]}
	switch {
	case key == TagRolledBack && m.Kind != MarkRolledBack,
		key == TagMark && m.Kind != MarkBad && m.Kind != MarkGood:
		return Mark{}, false
	}
	t, err := time.Parse(time.RFC3339, parts[1])
	if err != nil {
		return Mark{}, false
	}
	m.When = t
	return m, true
}

// String is "rolled back 2026-11-30 23:14 UTC in production by alice: 5xx spike".
func (m Mark) String() string {
	var verb string
	switch m.Kind {
	case MarkRolledBack:
		verb = "rolled back"
	default:
		verb = "marked " + string(m.Kind)
	}
	s := verb + " " + m.When.UTC().Format("2006-01-02 15:04 UTC")
	if m.Env != "" {
		s += " in " + m.Env
	}
	if m.Who != "" {
		s += " by " + ShortWho(m.Who)
	}
	if m.Reason != "" {
		s += ": " + m.Reason
	}
	return s
}

// ShortWho is the last part of a caller ARN ("alice" for ...:user/alice or an assumed
// role's session name), or the text as it is.
func ShortWho(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 && i+1 < len(arn) {
		return arn[i+1:]
	}
	return arn
}

// Verdict is the newest mark of an image that decides its standing: a rolled-back record or
// a bad mark count against it unless a newer good mark overrides them. ok is false when the
// image has no mark against it.
func Verdict(marks []Mark) (Mark, bool) {
	var newest Mark
	found := false
	for _, m := range marks {
		if !found || m.When.After(newest.When) {
			newest, found = m, true
		}
	}
	if !found || newest.Kind == MarkGood {
		return Mark{}, false
	}
	return newest, true
}
