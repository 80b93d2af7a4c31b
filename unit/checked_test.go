package unit

import (
	"math"
	"math/big"
	"testing"
)

// TestCheckedArithmetic: each checked operation agrees with the plain one
// where the result fits, and refuses, never wraps, where it does not.
func TestCheckedArithmetic(t *testing.T) {
	const max = math.MaxInt64
	for _, c := range []struct {
		name string
		op   func() (int64, bool)
		want int64 // when wOK
		wOK  bool
	}{
		{"dose 10 mg/mL × 0.5 mL/day", func() (int64, bool) { return i64(Concentration(10_000_000).DoseChecked(500_000)) }, int64(Concentration(10_000_000).Dose(500_000)), true},
		// The case: 400000 mg/mL at 1 mL/h printed a negative dose.
		{"dose 400000 mg/mL × 1 mL/h", func() (int64, bool) {
			return i64(Concentration(400_000 * MilligramPerMillilitre).DoseChecked(MillilitrePerHour))
		}, 0, false},
		{"dose at the edge", func() (int64, bool) { return i64(Concentration(max / 24_000_000).DoseChecked(24_000_000)) }, max / 24_000_000 * 24_000_000, true},
		{"dose past the edge", func() (int64, bool) { return i64(Concentration(max/24_000_000 + 1).DoseChecked(24_000_000)) }, 0, false},
		{"dose negative past the edge", func() (int64, bool) { return i64(Concentration(-max/2 - 2).DoseChecked(2)) }, 0, false},
		{"of a stroke", func() (int64, bool) { return i64(Concentration(25_000).OfChecked(500)) }, 12_500_000, true},
		{"of too much", func() (int64, bool) { return i64(Concentration(max / 2).OfChecked(3)) }, 0, false},
		{"rate for a dose", func() (int64, bool) { return i64(Concentration(25_000).RateForChecked(2_400_000_000)) }, 96_000, true},
		{"rate for the largest dose", func() (int64, bool) { return i64(Concentration(3).RateForChecked(max)) }, max/3 + 0, true},
		{"rate for the largest dose, rounding up", func() (int64, bool) { return i64(Concentration(2).RateForChecked(max)) }, max/2 + 1, true},
		{"rate for a negative dose", func() (int64, bool) { return i64(Concentration(2).RateForChecked(-1)) }, 0, false},
		{"rate at no concentration", func() (int64, bool) { return i64(Concentration(0).RateForChecked(1)) }, 0, false},
		{"over 30 days", func() (int64, bool) { return i64(Rate(500_000).OverChecked(30 * Day)) }, int64(Rate(500_000).Over(30 * Day)), true},
		{"over too long", func() (int64, bool) { return i64(Rate(max).OverChecked(2 * Day)) }, 0, false},
		{"over a negative time", func() (int64, bool) { return i64(Rate(1).OverChecked(-Day)) }, 0, false},
		{"current over a day", func() (int64, bool) { return i64(Current(12_000).OverChecked(Day)) }, int64(Current(12_000).Over(Day)), true},
		{"current over too long", func() (int64, bool) { return i64(Current(5 * Milliamp).OverChecked(Duration(max / 1000))) }, 0, false},
		{"catheter 50 cm", func() (int64, bool) { return i64(Length(50 * Centimetre).VolumeForChecked(2_200)) }, int64(Length(50 * Centimetre).VolumeFor(2_200)), true},
		{"catheter too long", func() (int64, bool) { return i64(Length(max).VolumeForChecked(max)) }, 0, false},
		{"15% of 200 mcg", func() (int64, bool) { return i64(Percent(1500).OfChecked(200_000_000_000)) }, 30_000_000_000, true},
		{"a huge percentage", func() (int64, bool) { return i64(Percent(max).OfChecked(1_000_000)) }, 0, false},
		{"time + a day", func() (int64, bool) { return i64(Time(0).AddChecked(Day)) }, int64(Day), true},
		{"time past the end", func() (int64, bool) { return i64(Time(max - 1).AddChecked(2)) }, 0, false},
		{"time before the start", func() (int64, bool) { return i64(Time(math.MinInt64 + 1).AddChecked(-2)) }, 0, false},
		{"bolus × count", func() (int64, bool) { return i64(Times(Volume(20_000), 6)) }, 120_000, true},
		{"bolus × too many", func() (int64, bool) { return i64(Times(Volume(max/5), 6)) }, 0, false},
		{"sum", func() (int64, bool) { return i64(Add(Rate(max-1), 1)) }, max, true},
		{"sum past the edge", func() (int64, bool) { return i64(Add(Rate(max), 1)) }, 0, false},
		{"duration as time.Duration", func() (int64, bool) { return i64(Duration(Day).StdChecked()) }, int64(Day) * 1e6, true},
		{"duration beyond 292 years", func() (int64, bool) { return i64(Duration(300 * 366 * Day).StdChecked()) }, 0, false},
	} {
		got, ok := c.op()
		if ok != c.wOK || ok && got != c.want {
			t.Errorf("%s: %d %v, want %d %v", c.name, got, ok, c.want, c.wOK)
		}
	}
}

func i64[T ~int64](v T, ok bool) (int64, bool) { return int64(v), ok }

func TestFloatConversionsRefuse(t *testing.T) {
	for _, f := range []func(){
		func() { Millilitres(math.NaN()) },
		func() { Millilitres(1e13) },
		func() { MicroampHours(math.Inf(1)) },
		func() { MassIn(math.MaxInt64/1000, Milligram) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
	if Millilitres(0.3) != 300_000 || MicroampHours(1e6) != 1e6*MicroampHour {
		t.Error("in-range conversions changed")
	}
}

// FuzzCheckedArithmetic: a checked product or sum either fits and equals the
// exact one, or is refused; never a wrapped-around value.
func FuzzCheckedArithmetic(f *testing.F) {
	f.Add(int64(400_000*MilligramPerMillilitre), int64(MillilitrePerHour))
	f.Add(int64(math.MaxInt64), int64(-1))
	f.Add(int64(math.MinInt64), int64(-1))
	f.Add(int64(3), int64(math.MaxInt64/3+1))
	f.Fuzz(func(t *testing.T, a, b int64) {
		exact := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		if got, ok := Concentration(a).DoseChecked(Rate(b)); ok != exact.IsInt64() || ok && int64(got) != exact.Int64() {
			t.Errorf("%d × %d: %d %v, exact %v", a, b, got, ok, exact)
		}
		sum := new(big.Int).Add(big.NewInt(a), big.NewInt(b))
		if got, ok := Add(Time(a), Time(b)); ok != sum.IsInt64() || ok && int64(got) != sum.Int64() {
			t.Errorf("%d + %d: %d %v, exact %v", a, b, got, ok, sum)
		}
		if a >= 0 && b >= 0 {
			over := new(big.Int).Quo(exact, big.NewInt(int64(Day)))
			if got, ok := Rate(a).OverChecked(Duration(b)); ok != over.IsInt64() || ok && int64(got) != over.Int64() {
				t.Errorf("%d over %d: %d %v, exact %v", a, b, got, ok, over)
			}
		}
	})
}
