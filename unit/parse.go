package unit

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// FormatFixed prints n / 10^decimals as a decimal, without trailing zeros.
func FormatFixed(n int64, decimals int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	s := strconv.FormatUint(u, 10)
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseFixed reads a decimal number exactly as n × 10^-decimals. It refuses more
// fractional digits than decimals, exponents, and values that overflow.
func ParseFixed(s string, decimals int) (int64, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("%w: empty number", ErrUnit)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, orig)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > decimals {
		return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrUnit, orig, decimals)
	}
	digits := intPart + frac + strings.Repeat("0", decimals-len(frac))
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, orig)
		}
	}
	if digits == "" {
		digits = "0"
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is too large", ErrUnit, orig)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// splitQuantity splits "20 mL" or "20mL" into number and unit.
func splitQuantity(s string) (num, unit string) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '-' || s[i] == '+') {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// parseWith reads a number and one of units, each unit given as how many base
// units it is. The value must be a whole number of base units: it is computed
// exactly (no float, no overflow), so "0.1 mcg/h" or "2000 mcg" is what it says.
func parseWith(s, what string, units map[string]int64) (int64, string, error) {
	num, u := splitQuantity(s)
	if num == "" {
		return 0, "", fmt.Errorf("%w: %s %q has no number", ErrUnit, what, s)
	}
	if u == "" {
		return 0, "", fmt.Errorf("%w: %s %q has no unit (allowed: %s)", ErrUnit, what, s, unitList(units))
	}
	scale, ok := units[u]
	if !ok {
		if other := quantityOfUnit(u); other != "" && other != what {
			return 0, "", fmt.Errorf("%w: %s %q: %q is a unit of %s, not of %s (allowed: %s)", ErrUnit, what, s, u, other, what, unitList(units))
		}
		return 0, "", fmt.Errorf("%w: %s %q: unknown unit %q (allowed: %s)", ErrUnit, what, s, u, unitList(units))
	}
	n, err := scaleExact(num, scale)
	if err != nil {
		return 0, "", fmt.Errorf("%s %q: %w", what, s, err)
	}
	return n, u, nil
}

// maxDigits bounds the digits a quantity may be written with: more than any
// int64 needs, few enough that the exact arithmetic stays small.
const maxDigits = 40

// scaleExact returns the decimal num × scale, refusing a result that is not a
// whole number or does not fit an int64.
func scaleExact(num string, scale int64) (int64, error) {
	digits := num
	neg := false
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	intPart, frac, _ := strings.Cut(digits, ".")
	if intPart == "" && frac == "" || strings.ContainsAny(frac, ".+-") || strings.ContainsAny(intPart, "+-") {
		return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, num)
	}
	all := strings.TrimLeft(intPart+strings.TrimRight(frac, "0"), "0")
	if len(all) > maxDigits {
		return 0, fmt.Errorf("%w: %q has too many digits", ErrUnit, num)
	}
	frac = strings.TrimRight(frac, "0")
	v, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return 0, fmt.Errorf("%w: %q is not a number", ErrUnit, num)
	}
	v.Mul(v, big.NewInt(scale))
	q, r := v.QuoRem(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil), new(big.Int))
	if r.Sign() != 0 {
		return 0, fmt.Errorf("%w: %q is finer than the smallest step", ErrUnit, num)
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("%w: %q is too large", ErrUnit, num)
	}
	return q.Int64(), nil
}

func unitList(units map[string]int64) string {
	var names []string
	for k := range units {
		names = append(names, k)
	}
	// small maps: insertion sort for a stable message
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return strings.Join(names, ", ")
}

var volumeUnits = map[string]int64{"mL": 1_000_000, "ml": 1_000_000, "µL": 1000, "uL": 1000, "ul": 1000, "nL": 1}

// ParseVolume reads a volume such as "20 mL", "0.5 µL" or "500 nL".
func ParseVolume(s string) (Volume, error) {
	n, _, err := parseWith(s, "volume", volumeUnits)
	return Volume(n), err
}

var rateUnits = map[string]int64{
	"mL/day": 1_000_000, "ml/day": 1_000_000, "mL/d": 1_000_000,
	"mL/h": 24_000_000, "ml/h": 24_000_000, "mL/hr": 24_000_000,
	"µL/day": 1000, "uL/day": 1000, "µL/h": 24_000, "uL/h": 24_000,
}

// ParseRate reads a volume rate such as "0.5 mL/day" or "0.1 mL/h".
func ParseRate(s string) (Rate, error) {
	n, _, err := parseWith(s, "rate", rateUnits)
	return Rate(n), err
}

var massUnits = map[string]int64{"mg": 1_000_000_000_000, "mcg": 1_000_000_000, "µg": 1_000_000_000, "ug": 1_000_000_000}

// ParseMass reads a mass such as "5 mg" or "400 mcg" and returns the unit it was written in.
func ParseMass(s string) (Mass, MassUnit, error) {
	n, u, err := parseWith(s, "mass", massUnits)
	if err != nil {
		return 0, 0, err
	}
	return Mass(n), massUnitOf(u), nil
}

func massUnitOf(u string) MassUnit {
	if strings.HasPrefix(u, "mg") {
		return Milligram
	}
	return Microgram
}

var concUnits = map[string]int64{"mg/mL": 1_000_000, "mg/ml": 1_000_000, "mcg/mL": 1000, "mcg/ml": 1000, "µg/mL": 1000, "ug/mL": 1000}

// ParseConcentration reads a concentration such as "10 mg/mL" or "25 mcg/mL" and
// returns the mass unit it was written in.
func ParseConcentration(s string) (Concentration, MassUnit, error) {
	n, u, err := parseWith(s, "concentration", concUnits)
	if err != nil {
		return 0, 0, err
	}
	return Concentration(n), massUnitOf(u), nil
}

var doseRateUnits = map[string]int64{
	"mg/day": 1_000_000_000_000, "mcg/day": 1_000_000_000, "µg/day": 1_000_000_000, "ug/day": 1_000_000_000,
	"mg/h": 24_000_000_000_000, "mcg/h": 24_000_000_000, "µg/h": 24_000_000_000, "ug/h": 24_000_000_000,
}

// ParseDoseRate reads a dose rate such as "400 mcg/day" or "0.1 mcg/h". A bare
// mass ("5 mg") is read as per day, as scenario files write dose_per_day.
func ParseDoseRate(s string) (DoseRate, MassUnit, error) {
	if _, u := splitQuantity(s); u != "" && !strings.Contains(u, "/") {
		m, mu, err := ParseMass(s)
		return DoseRate(m), mu, err
	}
	n, u, err := parseWith(s, "dose rate", doseRateUnits)
	if err != nil {
		return 0, 0, err
	}
	return DoseRate(n), massUnitOf(u), nil
}

// ParseDuration reads a duration of whole units d, h, m, s and ms, such as "90d",
// "3d4h", "10m" or "1s500ms", each unit at most once and in that order: the
// format Duration.String prints.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty duration (write e.g. \"90d\", \"3d4h\", \"10m\")", ErrUnit)
	}
	orig := s
	var total Duration
	order := "dhms"
	last := -1
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%w: duration %q: expected whole numbers each followed by d, h, m, s or ms", ErrUnit, orig)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > 1_000_000 {
			return 0, fmt.Errorf("%w: duration %q is too large", ErrUnit, orig)
		}
		pos, width := strings.IndexByte(order, s[i]), 1
		if strings.HasPrefix(s[i:], "ms") {
			pos, width = len(order), 2
		}
		if pos < 0 {
			return 0, fmt.Errorf("%w: duration %q: unknown unit %q (allowed: d, h, m, s, ms)", ErrUnit, orig, s[i:i+1])
		}
		if pos <= last {
			return 0, fmt.Errorf("%w: duration %q: units must appear once each, in the order d, h, m, s, ms", ErrUnit, orig)
		}
		last = pos
		total += Duration(n) * [...]Duration{Day, Hour, Minute, Second, Millisecond}[pos]
		s = s[i+width:]
	}
	return total, nil
}

// ParseTime reads an RFC 3339 time.
func ParseTime(s string) (Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%w: time %q is not RFC 3339 (e.g. 2026-01-05T08:00:00Z)", ErrUnit, s)
	}
	return FromStd(t), nil
}

// ParseUTCOffset reads a UTC offset such as "+03:30" or "-05:00".
func ParseUTCOffset(s string) (Duration, error) {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !isDigits(s[1:3]) || !isDigits(s[4:6]) {
		return 0, fmt.Errorf("%w: UTC offset %q: write ±HH:MM, e.g. \"+03:30\"", ErrUnit, s)
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || h > 14 || m > 59 || (h == 14 && m > 0) {
		return 0, fmt.Errorf("%w: UTC offset %q is outside -14:00..+14:00", ErrUnit, s)
	}
	d := Duration(h)*Hour + Duration(m)*Minute
	if s[0] == '-' {
		d = -d
	}
	return d, nil
}

// FormatUTCOffset prints d as ±HH:MM.
func FormatUTCOffset(d Duration) string {
	sign := '+'
	if d < 0 {
		sign, d = '-', -d
	}
	return fmt.Sprintf("%c%02d:%02d", sign, d/Hour, (d%Hour)/Minute)
}
