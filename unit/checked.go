package unit

import (
	"math"
	"math/big"
	"math/bits"
	"time"
)

// Checked arithmetic. The plain operations of this package (Concentration.Dose,
// Rate.Over, Time.Add, …) are the pump core's: its own validation bounds every
// operand, and its stroke path must stay a few nanoseconds. Whatever a person
// typed goes through these instead: each returns false, never a wrapped-around
// value, when the result does not fit its type, and the caller refuses the
// inputs by name.

// Add returns a + b, and false when the sum does not fit.
func Add[T ~int64](a, b T) (T, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// Times returns x × n (n a count: boluses a day, a screening dose's
// multiple), and false when the product does not fit.
func Times[T ~int64](x T, n int64) (T, bool) {
	p, ok := mul64(int64(x), n)
	return T(p), ok
}

// mul64 returns a × b, and false when the product does not fit an int64.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return p, true
}

// DoseChecked is Dose, refusing a dose rate that does not fit.
func (c Concentration) DoseChecked(r Rate) (DoseRate, bool) {
	d, ok := mul64(int64(c), int64(r))
	return DoseRate(d), ok
}

// OfChecked is Of, refusing a mass that does not fit.
func (c Concentration) OfChecked(v Volume) (Mass, bool) {
	m, ok := mul64(int64(c), int64(v))
	return Mass(m), ok
}

// RateForChecked is RateFor for a dose rate d ≥ 0 at c > 0, refusing what
// RateFor cannot compute.
func (c Concentration) RateForChecked(d DoseRate) (Rate, bool) {
	if c <= 0 || d < 0 {
		return 0, false
	}
	n, ok := Add(int64(d), int64(c)/2)
	if !ok {
		// d + c/2 passes the largest int64 only when d is within c/2 of it:
		// round from the quotient and remainder instead.
		q, r := int64(d)/int64(c), int64(d)%int64(c)
		if r >= int64(c)-int64(c)/2 {
			q++
		}
		return Rate(q), true
	}
	return Rate(n / int64(c)), true
}

// OverChecked is Over for r ≥ 0 and d ≥ 0, refusing a volume that does not fit.
func (r Rate) OverChecked(d Duration) (Volume, bool) {
	if r < 0 || d < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(r), uint64(d))
	if hi >= uint64(Day) {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, uint64(Day))
	if q > math.MaxInt64 {
		return 0, false
	}
	return Volume(q), true
}

// OverChecked is Over, refusing a charge that does not fit.
func (i Current) OverChecked(d Duration) (Charge, bool) {
	c, ok := mul64(int64(i), int64(d))
	return Charge(c), ok
}

// VolumeForChecked is VolumeFor for l ≥ 0 and perCm ≥ 0, refusing a volume
// that does not fit.
func (l Length) VolumeForChecked(perCm Volume) (Volume, bool) {
	if l < 0 || perCm < 0 {
		return 0, false
	}
	n := new(big.Int).Mul(big.NewInt(int64(l)), big.NewInt(int64(perCm)))
	n.Add(n, big.NewInt(int64(Centimetre)/2))
	n.Quo(n, big.NewInt(int64(Centimetre)))
	return Volume(n.Int64()), n.IsInt64()
}

// OfChecked is Of, refusing a result that does not fit an int64.
func (p Percent) OfChecked(n int64) (int64, bool) {
	r := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(p)))
	r.Div(r, big.NewInt(int64(100*OnePercent)))
	return r.Int64(), r.IsInt64()
}

// AddChecked is Add, refusing a time that does not fit.
func (t Time) AddChecked(d Duration) (Time, bool) { return Add(t, Time(d)) }

// StdChecked is Std, refusing a duration beyond time.Duration's ±292 years.
func (d Duration) StdChecked() (time.Duration, bool) {
	n, ok := mul64(int64(d), int64(time.Millisecond))
	return time.Duration(n), ok
}

// fromFloat rounds x × scale to an int64, refusing NaN, the infinities and
// whatever does not fit.
func fromFloat(x, scale float64) (int64, bool) {
	r := math.Round(x * scale)
	if math.IsNaN(r) || r < math.MinInt64 || r >= math.MaxInt64 {
		return 0, false
	}
	return int64(r), true
}
