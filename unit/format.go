package unit

import (
	"math"
	"math/big"
	"strings"
)

// Printing doses as people write them: "400 mcg/day", "10 mg/mL", "0.1 mcg/h".
// Every String and Format below is exact and reads back with the matching Parse
// function. Per-hour figures are exact when an hour holds a whole number of the
// base unit's steps and are otherwise rounded to four significant digits and
// marked "≈": a day does not always divide by 24 in decimals.

// massDecimals is how many decimals u needs to print a femtogram.
func (u MassUnit) massDecimals() int {
	if u == Milligram {
		return 12
	}
	return 9
}

// autoUnit is the unit a quantity prints in when none is given: mcg below one mg,
// mg from one mg up, as a prescription would be written.
func autoUnit(fg int64) MassUnit {
	if fg > -Milligram.femtograms() && fg < Milligram.femtograms() {
		return Microgram
	}
	return Milligram
}

// Format prints m in u, exactly: "0.4 mg", "400 mcg".
func (m Mass) Format(u MassUnit) string {
	return FormatFixed(int64(m), u.massDecimals()) + " " + u.String()
}

// String prints m in mcg below 1 mg, in mg from 1 mg up.
func (m Mass) String() string { return m.Format(autoUnit(int64(m))) }

// Format prints c in u per mL, exactly: "10 mg/mL", "25 mcg/mL".
func (c Concentration) Format(u MassUnit) string {
	decimals := 3
	if u == Milligram {
		decimals = 6
	}
	return FormatFixed(int64(c), decimals) + " " + u.String() + "/mL"
}

// String prints c in mcg/mL below 1 mg/mL, in mg/mL from 1 mg/mL up.
func (c Concentration) String() string {
	if c > -MilligramPerMillilitre && c < MilligramPerMillilitre {
		return c.Format(Microgram)
	}
	return c.Format(Milligram)
}

// Format prints d in u per day, exactly: "400 mcg/day".
func (d DoseRate) Format(u MassUnit) string {
	return FormatFixed(int64(d), u.massDecimals()) + " " + u.String() + "/day"
}

// FormatPerHour prints d in u per hour: "0.1 mcg/h", or "≈0.2083 mg/h" when a
// day's dose does not divide into exact hours.
func (d DoseRate) FormatPerHour(u MassUnit) string {
	return formatQuotient(int64(d), 24*u.femtograms()) + " " + u.String() + "/h"
}

// String prints d per day in mcg below 1 mg/day, in mg from 1 mg/day up.
func (d DoseRate) String() string { return d.Format(autoUnit(int64(d))) }

// PerHour prints r in mL/h: "0.1 mL/h", or "≈0.02083 mL/h" when inexact.
func (r Rate) PerHour() string {
	return formatQuotient(int64(r), int64(MillilitrePerHour)) + " mL/h"
}

// String prints l in cm, exactly: "50 cm", "0.0001 cm".
func (l Length) String() string { return FormatFixed(int64(l), 4) + " cm" }

// maxExactDecimals bounds the decimals formatQuotient prints exactly.
const maxExactDecimals = 18

// formatQuotient prints num/den as a decimal: exact when it terminates within
// maxExactDecimals, otherwise "≈" and four significant digits.
func formatQuotient(num, den int64) string {
	r := new(big.Rat).SetFrac(big.NewInt(num), big.NewInt(den))
	if decimals, ok := terminating(r.Denom()); ok && decimals <= maxExactDecimals {
		return trimZeros(r.FloatString(decimals))
	}
	f, _ := r.Float64()
	decimals := 3 - int(math.Floor(math.Log10(math.Abs(f))))
	if decimals < 0 {
		decimals = 0
	}
	return "≈" + trimZeros(r.FloatString(decimals))
}

// terminating reports whether 1/den is a terminating decimal, and its length.
func terminating(den *big.Int) (int, bool) {
	d := new(big.Int).Set(den)
	var twos, fives int
	two, five, rem := big.NewInt(2), big.NewInt(5), new(big.Int)
	for {
		q, r := new(big.Int).QuoRem(d, two, rem)
		if r.Sign() != 0 {
			break
		}
		d, twos = q, twos+1
	}
	for {
		q, r := new(big.Int).QuoRem(d, five, rem)
		if r.Sign() != 0 {
			break
		}
		d, fives = q, fives+1
	}
	return max(twos, fives), d.IsInt64() && d.Int64() == 1
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}
