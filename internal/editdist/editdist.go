// Package editdist measures how far apart two short strings are, as a
// typing slip makes them: insertions, deletions, substitutions and two
// swapped neighbours each count one (optimal string alignment). ward uses
// it for lookalike domains and for suggesting the setting a person meant.
package editdist

// Distance is the number of single-character edits, or swaps of two
// neighbours, that turn a into b. Strings are compared by runes; short
// ones (up to 64 runes) are measured without allocating.
func Distance(a, b string) int {
	var xs, ys [64]rune
	x, y := appendRunes(xs[:0], a), appendRunes(ys[:0], b)
	// Three rows of the table are all the recurrence reads.
	var stack [3][65]int
	var rows [3][]int
	for i := range rows {
		if len(y) < len(stack[i]) {
			rows[i] = stack[i][:len(y)+1]
		} else {
			rows[i] = make([]int, len(y)+1)
		}
	}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}
