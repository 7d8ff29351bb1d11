package tui

// The column rule: a table lists its columns with a priority, and a width decides which are
// shown. Priority 0 columns are always shown (at 80 columns they still fit); the others are
// added in priority order while they fit at their narrowest, and what is left widens the
// columns in the table's grow order up to their widest. A column never silently disappears
// in the middle of the order: a lower-priority column is only shown when every column before
// it is.

// column is one column of a table: its header, its narrowest width (gap included), and its
// priority (0: always shown; higher numbers are dropped first).
type column struct {
	title string
	min   int
	prio  int
	right bool // right-aligned (numbers)
}

// growStep widens column col up to upto columns (0: all that is left).
type growStep struct{ col, upto int }

// layoutColumns gives each column its width at a table width: 0 for a dropped column. grow
// lists, in order, which shown columns take the spare room and up to what width.
func layoutColumns(cols []column, width int, grow []growStep) []int {
	out := make([]int, len(cols))
	used := 0
	for i, c := range cols {
		if c.prio == 0 { // a negative priority is never shown
			out[i] = c.min
			used += c.min
		}
	}
	maxPrio := 0
	for _, c := range cols {
		maxPrio = max(maxPrio, c.prio)
	}
	for p := 1; p <= maxPrio; p++ {
		fits := true
		for i, c := range cols {
			if c.prio != p {
				continue
			}
			if used+c.min > width {
				fits = false
				break
			}
			out[i] = c.min
			used += c.min
		}
		if !fits {
			break // the next priorities are dropped too
		}
	}
	spare := width - used
	for _, g := range grow {
		if spare <= 0 {
			break
		}
		if out[g.col] == 0 {
			continue
		}
		add := spare
		if g.upto > 0 {
			add = min(spare, max(g.upto-out[g.col], 0))
		}
		out[g.col] += add
		spare -= add
	}
	return out
}
