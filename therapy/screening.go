package therapy

import (
	"fmt"
	"strings"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

// ScreeningBolus is one bolus of a screening protocol.
type ScreeningBolus struct {
	N        int // 1, 2, …
	Dose     unit.Mass
	Volume   unit.Volume   // at the protocol's concentration (the first dose in its volume)
	At       unit.Time     // the earliest time: one interval after the bolus before
	Observe  [2]unit.Time  // observe from, to
	Injected unit.Duration // inject over at least this
}

// ScreeningPlan lays out protocol s from start: each bolus one interval after the
// one before, given only if the one before had no response.
func ScreeningPlan(s *drug.Screening, start unit.Time) []ScreeningBolus {
	c := s.Concentration()
	plan := make([]ScreeningBolus, len(s.Doses))
	for i, dose := range s.Doses {
		at := start.Add(unit.Duration(i) * s.Between)
		v, _ := c.VolumeFor(dose)
		plan[i] = ScreeningBolus{N: i + 1, Dose: dose, Volume: v, At: at,
			Observe: [2]unit.Time{at.Add(s.ObserveMin), at.Add(s.ObserveMax)}, Injected: s.MinInjection}
	}
	return plan
}

// ScreeningResult is the observed result of one screening bolus.
type ScreeningResult struct {
	Dose      unit.Mass
	Responded bool
	Lasted    unit.Duration // how long the effect lasted, when Responded
}

// MarshalText writes r as DOSE:none, or DOSE:DURATION for how long the
// response lasted: "50 mcg:none", "75 mcg:10h".
func (r ScreeningResult) MarshalText() ([]byte, error) {
	if !r.Responded {
		return []byte(r.Dose.String() + ":none"), nil
	}
	return []byte(r.Dose.String() + ":" + r.Lasted.String()), nil
}

// UnmarshalText reads a result as MarshalText writes it ("50mcg:none", "75mcg:10h").
func (r *ScreeningResult) UnmarshalText(b []byte) error {
	s := string(b)
	doseText, outcome, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("%q: write DOSE:none for no response, or DOSE:DURATION for how long the response lasted, e.g. 50mcg:none, 75mcg:10h", s)
	}
	m, _, err := unit.ParseMass(doseText)
	if err != nil {
		return err
	}
	res := ScreeningResult{Dose: m}
	if outcome != "none" {
		d, err := unit.ParseDuration(outcome)
		if err != nil {
			return fmt.Errorf("%q: after the dose write none, or how long the response lasted: %w", s, err)
		}
		res.Responded, res.Lasted = true, d
	}
	*r = res
	return nil
}

// ScreeningOutcome is where a screening stands.
type ScreeningOutcome struct {
	Done      bool            // a response, or every dose without one
	Candidate bool            // a dose worked
	Next      *ScreeningBolus // the next bolus to give, when not Done
	Effective unit.Mass       // the dose that worked
	Long      bool            // its effect lasted more than the long-effect time
	Factor    int64           // the multiple applied
	Start     unit.DoseRate   // the starting daily dose: Factor × Effective over 24 h
}

// EvaluateScreening reads results, in protocol order, against protocol s: a
// response ends the screening with a starting daily dose of st.Multiplier × the
// effective dose, or st.LongEffectMultiplier × when the effect lasted more than
// st.LongEffectOver; no response to the last dose means not a candidate.
func EvaluateScreening(s *drug.Screening, st *drug.ScreeningStart, start unit.Time, results []ScreeningResult) (ScreeningOutcome, error) {
	plan := ScreeningPlan(s, start)
	if len(results) > len(plan) {
		return ScreeningOutcome{}, inputErr("result", "%d results for a protocol of %d boluses", len(results), len(plan))
	}
	for i, r := range results {
		if r.Dose != plan[i].Dose {
			return ScreeningOutcome{}, inputErr("result", "bolus %d of the protocol is %v, not %v: give the results in order, %s", i+1, plan[i].Dose, r.Dose, doseList(plan))
		}
		if r.Responded && i < len(results)-1 {
			return ScreeningOutcome{}, inputErr("result", "bolus %d (%v) had a response: the screening ends there, no later bolus is given", i+1, r.Dose)
		}
		if r.Responded && r.Lasted <= 0 {
			return ScreeningOutcome{}, inputErr("result", "give how long the response to %v lasted, e.g. \"6h\"", r.Dose)
		}
	}
	var o ScreeningOutcome
	if len(results) == 0 || !results[len(results)-1].Responded {
		if len(results) == len(plan) {
			o.Done = true // no response to the last dose: not a candidate
			return o, nil
		}
		o.Next = &plan[len(results)]
		return o, nil
	}
	r := results[len(results)-1]
	o.Done, o.Candidate, o.Effective = true, true, r.Dose
	o.Long = r.Lasted > st.LongEffectOver
	o.Factor = st.Multiplier
	if o.Long {
		o.Factor = st.LongEffectMultiplier
	}
	daily, ok := unit.Times(r.Dose, o.Factor)
	if !ok {
		return ScreeningOutcome{}, tooLarge("result", nil, "%d × %v", o.Factor, r.Dose)
	}
	o.Start = daily.PerDay()
	return o, nil
}

func doseList(plan []ScreeningBolus) string {
	s := ""
	for i, b := range plan {
		if i > 0 {
			s += ", "
		}
		s += b.Dose.String()
	}
	return s
}
