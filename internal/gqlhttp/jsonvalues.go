package gqlhttp

import (
	"errors"
	"io"
)

// countJSONValues counts the values of the JSON text b, stopping once it
// is over stop (0: never); see valueScanner.
func countJSONValues(b []byte, stop int) int {
	var sc valueScanner
	sc.scan(b, stop)
	return sc.finish()
}

// valueScanner counts the values of a JSON text fed to it in pieces: each
// object, array, string that is not a member name, number, true, false
// and null. It allocates nothing and checks no syntax (the decoder does).
type valueScanner struct {
	n                                      int
	inString, escaped, afterString, inWord bool
	strLen                                 int // bytes of the string being read
	maxString                              int // 0: no bound
	tooLong                                bool
}

// DefaultMaxStringBytes is the longest JSON string a request may hold
// (Options.MaxStringBytes): the decoder holds a string whole (twice, while
// its buffer grows), and no query or variable of this API comes near it.
const DefaultMaxStringBytes = 1 << 20

// scan feeds b and returns how many of its bytes it took: all of them,
// unless the count went over stop (0: never) first.
func (sc *valueScanner) scan(b []byte, stop int) int {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case sc.inString:
			if sc.strLen++; sc.maxString > 0 && sc.strLen > sc.maxString+1 {
				sc.tooLong = true
				return i + 1
			}
			switch {
			case sc.escaped:
				sc.escaped = false
			case c == '\\':
				sc.escaped = true
			case c == '"':
				sc.inString, sc.afterString = false, true
			}
			continue
		case sc.afterString:
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				continue
			}
			sc.afterString = false
			if c == ':' { // it was a member name
				continue
			}
			sc.n++
		case sc.inWord:
			if isScalarByte(c) {
				continue
			}
			sc.inWord = false
		}
		switch c {
		case '"':
			sc.inString, sc.strLen = true, 0
		case '{', '[':
			sc.n++
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
			sc.n++
			sc.inWord = true
		}
		if stop > 0 && sc.n > stop {
			return i + 1
		}
	}
	return len(b)
}

// finish counts a string that ended the text.
func (sc *valueScanner) finish() int {
	if sc.afterString {
		sc.afterString = false
		sc.n++
	}
	return sc.n
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '+'
}

// errTooManyValues and errStringTooLong end the reading of a body with
// too many values or too long a string.
var (
	errTooManyValues = errors.New("graphql: too many JSON values")
	errStringTooLong = errors.New("graphql: a JSON string is too long")
)

// countingReader counts the values of the JSON text read through it and
// fails once there are more than limit.
type countingReader struct {
	r     io.Reader
	limit int
	sc    valueScanner
	err   error // sticky: the decoder reads again after an error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if took := c.sc.scan(p[:n], c.limit); c.sc.tooLong {
		c.err = errStringTooLong
		return took, c.err
	} else if c.limit > 0 {
		if c.sc.n > c.limit {
			c.err = errTooManyValues
			return took, c.err
		}
		if err == io.EOF && c.sc.finish() > c.limit {
			c.err = errTooManyValues
			return n, c.err
		}
	}
	return n, err
}
