package therapy

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Battery dates (spec/pump.md, Battery): the pump draws QuiescentCurrent all the
// time, StrokeCharge per stroke, RadioCurrent while a session is open and
// ToneCharge per alarm tone. ERI is raised when the remaining charge falls to the
// end-of-service reserve plus what ERILead (90 days) at the current program needs,
// the ERI alarm's own tones (one every NonCriticalTonePeriod) included; EOS when
// it falls to the reserve. Hazard H6 (a wrong replacement date shown) is
// controlled by computing both dates twice, by a closed form and by stepping
// through the days, and refusing to answer when the two disagree by more than
// BatteryTolerance.

// BatteryTolerance is how far the two methods may differ: the closed form spreads
// strokes evenly over time, the stepped method counts whole strokes, and one
// stroke's charge is drawn in well under a minute at any rate the pump runs.
const BatteryTolerance = unit.Minute

// ErrMethodsDisagree is returned when the two battery methods disagree.
var ErrMethodsDisagree = errors.New("therapy: the two battery computations disagree")

// BatteryInput is the state and program the battery dates depend on.
type BatteryInput struct {
	At        unit.Time
	Remaining unit.Charge   // remaining charge at At
	Rate      unit.Rate     // average volume delivered per day, boluses included
	Radio     unit.Duration // average telemetry time per day
}

// BatteryDates are the battery's ERI and EOS dates and the replacement window.
type BatteryDates struct {
	PerDay       unit.Charge // drawn per day before ERI (rounded up to a nA·ms)
	ERIThreshold unit.Charge // reserve + 90 days' need at the program, ERI tones included
	ERI, EOS     unit.Time   // closed form
	// SteppedERI and SteppedEOS are the same dates by the second method.
	SteppedERI, SteppedEOS unit.Time
	AlreadyERI             bool // the remaining charge is at or under the ERI threshold
	// PlanFrom and PlanBy bound when to plan the replacement: from
	// PlanEarliestMonths before EOS to PlanLatestMonths before it.
	PlanFrom, PlanBy unit.Time
}

// Battery returns the ERI, EOS and replacement planning dates, computed by two
// independent methods that must agree within BatteryTolerance.
func Battery(in BatteryInput, s Settings) (BatteryDates, error) {
	if in.Remaining <= pump.BatteryReserve || in.Remaining > pump.BatteryCapacity {
		return BatteryDates{}, inputErr("battery", "%v is outside more than the end-of-service reserve %v to the capacity %v",
			in.Remaining, pump.BatteryReserve, pump.BatteryCapacity)
	}
	if in.Rate != 0 {
		if err := checkRate("rate", in.Rate); err != nil {
			return BatteryDates{}, err
		}
	}
	if in.Radio < 0 || in.Radio > unit.Day {
		return BatteryDates{}, inputErr("radio", "%v per day is outside 0 to 24h", in.Radio)
	}
	d, ok := batteryClosedForm(in)
	if !ok {
		return BatteryDates{}, tooLarge("at", nil, "%v and the battery's remaining life", in.At)
	}
	d.SteppedERI, d.SteppedEOS = batteryStepped(in)
	if diff(d.ERI, d.SteppedERI) > BatteryTolerance || diff(d.EOS, d.SteppedEOS) > BatteryTolerance {
		return d, fmt.Errorf("%w: ERI %v or %v, EOS %v or %v", ErrMethodsDisagree, d.ERI, d.SteppedERI, d.EOS, d.SteppedEOS)
	}
	d.PlanFrom = unit.FromStd(d.EOS.Std().AddDate(0, -s.PlanEarliestMonths, 0))
	d.PlanBy = unit.FromStd(d.EOS.Std().AddDate(0, -s.PlanLatestMonths, 0))
	return d, nil
}

func diff(a, b unit.Time) unit.Duration {
	if a > b {
		return a.Sub(b)
	}
	return b.Sub(a)
}

func rat(n int64) *big.Rat { return new(big.Rat).SetInt64(n) }

// ceilRat returns ⌈x⌉ for x ≥ 0, and false when it does not fit an int64.
func ceilRat(x *big.Rat) (int64, bool) {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64(), q.IsInt64()
}

// batteryClosedForm treats every drain but the tones as continuous: a constant
// drain per day until ERI, then the same drain plus one tone at the start of
// each hour, solved for the hour and the instant the reserve is reached. It
// returns false when a date does not fit (a time near the end of all times).
func batteryClosedForm(in BatteryInput) (BatteryDates, bool) {
	fits := true
	ceil := func(x *big.Rat) int64 {
		n, ok := ceilRat(x)
		fits = fits && ok
		return n
	}
	add := func(t unit.Time, d unit.Duration) unit.Time {
		u, ok := t.AddChecked(d)
		fits = fits && ok
		return u
	}
	day := int64(unit.Day)
	// Drain per day, exactly: quiescent + strokes (rate ÷ stroke volume ×
	// stroke charge) + radio.
	perDay := rat(int64(pump.QuiescentCurrent) * day)
	pumping := new(big.Rat).Mul(rat(int64(in.Rate)), rat(int64(pump.StrokeCharge)))
	perDay.Add(perDay, pumping.Quo(pumping, rat(int64(pump.StrokeVolume))))
	perDay.Add(perDay, new(big.Rat).Mul(rat(int64(pump.RadioCurrent)), rat(int64(in.Radio))))

	d := BatteryDates{PerDay: unit.Charge(ceil(perDay))}
	// The pump's own need for ERILead: quiescent, whole strokes for the volume,
	// and one non-critical tone per period.
	need90 := pump.QuiescentCurrent.Over(pump.ERILead) +
		unit.Charge(strokes(in.Rate.Over(pump.ERILead)))*pump.StrokeCharge +
		unit.Charge(pump.ERILead/pump.NonCriticalTonePeriod)*pump.ToneCharge
	d.ERIThreshold = pump.BatteryReserve + need90

	// ERI: the first instant the continuous drain takes Remaining to the threshold.
	atERI := in.Remaining
	d.ERI = in.At
	if in.Remaining > d.ERIThreshold {
		t := new(big.Rat).Mul(rat(int64(in.Remaining-d.ERIThreshold)), rat(day))
		d.ERI = add(in.At, unit.Duration(ceil(t.Quo(t, perDay))))
		atERI = d.ERIThreshold
	} else {
		d.AlreadyERI = true
	}

	// EOS: from ERI, tone k sounds at k hours (k = 0, 1, …) and the drain runs on.
	// Hour k is the first whose drain and tones, k+1 of each, use up A = charge
	// at ERI − reserve; the reserve is reached at tone k or inside hour k.
	a := rat(int64(atERI - pump.BatteryReserve))
	tone := rat(int64(pump.ToneCharge))
	perPeriod := new(big.Rat).Mul(perDay, new(big.Rat).SetFrac64(int64(pump.NonCriticalTonePeriod), day))
	k := ceil(new(big.Rat).Quo(a, new(big.Rat).Add(perPeriod, tone))) - 1
	k = max(k, 0)
	used := new(big.Rat).Add(new(big.Rat).Mul(perPeriod, rat(k)), new(big.Rat).Mul(tone, rat(k+1)))
	eos := add(d.ERI, unit.Duration(k)*pump.NonCriticalTonePeriod)
	if rest := new(big.Rat).Sub(a, used); rest.Sign() > 0 {
		rest.Mul(rest, rat(day))
		eos = add(eos, unit.Duration(ceil(rest.Quo(rest, perDay))))
	}
	d.EOS = eos
	return d, fits
}

// batteryStepped walks the battery day by day with whole strokes and whole
// tones, as the pump draws them, then minute by minute and second by second
// inside the day a threshold is crossed. It shares no arithmetic with the closed
// form but the device constants.
func batteryStepped(in BatteryInput) (eri, eos unit.Time) {
	// The ERI threshold, summed day by day over the lead.
	var need unit.Charge
	var vol unit.Volume
	tonesPerDay := unit.Charge(unit.Day / pump.NonCriticalTonePeriod)
	for range pump.ERILead / unit.Day {
		need += pump.QuiescentCurrent.Over(unit.Day) + tonesPerDay*pump.ToneCharge
		vol += in.Rate.Over(unit.Day)
	}
	// Rate.Over rounds each day down; the lead's volume is a whole number of
	// days at a rate in nL/day, so the sum is exact.
	n := int64(vol) / int64(pump.StrokeVolume)
	if unit.Volume(n)*pump.StrokeVolume < vol {
		n++
	}
	threshold := pump.BatteryReserve + need + unit.Charge(n)*pump.StrokeCharge

	eriAt := unit.Duration(-1) // ms after in.At at which ERI was raised; -1: not yet
	// charge is the remaining charge t ms after in.At.
	charge := func(t unit.Duration) unit.Charge {
		c := in.Remaining - pump.QuiescentCurrent.Over(t)
		c -= unit.Charge(mulDivFloor(int64(pump.RadioCurrent.Over(in.Radio)), int64(t), int64(unit.Day)))
		c -= unit.Charge(mulDivFloor(int64(in.Rate), int64(t), int64(unit.Day)*int64(pump.StrokeVolume))) * pump.StrokeCharge
		if eriAt >= 0 && t >= eriAt {
			c -= unit.Charge((t-eriAt)/pump.NonCriticalTonePeriod+1) * pump.ToneCharge
		}
		return c
	}
	// first returns the first whole second from t at which charge falls to limit.
	first := func(t unit.Duration, limit unit.Charge) unit.Duration {
		for _, step := range []unit.Duration{unit.Day, unit.Minute, unit.Second} {
			for charge(t+step) > limit {
				t += step
			}
		}
		return t + unit.Second
	}
	var e unit.Duration // ERI is now when the charge is already at the threshold
	if charge(0) > threshold {
		e = first(0, threshold)
	}
	eriAt = e // from here on, the ERI alarm sounds its tones
	// At is at most the year 9999 and the closed form found both dates: the
	// sums below fit.
	if charge(eriAt) <= pump.BatteryReserve {
		return in.At.Add(eriAt), in.At.Add(eriAt)
	}
	return in.At.Add(eriAt), in.At.Add(first(eriAt, pump.BatteryReserve))
}

// mulDivFloor returns ⌊a × b / c⌋ for non-negative a, b and positive c: in
// 128-bit integer arithmetic (math/bits), with math/big only for a quotient
// that would not fit 64 bits. (The battery search calls it thousands of
// times per worklist refresh: with math/big alone it was a sixth of a busy
// server's time.)
func mulDivFloor(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi < uint64(c) {
		if q, _ := bits.Div64(hi, lo, uint64(c)); q <= math.MaxInt64 {
			return int64(q)
		}
	}
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return n.Quo(n, big.NewInt(c)).Int64()
}
