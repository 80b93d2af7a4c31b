package main

import (
	"github.com/thecal/thecal/calc"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The calculators' flags: each declares its inputs and reads them into the
// calculator's input when it runs.

func doseFlags(in *inputs) calcRun {
	conc := input[calc.Concentration](in, "concentration", "10mg/mL", "the drug's concentration in the reservoir", "")
	rate := input[unit.Rate](in, "rate", "0.5mL/day", "the pump rate (give the rate or the dose)", "")
	dose := input[calc.Dose](in, "dose", "5mg/day", "the daily dose (give the rate or the dose)", "")
	drugName := input[string](in, "drug", "morphine", "the drug: its dose unit is used", "")
	in.library()
	in.need("concentration")
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.DoseReport(lib, calc.DoseInput{Concentration: conc.v, Rate: opt(rate), Dose: opt(dose), Drug: drugName.v})
	}
}

func primingFlags(in *inputs) calcRun {
	catheter := in.catheter()
	in.need("catheter-length")
	return func(*drug.Library) (*calc.Report, error) { return calc.PrimingReport(catheter()) }
}

func bridgeFlags(in *inputs) calcRun {
	old := input[unit.Rate](in, "old-rate", "0.5mL/day", "the old program's rate", "")
	catheter := in.catheter()
	start := input[unit.Time](in, "start", "2026-01-05T08:00:00Z", "when the bridge starts (the end of the refill)", "")
	oldConc := input[calc.Concentration](in, "old-concentration", "10mg/mL", "the old drug's concentration, to show the dose it carries", "")
	in.need("old-rate", "catheter-length")
	return func(*drug.Library) (*calc.Report, error) {
		return calc.BridgeReport(calc.BridgeInput{OldRate: old.v, Catheter: catheter(), Start: opt(start), OldConcentration: opt(oldConc)})
	}
}

func refillFlags(in *inputs) calcRun {
	model := in.model()
	last := input[unit.Volume](in, "last-fill", "20mL", "the volume in the reservoir after the last refill", "")
	rate := input[unit.Rate](in, "rate", "0.5mL/day", "the programmed rate since (the average, for a flex program)", "")
	since := input[unit.Duration](in, "since", "30d", "the time since the last refill", "")
	withdrawn := input[unit.Volume](in, "withdrawn", "4.1mL", "the volume withdrawn now", "")
	boluses := input[unit.Volume](in, "boluses", "0.2mL", "bolus volume the pump reports given since", "0 mL")
	in.need("last-fill", "rate", "since", "withdrawn")
	return func(*drug.Library) (*calc.Report, error) {
		m, err := model()
		if err != nil {
			return nil, err
		}
		return calc.RefillReport(calc.RefillInput{Model: m, LastFill: last.v, Rate: rate.v, Since: since.v, Withdrawn: withdrawn.v, Boluses: boluses.v})
	}
}

func nextRefillFlags(in *inputs) calcRun {
	model := in.model()
	volume := input[unit.Volume](in, "volume", "20mL", "the volume in the reservoir after the refill", "")
	rate := input[unit.Rate](in, "rate", "0.5mL/day", "the basal rate (the average, for a flex program)", "")
	filled := input[unit.Time](in, "filled", "2026-01-05T08:00:00Z", "when the reservoir was filled", "")
	bolusVol := input[unit.Volume](in, "bolus-volume", "0.02mL", "the patient bolus volume", "")
	lockout := input[unit.Duration](in, "lockout", "4h", "the patient bolus lockout", "")
	perDay := input[calc.Count](in, "max-per-24h", "4", "the most patient boluses in 24 h", "")
	max24h := input[unit.Volume](in, "max-24h", "0.7mL", "the prescription's max_24h", "")
	low := input[unit.Volume](in, "low-threshold", "2mL", "the low-reservoir alarm threshold", pump.LowReservoirDefault.String())
	drugName := input[string](in, "drug", "baclofen", "the drug, for its stability limit", "")
	diluted := in.boolean("diluted", "the drug is diluted (ziconotide: a shorter limit)")
	first := in.boolean("first-fill", "the first fill of a new pump (ziconotide: first refill within 14 days)")
	stability := input[unit.Duration](in, "stability", "84d", "the longest time between refills, instead of the library's", "")
	margin := input[unit.Duration](in, "margin", "7d", "the safety margin", therapy.DefaultSettings.RefillMargin.String())
	in.library()
	in.need("volume", "rate")
	return func(lib *drug.Library) (*calc.Report, error) {
		m, err := model()
		if err != nil {
			return nil, err
		}
		var bolus *therapy.PatientBolus
		if bolusVol.set || lockout.set || perDay.set {
			if err := in.required("bolus-volume", "lockout", "max-per-24h"); err != nil {
				return nil, err
			}
			bolus = &therapy.PatientBolus{Volume: bolusVol.v, Lockout: lockout.v, MaxPer24h: int64(perDay.v)}
		}
		return calc.NextRefillReport(lib, calc.NextRefillInput{Model: m, Volume: volume.v, Rate: rate.v, Filled: opt(filled), Bolus: bolus,
			Max24h: opt(max24h), LowThreshold: low.v, Drug: drugName.v, Diluted: *diluted, FirstFill: *first, Stability: opt(stability), Margin: margin.v})
	}
}

func batteryFlags(in *inputs) calcRun {
	charge := input[unit.Charge](in, "battery", "950000uAh", "the remaining battery charge", pump.BatteryCapacity.String())
	rate := input[unit.Rate](in, "rate", "0.5mL/day", "the average volume delivered per day, boluses included", "")
	radio := input[unit.Duration](in, "radio", "2m", "the average telemetry session time per day", "0s")
	at := input[unit.Time](in, "at", "2026-01-05T08:00:00Z", "when the battery had this charge (from an interrogation)", "")
	in.need("rate", "at")
	return func(*drug.Library) (*calc.Report, error) {
		return calc.BatteryReport(calc.BatteryInput{Battery: charge.v, Rate: rate.v, Radio: radio.v, At: at.v})
	}
}

func screeningFlags(in *inputs) calcRun {
	drugName := input[string](in, "drug", "baclofen", "the drug whose screening protocol is used", "baclofen")
	start := input[unit.Time](in, "start", "2026-01-05T08:00:00Z", "when the first bolus is given", "")
	results := inputList[therapy.ScreeningResult](in, "result", "50mcg:none", "one bolus's result, in order: DOSE:none, or DOSE:how long the effect lasted (repeat)")
	in.library()
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.ScreeningReport(lib, calc.ScreeningInput{Drug: drugName.v, Start: opt(start), Results: results.v})
	}
}

func titrationFlags(in *inputs) calcRun {
	drugName := input[string](in, "drug", "ziconotide", "the drug", "")
	start := input[calc.Dose](in, "start", "2.4mcg/day", "the starting daily dose", "")
	target := input[calc.Dose](in, "target", "19.2mcg/day", "the target daily dose", "")
	conc := input[calc.Concentration](in, "concentration", "25mcg/mL", "the concentration, to show each rate and check each step", "")
	from := input[unit.Time](in, "from", "2026-01-05T08:00:00Z", "when the starting dose begins", "")
	population := input[string](in, "population", "cerebral", "the patient's population, where the library's rules differ", "")
	step := input[calc.Step](in, "step", "2.4mcg/day", "a smaller largest step: a dose per day, or a percentage like 10%", "")
	interval := input[unit.Duration](in, "interval", "72h", "a longer shortest interval between increases", "")
	perWeek := input[calc.Count](in, "per-week", "2", "fewer increases in any 7 days", "")
	in.library()
	in.need("drug", "start", "target", "concentration")
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.TitrationReport(lib, calc.TitrationInput{Drug: drugName.v, Start: start.v, Target: target.v, Concentration: conc.v,
			From: opt(from), Population: population.v, Step: opt(step), Interval: opt(interval), PerWeek: opt(perWeek)})
	}
}

func opioidFlags(in *inputs) calcRun {
	oral := input[calc.Dose](in, "oral", "60mg/day", "the daily oral morphine dose", "")
	drugName := input[string](in, "drug", "morphine", "the intrathecal drug whose conversion is used", "morphine")
	in.library()
	in.need("oral")
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.OpioidReport(lib, calc.OpioidInput{Oral: oral.v, Drug: drugName.v})
	}
}

func trialFlags(in *inputs) calcRun {
	baseline := input[therapy.Score](in, "baseline", "8", "the pain score before the trial", "")
	trial := input[therapy.Score](in, "trial", "3", "the pain score during the trial", "")
	scale := input[therapy.Score](in, "scale", "10", "the top of the score's scale", "10")
	threshold := input[unit.Percent](in, "threshold", "50%", "the clinic's success threshold", therapy.DefaultSettings.TrialSuccess.String())
	functional := input[therapy.Functional](in, "functional", "yes", "functional improvement recorded: yes or no", "")
	in.need("baseline", "trial")
	return func(*drug.Library) (*calc.Report, error) {
		return calc.TrialReport(calc.TrialInput{Baseline: baseline.v, Trial: trial.v, Scale: scale.v, Threshold: threshold.v, Functional: functional.v})
	}
}

func checkFlags(in *inputs) calcRun {
	drugName := input[string](in, "drug", "ziconotide", "the drug", "")
	conc := input[calc.Concentration](in, "concentration", "25mcg/mL", "the concentration in the reservoir", "")
	dose := input[calc.Dose](in, "dose", "4.8mcg/day", "the proposed daily dose (0mcg/day stops the drug)", "")
	at := input[unit.Time](in, "at", "2026-01-05T08:00:00Z", "when the proposal takes effect (needed with --prev)", "")
	prev := inputList[calc.Prev](in, "prev", "2d=2.4mcg/day", "a past prescription of the drug, oldest first: TIME=DOSE, TIME a date or how long before --at (repeat)")
	population := input[string](in, "population", "cerebral", "the patient's population, where the library's rules differ", "")
	reason := input[string](in, "reason", "palliative care", "the reason stated for findings that need one", "")
	in.library()
	in.need("drug", "concentration", "dose")
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.CheckReport(lib, calc.CheckInput{Drug: drugName.v, Concentration: conc.v, Dose: dose.v, At: opt(at), Prev: prev.v,
			Population: population.v, Reason: reason.v})
	}
}

func libraryFlags(in *inputs) calcRun {
	drugName := input[string](in, "drug", "ziconotide", "show only this drug", "")
	in.library()
	return func(lib *drug.Library) (*calc.Report, error) {
		return calc.LibraryReport(lib, in.libraryName(), drugName.v)
	}
}
