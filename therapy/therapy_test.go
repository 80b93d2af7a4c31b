package therapy

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Every expected value below is worked out by hand in the comment beside it,
// from the formula of spec/drugs.md or spec/pump.md, not by the code under test.

var t0 = mustTime("2026-01-05T08:00:00Z")

func mustTime(s string) unit.Time {
	t, err := unit.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

func vol(s string) unit.Volume {
	v, err := unit.ParseVolume(s)
	if err != nil {
		panic(err)
	}
	return v
}

func rate(s string) unit.Rate {
	r, err := unit.ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

func dose(s string) unit.DoseRate {
	d, _, err := unit.ParseDoseRate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func conc(s string) unit.Concentration {
	c, _, err := unit.ParseConcentration(s)
	if err != nil {
		panic(err)
	}
	return c
}

func mass(s string) unit.Mass {
	m, _, err := unit.ParseMass(s)
	if err != nil {
		panic(err)
	}
	return m
}

func dur(s string) unit.Duration {
	d, err := unit.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantInputErr checks err refuses the named input with a reason containing text.
func wantInputErr(t *testing.T, err error, input, text string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInput) || ie.Input != input || !strings.Contains(ie.Reason, text) {
		t.Errorf("error = %v, want input %q refused with %q", err, input, text)
	}
}

func TestDosing(t *testing.T) {
	// 0.5 mL/day × 10 mg/mL = 5 mg/day; one stroke, 0.0005 mL × 10 mg/mL = 0.005 mg.
	d, err := DosingForRate(rate("0.5 mL/day"), conc("10 mg/mL"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "dose", d.Dose, dose("5 mg/day"))
	eq(t, "per hour", d.Dose.FormatPerHour(unit.Milligram), "≈0.2083 mg/h") // 5/24 = 0.208333…
	eq(t, "stroke dose", d.StrokeDose, mass("5 mcg"))

	for _, c := range []struct{ dose, conc, rate string }{
		{"400 mcg/day", "500 mcg/mL", "0.8 mL/day"},    // 400/500
		{"2.4 mcg/day", "25 mcg/mL", "0.096 mL/day"},   // 2.4/25: twice the minimum rate
		{"19.2 mcg/day", "100 mcg/mL", "0.192 mL/day"}, // 19.2/100
		{"0.1 mcg/h", "25 mcg/mL", "0.096 mL/day"},     // 0.1 × 24 = 2.4 mcg/day
		{"20 mg/day", "25 mg/mL", "0.8 mL/day"},        // 20/25
	} {
		d, err := DosingForDose(dose(c.dose), conc(c.conc))
		if err != nil {
			t.Fatal(err)
		}
		eq(t, c.dose+" at "+c.conc, d.Rate, rate(c.rate))
		eq(t, c.dose+" back", d.Dose, dose(c.dose))
	}

	_, err = DosingForDose(dose("1 mcg/day"), conc("100 mcg/mL")) // 0.01 mL/day < 0.048
	wantInputErr(t, err, "dose", "outside what the pump delivers")
	_, err = DosingForRate(rate("2 mL/h"), conc("10 mg/mL"))
	wantInputErr(t, err, "rate", "outside what the pump delivers: 0.048 mL/day to 1 mL/h")
	_, err = DosingForRate(rate("0.5 mL/day"), 0)
	wantInputErr(t, err, "concentration", "more than 0")
}

// TestDoseToRateExactToTheStroke: the rate chosen for a dose delivers, over any
// refill interval up to 1000 days, the exact volume the dose needs to within one
// stroke.
func TestDoseToRateExactToTheStroke(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := unit.Concentration(rapid.Int64Range(1, 100_000_000).Draw(t, "ng/mL")) // up to 100 mg/mL
		r0 := unit.Rate(rapid.Int64Range(int64(pump.MinRate), int64(pump.MaxRate)).Draw(t, "nL/day"))
		d := c.Dose(r0) + unit.DoseRate(rapid.Int64Range(0, int64(c)-1).Draw(t, "off")) // any dose in range
		got, err := DosingForDose(d, c)
		if err != nil {
			return // the rounded rate fell just outside the pump's range
		}
		days := rapid.Int64Range(1, 1000).Draw(t, "days")
		delivered := got.Rate.Over(unit.Duration(days) * unit.Day)
		// The exact volume: d × days ÷ c (fg ÷ ng/mL = nL).
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(int64(d)), big.NewInt(days)), big.NewInt(int64(c)))
		off := new(big.Rat).Sub(new(big.Rat).SetInt64(int64(delivered)), exact)
		if off.Abs(off).Cmp(new(big.Rat).SetInt64(int64(pump.StrokeVolume))) > 0 {
			t.Fatalf("%v at %v: rate %v delivers %v in %d days, exact %s nL", d, c, got.Rate, delivered, days, exact.FloatString(3))
		}
	})
}

func TestPriming(t *testing.T) {
	// 50 cm × 0.0022 mL/cm = 0.11 mL; + 0.25 mL tubing = 0.36 mL = 720 strokes of
	// 0.5 µL; at 1 mL/h, 0.36 h = 21 min 36 s.
	p, err := Priming(Catheter{Length: 50 * unit.Centimetre, PerCm: pump.DefaultCatheterPerCm})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "catheter", p.Catheter, vol("0.11 mL"))
	eq(t, "total", p.Volume, vol("0.36 mL"))
	eq(t, "strokes", p.Strokes, int64(720))
	eq(t, "duration", p.Duration, dur("21m36s"))

	// 33.3 cm × 0.0022 = 0.07326 mL; + 0.25 = 0.32326 mL = 646.52 strokes: 647.
	p, _ = Priming(Catheter{Length: 333 * unit.Millimetre, PerCm: pump.DefaultCatheterPerCm})
	eq(t, "odd total", p.Volume, vol("0.32326 mL"))
	eq(t, "odd strokes", p.Strokes, int64(647))

	// The largest catheter: 200 cm × 0.01 mL/cm + 0.25 = 2.25 mL, the bound.
	p, err = Priming(Catheter{Length: 200 * unit.Centimetre, PerCm: vol("0.01 mL")})
	if err != nil || p.Volume != vol("2.25 mL") || p.Volume != pump.MaxPrimingVolume {
		t.Errorf("largest priming = %v, %v", p.Volume, err)
	}
	_, err = Priming(Catheter{Length: 500 * unit.Centimetre, PerCm: pump.DefaultCatheterPerCm}) // 50 cm typed as mm×10
	wantInputErr(t, err, "catheter-length", "outside more than 0 to 200 cm")
	_, err = Priming(Catheter{Length: 0, PerCm: pump.DefaultCatheterPerCm})
	wantInputErr(t, err, "catheter-length", "outside")
	_, err = Priming(Catheter{Length: 50 * unit.Centimetre, PerCm: vol("0.022 mL")}) // ×10
	wantInputErr(t, err, "catheter-per-cm", "outside more than 0 to 0.01 mL per cm")
}

func TestBridge(t *testing.T) {
	// 0.36 mL (as above) at the old 0.5 mL/day: 0.72 day = 17 h 16 min 48 s; the
	// old drug at 10 mg/mL in it: 3.6 mg.
	b, err := BridgeFor(rate("0.5 mL/day"), Catheter{Length: 50 * unit.Centimetre, PerCm: pump.DefaultCatheterPerCm}, t0, conc("10 mg/mL"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "volume", b.Volume, vol("0.36 mL"))
	eq(t, "strokes", b.Strokes, int64(720))
	eq(t, "duration", b.Duration, dur("17h16m48s"))
	eq(t, "new drug at the tip", b.NewDrugAtTip, mustTime("2026-01-06T01:16:48Z"))
	eq(t, "old drug", b.OldDrug, mass("3.6 mg"))

	// At the minimum 0.048 mL/day: 0.36/0.048 = 7.5 days.
	b, _ = BridgeFor(pump.MinRate, Catheter{Length: 50 * unit.Centimetre, PerCm: pump.DefaultCatheterPerCm}, t0, 0)
	eq(t, "slow bridge", b.Duration, dur("7d12h"))
	eq(t, "no old concentration", b.OldDrug, unit.Mass(0))

	_, err = BridgeFor(0, Catheter{Length: 50 * unit.Centimetre, PerCm: pump.DefaultCatheterPerCm}, t0, 0)
	wantInputErr(t, err, "old-rate", "outside what the pump delivers")
}

func TestCheckRefill(t *testing.T) {
	base := RefillInput{Model: pump.TP20, LastFill: vol("20 mL"), Rate: rate("0.5 mL/day"), Since: dur("30d"), Withdrawn: vol("4.1 mL")}
	// 0.5 mL/day × 30 days = 15 mL programmed; 20 − 15 = 5 mL expected;
	// 4.1 − 5 = −0.9 mL, inside ±1.0 mL.
	c, err := CheckRefill(base)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "programmed", c.Programmed, vol("15 mL"))
	eq(t, "expected", c.Expected, vol("5 mL"))
	eq(t, "discrepancy", c.Discrepancy, vol("-0.9 mL"))
	eq(t, "limit", c.Limit, vol("1 mL"))
	eq(t, "flag", c.Flag, WithinLimit)

	for _, x := range []struct {
		model     pump.Model
		lastFill  string
		rate      string
		withdrawn string
		boluses   string
		want      Discrepancy
		disc      string
	}{
		{pump.TP20, "20 mL", "0.5 mL/day", "4 mL", "0 mL", WithinLimit, "-1 mL"},          // exactly −1.0: not beyond
		{pump.TP20, "20 mL", "0.5 mL/day", "3.9 mL", "0 mL", LessThanExpected, "-1.1 mL"}, // pocket fill?
		{pump.TP20, "20 mL", "0.5 mL/day", "6.1 mL", "0 mL", MoreThanExpected, "1.1 mL"},  // occlusion?
		{pump.TP20, "20 mL", "0.5 mL/day", "4.1 mL", "0.6 mL", WithinLimit, "-0.3 mL"},    // 20 − 15 − 0.6 = 4.4
		{pump.TP40, "40 mL", "1 mL/day", "8.1 mL", "0 mL", WithinLimit, "-1.9 mL"},        // 40 − 30 = 10
		{pump.TP40, "40 mL", "1 mL/day", "7.9 mL", "0 mL", LessThanExpected, "-2.1 mL"},
		{pump.TP40, "40 mL", "1 mL/day", "12.1 mL", "0 mL", MoreThanExpected, "2.1 mL"},
	} {
		in := RefillInput{Model: x.model, LastFill: vol(x.lastFill), Rate: rate(x.rate), Since: dur("30d"), Withdrawn: vol(x.withdrawn), Boluses: vol(x.boluses)}
		c, err := CheckRefill(in)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, x.model.String()+" withdrawn "+x.withdrawn+" discrepancy", c.Discrepancy, vol(x.disc))
		eq(t, x.model.String()+" withdrawn "+x.withdrawn+" flag", c.Flag, x.want)
	}

	// 45 days at 0.5 mL/day is 22.5 mL: the pump stopped at 0.5 mL, after
	// (20 − 0.5) ÷ 0.5 = 39 days.
	in := base
	in.Since, in.Withdrawn = dur("45d"), vol("0.5 mL")
	c, _ = CheckRefill(in)
	eq(t, "ran empty", c.RanEmpty, true)
	eq(t, "empty expected", c.Expected, pump.EmptyVolume)
	eq(t, "empty after", c.EmptyAfter, dur("39d"))
	eq(t, "empty flag", c.Flag, WithinLimit)

	in = base
	in.Withdrawn = vol("20.5 mL")
	_, err = CheckRefill(in)
	wantInputErr(t, err, "withdrawn", "outside 0 to 20 mL")
	in = base
	in.LastFill, in.Withdrawn = vol("10 mL"), vol("11 mL")
	_, err = CheckRefill(in)
	wantInputErr(t, err, "withdrawn", "more than the last fill")
	in = base
	in.Rate = rate("0.01 mL/day")
	_, err = CheckRefill(in)
	wantInputErr(t, err, "rate", "outside")
	_, err = ModelFor(vol("30 mL"))
	wantInputErr(t, err, "reservoir", "20 mL (TP-20) or 40 mL (TP-40)")
	if m, err := ModelFor(vol("40 mL")); m != pump.TP40 || err != nil {
		t.Errorf("ModelFor(40 mL) = %v, %v", m, err)
	}
}

func TestNextRefill(t *testing.T) {
	in := RefillDateInput{Model: pump.TP20, Filled: t0, Volume: vol("20 mL"), Rate: rate("0.5 mL/day"),
		Bolus:        &PatientBolus{Volume: vol("0.02 mL"), Lockout: dur("4h"), MaxPer24h: 4},
		LowThreshold: pump.LowReservoirDefault, Margin: DefaultSettings.RefillMargin}
	// Boluses: 24 h ÷ 4 h = 6 allowed by the lockout, 4 by the count: 4 × 0.02 =
	// 0.08 mL/day; with 0.5 basal, 0.58 mL/day. Low at 2 mL: 18 mL ÷ 0.58 mL/day =
	// 31.0344… days = 2,681,379,310.34… ms, first reached at ms 2,681,379,311 =
	// 31d 49m 39.311s. Due 7 days before.
	d, err := NextRefill(in)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "bolus per day", d.BolusPerDay, rate("0.08 mL/day"))
	eq(t, "daily use", d.DailyUse, rate("0.58 mL/day"))
	eq(t, "low at", d.LowAt, t0.Add(31*unit.Day+2_979_311))
	eq(t, "earliest", d.Earliest, d.LowAt)
	eq(t, "due", d.Due, t0.Add(24*unit.Day+2_979_311))
	eq(t, "by stability", d.ByStability, false)
	// Empty at 0.5 mL: 19.5 ÷ 0.58 = 33.6206… days = 2,904,827,586.2 ms → …587.
	eq(t, "empty at", d.EmptyAt, t0.Add(2_904_827_587))

	// The lockout limits: 5 h lockout allows ⌈24/5⌉ = 5 a day, the count 6.
	in2 := in
	in2.Bolus = &PatientBolus{Volume: vol("0.02 mL"), Lockout: dur("5h"), MaxPer24h: 6}
	d, _ = NextRefill(in2)
	eq(t, "lockout-limited boluses", d.BolusPerDay, rate("0.1 mL/day"))

	// max_24h caps the day: 0.55 mL/day; 18 ÷ 0.55 = 32.7272… days.
	in2 = in
	in2.Max24h = vol("0.55 mL")
	d, _ = NextRefill(in2)
	eq(t, "capped use", d.DailyUse, rate("0.55 mL/day"))
	eq(t, "capped low at", d.LowAt, t0.Add(2_827_636_364)) // 18e6 × 86.4e6 ÷ 550,000 = 2,827,636,363.6

	// Baclofen at 0.08 mL/day, no bolus: low after 18 ÷ 0.08 = 225 days, but the
	// library's 180-day stability limit comes first: due at 173 days.
	bac, _ := drug.Default().Lookup("baclofen")
	stab, src, ok := StabilityLimit(bac, false, false)
	if !ok || stab != 180*unit.Day || !strings.Contains(src, "180 days") {
		t.Fatalf("baclofen stability = %v %q %v", stab, src, ok)
	}
	in3 := RefillDateInput{Model: pump.TP20, Filled: t0, Volume: vol("20 mL"), Rate: rate("0.08 mL/day"),
		LowThreshold: pump.LowReservoirDefault, Stability: stab, Margin: DefaultSettings.RefillMargin}
	d, _ = NextRefill(in3)
	eq(t, "low at", d.LowAt, t0.Add(225*unit.Day))
	eq(t, "by stability", d.ByStability, true)
	eq(t, "due", d.Due, t0.Add(173*unit.Day))

	// A fill that lasts less than the margin: 3 mL at 1 mL/day reaches 2 mL in a day.
	in3.Volume, in3.Rate, in3.Stability = vol("3 mL"), rate("1 mL/day"), 0
	d, _ = NextRefill(in3)
	eq(t, "no margin", d.NoMargin, true)

	in2 = in
	in2.Max24h = vol("0.4 mL")
	_, err = NextRefill(in2)
	wantInputErr(t, err, "max-24h", "less than the basal")
	in2 = in
	in2.LowThreshold = vol("6 mL")
	_, err = NextRefill(in2)
	wantInputErr(t, err, "low-threshold", "outside 1 mL to 5 mL")
}

func TestStabilityLimit(t *testing.T) {
	z, _ := drug.Default().Lookup("ziconotide")
	for _, c := range []struct {
		diluted, first bool
		want           unit.Duration
	}{
		{false, false, 84 * unit.Day},
		{true, false, 40 * unit.Day},
		{false, true, 14 * unit.Day},
		{true, true, 14 * unit.Day},
	} {
		got, _, ok := StabilityLimit(z, c.diluted, c.first)
		if !ok || got != c.want {
			t.Errorf("ziconotide diluted=%v first=%v: %v, want %v", c.diluted, c.first, got, c.want)
		}
	}
	m, _ := drug.Default().Lookup("morphine")
	if _, _, ok := StabilityLimit(m, false, false); ok {
		t.Error("morphine has no stability limit in the default library")
	}
}

func TestBatteryWorkedExample(t *testing.T) {
	// spec/pump.md: 0.5 mL/day is 1000 strokes/day: 288 + 100 = 388 µAh/day.
	// ERI threshold = 10,000 reserve + 90 × 288 + 90,000 strokes × 0.1 + 2,160
	// tones × 5 = 10,000 + 25,920 + 9,000 + 10,800 = 55,720 µAh.
	// ERI after (1,000,000 − 55,720) ÷ 388 days = 944,280 × 86,400,000 ÷ 388 ms
	// = 210,272,659,793.8… → ms 210,272,659,794 = 2433d 17h4m19.794s.
	// From ERI, 45,720 µAh at 388 µAh/day + 5 µAh/h is exactly 2,160 hours: EOS
	// follows ERI by 90 days.
	in := BatteryInput{At: t0, Remaining: pump.BatteryCapacity, Rate: rate("0.5 mL/day")}
	d, err := Battery(in, DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "per day", d.PerDay, 388*unit.MicroampHour)
	eq(t, "ERI threshold", d.ERIThreshold, 55_720*unit.MicroampHour)
	eq(t, "ERI", d.ERI, t0.Add(210_272_659_794))
	eq(t, "EOS", d.EOS, d.ERI.Add(90*unit.Day))
	eq(t, "ERI, in words", d.ERI.String(), "2032-09-04T01:04:19.794Z")   // t0 + 2433d 17h4m19.794s
	eq(t, "plan from", d.PlanFrom, mustTime("2032-06-03T01:04:19.794Z")) // EOS 2032-12-03 − 6 months
	eq(t, "plan by", d.PlanBy, mustTime("2032-09-03T01:04:19.794Z"))     // − 3 months
	if diff(d.ERI, d.SteppedERI) > unit.Minute || diff(d.EOS, d.SteppedEOS) > unit.Minute {
		t.Errorf("methods: ERI %v / %v, EOS %v / %v", d.ERI, d.SteppedERI, d.EOS, d.SteppedEOS)
	}

	// Already past the threshold, 50,000 µAh left: ERI now, tones from now.
	// A = 40,000 µAh; per hour 388/24 + 5 = 21.1666… µAh: ⌈1889.76⌉ = 1890 hours
	// hold the crossing, the last starting at hour 1889 after its tone with
	// 40,000 − 1889 × 388/24 − 1890 × 5 = 11.1666… µAh left, used in
	// 11.1666… ÷ 388 days = 2,486,597.9 ms → 2,486,598.
	in.Remaining = 50_000 * unit.MicroampHour
	d, err = Battery(in, DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "already ERI", d.AlreadyERI, true)
	eq(t, "ERI now", d.ERI, t0)
	eq(t, "EOS", d.EOS, t0.Add(1889*unit.Hour+2_486_598))

	_, err = Battery(BatteryInput{At: t0, Remaining: pump.BatteryReserve, Rate: rate("0.5 mL/day")}, DefaultSettings)
	wantInputErr(t, err, "battery", "outside more than the end-of-service reserve")
}

// TestBatteryMethodsAgree: H6. For any program, the closed form and the day
// stepping give ERI and EOS within BatteryTolerance; EOS follows ERI by 90 days
// when no radio is used.
func TestBatteryMethodsAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := BatteryInput{
			At:        t0,
			Remaining: unit.Charge(rapid.Int64Range(int64(pump.BatteryReserve)+1, int64(pump.BatteryCapacity)).Draw(t, "charge")),
			Radio:     unit.Duration(rapid.Int64Range(0, int64(10*unit.Minute)).Draw(t, "radio")),
		}
		if rapid.Bool().Draw(t, "delivering") {
			in.Rate = unit.Rate(rapid.Int64Range(int64(pump.MinRate), int64(pump.MaxRate)).Draw(t, "rate"))
		}
		d, err := Battery(in, DefaultSettings)
		if err != nil {
			t.Fatal(err)
		}
		if !d.AlreadyERI && in.Radio == 0 {
			// By construction EOS is 90 days after ERI, give or take the whole
			// strokes of the pump's own ERI need (under a stroke's charge).
			if off := diff(d.EOS, d.ERI.Add(pump.ERILead)); off > unit.Minute {
				t.Fatalf("EOS %v is %v from ERI + 90 days", d.EOS, off)
			}
		}
		if d.EOS.Before(d.ERI) || d.PlanBy.After(d.EOS) || d.PlanFrom.After(d.PlanBy) {
			t.Fatalf("dates out of order: %+v", d)
		}
	})
}

func TestScreening(t *testing.T) {
	bac, _ := drug.Default().Lookup("baclofen")
	s, st := bac.Screening, bac.ScreeningStart
	// 50, 75, 100 mcg at 50 mcg/mL (50 mcg in 1 mL): 1, 1.5, 2 mL, 24 h apart,
	// each observed 4 to 8 h.
	plan := ScreeningPlan(s, t0)
	if len(plan) != 3 {
		t.Fatalf("plan has %d boluses", len(plan))
	}
	for i, w := range []struct {
		dose, volume string
		at           unit.Time
	}{{"50 mcg", "1 mL", t0}, {"75 mcg", "1.5 mL", t0.Add(unit.Day)}, {"100 mcg", "2 mL", t0.Add(2 * unit.Day)}} {
		eq(t, "dose", plan[i].Dose, mass(w.dose))
		eq(t, "volume", plan[i].Volume, vol(w.volume))
		eq(t, "at", plan[i].At, w.at)
		eq(t, "observe from", plan[i].Observe[0], w.at.Add(4*unit.Hour))
		eq(t, "observe to", plan[i].Observe[1], w.at.Add(8*unit.Hour))
		eq(t, "injected over", plan[i].Injected, unit.Minute)
	}

	no := func(d string) ScreeningResult { return ScreeningResult{Dose: mass(d)} }
	yes := func(d, lasted string) ScreeningResult {
		return ScreeningResult{Dose: mass(d), Responded: true, Lasted: dur(lasted)}
	}
	for _, c := range []struct {
		name      string
		results   []ScreeningResult
		done      bool
		candidate bool
		start     string // starting daily dose, if a candidate
		next      string // next bolus, if not done
	}{
		{"nothing yet", nil, false, false, "", "50 mcg"},
		{"50 works for 6 h: 2 × 50", []ScreeningResult{yes("50 mcg", "6h")}, true, true, "100 mcg/day", ""},
		{"50 works for exactly 8 h: still 2 ×", []ScreeningResult{yes("50 mcg", "8h")}, true, true, "100 mcg/day", ""},
		{"50 none, then 75", []ScreeningResult{no("50 mcg")}, false, false, "", "75 mcg"},
		{"75 works for 10 h: 1 × 75", []ScreeningResult{no("50 mcg"), yes("75 mcg", "10h")}, true, true, "75 mcg/day", ""},
		{"100 works for 4 h: 2 × 100", []ScreeningResult{no("50 mcg"), no("75 mcg"), yes("100 mcg", "4h")}, true, true, "200 mcg/day", ""},
		{"no response to 100: not a candidate", []ScreeningResult{no("50 mcg"), no("75 mcg"), no("100 mcg")}, true, false, "", ""},
	} {
		o, err := EvaluateScreening(s, st, t0, c.results)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		eq(t, c.name+": done", o.Done, c.done)
		eq(t, c.name+": candidate", o.Candidate, c.candidate)
		if c.start != "" {
			eq(t, c.name+": start", o.Start, dose(c.start))
		}
		if c.next != "" {
			if o.Next == nil {
				t.Fatalf("%s: no next bolus", c.name)
			}
			eq(t, c.name+": next", o.Next.Dose, mass(c.next))
		}
	}
	_, err := EvaluateScreening(s, st, t0, []ScreeningResult{no("50 mcg"), no("100 mcg")})
	wantInputErr(t, err, "result", "give the results in order")
	_, err = EvaluateScreening(s, st, t0, []ScreeningResult{yes("50 mcg", "6h"), no("75 mcg")})
	wantInputErr(t, err, "result", "the screening ends there")
}

func TestZiconotideTitrationPlan(t *testing.T) {
	lib := drug.Default()
	z, _ := lib.Lookup("ziconotide")
	rule, missing := RuleFrom(z.Titration[0])
	if len(missing) > 0 {
		t.Fatalf("ziconotide rule misses %v", missing)
	}
	// The label rules: steps ≤ 2.4 mcg/day, 48 h apart (the EU SmPC's
	// recommendation, stricter than its 24 h), at most 3 a week (US label).
	eq(t, "step", rule.MaxStep, dose("2.4 mcg/day"))
	eq(t, "interval", rule.MinInterval, 48*unit.Hour)
	eq(t, "per week", rule.MaxPerWeek, int64(3))

	start := z.Starting.Limit.HardMax.Value // 2.4 mcg/day, the label's largest start
	plan, err := TitrationPlan(start, dose("19.2 mcg/day"), t0, rule)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: 2.4 on day 0; +2.4 on days 2, 4, 6; day 8 would make a 4th
	// increase in the week (2, 4, 6, 8], so day 9; then 11, 13; day 15 would be
	// the 4th in (8, 15], so day 16: 19.2 mcg/day on day 16, within day 21.
	wantDays := []int{0, 2, 4, 6, 9, 11, 13, 16}
	if len(plan) != len(wantDays) {
		t.Fatalf("plan has %d steps, want %d: %+v", len(plan), len(wantDays), plan)
	}
	for i, s := range plan {
		eq(t, "day", s.At, t0.Add(unit.Duration(wantDays[i])*unit.Day))
		eq(t, "dose", s.Dose, unit.DoseRate(i+1)*dose("2.4 mcg/day"))
	}
	last := plan[len(plan)-1]
	eq(t, "target", last.Dose.FormatPerHour(unit.Microgram), "0.8 mcg/h")
	if last.At.Sub(t0) > 21*unit.Day {
		t.Errorf("19.2 mcg/day reached on %v, after day 21", last.At)
	}

	// The label's rules hold for every step and every week, and the library's
	// own check finds no titration breach and nothing refused along the plan.
	var history []drug.Prescribed
	for i, s := range plan {
		if i > 0 {
			if s.Step > dose("2.4 mcg/day") || s.At.Sub(plan[i-1].At) < 24*unit.Hour {
				t.Errorf("step %d: +%v after %v", i, s.Step, s.At.Sub(plan[i-1].At))
			}
			n := 0
			for _, p := range plan[1 : i+1] {
				if p.At.After(s.At.Add(-7 * unit.Day)) {
					n++
				}
			}
			if n > 3 {
				t.Errorf("step %d: %d increases in the 7 days to %v", i, n, s.At)
			}
		}
		fs, err := drug.Check(lib, drug.Proposal{Drug: "ziconotide", Concentration: conc("100 mcg/mL"), Dose: s.Dose, At: s.At}, history)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Severity == drug.Refused || strings.HasPrefix(string(f.Kind), "titration") {
				t.Errorf("step %d (%v on %v): %v", i, s.Dose, s.At, f)
			}
		}
		history = append(history, drug.Prescribed{At: s.At, Drug: "ziconotide", Dose: s.Dose})
	}

	// With only the hard 24 h interval: days 0, 1, 2, 3, then 8, 9, 10, 15.
	rule.MinInterval = 24 * unit.Hour
	plan, _ = TitrationPlan(start, dose("19.2 mcg/day"), t0, rule)
	var days []int
	for _, s := range plan {
		days = append(days, int(s.At.Sub(t0)/unit.Day))
	}
	eq(t, "24 h plan days", fmt.Sprint(days), "[0 1 2 3 8 9 10 15]")
}

func TestPercentTitrationPlan(t *testing.T) {
	bac, _ := drug.Default().Lookup("baclofen")
	// The library has no most-increases-per-week for baclofen: no plan without one.
	r, missing := RuleFrom(bac.Titration[0])
	eq(t, "baclofen missing", fmt.Sprint(missing), "[per-week]")
	_, err := TitrationPlan(dose("200 mcg/day"), dose("300 mcg/day"), t0, r)
	wantInputErr(t, err, "per-week", "must be at least 1")

	// 200 → 300 mcg/day by at most 15% a day: 200 + 30 = 230; 230 + 34.5 =
	// 264.5; 264.5 × 15% = 39.675 would pass 300, so the last step is 35.5.
	rule := TitrationRule{MaxStepPercent: 15 * unit.OnePercent, MinInterval: unit.Day, MaxPerWeek: 7}
	plan, err := TitrationPlan(dose("200 mcg/day"), dose("300 mcg/day"), t0, rule)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"200 mcg/day", "230 mcg/day", "264.5 mcg/day", "300 mcg/day"}
	if len(plan) != len(want) {
		t.Fatalf("plan %+v", plan)
	}
	for i, w := range want {
		eq(t, "dose", plan[i].Dose, dose(w))
		eq(t, "day", plan[i].At, t0.Add(unit.Duration(i)*unit.Day))
	}
	eq(t, "last step", plan[3].Step, dose("35.5 mcg/day"))

	_, err = TitrationPlan(dose("300 mcg/day"), dose("200 mcg/day"), t0, rule)
	wantInputErr(t, err, "target", "below the start")
}

func TestOpioidConversion(t *testing.T) {
	m, _ := drug.Default().Lookup("morphine")
	// 60 mg/day oral ÷ 300 = 0.2 mg/day; the published range ÷ 300 … ÷ 10 =
	// 0.2 to 6 mg/day.
	s, err := ConvertToIntrathecal(dose("60 mg/day"), m.OralConversion)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "typical", s.Typical, dose("0.2 mg/day"))
	eq(t, "low", s.Low, dose("0.2 mg/day"))
	eq(t, "high", s.High, dose("6 mg/day"))
	// 100 mg/day ÷ 300 = 0.3333… mg/day, to the femtogram: 333,333,333,333 fg.
	s, _ = ConvertToIntrathecal(dose("100 mg/day"), m.OralConversion)
	eq(t, "typical, rounded", s.Typical, unit.DoseRate(333_333_333_333))
	eq(t, "high", s.High, dose("10 mg/day"))
	_, err = ConvertToIntrathecal(0, m.OralConversion)
	wantInputErr(t, err, "oral", "more than 0")
}

func TestTrial(t *testing.T) {
	th := DefaultSettings.TrialSuccess
	for _, c := range []struct {
		baseline, trial Score
		f               Functional
		reduction       unit.Percent
		meets, success  bool
	}{
		{800, 400, FunctionalImproved, 5000, true, true},     // 8 → 4: 50%, exactly the threshold
		{700, 350, FunctionalImproved, 5000, true, true},     // 7 → 3.5: 50%
		{800, 450, FunctionalImproved, 4375, false, false},   // 8 → 4.5: 43.75%
		{800, 200, FunctionalNotRecorded, 7500, true, false}, // 75%, but no functional record
		{800, 200, FunctionalNotImproved, 7500, true, false},
		{300, 200, FunctionalImproved, 3333, false, false},  // 33.33…%, rounded down
		{500, 600, FunctionalImproved, -2000, false, false}, // worse
	} {
		r, err := EvaluateTrial(c.baseline, c.trial, 1000, th, c.f)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "reduction", r.Reduction, c.reduction)
		eq(t, "meets", r.MeetsPain, c.meets)
		eq(t, "success", r.Success, c.success)
	}
	_, err := EvaluateTrial(0, 0, 1000, th, FunctionalImproved)
	wantInputErr(t, err, "baseline", "more than 0")
	_, err = EvaluateTrial(800, 1100, 1000, th, FunctionalImproved)
	wantInputErr(t, err, "trial", "from 0 to the scale's top")
}
