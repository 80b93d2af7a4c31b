package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The calculators, one per subcommand of thecal calc.

func (in *inputs) length(name, example, what, def string) *value[unit.Length] {
	return declare[unit.Length](in, name, example, what, def)
}

// count is a whole number from 1 to 1000.
type count int64

func (n *count) UnmarshalText(b []byte) error {
	x, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || x < 1 || x > 1000 {
		return fmt.Errorf("%q is not a whole number from 1 to 1000", b)
	}
	*n = count(x)
	return nil
}

func (in *inputs) count(name, example, what string) *value[count] {
	return declare[count](in, name, example, what, "")
}

func (in *inputs) catheter() (length *value[unit.Length], perCm *value[unit.Volume]) {
	length = in.length("catheter-length", "50cm", "the implanted catheter's length", "")
	perCm = in.volume("catheter-per-cm", "0.0022mL", "the catheter's internal volume per cm", pump.DefaultCatheterPerCm.String())
	return length, perCm
}

var doseCmd = calcCmd{
	name:    "dose",
	summary: "daily dose ⇄ pump rate at a concentration",
	about: `  dose per day = rate (mL/day) × concentration
  rate         = dose per day ÷ concentration

Give the concentration and either the rate or the dose. The result is shown per
day and per hour, in mL and in both mg and mcg, with the drug in one pump stroke.`,
	example: "thecal calc dose --concentration 10mg/mL --rate 0.5mL/day",
	setup: func(in *inputs) func() (*report, error) {
		conc := in.concentration("concentration", "10mg/mL", "the drug's concentration in the reservoir")
		rate := in.rate("rate", "0.5mL/day", "the pump rate (give the rate or the dose)", "")
		dose := in.dose("dose", "5mg/day", "the daily dose (give the rate or the dose)")
		drugName := in.text("drug", "morphine", "the drug: its dose unit is used", "")
		in.library()
		in.need("concentration")
		return func() (*report, error) {
			if rate.set == dose.set {
				return nil, &therapy.InputError{Input: "rate", Reason: "give exactly one of --rate and --dose"}
			}
			u := conc.v.u
			rep := &report{title: "Dose and rate"}
			if drugName.set {
				_, d, err := in.drug(drugName.v)
				if err != nil {
					return nil, err
				}
				u = d.DoseUnit
				rep.in("drug", "drug", d.Name, d.Name+" (doses in "+u.String()+")")
			}
			c := conc.v.v
			var res therapy.Dosing
			var err error
			if rate.set {
				res, err = therapy.DosingForRate(rate.v, c)
			} else {
				res, err = therapy.DosingForDose(dose.v.v, c)
			}
			if err != nil {
				return nil, err
			}
			rep.in("concentration", "concentration", c.Format(u))
			if rate.set {
				rep.in("rate", "rate", res.Rate, rateText(res.Rate))
				rep.work("dose = rate × concentration = %v × %s = %s", res.Rate, c.Format(u), res.Dose.Format(u))
			} else {
				rep.in("dose", "dose", dose.v.v.Format(u), doseText(dose.v.v, u))
				rep.work("rate = dose ÷ concentration = %s ÷ %s = %v (to the nearest nL/day)", dose.v.v.Format(u), c.Format(u), res.Rate)
				rep.work("check: %v × %s = %s", res.Rate, c.Format(u), res.Dose.Format(u))
			}
			rep.work("per hour = per day ÷ 24; 1 mg = 1000 mcg")
			rep.work("one stroke = %v × %s = %s", pump.StrokeVolume, c.Format(u), res.StrokeDose.Format(u))
			o := otherUnit(u)
			rep.out("rate", "rate", res.Rate, rateText(res.Rate))
			rep.out("dose", "daily dose", res.Dose.Format(u), doseText(res.Dose, u))
			rep.out("dose_"+o.String(), "daily dose in "+o.String(), res.Dose.Format(o), doseText(res.Dose, o))
			rep.out("stroke_dose", "drug in one stroke", res.StrokeDose.Format(u), res.StrokeDose.Format(u)+" ("+pump.StrokeVolume.String()+")")
			if res.Dose != res.Requested {
				rep.note("the rate is rounded to the nearest nL/day: it gives %s, %s from the dose asked for", res.Dose.Format(u), (res.Dose - res.Requested).Format(u))
			}
			return rep, nil
		}
	},
}

var primingCmd = calcCmd{
	name:    "priming",
	summary: "priming bolus after implant or catheter revision",
	about: `  priming volume = pump tubing volume + catheter volume
  catheter volume = length × volume per cm

The priming bolus fills the pump tubing (0.25 mL) and the catheter, at the pump's
maximum rate. The catheter is bounded (at most 200 cm and 0.01 mL per cm), so no
priming bolus is larger than 2.25 mL.`,
	example: "thecal calc priming --catheter-length 50cm",
	setup: func(in *inputs) func() (*report, error) {
		length, perCm := in.catheter()
		in.need("catheter-length")
		return func() (*report, error) {
			p, err := therapy.Priming(therapy.Catheter{Length: length.v, PerCm: perCm.v})
			if err != nil {
				return nil, err
			}
			rep := &report{title: "Priming bolus"}
			rep.in("catheter_length", "catheter length", length.v)
			rep.in("catheter_per_cm", "catheter volume per cm", perCm.v)
			rep.work("catheter volume = %v × %v per cm = %v", length.v, perCm.v, p.Catheter)
			rep.work("priming volume = tubing %v + catheter %v = %v", p.Tubing, p.Catheter, p.Volume)
			rep.work("strokes = %v ÷ %v per stroke, rounded up = %d", p.Volume, pump.StrokeVolume, p.Strokes)
			rep.work("time at the maximum rate %s = %v", pump.MaxRate.PerHour(), p.Duration)
			rep.out("tubing", "pump tubing", p.Tubing)
			rep.out("catheter", "catheter", p.Catheter)
			rep.out("volume", "priming volume", p.Volume)
			rep.out("strokes", "strokes", p.Strokes)
			rep.out("duration", "takes", p.Duration)
			return rep, nil
		}
	},
}

var bridgeCmd = calcCmd{
	name:    "bridge",
	summary: "bridge after a refill that changes concentration",
	about: `  bridge volume = pump tubing volume + catheter volume
  duration      = bridge volume ÷ old rate
  new drug at the catheter tip = start + duration

After a refill with another concentration, the old drug still fills the tubing
and catheter. The bridge delivers it at the old program's rate; when it is out,
the new drug is at the catheter tip and the new program starts.`,
	example: "thecal calc bridge --old-rate 0.5mL/day --catheter-length 50cm --start 2026-01-05T08:00:00Z",
	setup: func(in *inputs) func() (*report, error) {
		old := in.rate("old-rate", "0.5mL/day", "the old program's rate", "")
		length, perCm := in.catheter()
		start := in.time("start", "when the bridge starts (the end of the refill)")
		oldConc := in.concentration("old-concentration", "10mg/mL", "the old drug's concentration, to show the dose it carries")
		in.need("old-rate", "catheter-length")
		return func() (*report, error) {
			b, err := therapy.BridgeFor(old.v, therapy.Catheter{Length: length.v, PerCm: perCm.v}, start.v, oldConc.v.v)
			if err != nil {
				return nil, err
			}
			clk := newClock(start, "start")
			rep := &report{title: "Bridge after a concentration change"}
			rep.in("old_rate", "old rate", b.Rate, rateText(b.Rate))
			rep.in("catheter_length", "catheter length", length.v)
			rep.in("catheter_per_cm", "catheter volume per cm", perCm.v)
			if start.set {
				rep.in("start", "start", start.v, clk.show(start.v))
			}
			rep.work("bridge volume = tubing %v + catheter %v × %v per cm = %v", pump.TubingVolume, length.v, perCm.v, b.Volume)
			rep.work("duration = %v ÷ %v = %s", b.Volume, b.Rate, daysText(b.Duration))
			rep.out("volume", "bridge volume", b.Volume, fmt.Sprintf("%v (%d strokes)", b.Volume, b.Strokes))
			rep.out("rate", "runs at", b.Rate, rateText(b.Rate))
			rep.out("duration", "duration", b.Duration, daysText(b.Duration))
			rep.out("new_drug_at_tip", "new drug at the tip", clk.json(b.NewDrugAtTip), clk.show(b.NewDrugAtTip))
			if oldConc.set {
				u := oldConc.v.u
				rep.in("old_concentration", "old concentration", oldConc.v.v.Format(u))
				rep.work("old drug during the bridge = %v × %s = %s (%s)", b.Volume, oldConc.v.v.Format(u), b.OldDrug.Format(u), doseText(oldConc.v.v.Dose(b.Rate), u))
				rep.out("old_drug", "old drug delivered", b.OldDrug.Format(u))
			}
			rep.note("until the new drug reaches the tip the patient still receives the old drug at the old dose")
			return rep, nil
		}
	},
}

var refillCmd = calcCmd{
	name:    "refill",
	summary: "refill accounting: expected residual and discrepancy",
	about: `  programmed  = rate × time since the last refill (+ boluses the pump reports)
  expected    = volume after the last refill − programmed
  discrepancy = withdrawn − expected

A discrepancy beyond ±1.0 mL (TP-20, 20 mL reservoir) or ±2.0 mL (TP-40, 40 mL)
is flagged: less than expected suggests a pocket fill at the last refill or a pump
delivering too much; more than expected suggests a catheter problem (occlusion)
or a pump delivering too little. The expected residual never goes below 0.5 mL,
where the pump stops: if the program would have gone there, the pump ran empty.`,
	example: "thecal calc refill --reservoir 20mL --last-fill 20mL --rate 0.5mL/day --since 30d --withdrawn 4.1mL",
	setup: func(in *inputs) func() (*report, error) {
		pumpModel := in.model()
		last := in.volume("last-fill", "20mL", "the volume in the reservoir after the last refill", "")
		rate := in.rate("rate", "0.5mL/day", "the programmed rate since (the average, for a flex program)", "")
		since := in.duration("since", "30d", "the time since the last refill", "")
		withdrawn := in.volume("withdrawn", "4.1mL", "the volume withdrawn now", "")
		boluses := in.volume("boluses", "0.2mL", "bolus volume the pump reports given since", "0 mL")
		in.need("last-fill", "rate", "since", "withdrawn")
		return func() (*report, error) {
			m, err := pumpModel()
			if err != nil {
				return nil, err
			}
			c, err := therapy.CheckRefill(therapy.RefillInput{Model: m, LastFill: last.v, Rate: rate.v, Since: since.v, Boluses: boluses.v, Withdrawn: withdrawn.v})
			if err != nil {
				return nil, err
			}
			rep := &report{title: "Refill accounting (" + m.String() + ")"}
			rep.in("model", "pump", m.String(), fmt.Sprintf("%v, %v reservoir", m, m.Reservoir()))
			rep.in("last_fill", "last fill", last.v)
			rep.in("rate", "rate", rate.v, rateText(rate.v))
			rep.in("since", "since", since.v)
			if boluses.v != 0 {
				rep.in("boluses", "boluses", boluses.v)
			}
			rep.in("withdrawn", "withdrawn", withdrawn.v)
			if boluses.v != 0 {
				rep.work("programmed = %v × %v + %v = %v", rate.v, since.v, boluses.v, c.Programmed)
			} else {
				rep.work("programmed = %v × %v = %v", rate.v, since.v, c.Programmed)
			}
			if c.RanEmpty {
				rep.work("expected = %v − %v is below the empty level: %v", last.v, c.Programmed, c.Expected)
			} else {
				rep.work("expected = %v − %v = %v", last.v, c.Programmed, c.Expected)
			}
			rep.work("discrepancy = %v − %v = %v (limit ±%v on a %v)", withdrawn.v, c.Expected, c.Discrepancy, c.Limit, m)
			rep.out("programmed", "programmed since", c.Programmed)
			rep.out("expected", "expected residual", c.Expected)
			rep.out("discrepancy", "discrepancy", c.Discrepancy)
			rep.out("limit", "limit", c.Limit, "±"+c.Limit.String())
			flagged := c.Flag != therapy.WithinLimit
			rep.out("flagged", "flagged", flagged, map[bool]string{true: "YES", false: "no"}[flagged])
			rep.out("assessment", "assessment", c.Flag.String())
			rep.out("ran_empty", "ran empty", c.RanEmpty)
			if c.RanEmpty {
				if c.EmptyAfter > 0 {
					rep.note("the program would have emptied the reservoir %v after the last refill at the latest: delivery stopped, therapy was interrupted", c.EmptyAfter)
				} else {
					rep.note("the program would have emptied the reservoir: delivery stopped, therapy was interrupted")
				}
			}
			if c.Flag != therapy.WithinLimit {
				rep.note("investigate before refilling: %s", c.Flag)
			}
			return rep, nil
		}
	},
}

var nextRefillCmd = calcCmd{
	name:    "next-refill",
	summary: "next refill date: low-reservoir alarm, drug stability, safety margin",
	about: `  daily use     = basal rate + every allowed patient bolus (at most max-per-24h,
                  and at most one per lockout), capped at max_24h
  low alarm     = fill time + (volume − low-reservoir threshold) ÷ daily use
  stability     = fill time + the drug's longest time between refills
  refill due    = the earlier of the two − safety margin (default 7 days)

The drug's stability limit comes from the drug library (--drug), or --stability.`,
	example: "thecal calc next-refill --reservoir 20mL --volume 20mL --rate 0.5mL/day --bolus-volume 0.02mL --lockout 4h --max-per-24h 4 --drug morphine --filled 2026-01-05T08:00:00Z",
	setup: func(in *inputs) func() (*report, error) {
		pumpModel := in.model()
		volume := in.volume("volume", "20mL", "the volume in the reservoir after the refill", "")
		rate := in.rate("rate", "0.5mL/day", "the basal rate (the average, for a flex program)", "")
		filled := in.time("filled", "when the reservoir was filled")
		bolusVol := in.volume("bolus-volume", "0.02mL", "the patient bolus volume", "")
		lockout := in.duration("lockout", "4h", "the patient bolus lockout", "")
		perDay := in.count("max-per-24h", "4", "the most patient boluses in 24 h")
		max24h := in.volume("max-24h", "0.7mL", "the prescription's max_24h", "")
		low := in.volume("low-threshold", "2mL", "the low-reservoir alarm threshold", pump.LowReservoirDefault.String())
		drugName := in.text("drug", "baclofen", "the drug, for its stability limit", "")
		diluted := in.boolean("diluted", "the drug is diluted (ziconotide: a shorter limit)")
		first := in.boolean("first-fill", "the first fill of a new pump (ziconotide: first refill within 14 days)")
		stability := in.duration("stability", "84d", "the longest time between refills, instead of the library's", "")
		margin := in.duration("margin", "7d", "the safety margin", therapy.DefaultSettings.RefillMargin.String())
		in.library()
		in.need("volume", "rate")
		return func() (*report, error) {
			m, err := pumpModel()
			if err != nil {
				return nil, err
			}
			rin := therapy.RefillDateInput{Model: m, Filled: filled.v, Volume: volume.v, Rate: rate.v, Max24h: max24h.v, LowThreshold: low.v, Margin: margin.v}
			rep := &report{title: "Next refill date"}
			rep.in("model", "pump", m.String())
			rep.in("volume", "volume after the refill", volume.v)
			rep.in("rate", "basal rate", rate.v, rateText(rate.v))
			if bolusVol.set || lockout.set || perDay.set {
				if err := in.required("bolus-volume", "lockout", "max-per-24h"); err != nil {
					return nil, err
				}
				rin.Bolus = &therapy.PatientBolus{Volume: bolusVol.v, Lockout: lockout.v, MaxPer24h: int64(perDay.v)}
				rep.in("bolus", "patient bolus", fmt.Sprintf("%v, lockout %v, at most %d in 24 h", bolusVol.v, lockout.v, perDay.v))
			}
			if max24h.set {
				rep.in("max_24h", "max_24h", max24h.v)
			}
			rep.in("low_threshold", "low-reservoir alarm", low.v)
			stabilitySource := ""
			if drugName.set {
				lib, d, err := in.drug(drugName.v)
				if err != nil {
					return nil, err
				}
				rep.in("drug", "drug", d.Name)
				if lim, src, ok := therapy.StabilityLimit(d, *diluted, *first); ok {
					rin.Stability, stabilitySource = lim, src
				} else {
					rep.note("the library %s has no stability limit for %s: give --stability if one applies", lib.Version, d.Name)
				}
			}
			if stability.set && (rin.Stability == 0 || stability.v < rin.Stability) {
				rin.Stability, stabilitySource = stability.v, "given with --stability"
			}
			if !drugName.set && !stability.set {
				rep.note("no drug or stability limit given: only the reservoir decides")
			}
			if rin.Stability > 0 {
				rep.in("stability", "stability limit", rin.Stability, fmt.Sprintf("%v (%s)", rin.Stability, stabilitySource))
			}
			rep.in("margin", "safety margin", margin.v)
			d, err := therapy.NextRefill(rin)
			if err != nil {
				return nil, err
			}
			clk := newClock(filled, "fill")
			if filled.set {
				rep.in("filled", "filled", filled.v, clk.show(filled.v))
			}
			if rin.Bolus != nil {
				rep.work("boluses a day = min(%d, ⌈24h ÷ %v⌉) × %v = %v", perDay.v, lockout.v, bolusVol.v, d.BolusPerDay)
				rep.work("daily use = %v + %v = %v", rate.v, d.BolusPerDay, rate.v+d.BolusPerDay)
			}
			if d.DailyUse < rate.v+d.BolusPerDay {
				rep.work("daily use, capped at max_24h = %v", d.DailyUse)
			}
			rep.work("low alarm = fill + (%v − %v) ÷ %v = %s", volume.v, low.v, d.DailyUse, clk.show(d.LowAt))
			if rin.Stability > 0 {
				rep.work("stability = fill + %v%s", rin.Stability, clk.also(d.StableUntil))
			}
			rep.work("due = %s − %v = %s", clk.show(d.Earliest), margin.v, clk.show(d.Due))
			rep.out("daily_use", "worst-case daily use", d.DailyUse, rateText(d.DailyUse))
			rep.out("low_alarm", "low-reservoir alarm", clk.json(d.LowAt), clk.show(d.LowAt))
			rep.out("empty_alarm", "empty (delivery stops)", clk.json(d.EmptyAt), clk.show(d.EmptyAt))
			if rin.Stability > 0 {
				rep.out("stability_limit", "stability limit", clk.json(d.StableUntil), clk.show(d.StableUntil))
			}
			by := "the low-reservoir alarm"
			if d.ByStability {
				by = "the drug's stability"
			}
			rep.out("limited_by", "limited by", by)
			rep.out("refill_due", "REFILL DUE", clk.json(d.Due), clk.show(d.Due))
			if d.NoMargin {
				rep.note("the margin reaches back to the fill: this fill does not last the margin; fill more or use a stronger concentration")
			}
			return rep, nil
		}
	},
}

var batteryCmd = calcCmd{
	name:    "battery",
	summary: "ERI, end-of-service and replacement planning dates",
	about: `  drain per day = 12 µA quiescent (288 µAh) + 0.1 µAh per stroke (rate ÷ 0.5 µL)
                  + 5 mA radio while a session is open
  ERI threshold = reserve (1% of 1,000,000 µAh) + what 90 days at this program
                  need, the ERI alarm's own hourly 5 µAh tones included
  ERI           = when the remaining charge falls to the ERI threshold
  EOS           = when it falls to the reserve (90 days after ERI at this program)
  plan replacement from 6 months to 3 months before EOS

Both dates are computed twice, by a closed form and by stepping through the days;
the result is shown only when the two agree within a minute (hazard H6).`,
	example: "thecal calc battery --battery 1000000uAh --rate 0.5mL/day --at 2026-01-05T08:00:00Z",
	setup: func(in *inputs) func() (*report, error) {
		charge := declare[unit.Charge](in, "battery", "950000uAh", "the remaining battery charge", pump.BatteryCapacity.String())
		rate := in.rate("rate", "0.5mL/day", "the average volume delivered per day, boluses included", "")
		radio := in.duration("radio", "2m", "the average telemetry session time per day", "0s")
		at := in.time("at", "when the battery had this charge (from an interrogation)")
		in.need("rate", "at")
		return func() (*report, error) {
			s := therapy.DefaultSettings
			d, err := therapy.Battery(therapy.BatteryInput{At: at.v, Remaining: charge.v, Rate: rate.v, Radio: radio.v}, s)
			if err != nil {
				return nil, err
			}
			clk := newClock(at, "now")
			rep := &report{title: "Battery: ERI, end of service and replacement"}
			rep.in("battery", "remaining", charge.v)
			rep.in("rate", "rate", rate.v, rateText(rate.v))
			rep.in("radio", "radio per day", radio.v)
			if at.set {
				rep.in("at", "at", at.v, clk.show(at.v))
			}
			rep.work("drain per day = %v quiescent + %v ÷ %v × %v + radio %v × %v = %v", pump.QuiescentCurrent.Over(unit.Day), rate.v, pump.StrokeVolume, pump.StrokeCharge, radio.v, "5 mA", d.PerDay)
			rep.work("ERI threshold = %v reserve + 90 days' need with hourly %v tones = %v", pump.BatteryReserve, pump.ToneCharge, d.ERIThreshold)
			rep.work("closed form:   ERI %s, EOS %s", clk.json(d.ERI), clk.json(d.EOS))
			rep.work("day stepping:  ERI %s, EOS %s (must agree within %v)", clk.json(d.SteppedERI), clk.json(d.SteppedEOS), therapy.BatteryTolerance)
			rep.out("drain_per_day", "drain per day", d.PerDay)
			rep.out("eri_threshold", "ERI threshold", d.ERIThreshold)
			rep.out("eri", "ERI (elective replacement)", clk.json(d.ERI), clk.show(d.ERI))
			rep.out("eos", "EOS (end of service)", clk.json(d.EOS), clk.show(d.EOS))
			rep.out("plan_from", "plan replacement from", clk.json(d.PlanFrom), clk.show(d.PlanFrom))
			rep.out("plan_by", "plan replacement by", clk.json(d.PlanBy), clk.show(d.PlanBy))
			if d.AlreadyERI {
				rep.note("the charge is already at or under the ERI threshold: replace electively now")
			} else if d.PlanBy.Before(at.v) {
				rep.note("less than %d months to EOS: plan the replacement now", s.PlanLatestMonths)
			}
			rep.note("at EOS delivery stops for good: a baclofen patient risks withdrawal")
			return rep, nil
		}
	},
}

// resultsFlag collects --result DOSE:none or DOSE:DURATION.
type resultsFlag []therapy.ScreeningResult

func (r *resultsFlag) String() string { return "" }
func (r *resultsFlag) Type() string   { return "DOSE:OUTCOME" }
func (r *resultsFlag) repeatable()    {}

func (r *resultsFlag) Set(s string) error {
	doseText, outcome, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("%q: write DOSE:none for no response, or DOSE:DURATION for how long the response lasted, e.g. 50mcg:none, 75mcg:10h", s)
	}
	m, _, err := unit.ParseMass(doseText)
	if err != nil {
		return clean(err)
	}
	res := therapy.ScreeningResult{Dose: m}
	if outcome != "none" {
		d, err := unit.ParseDuration(outcome)
		if err != nil {
			return fmt.Errorf("%q: after the dose write none, or how long the response lasted: %v", s, clean(err))
		}
		res.Responded, res.Lasted = true, d
	}
	*r = append(*r, res)
	return nil
}

var screeningCmd = calcCmd{
	name:    "screening",
	summary: "baclofen screening protocol and starting dose",
	about: `Baclofen screening (Lioresal Intrathecal / Gablofen labels, from the drug library):
a 50 mcg bolus (1 mL of 50 mcg/mL) over at least 1 minute, observed 4 to 8 h; if
no response, 75 mcg 24 h later; then 100 mcg. No response to 100 mcg: not a
candidate.

  starting daily dose = 2 × the effective screening dose, over 24 h
                        (1 × if its effect lasted more than 8 h)

Without --result it shows the protocol; give each bolus's result in order.`,
	example: "thecal calc screening --start 2026-01-05T08:00:00Z --result 50mcg:none --result 75mcg:10h",
	setup: func(in *inputs) func() (*report, error) {
		drugName := in.text("drug", "baclofen", "the drug whose screening protocol is used", "baclofen")
		start := in.time("start", "when the first bolus is given")
		var results resultsFlag
		in.list(&results, "result", "50mcg:none", "one bolus's result, in order: DOSE:none, or DOSE:how long the effect lasted (repeat)")
		in.library()
		return func() (*report, error) {
			lib, d, err := in.drug(drugName.v)
			if err != nil {
				return nil, err
			}
			if d.Screening == nil || d.ScreeningStart == nil {
				return nil, &therapy.InputError{Input: "drug", Reason: fmt.Sprintf("library %s has no screening protocol for %s", lib.Version, d.Name)}
			}
			s, st := d.Screening, d.ScreeningStart
			clk := newClock(start, "start")
			rep := &report{title: "Screening: " + d.Name}
			rep.in("drug", "drug", d.Name)
			if start.set {
				rep.in("start", "start", start.v, clk.show(start.v))
			}
			u := d.DoseUnit
			plan := therapy.ScreeningPlan(s, start.v)
			var protocol []map[string]any
			for _, b := range plan {
				rep.work("bolus %d: %s in %v of %s over at least %v, not before %s; observe %v to %v: until %s to %s",
					b.N, b.Dose.Format(u), b.Volume, s.Concentration().Format(u), b.Injected, clk.show(b.At), s.ObserveMin, s.ObserveMax, clk.show(b.Observe[0]), clk.show(b.Observe[1]))
				protocol = append(protocol, map[string]any{"n": b.N, "dose": b.Dose.Format(u), "volume": b.Volume.String(), "earliest": clk.json(b.At),
					"observe_from": clk.json(b.Observe[0]), "observe_to": clk.json(b.Observe[1])})
			}
			rep.work("source: %s", s.Source)
			for i, r := range results {
				text := "no response"
				if r.Responded {
					text = "response lasting " + r.Lasted.String()
				}
				rep.in(fmt.Sprintf("result_%d", i+1), fmt.Sprintf("bolus %d", i+1), r.Dose.Format(u)+": "+text)
			}
			o, err := therapy.EvaluateScreening(s, st, start.v, results)
			if err != nil {
				return nil, err
			}
			rep.out("protocol", "protocol", protocol, fmt.Sprintf("%d boluses, %v apart", len(plan), s.Between))
			switch {
			case !o.Done:
				rep.out("status", "status", "in progress", "in progress")
				rep.out("next_bolus", "next bolus", o.Next.Dose.Format(u), fmt.Sprintf("%s in %v, from %s", o.Next.Dose.Format(u), o.Next.Volume, clk.show(o.Next.At)))
			case !o.Candidate:
				rep.out("status", "status", "not a candidate", fmt.Sprintf("NOT A CANDIDATE: no response to %s", plan[len(plan)-1].Dose.Format(u)))
			default:
				factor := fmt.Sprintf("%d × (effect %v, not more than %v)", o.Factor, results[len(results)-1].Lasted, st.LongEffectOver)
				if o.Long {
					factor = fmt.Sprintf("%d × (effect %v, more than %v)", o.Factor, results[len(results)-1].Lasted, st.LongEffectOver)
				}
				rep.work("starting daily dose = %s × %s = %s (%s)", factor, o.Effective.Format(u), o.Start.Format(u), st.Source)
				rep.out("status", "status", "candidate", "candidate")
				rep.out("effective_dose", "effective screening dose", o.Effective.Format(u))
				rep.out("starting_dose", "starting daily dose", o.Start.Format(u), doseText(o.Start, u))
			}
			return rep, nil
		}
	},
}

var titrationCmd = calcCmd{
	name:    "titration",
	summary: "titration plan obeying the library's titration rule",
	about: `Plans the earliest titration from a starting dose to a target that obeys the
drug library's titration rule: each increase at most the largest step, at least
the shortest interval after the last change, never more than the most increases
in any 7 days. Where the library has a soft and a hard bound the plan keeps to the
stricter. You may tighten any part (--step, --interval, --per-week), never loosen
it. Every step is checked against the library.

Ziconotide (from the library): start at most 2.4 mcg/day, steps of at most
2.4 mcg/day, 48 h apart (EU SmPC recommendation; 24 h at least), at most 3 a week
(US label), to 19.2 mcg/day (0.8 mcg/h) by day 21.`,
	refuses: true,
	example: "thecal calc titration --drug ziconotide --start 2.4mcg/day --target 19.2mcg/day --concentration 25mcg/mL --from 2026-01-05T08:00:00Z",
	setup: func(in *inputs) func() (*report, error) {
		drugName := in.text("drug", "ziconotide", "the drug", "")
		start := in.dose("start", "2.4mcg/day", "the starting daily dose")
		target := in.dose("target", "19.2mcg/day", "the target daily dose")
		conc := in.concentration("concentration", "25mcg/mL", "the concentration, to show each rate and check each step")
		from := in.time("from", "when the starting dose begins")
		population := in.text("population", "cerebral", "the patient's population, where the library's rules differ", "")
		step := in.text("step", "2.4mcg/day", "a smaller largest step: a dose per day, or a percentage like 10%", "")
		interval := in.duration("interval", "72h", "a longer shortest interval between increases", "")
		perWeek := in.count("per-week", "2", "fewer increases in any 7 days")
		in.library()
		in.need("drug", "start", "target", "concentration")
		return func() (*report, error) {
			lib, d, err := in.drug(drugName.v)
			if err != nil {
				return nil, err
			}
			u := d.DoseUnit
			rule, missing, err := titrationRule(d, population.v)
			if err != nil {
				return nil, err
			}
			rule, err = tighten(rule, missing, u, step, interval, perWeek)
			if err != nil {
				return nil, err
			}
			plan, err := therapy.TitrationPlan(start.v.v, target.v.v, from.v, rule)
			if err != nil {
				return nil, err
			}
			clk := newClock(from, "start")
			rep := &report{title: "Titration plan: " + d.Name}
			rep.in("drug", "drug", d.Name)
			rep.in("start", "start", start.v.v.Format(u), doseText(start.v.v, u))
			rep.in("target", "target", target.v.v.Format(u), doseText(target.v.v, u))
			rep.in("concentration", "concentration", conc.v.v.Format(u))
			if population.set {
				rep.in("population", "population", population.v)
			}
			rep.work("rule: %s", rule.Describe(u))
			for _, s := range rule.Sources {
				rep.work("source: %s", s)
			}
			var history []drug.Prescribed
			var steps []map[string]any
			var findings []drug.Finding
			for _, s := range plan {
				r, err := therapy.DosingForDose(s.Dose, conc.v.v)
				if err != nil {
					return nil, err
				}
				day := float64(s.At.Sub(from.v)) / float64(unit.Day)
				rep.work("day %-5s %s  %-28s rate %s", strconv.FormatFloat(day, 'f', -1, 64), clk.show(s.At), doseText(s.Dose, u), rateText(r.Rate))
				steps = append(steps, map[string]any{"at": clk.json(s.At), "day": day, "dose": s.Dose.Format(u), "per_hour": s.Dose.FormatPerHour(u), "step": s.Step.Format(u), "rate": r.Rate.String()})
				fs, err := drug.Check(lib, drug.Proposal{Drug: d.Name, Concentration: conc.v.v, Dose: s.Dose, At: s.At, Population: population.v}, history)
				if err != nil {
					return nil, &therapy.InputError{Input: "population", Reason: err.Error()}
				}
				for _, f := range fs {
					if !slices.ContainsFunc(findings, func(g drug.Finding) bool { return g.Kind == f.Kind && g.Field == f.Field && g.Severity == f.Severity }) {
						findings = append(findings, f)
						if f.Severity == drug.Refused {
							rep.status = exitRefused
						}
					}
				}
				history = append(history, drug.Prescribed{At: s.At, Drug: d.Name, Dose: s.Dose})
			}
			last := plan[len(plan)-1]
			rep.out("steps", "steps", steps, fmt.Sprintf("%d increases", len(plan)-1))
			rep.out("reaches_target", "reaches the target", clk.json(last.At), fmt.Sprintf("%s (day %s)", clk.show(last.At), strconv.FormatFloat(float64(last.At.Sub(from.v))/float64(unit.Day), 'f', -1, 64)))
			for _, f := range findings {
				rep.note("%s", f)
			}
			return rep, nil
		}
	},
}

// titrationRule picks the drug's rule for the population.
func titrationRule(d *drug.Drug, population string) (therapy.TitrationRule, []string, error) {
	if population != "" && !slices.Contains(d.Populations, population) {
		return therapy.TitrationRule{}, nil, &therapy.InputError{Input: "population", Reason: fmt.Sprintf("%q is not one of %s's populations (%s)", population, d.Name, strings.Join(d.Populations, ", "))}
	}
	var candidates []drug.Titration
	for _, t := range d.Titration {
		if t.Population == population || t.Population == "" {
			candidates = append(candidates, t)
		}
	}
	switch {
	case len(candidates) == 0 && population == "" && len(d.Titration) > 0:
		return therapy.TitrationRule{}, nil, &therapy.InputError{Input: "population", Reason: fmt.Sprintf("%s's titration depends on the population: give one of %s", d.Name, strings.Join(d.Populations, ", "))}
	case len(candidates) == 0:
		return therapy.TitrationRule{}, []string{"step", "interval", "per-week"}, nil
	}
	// A population's own rule wins over the rule for everyone.
	slices.SortFunc(candidates, func(a, b drug.Titration) int { return -strings.Compare(a.Population, b.Population) })
	r, missing := therapy.RuleFrom(candidates[0])
	return r, missing, nil
}

// tighten applies --step, --interval and --per-week: each may only make the rule
// stricter, and must be given where the library has no bound.
func tighten(r therapy.TitrationRule, missing []string, u unit.MassUnit, step *value[string], interval *value[unit.Duration], perWeek *value[count]) (therapy.TitrationRule, error) {
	lacks := func(part string) bool { return slices.Contains(missing, part) }
	looser := func(input, lib string) error {
		return &therapy.InputError{Input: input, Reason: fmt.Sprintf("looser than the library's %s: a plan may only be stricter", lib)}
	}
	if step.set {
		if strings.HasSuffix(strings.TrimSpace(step.v), "%") {
			p, err := unit.ParsePercent(step.v)
			if err != nil || p <= 0 {
				return r, &therapy.InputError{Input: "step", Reason: fmt.Sprintf("%q is not a percentage more than 0", step.v)}
			}
			if !lacks("step") && (r.MaxStepPercent == 0 || p > r.MaxStepPercent) {
				return r, looser("step", r.Describe(u))
			}
			r.MaxStep, r.MaxStepPercent = 0, p
		} else {
			dd, err := parseDose(step.v)
			if err != nil || dd.v <= 0 {
				return r, &therapy.InputError{Input: "step", Reason: fmt.Sprintf("%q is not a dose per day more than 0, nor a percentage", step.v)}
			}
			if !lacks("step") && (r.MaxStep == 0 || dd.v > r.MaxStep) {
				return r, looser("step", r.Describe(u))
			}
			r.MaxStep, r.MaxStepPercent = dd.v, 0
		}
		r.Sources = append(r.Sources, "step given with --step")
	}
	if interval.set {
		if !lacks("interval") && interval.v < r.MinInterval {
			return r, looser("interval", r.Describe(u))
		}
		r.MinInterval = interval.v
		r.Sources = append(r.Sources, "interval given with --interval")
	}
	if perWeek.set {
		if !lacks("per-week") && int64(perWeek.v) > r.MaxPerWeek {
			return r, looser("per-week", r.Describe(u))
		}
		r.MaxPerWeek = int64(perWeek.v)
		r.Sources = append(r.Sources, "increases per week given with --per-week")
	}
	for _, part := range missing {
		if part == "step" && !step.set || part == "interval" && !interval.set || part == "per-week" && !perWeek.set {
			return r, &therapy.InputError{Input: part, Reason: "the library has no bound for this part of the titration rule: give one"}
		}
	}
	return r, nil
}

var opioidCmd = calcCmd{
	name:    "opioid",
	summary: "oral morphine → intrathecal morphine, as a suggestion",
	about: `  intrathecal = oral ÷ 300 (the often-quoted ratio: 10 mg IV = 1 mg epidural =
                0.1 mg intrathecal, with oral : IV = 3 : 1)
  range       = oral ÷ 300 to oral ÷ 10 (published ratios run from 10:1 to 300:1)

A SUGGESTION ONLY, never a limit: the published ratios differ thirty-fold. The
prescription is checked against the drug library like any other.`,
	example: "thecal calc opioid --oral 60mg/day",
	setup: func(in *inputs) func() (*report, error) {
		oral := in.dose("oral", "60mg/day", "the daily oral morphine dose")
		drugName := in.text("drug", "morphine", "the intrathecal drug whose conversion is used", "morphine")
		in.library()
		in.need("oral")
		return func() (*report, error) {
			lib, d, err := in.drug(drugName.v)
			if err != nil {
				return nil, err
			}
			if d.OralConversion == nil {
				return nil, &therapy.InputError{Input: "drug", Reason: fmt.Sprintf("library %s has no oral conversion for %s", lib.Version, d.Name)}
			}
			s, err := therapy.ConvertToIntrathecal(oral.v.v, d.OralConversion)
			if err != nil {
				return nil, err
			}
			u := d.DoseUnit
			c := d.OralConversion
			rep := &report{title: "Opioid conversion: " + c.From + " → intrathecal " + d.Name + " (suggestion)"}
			rep.in("oral", c.From, oral.v.v.Format(u), doseText(oral.v.v, u))
			rep.work("typical = %s ÷ %d = %s", oral.v.v.Format(u), c.Typical, s.Typical.Format(u))
			rep.work("range = %s ÷ %d to %s ÷ %d = %s to %s", oral.v.v.Format(u), c.Max, oral.v.v.Format(u), c.Min, s.Low.Format(u), s.High.Format(u))
			rep.work("source: %s", c.Source)
			rep.out("suggested", "suggested intrathecal", s.Typical.Format(u), doseText(s.Typical, u))
			rep.out("range_low", "published range from", s.Low.Format(u), doseText(s.Low, u))
			rep.out("range_high", "published range to", s.High.Format(u), doseText(s.High, u))
			rep.note("a suggestion, never a limit: the ratios in the literature differ %d-fold; check the prescription with 'thecal calc check'", c.Max/c.Min)
			return rep, nil
		}
	},
}

// score reads a pain score: a plain number with up to two decimals.
func (in *inputs) score(name, example, what, def string) *value[therapy.Score] {
	return declare[therapy.Score](in, name, example, what, def)
}

func scoreText(s therapy.Score) string { return unit.FormatFixed(int64(s), 2) }

var trialCmd = calcCmd{
	name:    "trial",
	summary: "screening trial evaluation against the clinic's success threshold",
	about: `  reduction = (baseline score − trial score) ÷ baseline score

A trial succeeds when the reduction reaches the clinic's threshold (default 50%,
as in payer policies for implantable infusion pumps) and functional improvement
is recorded. Scores are numbers on the scale given (default 0 to 10).`,
	example: "thecal calc trial --baseline 8 --trial 3 --functional yes",
	setup: func(in *inputs) func() (*report, error) {
		baseline := in.score("baseline", "8", "the pain score before the trial", "")
		trial := in.score("trial", "3", "the pain score during the trial", "")
		scale := in.score("scale", "10", "the top of the score's scale", "10")
		threshold := declare[unit.Percent](in, "threshold", "50%", "the clinic's success threshold", therapy.DefaultSettings.TrialSuccess.String())
		functional := in.text("functional", "yes", "functional improvement recorded: yes or no", "")
		in.need("baseline", "trial")
		return func() (*report, error) {
			f := therapy.FunctionalNotRecorded
			switch functional.v {
			case "":
			case "yes":
				f = therapy.FunctionalImproved
			case "no":
				f = therapy.FunctionalNotImproved
			default:
				return nil, &therapy.InputError{Input: "functional", Reason: fmt.Sprintf("%q: write yes or no", functional.v)}
			}
			r, err := therapy.EvaluateTrial(baseline.v, trial.v, scale.v, threshold.v, f)
			if err != nil {
				return nil, err
			}
			rep := &report{title: "Trial evaluation"}
			rep.in("baseline", "baseline score", scoreText(baseline.v), scoreText(baseline.v)+" / "+scoreText(scale.v))
			rep.in("trial", "trial score", scoreText(trial.v), scoreText(trial.v)+" / "+scoreText(scale.v))
			rep.in("threshold", "success threshold", r.Threshold)
			rep.in("functional", "functional improvement", f.String())
			rep.work("reduction = (%s − %s) ÷ %s = %v", scoreText(baseline.v), scoreText(trial.v), scoreText(baseline.v), r.Reduction)
			rep.work("%v %s the threshold %v", r.Reduction, map[bool]string{true: "reaches", false: "does not reach"}[r.MeetsPain], r.Threshold)
			rep.out("reduction", "reduction", r.Reduction)
			rep.out("meets_threshold", "meets the threshold", r.MeetsPain)
			rep.out("functional", "functional improvement", f.String())
			rep.out("success", "TRIAL SUCCESS", r.Success)
			if r.MeetsPain && f == therapy.FunctionalNotRecorded {
				rep.note("record functional improvement (--functional yes or no) to complete the evaluation")
			}
			return rep, nil
		}
	},
}

// prevFlag collects --prev TIME=DOSE.
type prevFlag []struct {
	at   string
	dose withUnit[unit.DoseRate]
}

func (p *prevFlag) String() string { return "" }
func (p *prevFlag) Type() string   { return "TIME=DOSE" }
func (p *prevFlag) repeatable()    {}

func (p *prevFlag) Set(s string) error {
	at, doseText, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: write TIME=DOSE, e.g. 2026-01-03T08:00:00Z=2.4mcg/day or 2d=2.4mcg/day (2 days before --at)", s)
	}
	d, err := parseDose(doseText)
	if err != nil {
		return clean(err)
	}
	*p = append(*p, struct {
		at   string
		dose withUnit[unit.DoseRate]
	}{at, d})
	return nil
}

var checkCmd = calcCmd{
	name:    "check",
	summary: "check a prescription against the drug library",
	about: `Checks a drug, concentration and daily dose against the drug library and the
prescription history, and lists every finding: a hard limit (refused), a soft
limit (needs a stated reason), a titration breach (step too large, too soon, too
many this week), a first dose outside the starting range, a drug not labelled for
intrathecal pump use, a concentration the library does not allow, and a limit the
library leaves empty (treated as a soft limit until the clinic sets it).`,
	refuses: true,
	example: "thecal calc check --drug ziconotide --concentration 25mcg/mL --dose 4.8mcg/day --at 2026-01-07T08:00:00Z --prev 2d=2.4mcg/day",
	setup: func(in *inputs) func() (*report, error) {
		drugName := in.text("drug", "ziconotide", "the drug", "")
		conc := in.concentration("concentration", "25mcg/mL", "the concentration in the reservoir")
		dose := in.dose("dose", "4.8mcg/day", "the proposed daily dose (0mcg/day stops the drug)")
		at := in.time("at", "when the proposal takes effect (needed with --prev)")
		var prev prevFlag
		in.list(&prev, "prev", "2d=2.4mcg/day", "a past prescription of the drug, oldest first: TIME=DOSE, TIME a date or how long before --at (repeat)")
		population := in.text("population", "cerebral", "the patient's population, where the library's rules differ", "")
		reason := in.text("reason", "palliative care", "the reason stated for findings that need one", "")
		in.library()
		in.need("drug", "concentration", "dose")
		return func() (*report, error) {
			if len(prev) > 0 && !at.set {
				return nil, &therapy.InputError{Input: "at", Reason: "required with --prev: when the proposal takes effect, e.g. --at 2026-01-07T08:00:00Z"}
			}
			lib, d, err := in.drug(drugName.v)
			if err != nil {
				return nil, err
			}
			u := d.DoseUnit
			rep := &report{title: "Drug library check", workTitle: "Findings"}
			rep.in("library", "library", lib.Version, fmt.Sprintf("%s, published %s (sha256 %s…)", lib.Version, lib.Published.Format("2006-01-02"), lib.Digest[:12]))
			rep.in("drug", "drug", d.Name)
			rep.in("concentration", "concentration", conc.v.v.Format(u))
			rep.in("dose", "daily dose", dose.v.v.Format(u), doseText(dose.v.v, u))
			if at.set {
				rep.in("at", "from", at.v)
			}
			var history []drug.Prescribed
			for i, p := range prev {
				t, err := unit.ParseTime(p.at)
				if err != nil {
					ago, err2 := unit.ParseDuration(p.at)
					if err2 != nil {
						return nil, &therapy.InputError{Input: "prev", Reason: fmt.Sprintf("%q is neither a time (2026-01-03T08:00:00Z) nor a duration before --at (2d)", p.at)}
					}
					t = at.v.Add(-ago)
				}
				history = append(history, drug.Prescribed{At: t, Drug: d.Name, Dose: p.dose.v})
				rep.in(fmt.Sprintf("prev_%d", i+1), fmt.Sprintf("previous %d", i+1), fmt.Sprintf("%s from %v", p.dose.v.Format(u), t))
			}
			if population.set {
				rep.in("population", "population", population.v)
			}
			fsd, err := drug.Check(lib, drug.Proposal{Drug: d.Name, Concentration: conc.v.v, Dose: dose.v.v, At: at.v, Population: population.v}, history)
			if err != nil {
				return nil, &therapy.InputError{Input: "prev", Reason: strings.TrimPrefix(err.Error(), drug.ErrProposal.Error()+": ")}
			}
			var list []map[string]any
			for _, f := range fsd {
				rep.work("%s", f)
				list = append(list, map[string]any{"kind": string(f.Kind), "severity": f.Severity.String(), "field": f.Field, "source": f.Source, "message": f.Message})
			}
			if len(fsd) == 0 {
				rep.work("no findings")
			}
			decision := drug.Decide(fsd, reason.v)
			verdict := "may go ahead"
			switch {
			case decision == drug.ErrRefused:
				verdict, rep.status = "REFUSED by the library", exitRefused
			case decision == drug.ErrReasonRequired:
				verdict, rep.status = "NEEDS A STATED REASON (--reason)", exitRefused
			case drug.Worst(fsd) == drug.NeedsReason:
				verdict = "may go ahead with the stated reason: " + reason.v
			}
			rep.out("findings", "findings", nonNilMaps(list), fmt.Sprintf("%d", len(fsd)))
			rep.out("worst", "worst", drug.Worst(fsd).String())
			rep.out("verdict", "verdict", verdict)
			return rep, nil
		}
	},
}

func nonNilMaps(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

var libraryCmd = calcCmd{
	name:    "library",
	summary: "validate and show a drug library with the source of every number",
	about: `Reads a drug library file (or the built-in one), refuses it with every problem
and its field if anything is wrong, and otherwise shows its version and each
drug's units, limits and rules, every number with its source.`,
	example: "thecal calc library --drug ziconotide",
	setup: func(in *inputs) func() (*report, error) {
		drugName := in.text("drug", "ziconotide", "show only this drug", "")
		in.library()
		return func() (*report, error) {
			lib, err := in.load()
			if err != nil {
				return nil, err
			}
			rep := &report{title: "Drug library " + lib.Version, workTitle: "Entries"}
			rep.in("file", "file", in.libraryName())
			rep.out("version", "version", lib.Version)
			rep.out("published", "published", lib.Published.Format("2006-01-02"))
			rep.out("sha256", "sha256", lib.Digest)
			if lib.Publisher != "" {
				rep.out("publisher", "publisher", lib.Publisher)
			}
			show := lib.Drugs
			if drugName.set {
				d, err := lookup(lib, drugName.v)
				if err != nil {
					return nil, err
				}
				show = []*drug.Drug{d}
			}
			for _, d := range show {
				for _, l := range describeDrug(d) {
					rep.work("%s", l)
				}
			}
			var names []string
			for _, d := range lib.Drugs {
				names = append(names, d.Name)
			}
			rep.out("drugs", "drugs", names, strings.Join(names, ", "))
			return rep, nil
		}
	},
}

// describeDrug lists a drug's entry, one line per figure with its source.
func describeDrug(d *drug.Drug) []string {
	u := d.DoseUnit
	dose := func(x unit.DoseRate) string { return doseText(x, u) }
	conc := func(x unit.Concentration) string { return x.Format(u) }
	out := []string{d.Name + " (doses in " + u.String() + ")"}
	add := func(format string, args ...any) { out = append(out, "    "+fmt.Sprintf(format, args...)) }
	if len(d.Synonyms) > 0 {
		add("also: %s", strings.Join(d.Synonyms, ", "))
	}
	if d.Labelled == nil {
		add("labelled for intrathecal pump use: not recorded")
	} else {
		add("labelled for intrathecal pump use: %s [%s]", map[bool]string{true: "yes", false: "no"}[d.Labelled.Value], d.Labelled.Source)
	}
	for _, r := range d.Risks {
		add("risk: %s [%s]", r.Value, r.Source)
	}
	if c := d.Concentrations; c != nil {
		if len(c.List) > 0 {
			var s []string
			for _, x := range c.List {
				s = append(s, conc(x))
			}
			add("concentrations: %s [%s]", strings.Join(s, ", "), c.Source)
		} else {
			add("concentrations: %s to %s [%s]", conc(c.Min), conc(c.Max), c.Source)
		}
	} else {
		add("concentrations: none listed")
	}
	if d.Diluent != nil {
		add("dilute only with %s [%s]", d.Diluent.Value, d.Diluent.Source)
	}
	out = append(out, limitLines("concentration limit", d.Concentration, conc)...)
	out = append(out, limitLines("daily dose limit", d.DailyDose, dose)...)
	if !d.Starting.Limit.Empty() {
		out = append(out, limitLines("starting dose limit", d.Starting.Limit, dose)...)
	}
	for _, r := range d.Starting.Recommended {
		add("recommended start%s: %s to %s [%s]", forPopulation(r.Population), dose(r.Min), dose(r.Max), r.Source)
	}
	for _, r := range d.Maintenance {
		add("maintenance%s: %s to %s [%s]", forPopulation(r.Population), dose(r.Min), dose(r.Max), r.Source)
	}
	for _, t := range d.Titration {
		who := "titration" + forPopulation(t.Population)
		if !t.MaxStep.Empty() {
			out = append(out, limitLines(who+", largest step", t.MaxStep, dose)...)
		}
		if !t.MaxStepPercent.Empty() {
			out = append(out, limitLines(who+", largest step", t.MaxStepPercent, unit.Percent.String)...)
		}
		out = append(out, limitLines(who+", shortest interval", t.MinInterval, unit.Duration.String)...)
		out = append(out, limitLines(who+", most increases a week", t.MaxPerWeek, func(n int64) string { return strconv.FormatInt(n, 10) })...)
	}
	for _, r := range []struct {
		what string
		s    *drug.Sourced[unit.Duration]
	}{{"first refill within", d.Refill.FirstWithin}, {"most time between refills", d.Refill.MaxInterval}, {"most time between refills, diluted", d.Refill.MaxIntervalDiluted}} {
		if r.s != nil {
			add("%s: %v [%s]", r.what, r.s.Value, r.s.Source)
		}
	}
	if r := d.Rinse; r != nil {
		add("new pump rinse: %d × %v of %s [%s]", r.Count, r.Volume, conc(r.Concentration), r.Source)
	}
	if s := d.Screening; s != nil {
		var ds []string
		for _, m := range s.Doses {
			ds = append(ds, m.Format(u))
		}
		add("screening: %s, the first in %v, over at least %v, observed %v to %v, %v apart [%s]", strings.Join(ds, ", "), s.FirstVolume, s.MinInjection, s.ObserveMin, s.ObserveMax, s.Between, s.Source)
	}
	if s := d.ScreeningStart; s != nil {
		add("starting dose from screening: %d × the effective dose, %d × if the effect lasted more than %v [%s]", s.Multiplier, s.LongEffectMultiplier, s.LongEffectOver, s.Source)
	}
	if c := d.OralConversion; c != nil {
		add("from %s: ÷%d typical, ÷%d to ÷%d published (a suggestion) [%s]", c.From, c.Typical, c.Max, c.Min, c.Source)
	}
	return out
}

func forPopulation(p string) string {
	if p == "" {
		return ""
	}
	return " (" + p + ")"
}

func limitLines[T ~int64](what string, l drug.Limit[T], show func(T) string) []string {
	if l.Empty() {
		return []string{"    " + what + ": EMPTY (treated as a soft limit: a reason is needed until the clinic sets it)"}
	}
	var out []string
	for _, s := range []struct {
		side string
		b    *drug.Sourced[T]
	}{{"hard minimum", l.HardMin}, {"soft minimum", l.SoftMin}, {"soft maximum", l.SoftMax}, {"hard maximum", l.HardMax}} {
		if s.b != nil {
			out = append(out, fmt.Sprintf("    %s, %s: %s [%s]", what, s.side, show(s.b.Value), s.b.Source))
		}
	}
	return out
}
