package clinic

import (
	"fmt"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Reconciliation (issue 12, item 4): every report from a pump, whoever sent
// it, is compared with the clinic's record — the order in force and the last
// refill — field by field. The comparison is Reconcile, and only it; the
// worklist turns its differences into critical items, and the order's state
// moves forward on the order it finds the pump running.

// Difference is one field in which a pump's report and the clinic's record
// disagree: the field by its name in the order's JSON ("program.rate",
// "program.patient_bolus", "pump_clock", "reservoir.concentration"), what the
// pump reported and what the clinic holds.
type Difference struct {
	Field  string `json:"field"`
	Pump   string `json:"pump"`
	Clinic string `json:"clinic"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: the pump %s, the clinic %s", d.Field, d.Pump, d.Clinic)
}

// Reconciliation is a report compared with the clinic's record.
type Reconciliation struct {
	// Order is the order the report was compared with: the order in force at
	// the report's time (nil when there is none).
	Order *Prescription
	// Running is the order the pump was found running exactly, if any: the
	// order in force, or the order programmed before it while the one in
	// force is not programmed yet.
	Running *Prescription
	// Program lists how the pump's program (and its clock) differs from the
	// order: a prescription_mismatch. Empty when the report does not say what
	// the pump runs, or when it runs an order.
	Program []Difference
	// Reservoir lists how the drug and concentration the pump recorded at its
	// last refill differ from the clinic's last refill: a reservoir_mismatch.
	Reservoir []Difference
}

// Reconcile compares report rep from pump im with the clinic's record: the
// pump's prescriptions (every order, oldest first; others are ignored), the
// fill the clinic recorded last before the report, and the pump's clock
// against the relay's within tolerance. A field the report does not carry
// (an older relay's) is not compared.
func Reconcile(rep *Report, im *Implant, orders []*Prescription, fill Fill, tolerance time.Duration) Reconciliation {
	var rc Reconciliation
	at := rep.InterrogatedAt.Add(clockSkew)
	var lastDone *Prescription // the newest order a programmer or the pump showed running
	for _, rx := range orders {
		if rx.ImplantID != im.ID || rx.StartAt.After(at) {
			continue
		}
		if rc.Order != nil && (rc.Order.OrderState().Done() || rc.Order.State == "") {
			lastDone = rc.Order // an order from before orders had states ran, by hand
		}
		rc.Order = rx
	}
	if rep.Status.Program == nil && !rep.Status.PumpTime.IsZero() && rc.Order != nil && (rc.Order.OrderState().Done() || lastDone != nil) {
		// A relay that reads the pump's clock says what program it runs: here
		// none, where an order was programmed (a pump whose memory failed, or
		// a replaced one). A new pump awaiting its first order is not late
		// here: order_not_programmed says so.
		rc.Program = append(rc.Program, Difference{Field: "program", Pump: "runs no program", Clinic: "ordered " + programLine(&rc.Order.Program)})
	}
	if p := rep.Status.Program; p != nil {
		running := pump.Prescription(*p)
		switch {
		case rc.Order == nil:
			rc.Program = append(rc.Program, Difference{Field: "program", Pump: "runs " + programLine(&running), Clinic: "has no order"})
		case len(programDiff(&running, &rc.Order.Program)) == 0:
			rc.Running = rc.Order
		case !rc.Order.OrderState().Done() && lastDone != nil && len(programDiff(&running, &lastDone.Program)) == 0:
			// The order in force is not programmed yet: the pump runs the one
			// before it (the order_not_programmed item says so).
			rc.Running = lastDone
		default:
			rc.Program = programDiff(&running, &rc.Order.Program)
		}
	}
	if pt := rep.Status.PumpTime; !pt.IsZero() && tolerance > 0 {
		if d := pt.Sub(rep.InterrogatedAt); d > tolerance || d < -tolerance {
			rc.Program = append(rc.Program, Difference{Field: "pump_clock",
				Pump:   "reads " + pt.Format(time.RFC3339),
				Clinic: fmt.Sprintf("read it at %s by the relay's clock (%s apart, more than %s)", rep.InterrogatedAt.Format(time.RFC3339), roundDuration(d), tolerance)})
		}
	}
	if rep.Status.Drug != "" && fill.Drug != "" {
		if !strings.EqualFold(rep.Status.Drug, fill.Drug) {
			rc.Reservoir = append(rc.Reservoir, Difference{Field: "reservoir.drug", Pump: "recorded " + rep.Status.Drug,
				Clinic: "recorded " + fill.Drug + " at the fill of " + fill.At.Format(time.DateOnly)})
		}
		if rep.Status.Concentration != fill.Concentration {
			rc.Reservoir = append(rc.Reservoir, Difference{Field: "reservoir.concentration", Pump: "recorded " + rep.Status.Concentration.String(),
				Clinic: "recorded " + fill.Concentration.String() + " at the fill of " + fill.At.Format(time.DateOnly)})
		}
	}
	return rc
}

// programDiff names every field of program p that differs from the order's
// program o, with both values.
func programDiff(p, o *pump.Prescription) []Difference {
	var out []Difference
	add := func(field string, pv, ov string) {
		if pv != ov {
			out = append(out, Difference{Field: "program." + field, Pump: "runs " + pv, Clinic: "ordered " + ov})
		}
	}
	add("drug", p.Drug, o.Drug)
	add("concentration", p.Concentration.String(), o.Concentration.String())
	add("mode", p.Mode.String(), o.Mode.String())
	if p.Mode == o.Mode {
		switch p.Mode {
		case pump.ModeContinuous:
			add("rate", p.Rate.String(), o.Rate.String())
		case pump.ModeFlex:
			add("flex", flexLine(p), flexLine(o))
		}
	}
	add("max_24h", p.Max24h.String(), o.Max24h.String())
	add("patient_bolus", bolusLine(p.PatientBolus), bolusLine(o.PatientBolus))
	add("low_reservoir", lowLine(p.LowReservoir), lowLine(o.LowReservoir))
	return out
}

// programLine says a program in a line.
func programLine(p *pump.Prescription) string {
	s := fmt.Sprintf("%s %s, %s", p.Drug, p.Concentration, p.Mode)
	switch p.Mode {
	case pump.ModeContinuous:
		s += " " + p.Rate.String()
	case pump.ModeFlex:
		s += " " + flexLine(p)
	}
	return s
}

func flexLine(p *pump.Prescription) string {
	var parts []string
	for _, st := range p.Flex[:min(max(p.FlexSteps, 0), pump.MaxFlexSteps)] {
		s := TimeOfDayText(st.At) + " " + st.Rate.String()
		if p.Weekly {
			var ds []string
			for i, n := range DayNames {
				if st.Days&(1<<i) != 0 {
					ds = append(ds, n)
				}
			}
			s += " (" + strings.Join(ds, ",") + ")"
		}
		parts = append(parts, s)
	}
	if p.Weekly {
		return "weekly: " + strings.Join(parts, "; ")
	}
	return "daily: " + strings.Join(parts, "; ")
}

func bolusLine(b pump.PatientBolus) string {
	if b == (pump.PatientBolus{}) {
		return "no patient bolus"
	}
	return fmt.Sprintf("%s over %s, lockout %s, at most %d in 24 h", b.Volume, b.Duration, b.Lockout, b.MaxPer24h)
}

func lowLine(v unit.Volume) string {
	if v == 0 {
		return pump.LowReservoirDefault.String() + " (default)"
	}
	return v.String()
}

func roundDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	return unit.Duration(d.Round(time.Second).Milliseconds()).String()
}

// ReportReconciliation reconciles a stored report with the patient's record
// as it stands: what the API answers for a report, and the worklist shows.
func (s *Service) reconcileReport(tx Tx, rep *StoredReport) (Reconciliation, error) {
	im, err := get[Implant](tx, rep.ImplantID)
	if err != nil {
		return Reconciliation{}, err
	}
	rxs, err := list[Prescription](tx, RecordFilter{PatientID: rep.PatientID})
	if err != nil {
		return Reconciliation{}, err
	}
	refills, err := list[Refill](tx, RecordFilter{PatientID: rep.PatientID})
	if err != nil {
		return Reconciliation{}, err
	}
	return Reconcile(&rep.Report, im, rxs, fillOf(fillBefore(im, refills, rep.InterrogatedAt.Add(clockSkew))), s.Settings.PumpClockTolerance), nil
}

// orderItems are the closed loop's worklist items for pump im: the order in
// force not programmed within the window, and the differences the latest
// report rep (nil: none from this pump) shows from the record.
func (s *Service) orderItems(add func(WorkItem), im *Implant, snap *Snapshot, rep *StoredReport) {
	var order *Prescription
	for _, rx := range snap.Prescriptions {
		if rx.ImplantID == im.ID {
			order = rx // the newest, whatever its start
		}
	}
	if order != nil && order.State == Ordered && s.Settings.ProgramWindow > 0 { // not one from before orders had states
		by := order.StartAt.Add(s.Settings.ProgramWindow)
		add(WorkItem{Kind: WorkOrderNotProgrammed, RecordID: order.ID, Priority: High, ShowFrom: by, Due: by,
			Reason: fmt.Sprintf("the order of %s by %s (%s) was not programmed within %s: no programmer has reported pump %s running it",
				order.StartAt.Format(time.DateOnly), order.CreatedBy, programLine(&order.Program), unit.Duration(s.Settings.ProgramWindow.Milliseconds()), im.Serial)})
	}
	if rep == nil {
		return
	}
	fill := Fill{}
	if rf := snap.LastRefill; rf == nil || rf.ImplantID != im.ID || !rf.At.After(rep.InterrogatedAt.Add(clockSkew)) {
		// The newest refill is the one before the report (or the first fill):
		// the report's reservoir is compared with it. A refill recorded after
		// the report is compared at the next report.
		var refills []*Refill
		if rf != nil {
			refills = []*Refill{rf}
		}
		fill = fillOf(fillBefore(im, refills, rep.InterrogatedAt.Add(clockSkew)))
	}
	rc := Reconcile(&rep.Report, im, snap.Prescriptions, fill, s.Settings.PumpClockTolerance)
	when := rep.InterrogatedAt
	by := "its " + strings.ReplaceAll(rep.Source, "_", " ")
	if len(rc.Program) > 0 {
		what := "has no order"
		if o := rc.Order; o != nil {
			what = fmt.Sprintf("the order of %s (order %d, %s)", o.StartAt.Format(time.DateOnly), o.ID, o.OrderState())
		}
		add(WorkItem{Kind: WorkPrescriptionMismatch, RecordID: rep.ID, Priority: Urgent, ShowFrom: when, Due: when,
			Reason: fmt.Sprintf("pump %s, read by %s at %s, differs from %s: %s. Reprogram the pump to the order (thecal program sync, or the programming station), or record the pump's program as the order",
				im.Serial, by, when.Format(time.RFC3339), what, differences(rc.Program))})
	}
	if len(rc.Reservoir) > 0 {
		add(WorkItem{Kind: WorkReservoirMismatch, RecordID: rep.ID, Priority: Urgent, ShowFrom: when, Due: when,
			Reason: fmt.Sprintf("pump %s, read by %s at %s, holds another drug or concentration than the clinic recorded: %s (hazard H2): check the reservoir and the refill record",
				im.Serial, by, when.Format(time.RFC3339), differences(rc.Reservoir))})
	}
}

func differences(ds []Difference) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

// fillOf is a fill as Reconcile takes it.
func fillOf(f lastFill) Fill { return Fill{At: f.At, Drug: f.Drug, Concentration: f.Concentration} }
