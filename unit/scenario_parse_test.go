package unit

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

// Tests of the parsers the scenario package reads its numbers with.

func TestParseDecimalExact(t *testing.T) {
	for _, tc := range []struct {
		s        string
		decimals int
		want     int64
		err      string // part of the message, "" when the parse succeeds
	}{
		{"0.0022", 6, 2200, ""},
		{"0.048", 6, 48_000, ""},
		{"20", 6, 20_000_000, ""},
		{"-0.5", 6, -500_000, ""},
		{"2.2e-3", 6, 2200, ""},
		{"2.2E-3", 6, 2200, ""},
		{"22e-4", 6, 2200, ""},
		{"0.00022e1", 6, 2200, ""},
		{"1e+2", 6, 100_000_000, ""},
		{"1e0", 0, 1, ""},
		{"1.5e1", 0, 15, ""},
		{"1000e-3", 0, 1, ""},
		{"0e999", 6, 0, ""},
		{"0.000e-99999", 6, 0, ""},
		{"-1e3", 0, -1000, ""},
		{"9.223372036854775807e18", 0, 9_223_372_036_854_775_807, ""},
		{"9223372036854.775807", 6, 9_223_372_036_854_775_807, ""},
		{"5e-7", 6, 0, "more than 6 decimal places"},
		{"1.0000001", 6, 0, "more than 6 decimal places"},
		{"1e-99999", 6, 0, "more than 6 decimal places"},
		{"1.5", 0, 0, "more than 0 decimal places"},
		{"1e13", 6, 0, "too large"},
		{"9.223372036854775808e18", 0, 0, "too large"},
		{"1e300", 6, 0, "too large"},
		{"1e999999999", 6, 0, "exponent out of range"},
		{"1e99999999999999999999", 6, 0, "exponent out of range"},
		{"1e", 6, 0, "not a number"},
		{"e5", 6, 0, "not a number"},
		{".e5", 6, 0, "not a number"},
		{"1e5.5", 6, 0, "not a number"},
		{"1x", 6, 0, "not a number"},
		{"", 6, 0, "empty"},
	} {
		t.Run(tc.s, func(t *testing.T) {
			n, err := ParseDecimal(tc.s, tc.decimals)
			if tc.err == "" {
				if err != nil || n != tc.want {
					t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d", tc.s, tc.decimals, n, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUnit) {
				t.Errorf("ParseDecimal(%q, %d) = %d, %v; want an error with %q", tc.s, tc.decimals, n, err, tc.err)
			}
		})
	}
}

// FuzzParseDecimal checks ParseDecimal against exact rational arithmetic, and
// against ParseFixed where there is no exponent.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0.0022", "2.2e-3", "1e+2", "-4.9", "5e-7", "1e300", "0e99", "9.223372036854775807e18"} {
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, s string, dec uint8) {
		decimals := int(dec % 10)
		n, err := ParseDecimal(s, decimals)
		if !strings.ContainsAny(s, "eE") {
			m, err2 := ParseFixed(s, decimals)
			if n != m || (err == nil) != (err2 == nil) {
				t.Fatalf("ParseDecimal(%q) = %d, %v; ParseFixed = %d, %v", s, n, err, m, err2)
			}
		}
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(strings.TrimPrefix(s, "+"))
		if !ok {
			t.Fatalf("ParseDecimal(%q) = %d, but it is not a number", s, n)
		}
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
		if want := new(big.Rat).Mul(r, scale); want.Cmp(new(big.Rat).SetInt64(n)) != 0 {
			t.Fatalf("ParseDecimal(%q, %d) = %d, want %s", s, decimals, n, want.RatString())
		}
	})
}

func TestParseFixedForScenario(t *testing.T) {
	for _, tc := range []struct {
		s        string
		decimals int
		want     int64
		ok       bool
	}{
		{"0.0022", 6, 2200, true},
		{"50", 4, 500_000, true},
		{"62.5", 4, 625_000, true},
		{"12345.678", 3, 12_345_678, true},
		{"1.", 3, 1000, true},
		{".5", 1, 5, true},
		{"1.50000", 1, 15, true},
		{"-2", 0, -2, true},
		{"0.00001", 4, 0, false},
		{"1e3", 3, 0, false},
		{".", 3, 0, false},
		{"1.2.3", 3, 0, false},
		{"99999999999999999999", 0, 0, false},
	} {
		n, err := ParseFixed(tc.s, tc.decimals)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("ParseFixed(%q, %d) = %d, %v; want %d, ok %v", tc.s, tc.decimals, n, err, tc.want, tc.ok)
		}
	}
}

func TestParseUTCOffsetForScenario(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want Duration
		ok   bool
	}{
		{"+00:00", 0, true},
		{"+03:30", 3*Hour + 30*Minute, true},
		{"-05:00", -5 * Hour, true},
		{"+14:00", 14 * Hour, true},
		{"-14:00", -14 * Hour, true},
		{"+05:45", 5*Hour + 45*Minute, true},
		{"+14:01", 0, false},
		{"+15:00", 0, false},
		{"+3:30", 0, false},
		{"03:30", 0, false},
		{"+03:60", 0, false},
		{"+03-30", 0, false},
		{"+-1:00", 0, false},
		{"--1:00", 0, false},
		{"++1:00", 0, false},
		{"+01:-5", 0, false},
		{"+01:+5", 0, false},
		{"Z", 0, false},
		{"", 0, false},
	} {
		d, err := ParseUTCOffset(tc.s)
		if (err == nil) != tc.ok || d != tc.want {
			t.Errorf("ParseUTCOffset(%q) = %v, %v; want %v, ok %v", tc.s, d, err, tc.want, tc.ok)
		}
		if tc.ok && FormatUTCOffset(d) != tc.s {
			t.Errorf("FormatUTCOffset(%v) = %q, want %q", d, FormatUTCOffset(d), tc.s)
		}
	}
}
