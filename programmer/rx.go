package programmer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Errors of the programmer's workflows.
var (
	// ErrRx is wrapped by every refusal of a prescription edit before it is
	// checked (a missing or contradictory input).
	ErrRx = errors.New("programmer: prescription")
	// ErrReservoirMismatch refuses a prescription for another drug or
	// concentration than the reservoir holds (hazard H2): record the refill
	// first, or program what is in the reservoir.
	ErrReservoirMismatch = errors.New("programmer: the prescription's drug or concentration is not what the reservoir holds")
	// ErrPumpWouldRefuse is a prescription the pump's own validation refuses
	// (a rate out of range, a cap the basal exceeds…), caught before sending.
	ErrPumpWouldRefuse = errors.New("programmer: the pump would refuse this prescription")
)

// Edit is a change to the running prescription, as a clinician states it:
// only what is given changes. Amounts carry their units.
type Edit struct {
	Drug          string
	Concentration unit.Concentration
	Mode          pump.Mode // ModeMinimum or ModeStopped; the other modes follow from Rate, Dose or Flex
	Rate          unit.Rate // continuous basal rate…
	Dose          unit.DoseRate
	Flex          []pump.FlexStep // daily flex steps (days ignored)
	Max24h        unit.Volume     // 0: kept, or for a new program basal + every allowed bolus
	LowReservoir  unit.Volume
	Bolus         *pump.PatientBolus // nil: kept; Volume 0: removed
}

// Apply returns the prescription that results from applying e to old (the
// running one, if hasOld). When only the concentration changes, the daily
// dose is kept (rates and bolus volumes follow the concentration): the same
// mass reaches the patient.
func (e Edit) Apply(old pump.Prescription, hasOld bool) (pump.Prescription, error) {
	if e.Rate != 0 && e.Dose != 0 {
		return pump.Prescription{}, fmt.Errorf("%w: give a rate or a dose, not both", ErrRx)
	}
	rx := pump.Prescription{}
	if hasOld {
		rx = old
	}
	if e.Drug != "" && e.Drug != rx.Drug {
		if e.Concentration == 0 {
			return pump.Prescription{}, fmt.Errorf("%w: a new drug needs its concentration", ErrRx)
		}
		rx.Drug = e.Drug
	}
	if rx.Drug == "" {
		return pump.Prescription{}, fmt.Errorf("%w: no prescription yet: give the drug, its concentration and the dose or rate", ErrRx)
	}
	if e.Concentration != 0 && e.Concentration != rx.Concentration {
		if rx.Concentration != 0 {
			rescale(&rx, rx.Concentration, e.Concentration)
		}
		rx.Concentration = e.Concentration
	}
	if rx.Concentration == 0 {
		return pump.Prescription{}, fmt.Errorf("%w: give the concentration", ErrRx)
	}
	switch {
	case e.Flex != nil:
		if len(e.Flex) > pump.MaxFlexSteps {
			return pump.Prescription{}, fmt.Errorf("%w: %d flex steps, at most %d", ErrRx, len(e.Flex), pump.MaxFlexSteps)
		}
		rx.Mode, rx.Rate, rx.Weekly, rx.Flex, rx.FlexSteps = pump.ModeFlex, 0, false, [pump.MaxFlexSteps]pump.FlexStep{}, len(e.Flex)
		for i, s := range e.Flex {
			rx.Flex[i] = pump.FlexStep{At: s.At, Rate: s.Rate, Days: pump.AllDays}
		}
	case e.Rate != 0 || e.Dose != 0:
		rate := e.Rate
		if e.Dose != 0 {
			rate = rx.Concentration.RateFor(e.Dose)
		}
		rx.Mode, rx.Rate, rx.Weekly, rx.Flex, rx.FlexSteps = pump.ModeContinuous, rate, false, [pump.MaxFlexSteps]pump.FlexStep{}, 0
	case e.Mode == pump.ModeMinimum || e.Mode == pump.ModeStopped:
		rx.Mode, rx.Rate, rx.Weekly, rx.Flex, rx.FlexSteps = e.Mode, 0, false, [pump.MaxFlexSteps]pump.FlexStep{}, 0
		rx.PatientBolus = pump.PatientBolus{}
	case !hasOld || old.Mode == 0:
		return pump.Prescription{}, fmt.Errorf("%w: give the dose or rate (or flex steps)", ErrRx)
	}
	if e.Mode != 0 && e.Mode != rx.Mode {
		return pump.Prescription{}, fmt.Errorf("%w: mode %v does not go with the rates given", ErrRx, e.Mode)
	}
	if e.Bolus != nil {
		rx.PatientBolus = *e.Bolus
	}
	if rx.Mode == pump.ModeStopped || rx.Mode == pump.ModeMinimum {
		rx.PatientBolus = pump.PatientBolus{}
	}
	if e.LowReservoir != 0 {
		rx.LowReservoir = e.LowReservoir
	}
	auto := AutoCap(&rx)
	switch {
	case e.Max24h != 0:
		rx.Max24h = e.Max24h
	case rx.Mode == pump.ModeStopped:
	case !hasOld || rx.Max24h < auto || rx.Concentration != old.Concentration:
		rx.Max24h = auto
	}
	return rx, nil
}

// rescale keeps the daily mass of rx when its concentration goes from c0 to c1.
func rescale(rx *pump.Prescription, c0, c1 unit.Concentration) {
	rate := func(r unit.Rate) unit.Rate { return c1.RateFor(c0.Dose(r)) }
	rx.Rate = rate(rx.Rate)
	for i := range rx.FlexSteps {
		rx.Flex[i].Rate = rate(rx.Flex[i].Rate)
	}
	if v := rx.PatientBolus.Volume; v > 0 {
		vol, _ := c1.VolumeFor(c0.Of(v))
		rx.PatientBolus.Volume = max(roundStrokes(vol), pump.StrokeVolume)
	}
	rx.Max24h = 0 // recomputed
}

func roundStrokes(v unit.Volume) unit.Volume {
	return (v + pump.StrokeVolume/2) / pump.StrokeVolume * pump.StrokeVolume
}

// AutoCap, Daily and DailyOf are therapy's (the rule lives once there); the
// names stay here for the programmer's callers.
func AutoCap(rx *pump.Prescription) unit.Volume { return therapy.AutoCap(rx) }

// Daily is what a prescription delivers in a day (therapy.Daily).
type Daily = therapy.Daily

// DailyOf returns rx's daily volumes (therapy.DailyOf).
func DailyOf(rx *pump.Prescription) Daily { return therapy.DailyOf(rx) }

// Change is a reviewed prescription change: the running prescription and the
// new one, the review every path runs (therapy.ReviewChange: the drug
// library's findings with every patient bolus counted, the large-change
// rule, the withdrawal warning, a restart after an interruption), and how it
// is to be sent.
type Change struct {
	Old, New pump.Prescription
	HasOld   bool
	Replaces pump.Hash // the running prescription's hash, as interrogated
	Bridge   bool      // start after the old drug in tubing and catheter is delivered
	Unit     unit.MassUnit
	Drug     *drug.Drug // nil when the library does not know it
	Findings []drug.Finding
	Review   *therapy.ChangeReview
	Notes    []string
}

// Facts are what the programmer knows of the patient beyond the pump: the
// prescription history, the physician's order, a stop of delivery. The
// pump keeps only its running prescription; the clinic's record (--record)
// gives the whole history, which the titration rules count.
type Facts struct {
	Population string
	Now        unit.Time // the pump's time
	// History is every earlier prescription of the patient, oldest first;
	// nil: only the pump's running prescription is known.
	History []drug.Prescribed
	// Order is the physician's newest order (zero: none known): a refill of
	// another drug or concentration than the pump runs needs one.
	Order drug.Product
	// Interruption is a stop of delivery the pump showed (an empty
	// reservoir): resuming is then a physician's decision.
	Interruption *therapy.Interruption
}

// PlanChange reviews newRx against the pump's state and the drug library:
// the pump's own validation, the reservoir's drug and concentration (H2),
// and therapy.ReviewChange with the history the facts give (or, without
// one, the running prescription since it was stored).
func PlanChange(lib *drug.Library, st pumpwire.Status, newRx pump.Prescription, f Facts) (*Change, error) {
	c := &Change{Old: st.Rx, New: newRx, HasOld: st.HasRx, Replaces: st.RxHash, Unit: unit.Milligram}
	if err := newRx.Validate(st.Model); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPumpWouldRefuse, err)
	}
	if st.FillDrug != "" && (!sameDrug(lib, st.FillDrug, newRx.Drug) || st.FillConc != newRx.Concentration) {
		return nil, fmt.Errorf("%w: it holds %s %v (refill of %s), the prescription says %s %v",
			ErrReservoirMismatch, st.FillDrug, st.FillConc, st.LastFillAt.Std().In(Local(st)).Format("2006-01-02"), newRx.Drug, newRx.Concentration)
	}
	if st.FillDrug == "" {
		c.Notes = append(c.Notes, "no refill is recorded: the pump does not know what the reservoir holds (record the fill with 'refill')")
	}
	if d, ok := lib.Lookup(newRx.Drug); ok {
		c.Drug, c.Unit = d, d.DoseUnit
	}
	in := therapy.ChangeInput{Library: lib, Proposed: newRx, Population: f.Population, At: f.Now, Settings: therapy.DefaultSettings,
		Interruption: f.Interruption}
	if st.HasRx {
		in.Running = &st.Rx
	}
	for _, h := range f.History {
		if !h.At.After(f.Now) {
			in.History = append(in.History, h)
		}
	}
	if f.History == nil && st.HasRx && st.RxSince > 0 && st.RxSince <= f.Now {
		in.History = []drug.Prescribed{{At: st.RxSince, Drug: st.Rx.Drug, Dose: therapy.DailyDose(&st.Rx)}}
		c.Notes = append(c.Notes, fmt.Sprintf("the titration rules see only the prescription the pump runs since %s: give the clinic's record of the patient (--record) for the whole history",
			st.RxSince.Std().In(Local(st)).Format("2006-01-02 15:04")))
	}
	r, err := therapy.ReviewChange(in)
	if err != nil {
		return nil, err
	}
	c.Review, c.Findings = r, r.Findings
	return c, nil
}

func sameDrug(lib *drug.Library, a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	da, ok1 := lib.Lookup(a)
	db, ok2 := lib.Lookup(b)
	return ok1 && ok2 && da == db
}

// Decide applies the review's verdict (therapy.ChangeReview.Decide): a
// refusal (drug.ErrRefused), a large change without its second confirmation
// (*therapy.LargeChangeError), a missing or vague reason
// (drug.ErrReasonRequired).
func (c *Change) Decide(reason string, confirmLarge bool) error {
	return c.Review.Decide(reason, confirmLarge, false)
}

// Write prints the change for review: the running and the new prescription
// side by side, every daily amount in volume and in mass, then the findings.
func (c *Change) Write(w io.Writer) {
	c.WriteTable(w, "new")
	if ch := c.Review.Change; ch.Comparable && ch.Old != ch.New {
		line := "  change: " + ch.Text(c.Unit)
		if ch.Large {
			line += fmt.Sprintf(", more than %s (%s): a second, explicit confirmation is needed", ch.Threshold, ch.Source)
		}
		fmt.Fprintln(w, line)
	}
	if len(c.Findings) == 0 {
		fmt.Fprintln(w, "Drug library: no findings.")
		return
	}
	fmt.Fprintln(w, "Drug library findings:")
	for _, f := range c.Findings {
		fmt.Fprintf(w, "  %s: %s\n", f.Severity, f.Message)
	}
}

// WriteTable prints the running and the new prescription side by side (the
// new one's column headed newHead), with the bridge and the notes.
func (c *Change) WriteTable(w io.Writer, newHead string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	u := c.Unit
	oldCol := func(f func(rx *pump.Prescription) string) string {
		if !c.HasOld {
			return "(none)"
		}
		return f(&c.Old)
	}
	row := func(label string, f func(rx *pump.Prescription) string) {
		o, n := oldCol(f), f(&c.New)
		mark := ""
		if c.HasOld && o != n {
			mark = "  ←"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", label, o, n, mark)
	}
	amount := func(rx *pump.Prescription, v unit.Volume) string { return VolumeMass(v, rx.Concentration, u) }
	fmt.Fprintf(tw, "  \tcurrent\t%s\n", newHead)
	row("drug", func(rx *pump.Prescription) string { return rx.Drug + " " + rx.Concentration.Format(u) })
	row("mode", func(rx *pump.Prescription) string { return modeText(rx) })
	row("basal per day", func(rx *pump.Prescription) string {
		d := DailyOf(rx)
		if d.Avg != d.Max {
			return amount(rx, d.Avg) + " avg, " + amount(rx, d.Max) + " max"
		}
		return amount(rx, d.Max)
	})
	row("patient bolus", func(rx *pump.Prescription) string {
		pb := rx.PatientBolus
		if pb.Volume == 0 {
			return "none"
		}
		return fmt.Sprintf("%s over %v, lockout %v, at most %d a day", amount(rx, pb.Volume), pb.Duration, pb.Lockout, pb.MaxPer24h)
	})
	row("most per day", func(rx *pump.Prescription) string { return amount(rx, DailyOf(rx).Total()) + " (basal + every bolus)" })
	row("max_24h cap", func(rx *pump.Prescription) string { return amount(rx, rx.Max24h) })
	row("low reservoir alarm", func(rx *pump.Prescription) string {
		if rx.LowReservoir == 0 {
			return pump.LowReservoirDefault.String() + " (default)"
		}
		return rx.LowReservoir.String()
	})
	tw.Flush()
	if c.Bridge {
		fmt.Fprintln(w, "  the new prescription starts after a bridge: the old drug in tubing and catheter is delivered at the old rate first")
	}
	for _, n := range c.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

func modeText(rx *pump.Prescription) string {
	switch rx.Mode {
	case pump.ModeContinuous:
		return "continuous " + rx.Rate.String()
	case pump.ModeFlex:
		var parts []string
		for _, s := range rx.Flex[:rx.FlexSteps] {
			parts = append(parts, fmt.Sprintf("%02d:%02d %v", s.At/unit.Hour, s.At%unit.Hour/unit.Minute, s.Rate))
		}
		return "flex " + strings.Join(parts, ", ")
	case pump.ModeMinimum:
		return "minimum rate " + pump.MinRate.String()
	}
	return rx.Mode.String()
}

// VolumeMass prints a volume and the mass of drug it holds: "0.5 mL = 5 mg".
func VolumeMass(v unit.Volume, c unit.Concentration, u unit.MassUnit) string {
	return fmt.Sprintf("%s mL = %s", unit.FormatFixed(int64(v), 6), c.Of(v).Format(u))
}
