// Package auth guards writes with bearer tokens. Tokens are kept only as
// SHA-256 hashes and compared in constant time; they can be configured as
// plain tokens (API_TOKENS) or as hashes in a file (API_TOKENS_FILE), so
// that the secret itself need not sit in the service's configuration.
package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Tokens is a set of accepted tokens, by hash.
type Tokens struct {
	hashes [][sha256.Size]byte
}

// Hash returns the form a token is stored in: "sha256:" and 64 hex digits.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewTokens accepts the plain tokens and the hashes ("sha256:<hex>").
func NewTokens(plain, hashes []string) (*Tokens, error) {
	t := &Tokens{}
	for _, p := range plain {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if len(p) < 16 {
			return nil, fmt.Errorf("a token must be at least 16 characters long")
		}
		t.hashes = append(t.hashes, sha256.Sum256([]byte(p)))
	}
	for _, h := range hashes {
		hexed, ok := strings.CutPrefix(strings.TrimSpace(h), "sha256:")
		b, err := hex.DecodeString(hexed)
		if !ok || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%q is not a token hash (want sha256:<64 hex digits>)", h)
		}
		t.hashes = append(t.hashes, [sha256.Size]byte(b))
	}
	return t, nil
}

// ReadHashes reads a token-hash file: one "sha256:<hex>" a line; blank
// lines and lines starting with # are skipped.
func ReadHashes(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// Enabled reports whether any token is configured.
func (t *Tokens) Enabled() bool { return t != nil && len(t.hashes) > 0 }

// Valid reports whether token is one of the set. Every stored hash is
// compared, in constant time, whatever matches.
func (t *Tokens) Valid(token string) bool {
	if !t.Enabled() || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for i := range t.hashes {
		ok |= subtle.ConstantTimeCompare(sum[:], t.hashes[i][:])
	}
	return ok == 1
}

// State is what a request proved about itself.
type State int

// The states.
const (
	Open          State = iota // no tokens configured: writes are open
	Anonymous                  // tokens configured, none sent
	Authenticated              // a valid token was sent
	Invalid                    // a token was sent and is wrong
)

type stateKey struct{}

// WithState returns ctx carrying s.
func WithState(ctx context.Context, s State) context.Context {
	return context.WithValue(ctx, stateKey{}, s)
}

// StateOf returns the state in ctx; a context without one is Open, which
// is right for work that no request started (seeding, tests of the core).
func StateOf(ctx context.Context) State {
	s, _ := ctx.Value(stateKey{}).(State)
	return s
}

// MayWrite reports whether a request in this state may write.
func (s State) MayWrite() bool { return s == Open || s == Authenticated }

// Authenticate works out the state of a request from its Authorization
// header.
func (t *Tokens) Authenticate(r *http.Request) State {
	return t.AuthenticateHeader(r.Header.Get("Authorization"))
}

// AuthenticateHeader works out the state of a request from the value of
// its Authorization header ("Bearer <token>"), wherever it came from (a
// WebSocket carries it in its connection_init payload).
func (t *Tokens) AuthenticateHeader(h string) State {
	if !t.Enabled() {
		return Open
	}
	if h == "" {
		return Anonymous
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Invalid
	}
	if t.Valid(strings.TrimSpace(token)) {
		return Authenticated
	}
	return Invalid
}

// Challenge is the WWW-Authenticate header of a 401.
func Challenge(s State) string {
	if s == Invalid {
		return `Bearer realm="sprocket", error="invalid_token"`
	}
	return `Bearer realm="sprocket"`
}
