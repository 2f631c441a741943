package apperr

import "strconv"

// QuoteLimit is how many characters (runes; an invalid UTF-8 byte counts as
// one) of a client value Quote shows at most.
const QuoteLimit = 100

// Quote returns s Go-quoted for an error message, shortened to its first
// QuoteLimit characters with "…" after the closing quote when it is longer,
// so that a huge input is never echoed whole. Control characters and invalid
// UTF-8 come out escaped (strconv.Quote), never raw.
func Quote(s string) string {
	n := 0
	for i := range s {
		if n == QuoteLimit {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}
