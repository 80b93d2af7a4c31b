package unit

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExponent bounds the exponent ParseDecimal accepts: far beyond any int64 at
// any number of decimals, and small enough that no arithmetic on it overflows.
const maxExponent = 100_000

// ParseDecimal reads a number exactly as n × 10^-decimals, as ParseFixed does, and
// also accepts an exponent ("2.5e-3", "1E2"), as JSON numbers may be written. The
// value must still be a whole number of 10^-decimals: "5e-7" with 6 decimals is
// refused, never rounded.
func ParseDecimal(s string, decimals int) (int64, error) {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return ParseFixed(s, decimals)
	}
	mant, expText := s[:i], s[i+1:]
	exp, err := strconv.Atoi(expText)
	if err != nil && !isSignedDigits(expText) {
		return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, s)
	}
	if err != nil || exp < -maxExponent || exp > maxExponent {
		return 0, fmt.Errorf("%w: %q: exponent out of range", ErrUnit, s)
	}
	neg := false
	if mant != "" && (mant[0] == '-' || mant[0] == '+') {
		neg = mant[0] == '-'
		mant = mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !isDigits(intPart) || !isDigits(frac) {
		return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, s)
	}
	// The value × 10^decimals is digits × 10^shift.
	digits := strings.TrimLeft(intPart+frac, "0")
	shift := exp - len(frac) + decimals
	if digits == "" {
		return 0, nil
	}
	if shift < 0 {
		keep := len(digits) + shift
		if keep <= 0 || strings.Trim(digits[keep:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrUnit, s, decimals)
		}
		digits = digits[:keep]
	} else {
		if len(digits)+shift > 19 {
			return 0, fmt.Errorf("%w: %q is too large", ErrUnit, s)
		}
		digits += strings.Repeat("0", shift)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is too large", ErrUnit, s)
	}
	if neg {
		n = -n
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isSignedDigits reports whether s is an optionally signed, non-empty run of digits.
func isSignedDigits(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return s != "" && isDigits(s)
}
