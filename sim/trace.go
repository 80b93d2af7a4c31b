package sim

import (
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// Trace is a scenario run sampled over time, for plots: the report, and the
// state of pump and patient at regular instants.
type Trace struct {
	Report  *Report           `json:"report"`
	Units   map[string]string `json:"units"` // drug → the unit its dose is counted in
	Samples []TraceSample     `json:"samples"`
}

// TraceSample is the run at one instant: cumulative volumes and doses.
type TraceSample struct {
	At                  unit.Time          `json:"-"`
	Time                string             `json:"at"`
	DeliveredML         float64            `json:"delivered_ml"`
	ReservoirEstimateML float64            `json:"reservoir_estimate_ml"`
	ReservoirActualML   float64            `json:"reservoir_actual_ml"`
	BatteryUAh          float64            `json:"battery_uah"`
	ToPatient           map[string]float64 `json:"to_patient"` // cumulative dose to the patient, per drug
}

// RunTrace runs sc as Run does and samples it at about points instants.
func RunTrace(sc *scenario.Scenario, points int) (*Trace, error) {
	points = max(2, points)
	r, err := newDriven(sc, nil)
	if err != nil {
		return nil, err
	}
	tr := &Trace{Units: map[string]string{}}
	every := max(unit.Second, sc.Duration/unit.Duration(points))
	h := &hooks{sampleEvery: every, sample: func(t unit.Time) {
		st := r.dev.Core.Status()
		s := TraceSample{At: t, Time: rfc(t), DeliveredML: ml(r.delivered), ReservoirEstimateML: ml(st.Reservoir),
			ReservoirActualML: ml(r.dev.HW.Reservoir), BatteryUAh: round3(st.Battery.MicroampHours()), ToPatient: map[string]float64{}}
		for d, v := range r.drugAmounts(func(mix int) unit.Volume {
			if mix < len(r.toPatient) {
				return r.toPatient[mix]
			}
			return 0
		}) {
			s.ToPatient[d] = round6(v)
		}
		tr.Samples = append(tr.Samples, s)
	}}
	if err := r.drive(h); err != nil {
		return nil, err
	}
	tr.Report = r.report()
	for i, d := range r.drugs {
		tr.Units[d] = r.drugUnit[i].String()
	}
	return tr, nil
}
