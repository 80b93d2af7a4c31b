package calc

import (
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// DoseInput is what dose converts: a rate or a daily dose at a concentration.
type DoseInput struct {
	Concentration Concentration
	Rate          *unit.Rate // give Rate or Dose
	Dose          *Dose
	Drug          string // optional: its dose unit is used
}

func (in *DoseInput) Inputs() []Input {
	return []Input{
		{Name: "concentration", Example: "10mg/mL", What: "the drug's concentration in the reservoir", Required: true, Text: &in.Concentration},
		{Name: "rate", Example: "0.5mL/day", What: "the pump rate (give the rate or the dose)", Text: optional(&in.Rate)},
		{Name: "dose", Example: "5mg/day", What: "the daily dose (give the rate or the dose)", Text: optional(&in.Dose)},
		{Name: "drug", Example: "morphine", What: "the drug: its dose unit is used", Text: text(&in.Drug)},
	}
}

// Report converts a rate to a daily dose or a daily dose to a rate.
func (in *DoseInput) Report(lib Library) (*Report, error) {
	if (in.Rate == nil) == (in.Dose == nil) {
		return nil, inputErr("rate", "give exactly one of --rate and --dose")
	}
	u := in.Concentration.Unit
	rep := &Report{Calc: "dose", Title: "Dose and rate"}
	if in.Drug != "" {
		d, err := Lookup(lib.Library, in.Drug)
		if err != nil {
			return nil, err
		}
		u = d.DoseUnit
		rep.in("drug", "drug", d.Name, d.Name+" (doses in "+u.String()+")")
	}
	c := in.Concentration.Value
	var res therapy.Dosing
	var err error
	if in.Rate != nil {
		res, err = therapy.DosingForRate(*in.Rate, c)
	} else {
		res, err = therapy.DosingForDose(in.Dose.Value, c)
	}
	if err != nil {
		return nil, err
	}
	rep.in("concentration", "concentration", c.Format(u))
	if in.Rate != nil {
		rep.in("rate", "rate", res.Rate, rateText(res.Rate))
		rep.work("dose = rate × concentration = %v × %s = %s", res.Rate, c.Format(u), res.Dose.Format(u))
	} else {
		d := in.Dose.Value
		rep.in("dose", "dose", d.Format(u), doseText(d, u))
		rep.work("rate = dose ÷ concentration = %s ÷ %s = %v (to the nearest nL/day)", d.Format(u), c.Format(u), res.Rate)
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

// PrimingInput is the catheter to prime.
type PrimingInput struct{ Catheter Catheter }

func (in *PrimingInput) Inputs() []Input { return in.Catheter.inputs() }

// Report is the priming bolus after implant or catheter revision.
func (in *PrimingInput) Report(Library) (*Report, error) {
	c := in.Catheter
	p, err := therapy.Priming(therapy.Catheter{Length: c.Length, PerCm: c.PerCm})
	if err != nil {
		return nil, err
	}
	rep := &Report{Calc: "priming", Title: "Priming bolus"}
	rep.in("catheter_length", "catheter length", c.Length)
	rep.in("catheter_per_cm", "catheter volume per cm", c.PerCm)
	rep.work("catheter volume = %v × %v per cm = %v", c.Length, c.PerCm, p.Catheter)
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

// BridgeInput is what the bridge after a concentration change depends on.
type BridgeInput struct {
	OldRate          unit.Rate
	Catheter         Catheter
	Start            *unit.Time     // optional: dates instead of "start + …"
	OldConcentration *Concentration // optional: the old drug delivered
}

func (in *BridgeInput) Inputs() []Input {
	return append(append([]Input{
		{Name: "old-rate", Example: "0.5mL/day", What: "the old program's rate", Required: true, Text: &in.OldRate}},
		in.Catheter.inputs()...),
		Input{Name: "start", Example: "2026-01-05T08:00:00Z", What: "when the bridge starts (the end of the refill)", Text: optional(&in.Start)},
		Input{Name: "old-concentration", Example: "10mg/mL", What: "the old drug's concentration, to show the dose it carries", Text: optional(&in.OldConcentration)})
}

// Report is the bridge after a refill that changes concentration.
func (in *BridgeInput) Report(Library) (*Report, error) {
	var oldConc unit.Concentration
	if in.OldConcentration != nil {
		oldConc = in.OldConcentration.Value
	}
	cat := in.Catheter
	b, err := therapy.BridgeFor(in.OldRate, therapy.Catheter{Length: cat.Length, PerCm: cat.PerCm}, or(in.Start), oldConc)
	if err != nil {
		return nil, err
	}
	clk := newClock(in.Start, "start")
	rep := &Report{Calc: "bridge", Title: "Bridge after a concentration change"}
	rep.in("old_rate", "old rate", b.Rate, rateText(b.Rate))
	rep.in("catheter_length", "catheter length", cat.Length)
	rep.in("catheter_per_cm", "catheter volume per cm", cat.PerCm)
	if in.Start != nil {
		rep.in("start", "start", *in.Start, clk.show(*in.Start))
	}
	rep.work("bridge volume = tubing %v + catheter %v × %v per cm = %v", pump.TubingVolume, cat.Length, cat.PerCm, b.Volume)
	rep.work("duration = %v ÷ %v = %s", b.Volume, b.Rate, daysText(b.Duration))
	rep.out("volume", "bridge volume", b.Volume, fmt.Sprintf("%v (%d strokes)", b.Volume, b.Strokes))
	rep.out("rate", "runs at", b.Rate, rateText(b.Rate))
	rep.out("duration", "duration", b.Duration, daysText(b.Duration))
	rep.out("new_drug_at_tip", "new drug at the tip", clk.json(b.NewDrugAtTip), clk.show(b.NewDrugAtTip))
	if oc := in.OldConcentration; oc != nil {
		u := oc.Unit
		rep.in("old_concentration", "old concentration", oc.Value.Format(u))
		rep.work("old drug during the bridge = %v × %s = %s (%s)", b.Volume, oc.Value.Format(u), b.OldDrug.Format(u), doseText(b.OldDose, u))
		rep.out("old_drug", "old drug delivered", b.OldDrug.Format(u))
	}
	rep.note("until the new drug reaches the tip the patient still receives the old drug at the old dose")
	return rep, nil
}
