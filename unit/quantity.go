package unit

import (
	"math/big"
	"math/bits"
	"strings"
)

// Percent is a proportion in hundredths of a percent: 1500 is 15%.
type Percent int64

const (
	// Centipercent is the smallest step, 0.01%.
	Centipercent Percent = 1
	// OnePercent is 1%.
	OnePercent Percent = 100
)

func (p Percent) String() string { return FormatFixed(int64(p), 2) + "%" }

// Of returns p of n, rounded down (towards minus infinity for a negative n):
// an allowed step computed this way is never larger than the rule allows. The
// result must fit (OfChecked otherwise).
func (p Percent) Of(n int64) int64 {
	r := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(p)))
	q := new(big.Int)
	q.Div(r, big.NewInt(int64(100*OnePercent)))
	return q.Int64()
}

// PercentOf returns part as a percentage of whole, rounded down to 0.01%, and
// false when whole is not positive.
func PercentOf(part, whole int64) (Percent, bool) {
	if whole <= 0 {
		return 0, false
	}
	r := new(big.Int).Mul(big.NewInt(part), big.NewInt(int64(100*OnePercent)))
	q := new(big.Int)
	q.Div(r, big.NewInt(whole))
	if !q.IsInt64() {
		return 0, false
	}
	return Percent(q.Int64()), true
}

var percentUnits = map[string]int64{"%": int64(OnePercent)}

// ParsePercent reads a percentage such as "15%" or "12.5 %".
func ParsePercent(s string) (Percent, error) {
	n, _, err := parseWith(s, "percentage", percentUnits)
	return Percent(n), err
}

var lengthUnits = map[string]int64{"cm": 10_000, "mm": 1000, "µm": 1, "um": 1, "m": 1_000_000}

// ParseLength reads a length such as "50 cm" or "500 mm".
func ParseLength(s string) (Length, error) {
	n, _, err := parseWith(s, "length", lengthUnits)
	return Length(n), err
}

var chargeUnits = map[string]int64{
	"µAh": int64(MicroampHour), "uAh": int64(MicroampHour),
	"mAh": 1000 * int64(MicroampHour), "nAh": int64(NanoampHour),
}

// ParseCharge reads a battery charge such as "1000000 µAh" or "950 mAh".
func ParseCharge(s string) (Charge, error) {
	n, _, err := parseWith(s, "charge", chargeUnits)
	return Charge(n), err
}

var pressureUnits = map[string]int64{"kPa": 1000, "Pa": 1}

// ParsePressure reads a pressure such as "35 kPa": what Pressure.String prints.
func ParsePressure(s string) (Pressure, error) {
	n, _, err := parseWith(s, "pressure", pressureUnits)
	return Pressure(n), err
}

// quantityOfUnit names the quantity whose unit u is, or "" if none: a volume
// typed where a rate belongs is then refused as such, not as an unknown unit.
func quantityOfUnit(u string) string {
	for _, q := range []struct {
		name  string
		units map[string]int64
	}{
		{"volume", volumeUnits}, {"rate", rateUnits}, {"mass", massUnits},
		{"concentration", concUnits}, {"dose rate", doseRateUnits}, {"length", lengthUnits},
		{"charge", chargeUnits}, {"pressure", pressureUnits}, {"percentage", percentUnits},
	} {
		if _, ok := q.units[u]; ok {
			return q.name
		}
	}
	if strings.ContainsAny(u, "dhms") && strings.Trim(u, "dhms") == "" {
		return "duration"
	}
	return ""
}

// DurationFor returns the shortest time in which r delivers at least v: the
// first millisecond at which r.Over(d) >= v. It returns false when r is not
// positive or the time does not fit a Duration.
func (r Rate) DurationFor(v Volume) (Duration, bool) {
	if r <= 0 || v < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(v), uint64(Day))
	if hi >= uint64(r) {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, uint64(r))
	if rem != 0 {
		q++
	}
	if q > 1<<62 {
		return 0, false
	}
	return Duration(q), true
}

// VolumeFor returns the volume that holds m at concentration c, rounded to the
// nearest nanolitre, and false when c is not positive.
func (c Concentration) VolumeFor(m Mass) (Volume, bool) {
	if c <= 0 {
		return 0, false
	}
	q, r := int64(m)/int64(c), int64(m)%int64(c)
	// Round half away from zero without forming m ± c/2, which may not fit.
	switch half := int64(c) - int64(c)/2; {
	case r >= half:
		q++
	case r <= -half:
		q--
	}
	return Volume(q), true
}

// PerDay is m given over each day, as a dose rate: 50 mcg → 50 mcg/day.
func (m Mass) PerDay() DoseRate { return DoseRate(m) }
