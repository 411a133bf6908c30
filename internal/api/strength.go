package api

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
)

// MinTokenBits is the least entropy a bearer token may have: a guess
// must be out of reach however fast an attacker can ask.
const MinTokenBits = 128

// ErrWeakToken means a token is too easy to guess; the node refuses to
// start with it.
var ErrWeakToken = errors.New("API token too weak")

// strongTokenHint says how to make a token that passes.
const strongTokenHint = "at least 128 bits are needed: 32 random hex digits or 22 random base64 characters, e.g. `openssl rand -hex 32`"

// TokenBits estimates a token's entropy in bits as a floor for a random
// token: its length times log2 of the alphabet its characters come
// from. The alphabet is read from the character classes the token uses:
// hex digits alone count 16 (digits alone 10); otherwise each class
// used adds its size: digits 10, lower case 26, upper case 26, other
// printable ASCII 33, anything else 64. Base64 padding is not counted.
// A token of fewer than 8 distinct characters counts 0: it is a
// pattern, not a random string, and a repeated unit counts once. A
// human-chosen phrase can score more
// than it is worth; the estimate is meant to catch short and
// small-alphabet tokens, and operators should generate tokens.
func TokenBits(secret string) float64 {
	secret = strings.TrimRight(secret, "=")
	if secret == "" {
		return 0
	}
	distinct := map[rune]bool{}
	var digit, hexLower, hexUpper, lower, upper, punct, other bool
	n := 0
	for _, r := range secret {
		n++
		distinct[r] = true
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'f':
			hexLower = true
		case r >= 'A' && r <= 'F':
			hexUpper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r < unicode.MaxASCII && unicode.IsPrint(r):
			punct = true
		default:
			other = true
		}
	}
	if len(distinct) < 8 {
		return 0
	}
	// A repeated unit is worth the unit once.
	n = period([]rune(secret))
	alphabet := 0
	switch {
	case !lower && !upper && !punct && !other && !(hexLower && hexUpper):
		alphabet = 10
		if hexLower || hexUpper {
			alphabet = 16
		}
	default:
		for _, c := range []struct {
			used bool
			size int
		}{{digit, 10}, {hexLower || lower, 26}, {hexUpper || upper, 26}, {punct, 33}, {other, 64}} {
			if c.used {
				alphabet += c.size
			}
		}
	}
	return float64(n) * math.Log2(float64(alphabet))
}

// period is the length of the shortest unit s repeats ("abcabcab" is
// 3), or len(s).
func period(s []rune) int {
	for p := 1; p <= len(s)/2; p++ {
		repeats := true
		for i := p; i < len(s) && repeats; i++ {
			repeats = s[i] == s[i-p]
		}
		if repeats {
			return p
		}
	}
	return len(s)
}

// weakness says why a token is too weak, or "" when it is strong enough.
// The secret itself is never part of the message.
func weakness(name, secret string) string {
	bits := TokenBits(secret)
	if bits >= MinTokenBits {
		return ""
	}
	return fmt.Sprintf("token %q has about %.0f bits of entropy (%d characters); %s", name, bits, len([]rune(secret)), strongTokenHint)
}

// noteStrength remembers a weak token so that Weak refuses the set.
func (t *Tokens) noteStrength(name, secret string) {
	if w := weakness(name, secret); w != "" {
		t.weak = append(t.weak, w)
	}
}

// Weak returns ErrWeakToken naming every token below MinTokenBits, nil
// when all are strong. Tokens given by their SHA-256 cannot be measured
// and pass.
func (t *Tokens) Weak() error {
	if t == nil || len(t.weak) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %s", ErrWeakToken, strings.Join(t.weak, "\n  "))
}
