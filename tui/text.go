package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// pad left-aligns s in a cell of w columns, cutting it when it is wider.
func pad(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		if w <= 1 {
			return ansi.Truncate(s, w, "")
		}
		return ansi.Truncate(s, w-1, "…") + " "
	}
	return s + strings.Repeat(" ", w-n)
}

// padL right-aligns s in a cell of w columns.
func padL(s string, w int) string {
	n := ansi.StringWidth(s)
	if n >= w {
		return pad(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}

func ansiStrip(s string) string { return ansi.Strip(s) }

func ansiWidth(s string) int { return ansi.StringWidth(s) }

// age formats a duration the way an operator reads it: 45s, 12m, 3h, 4d.
func age(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
