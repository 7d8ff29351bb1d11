package model

import "strings"

// Nearest lists the names closest to a misspelt one, for "did you mean": case ignored, within
// a third of its length in edits (at least one), the closest only, in the order given. The
// CLI and the console's command line both use it.
func Nearest(name string, names []string) []string {
	var best []string
	bestD := 0
	limit := max(1, len([]rune(name))/3)
	for _, n := range names {
		d := EditDistance(strings.ToLower(name), strings.ToLower(n))
		switch {
		case d > limit:
		case best == nil || d < bestD:
			best, bestD = []string{n}, d
		case d == bestD:
			best = append(best, n)
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between two strings, in runes.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// MatchName finds what a person meant by name among names: the exact name, else the one
// that matches ignoring case, else the one it begins (case ignored: "prod" is production).
// ok is false when none or several match.
func MatchName(name string, names []string) (string, bool) {
	for _, n := range names {
		if n == name {
			return n, true
		}
	}
	var folded, prefixed []string
	for _, n := range names {
		switch {
		case strings.EqualFold(n, name):
			folded = append(folded, n)
		case strings.HasPrefix(strings.ToLower(n), strings.ToLower(name)):
			prefixed = append(prefixed, n)
		}
	}
	switch {
	case len(folded) == 1:
		return folded[0], true
	case len(folded) == 0 && len(prefixed) == 1 && name != "":
		return prefixed[0], true
	}
	return "", false
}
