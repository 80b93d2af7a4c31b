package unit

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// roundTrip checks parse(print(x)) == x for one quantity over all its int64 values.
func roundTrip[T ~int64](t *testing.T, gen *rapid.Generator[T], print func(T) string, parse func(string) (T, error)) {
	t.Helper()
	rapid.Check(t, func(t *rapid.T) {
		x := gen.Draw(t, "x")
		s := print(x)
		got, err := parse(s)
		if err != nil {
			t.Fatalf("parse(%q): %v", s, err)
		}
		if got != x {
			t.Fatalf("parse(%q) = %d, want %d", s, got, x)
		}
	})
}

func anyInt64[T ~int64]() *rapid.Generator[T] {
	return rapid.Custom(func(t *rapid.T) T {
		// Half the draws near zero, where doses live; half over the whole range.
		if rapid.Bool().Draw(t, "small") {
			return T(rapid.Int64Range(-1e13, 1e13).Draw(t, "n"))
		}
		return T(rapid.Int64().Draw(t, "n"))
	})
}

func dropUnit[T any](f func(string) (T, MassUnit, error)) func(string) (T, error) {
	return func(s string) (T, error) {
		v, _, err := f(s)
		return v, err
	}
}

func TestRoundTripVolume(t *testing.T) {
	roundTrip(t, anyInt64[Volume](), Volume.String, ParseVolume)
}

func TestRoundTripRate(t *testing.T) {
	roundTrip(t, anyInt64[Rate](), Rate.String, ParseRate)
}

func TestRoundTripRatePerHour(t *testing.T) {
	// r/24 nL/h is a terminating decimal of mL/h exactly when 3 divides r.
	gen := rapid.Custom(func(t *rapid.T) Rate {
		return Rate(3 * rapid.Int64Range(-1e15, 1e15).Draw(t, "k"))
	})
	roundTrip(t, gen, func(r Rate) string {
		s := r.PerHour()
		if strings.HasPrefix(s, "≈") {
			panic("inexact: " + s)
		}
		return s
	}, ParseRate)
}

func TestRoundTripMass(t *testing.T) {
	roundTrip(t, anyInt64[Mass](), Mass.String, dropUnit(ParseMass))
	for _, u := range []MassUnit{Milligram, Microgram} {
		roundTrip(t, anyInt64[Mass](), func(m Mass) string { return m.Format(u) }, dropUnit(ParseMass))
	}
}

func TestRoundTripConcentration(t *testing.T) {
	roundTrip(t, anyInt64[Concentration](), Concentration.String, dropUnit(ParseConcentration))
	for _, u := range []MassUnit{Milligram, Microgram} {
		roundTrip(t, anyInt64[Concentration](), func(c Concentration) string { return c.Format(u) }, dropUnit(ParseConcentration))
	}
}

func TestRoundTripDoseRate(t *testing.T) {
	roundTrip(t, anyInt64[DoseRate](), DoseRate.String, dropUnit(ParseDoseRate))
	for _, u := range []MassUnit{Milligram, Microgram} {
		roundTrip(t, anyInt64[DoseRate](), func(d DoseRate) string { return d.Format(u) }, dropUnit(ParseDoseRate))
		// Per hour: exact whenever 24 divides the dose in femtograms.
		gen := rapid.Custom(func(t *rapid.T) DoseRate { return DoseRate(24 * rapid.Int64Range(-1e16, 1e16).Draw(t, "k")) })
		roundTrip(t, gen, func(d DoseRate) string { return d.FormatPerHour(u) }, dropUnit(ParseDoseRate))
	}
}

func TestRoundTripDuration(t *testing.T) {
	gen := rapid.Custom(func(t *rapid.T) Duration { return Duration(rapid.Int64Range(0, 1_000_000*int64(Day)).Draw(t, "ms")) })
	roundTrip(t, gen, Duration.String, ParseDuration)
}

func TestRoundTripTime(t *testing.T) {
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	gen := rapid.Custom(func(t *rapid.T) Time { return Time(rapid.Int64Range(lo, hi).Draw(t, "ms")) })
	roundTrip(t, gen, Time.String, ParseTime)
}

func TestRoundTripLengthPercentPressure(t *testing.T) {
	roundTrip(t, anyInt64[Length](), Length.String, ParseLength)
	roundTrip(t, anyInt64[Percent](), Percent.String, ParsePercent)
	roundTrip(t, anyInt64[Pressure](), Pressure.String, ParsePressure)
}

func TestRoundTripCharge(t *testing.T) {
	// Charge prints to the nAh; every whole number of nAh reads back exactly.
	gen := rapid.Custom(func(t *rapid.T) Charge {
		return Charge(rapid.Int64Range(-math.MaxInt64/int64(NanoampHour), math.MaxInt64/int64(NanoampHour)).Draw(t, "nAh")) * NanoampHour
	})
	roundTrip(t, gen, Charge.String, ParseCharge)
}

func TestConversionsExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Int64Range(0, 9e6).Draw(t, "n") // 9e6 mg is near the largest Mass
		k := rapid.IntRange(0, 6).Draw(t, "decimals")
		x := FormatFixed(n, k) // any decimal with up to 6 places

		// mg ↔ mcg: x mg is 1000·x mcg, to the femtogram.
		mg, _, err1 := ParseMass(x + " mg")
		mcg, _, err2 := ParseMass(FormatFixed(1000*n, k) + " mcg")
		if err1 != nil || err2 != nil || mg != mcg {
			t.Fatalf("%s mg = %d fg, in mcg %d fg (%v, %v)", x, mg, mcg, err1, err2)
		}

		// per hour ↔ per day: x per hour is 24·x per day, to the nanolitre and femtogram.
		perDay, err1 := ParseRate(x + " mL/day")
		perHour, err2 := ParseRate(x + " mL/h")
		if err1 != nil || err2 != nil || perHour != 24*perDay {
			t.Fatalf("%s mL/h = %d nL/day, want 24 × %d", x, perHour, perDay)
		}
		dDay, _, err1 := ParseDoseRate(x + " mcg/day")
		dHour, _, err2 := ParseDoseRate(x + " mcg/h")
		if err1 != nil || err2 != nil || dHour != 24*dDay {
			t.Fatalf("%s mcg/h = %d fg/day, want 24 × %d", x, dHour, dDay)
		}
	})
}

func TestDurationForInvertsOver(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := Rate(rapid.Int64Range(1, 1e9).Draw(t, "rate"))
		v := Volume(rapid.Int64Range(0, 1e9).Draw(t, "volume"))
		d, ok := r.DurationFor(v)
		if !ok {
			t.Fatalf("DurationFor(%v) at %v refused", v, r)
		}
		if r.Over(d) < v || d > 0 && r.Over(d-1) >= v {
			t.Fatalf("DurationFor(%v) at %v = %v, but Over gives %v then %v", v, r, d, r.Over(d-1), r.Over(d))
		}
	})
}

func TestVolumeForWithinHalfNanolitre(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Concentration(rapid.Int64Range(1, 100*int64(MilligramPerMillilitre)).Draw(t, "c"))
		m := Mass(rapid.Int64Range(0, 1e16).Draw(t, "m"))
		v, ok := c.VolumeFor(m)
		if !ok {
			t.Fatal("refused")
		}
		diff := int64(c.Of(v) - m)
		if 2*diff > int64(c) || -2*diff > int64(c) {
			t.Fatalf("VolumeFor(%v) at %v = %v holds %v", m, c, v, c.Of(v))
		}
	})
}

func TestPrintedAsPeopleWrite(t *testing.T) {
	mustDose := func(s string) DoseRate {
		d, _, err := ParseDoseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct{ got, want string }{
		{mustDose("2.4 mcg/day").FormatPerHour(Microgram), "0.1 mcg/h"},
		{mustDose("19.2 mcg/day").FormatPerHour(Microgram), "0.8 mcg/h"},
		{mustDose("0.1 mcg/h").Format(Microgram), "2.4 mcg/day"},
		{mustDose("400 mcg/day").String(), "400 mcg/day"},
		{mustDose("400 mcg/day").Format(Milligram), "0.4 mg/day"},
		{mustDose("5 mg/day").String(), "5 mg/day"},
		{mustDose("5 mg/day").FormatPerHour(Milligram), "≈0.2083 mg/h"},
		{mustDose("1 mg").String(), "1 mg/day"},
		{(10 * MilligramPerMillilitre).String(), "10 mg/mL"},
		{(25 * MicrogramPerMillilitre).String(), "25 mcg/mL"},
		{(500 * MicrogramPerMillilitre).Format(Milligram), "0.5 mg/mL"},
		{Mass(50 * Nanogram * 1000).String(), "50 mcg"},
		{(MillilitrePerDay / 2).PerHour(), "≈0.02083 mL/h"},
		{(24 * MillilitrePerDay / 10).PerHour(), "0.1 mL/h"},
		{(50 * Centimetre).String(), "50 cm"},
		{(15 * OnePercent).String(), "15%"},
		{(1500 * Millisecond).String(), "1s500ms"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	for _, c := range []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"no unit", func(s string) error { _, err := ParseVolume(s); return err }, "20", "has no unit (allowed: "},
		{"no number", func(s string) error { _, err := ParseVolume(s); return err }, "mL", "has no number"},
		{"unknown unit", func(s string) error { _, err := ParseVolume(s); return err }, "20 gallons", `unknown unit "gallons"`},
		{"unit of a dose rate for a rate", func(s string) error { _, err := ParseRate(s); return err }, "5 mg/day", `"mg/day" is a unit of dose rate, not of rate`},
		{"unit of a volume for a rate", func(s string) error { _, err := ParseRate(s); return err }, "0.5 mL", `"mL" is a unit of volume, not of rate`},
		{"mass for a concentration", func(s string) error { _, _, err := ParseConcentration(s); return err }, "10 mg", `"mg" is a unit of mass, not of concentration`},
		{"finer than a nanolitre", func(s string) error { _, err := ParseVolume(s); return err }, "0.0000001 mL", "finer than the smallest step"},
		{"too large", func(s string) error { _, err := ParseVolume(s); return err }, "99999999999999 mL", "too large"},
		{"too many digits", func(s string) error { _, err := ParseVolume(s); return err }, strings.Repeat("9", 50) + " mL", "too many digits"},
		{"two points", func(s string) error { _, err := ParseVolume(s); return err }, "1.2.3 mL", "not a number"},
		{"sign inside", func(s string) error { _, err := ParseVolume(s); return err }, "1-2 mL", "not a number"},
		{"duration unit", func(s string) error { _, err := ParseDuration(s); return err }, "3w", `unknown unit "w"`},
		{"duration order", func(s string) error { _, err := ParseDuration(s); return err }, "5ms1s", "in the order d, h, m, s, ms"},
		{"percent without %", func(s string) error { _, err := ParsePercent(s); return err }, "15", "has no unit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrUnit) {
				t.Fatalf("parse(%q) = %v, want an ErrUnit containing %q", c.in, err, c.want)
			}
		})
	}
}

func TestPercentOf(t *testing.T) {
	if got := (15 * OnePercent).Of(400); got != 60 {
		t.Errorf("15%% of 400 = %d", got)
	}
	if got := (15 * OnePercent).Of(7); got != 1 { // 1.05, rounded down
		t.Errorf("15%% of 7 = %d", got)
	}
	if p, ok := PercentOf(5, 8); !ok || p != 6250 {
		t.Errorf("5/8 = %v", p)
	}
	if _, ok := PercentOf(5, 0); ok {
		t.Error("PercentOf(5, 0) accepted")
	}
}
