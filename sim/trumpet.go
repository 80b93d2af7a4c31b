package sim

import (
	"fmt"
	"io"
	"math"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// The trumpet curve of IEC 60601-2-24 (clause 201.12.1), applied to simulated
// delivery: the delivered volume is sampled every TrumpetSampleInterval over
// TrumpetPeriod after a stabilisation period; the curve is computed from the
// second hour of samples. For each observation window P, the mean flow over every
// run of P/TrumpetSampleInterval consecutive sample intervals is compared with the
// programmed rate; the largest and smallest percentage errors are the curve.
const (
	TrumpetSampleInterval   = 30 * unit.Second
	TrumpetPeriod           = 2 * unit.Hour
	TrumpetAnalysisFrom     = unit.Hour // the curve uses samples from the second hour on
	DefaultTrumpetStabilise = unit.Hour
)

// TrumpetWindows are the standard's observation windows, in minutes.
var TrumpetWindows = []int{2, 5, 11, 19, 31}

// TrumpetOptions choose what is measured.
type TrumpetOptions struct {
	// Rate overrides the scenario's prescription with a continuous rate (0: the
	// scenario's own continuous rate).
	Rate unit.Rate
	// Stabilise is the time delivery runs before sampling starts (0: DefaultTrumpetStabilise).
	Stabilise unit.Duration
	// Age is the pump's age at the start of the test, for the mechanism's drift.
	Age unit.Duration
	// SpreadPct and DriftPctPerYear, when HasMechanics, replace the scenario's
	// mechanical error model.
	SpreadPct, DriftPctPerYear float64
	HasMechanics               bool
}

// Trumpet is the result: the curve of the pump software on an ideal mechanism,
// and, when the scenario (or the options) give a mechanical error model, the
// curve with that mechanism.
type Trumpet struct {
	Scenario        string        `json:"scenario"`
	RateMLPerDay    float64       `json:"rate_ml_per_day"`
	RateMLPerHour   float64       `json:"rate_ml_per_hour"`
	StrokeIntervalS float64       `json:"stroke_interval_s"`
	Stabilise       string        `json:"stabilise"`
	SampleInterval  string        `json:"sample_interval"`
	Period          string        `json:"period"`
	Age             string        `json:"age"`
	Mechanism       Mechanism     `json:"mechanism"`
	QuantisationPct []WindowBound `json:"quantisation_pct"`
	Software        TrumpetCurve  `json:"software"`
	WithMechanism   *TrumpetCurve `json:"with_mechanism,omitempty"`
	Warnings        []string      `json:"warnings"`
}

// Mechanism is the mechanical error model used.
type Mechanism struct {
	StrokeSpreadPct       float64 `json:"stroke_spread_pct"`
	StrokeDriftPctPerYear float64 `json:"stroke_drift_pct_per_year"`
}

// WindowBound is the error one stroke makes over a window: the most a pump that
// delivers in whole strokes can be off, whatever its software.
type WindowBound struct {
	Minutes  int     `json:"minutes"`
	BoundPct float64 `json:"bound_pct"`
}

// TrumpetCurve is one trumpet curve.
type TrumpetCurve struct {
	// MeanErrorPct is the overall error over the analysis hour (the standard's A).
	MeanErrorPct float64         `json:"mean_error_pct"`
	Windows      []TrumpetWindow `json:"windows"`
	// SoftwareResidualStrokes is the largest difference, at any sample, between the
	// strokes the pump made and the whole strokes its program called for
	// (floor of programmed volume ÷ stroke volume): 0 for exact integer delivery.
	SoftwareResidualStrokes int64           `json:"software_residual_strokes"`
	DeliveredML             float64         `json:"delivered_ml"`
	Samples                 []TrumpetSample `json:"samples"`
}

// TrumpetWindow is the largest and smallest error over all windows of one length.
type TrumpetWindow struct {
	Minutes int     `json:"minutes"`
	MaxPct  float64 `json:"max_pct"`
	MinPct  float64 `json:"min_pct"`
	Windows int     `json:"windows"`
}

// TrumpetSample is one sample: the time since sampling started, the volume
// delivered since then, and the flow over the interval before it.
type TrumpetSample struct {
	Minute        float64 `json:"minute"`
	DeliveredUL   float64 `json:"delivered_ul"`
	FlowMLPerHour float64 `json:"flow_ml_per_hour"`
}

// trumpetScenario is sc reduced to steady delivery: no events, the test's
// duration, a continuous rate, no patient bolus.
func trumpetScenario(sc *scenario.Scenario, o *TrumpetOptions) (*scenario.Scenario, unit.Rate, error) {
	t := *sc
	t.Events = nil
	t.Duration = o.Stabilise + TrumpetPeriod
	pr := sc.Prescription
	pr.Rx.PatientBolus = pump.PatientBolus{}
	switch {
	case o.Rate > 0:
		if o.Rate < pump.MinRate || o.Rate > pump.MaxRate {
			return nil, 0, &OptionError{Option: "--rate", Reason: fmt.Sprintf("%s is outside %s to %s", o.Rate, pump.MinRate, pump.MaxRate)}
		}
		pr = scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: o.Rate,
			Max24h: pr.Rx.Max24h, LowReservoir: pr.Rx.LowReservoir, Weekly: pr.Rx.Weekly}}
	case pr.Rx.Mode != pump.ModeContinuous:
		return nil, 0, &scenario.FieldError{Field: "prescription.mode", Reason: fmt.Sprintf("%q: a trumpet curve needs one continuous rate; give --rate", pr.Rx.Mode)}
	}
	rate := rxOf(&pr, sc.Fill.Drug).Rate
	if day := rate.Over(unit.Day); pr.Rx.Max24h < day {
		pr.Rx.Max24h = day
	}
	t.Prescription = pr
	if o.HasMechanics {
		t.Pump.StrokeSpreadPct, t.Pump.StrokeDriftPctPerYear = o.SpreadPct, o.DriftPctPerYear
	}
	return &t, rate, nil
}

// RunTrumpet measures the trumpet curve of sc's pump at its continuous rate (or
// o.Rate): once on an ideal mechanism, which shows what the software adds, and
// once more with the scenario's mechanical error model if it has one.
func RunTrumpet(sc *scenario.Scenario, o TrumpetOptions) (*Trumpet, error) {
	if o.Stabilise == 0 {
		o.Stabilise = DefaultTrumpetStabilise
	}
	if o.Stabilise < 0 {
		return nil, &OptionError{Option: "--stabilise", Reason: "must not be negative"}
	}
	if o.Age < 0 {
		return nil, &OptionError{Option: "--age", Reason: "must not be negative"}
	}
	tsc, rate, err := trumpetScenario(sc, &o)
	if err != nil {
		return nil, err
	}
	tr := &Trumpet{Scenario: sc.Name, RateMLPerDay: rate.MillilitresPerDay(), RateMLPerHour: rate.MillilitresPerDay() / 24,
		StrokeIntervalS: float64(pump.StrokeVolume) * 86400 / float64(rate),
		Stabilise:       o.Stabilise.String(), SampleInterval: TrumpetSampleInterval.String(), Period: TrumpetPeriod.String(), Age: o.Age.String(),
		Mechanism: Mechanism{tsc.Pump.StrokeSpreadPct, tsc.Pump.StrokeDriftPctPerYear}, Warnings: []string{}}
	if len(sc.Events) > 0 {
		tr.Warnings = append(tr.Warnings, fmt.Sprintf("the scenario's %d events are left out: a trumpet curve measures steady delivery", len(sc.Events)))
	}
	for _, m := range TrumpetWindows {
		tr.QuantisationPct = append(tr.QuantisationPct, WindowBound{m, 100 * float64(pump.StrokeVolume) / float64(rate.Over(unit.Duration(m)*unit.Minute))})
	}
	ideal := *tsc
	ideal.Pump.StrokeSpreadPct, ideal.Pump.StrokeDriftPctPerYear = 0, 0
	if tr.Software, err = trumpetCurve(&ideal, rate, o); err != nil {
		return nil, err
	}
	if tsc.Pump.StrokeSpreadPct != 0 || tsc.Pump.StrokeDriftPctPerYear != 0 {
		c, err := trumpetCurve(tsc, rate, o)
		if err != nil {
			return nil, err
		}
		tr.WithMechanism = &c
	}
	return tr, nil
}

// trumpetCurve runs sc and computes one curve.
func trumpetCurve(sc *scenario.Scenario, rate unit.Rate, o TrumpetOptions) (TrumpetCurve, error) {
	type stroke struct {
		t     unit.Time
		moved unit.Volume
	}
	var strokes []stroke
	r, err := newRun(sc)
	if err != nil {
		return TrumpetCurve{}, err
	}
	inner := r.dev.OnStroke
	r.dev.OnRun = nil // every stroke is sampled
	r.dev.OnStroke = func(t unit.Time, moved unit.Volume) {
		inner(t, moved)
		strokes = append(strokes, stroke{t, moved})
	}
	// The drift's age origin: the mechanism was o.Age old when the test started.
	p := &sc.Pump
	device.NewMechanics(p.StrokeSpreadPct, p.StrokeDriftPctPerYear, sc.Start.Add(-o.Age), uint64(sc.Seed)).Attach(r.dev)
	if err := r.drive(&hooks{}); err != nil {
		return TrumpetCurve{}, err
	}
	t0 := sc.Start.Add(o.Stabilise)
	n := int(TrumpetPeriod / TrumpetSampleInterval)
	w := make([]unit.Volume, n+1) // delivered since t0, at each sample
	count := make([]int64, n+1)   // strokes since the program started, at each sample
	i, cum, k := 0, unit.Volume(0), int64(0)
	var resid int64
	for s := 0; s <= n; s++ {
		ts := t0.Add(unit.Duration(s) * TrumpetSampleInterval)
		for i < len(strokes) && strokes[i].t <= ts {
			if strokes[i].t > t0 {
				cum += strokes[i].moved
			}
			k++
			i++
		}
		w[s], count[s] = cum, k
		// The program called for rate × elapsed; whole strokes of it:
		due := int64(rate) * int64(ts-sc.Start) / (int64(pump.StrokeVolume) * int64(unit.Day))
		resid = max(resid, abs64(k-due))
	}
	c := TrumpetCurve{SoftwareResidualStrokes: resid, DeliveredML: w[n].Millilitres()}
	perMin := float64(rate) / (24 * 60) // nL per minute programmed
	dtMin := TrumpetSampleInterval.Std().Minutes()
	for s := 0; s <= n; s++ {
		smp := TrumpetSample{Minute: float64(s) * dtMin, DeliveredUL: float64(w[s]) / 1000}
		if s > 0 {
			smp.FlowMLPerHour = float64(w[s]-w[s-1]) / 1e6 / (dtMin / 60)
		}
		c.Samples = append(c.Samples, smp)
	}
	first := int(TrumpetAnalysisFrom / TrumpetSampleInterval) // sample index where the analysis hour starts
	c.MeanErrorPct = errPct(float64(w[n]-w[first]), perMin*float64(n-first)*dtMin)
	for _, m := range TrumpetWindows {
		span := int(unit.Duration(m) * unit.Minute / TrumpetSampleInterval)
		tw := TrumpetWindow{Minutes: m, MaxPct: math.Inf(-1), MinPct: math.Inf(1)}
		for j := first; j+span <= n; j++ {
			e := errPct(float64(w[j+span]-w[j]), perMin*float64(m))
			tw.MaxPct, tw.MinPct = max(tw.MaxPct, e), min(tw.MinPct, e)
			tw.Windows++
		}
		c.Windows = append(c.Windows, tw)
	}
	return c, nil
}

// errPct is the error in %, rounded to 1e-9 % so that an exact result prints as 0.
func errPct(got, want float64) float64 {
	return math.Round(1e11*(got-want)/want)/1e9 + 0 // + 0 turns -0 into 0
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// WriteText writes the trumpet curves as a table.
func (tr *Trumpet) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Trumpet curve (IEC 60601-2-24 method): %s", tr.Scenario)
	p("Rate %.6g mL/day (%.6g mL/h): one 0.5 µL stroke every %.1f s", tr.RateMLPerDay, tr.RateMLPerHour, tr.StrokeIntervalS)
	p("Stabilisation %s, then samples every %s for %s; curve from the second hour", tr.Stabilise, tr.SampleInterval, tr.Period)
	if tr.WithMechanism != nil {
		p("Mechanism: stroke spread %g%% (1 SD), drift %g%%/year, age %s", tr.Mechanism.StrokeSpreadPct, tr.Mechanism.StrokeDriftPctPerYear, tr.Age)
	}
	p("")
	head := "window     one stroke     software (ideal mechanism)"
	if tr.WithMechanism != nil {
		head += "     with mechanism"
	}
	p("%s", head)
	for i, b := range tr.QuantisationPct {
		sw := tr.Software.Windows[i]
		line := fmt.Sprintf("%3d min    ±%8.3f%%     %+9.3f%% .. %+9.3f%%", b.Minutes, b.BoundPct, sw.MinPct, sw.MaxPct)
		if tr.WithMechanism != nil {
			mw := tr.WithMechanism.Windows[i]
			line += fmt.Sprintf("     %+9.3f%% .. %+9.3f%%", mw.MinPct, mw.MaxPct)
		}
		p("%s", line)
	}
	line := fmt.Sprintf("mean error over the second hour:   %+9.3f%%", tr.Software.MeanErrorPct)
	if tr.WithMechanism != nil {
		line += fmt.Sprintf("                   %+9.3f%%", tr.WithMechanism.MeanErrorPct)
	}
	p("%s", line)
	p("")
	p("What the software adds: %d strokes off the exact program at any sample (exact integer delivery);", tr.Software.SoftwareResidualStrokes)
	p("every window's error on an ideal mechanism is within one stroke (the 'one stroke' column).")
	if tr.WithMechanism != nil {
		p("What the mechanism adds: the difference between the last two columns; the pump counted the same strokes.")
	}
	for _, s := range tr.Warnings {
		p("warning: %s", s)
	}
}
