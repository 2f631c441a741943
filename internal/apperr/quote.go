package apperr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

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

// QuoteRuns shortens each double-quoted run of a message written by a
// library (gqlparser's "Cannot query field \"…\" on type \"Query\".") to
// its first QuoteLimit characters, as Quote does, so that a client's name
// or literal of megabytes is not echoed whole: messages written here quote
// with Quote instead. An escape sequence counts as one character and is
// never cut.
func QuoteRuns(msg string) string {
	if len(msg) <= QuoteLimit {
		return msg
	}
	var b strings.Builder
	last := 0 // msg[last:] is not copied yet
	for i := 0; i < len(msg); i++ {
		if msg[i] != '"' {
			continue
		}
		n, cut, end := 0, -1, -1
		for j := i + 1; j < len(msg); {
			c := msg[j]
			if c == '"' {
				end = j
				break
			}
			if n == QuoteLimit && cut < 0 {
				cut = j
			}
			_, size := utf8.DecodeRuneInString(msg[j:])
			if c == '\\' && j+1 < len(msg) {
				_, next := utf8.DecodeRuneInString(msg[j+1:])
				size = 1 + next
			}
			j += size
			n++
		}
		if end < 0 {
			break // unterminated: leave the rest
		}
		if cut >= 0 {
			b.WriteString(msg[last:cut])
			b.WriteString(`"…`)
			last = end + 1
		}
		i = end
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}
