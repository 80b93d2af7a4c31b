package programmer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// ErrNotConfirmed means the clinician did not confirm: nothing was sent.
var ErrNotConfirmed = errors.New("programmer: not confirmed: nothing was sent")

// Programmer runs the clinician's workflows in a session. Each workflow shows
// what it will do, with every amount in volume and mass, asks for
// confirmation where the therapy changes, sends, and says what the pump did.
type Programmer struct {
	S   *Session
	Lib *drug.Library
	Out io.Writer
	// Confirm asks a yes/no question; nil answers no to everything (a
	// non-interactive run without --yes sends nothing that needs one).
	Confirm func(question string) bool
	// Reason is the clinician's stated reason for findings that need one.
	Reason     string
	Population string
	// Clock is the programmer's own clock, sent with SetClock so the pump can
	// log a skew; nil means the pump's time as last read. Therapy rules
	// (titration intervals, refill dates) always use the pump's time.
	Clock func() unit.Time
	// ConfirmLargeChange is the clinician's second, explicit confirmation of
	// a change of the daily dose beyond the drug's threshold, given up front
	// (--confirm-large-change); ConfirmConcentrationChange that of a refill
	// with the drug or concentration a physician ordered instead of what
	// runs (--confirm-change). SecondConfirm, when set (a terminal), asks
	// them; Confirm (and --yes) never gives them.
	ConfirmLargeChange, ConfirmConcentrationChange bool
	SecondConfirm                                  func(question string) bool
	// History and Order are the clinic's record of the patient (Facts): the
	// whole prescription history and the physician's newest order.
	History []drug.Prescribed
	Order   drug.Product
}

// facts are what the programmer knows beyond the pump, at the pump's time.
func (p *Programmer) facts() Facts {
	return Facts{Population: p.Population, Now: p.now(), History: p.History, Order: p.Order}
}

// second is an explicit confirmation: given up front, or asked.
func (p *Programmer) second(given bool, q string) bool {
	return given || p.SecondConfirm != nil && p.SecondConfirm(q)
}

// decide applies a change's verdict, asking the second confirmation of a
// large change only when nothing refuses it first.
func (p *Programmer) decide(c *Change) error {
	if c.Review.Refused() {
		return drug.ErrRefused
	}
	confirmed := !c.Review.Change.Large || p.second(p.ConfirmLargeChange,
		fmt.Sprintf("The %s is more than %s: confirm this large change?", c.Review.Change.Text(c.Unit), c.Review.Change.Threshold))
	return c.Decide(p.Reason, confirmed)
}

// now is the pump's time as last read: therapy runs in pump time (which a
// virtual pump may run faster than the wall clock).
func (p *Programmer) now() unit.Time { return p.S.Status().At }

func (p *Programmer) clock() unit.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return p.now()
}

func (p *Programmer) printf(format string, args ...any) { fmt.Fprintf(p.Out, format+"\n", args...) }

func (p *Programmer) confirm(q string) error {
	if p.Confirm == nil || !p.Confirm(q) {
		return ErrNotConfirmed
	}
	return nil
}

func (p *Programmer) unit() unit.MassUnit {
	st := p.S.Status()
	name := st.Rx.Drug
	if name == "" {
		name = st.FillDrug
	}
	if d, ok := p.Lib.Lookup(name); ok {
		return d.DoseUnit
	}
	return unit.Milligram
}

// ChangePrescription reviews edit against the running prescription and the
// drug library, shows old and new side by side, and programs it once the
// library allows it (a hard limit refuses; a soft one needs Reason) and the
// clinician confirms.
func (p *Programmer) ChangePrescription(ctx context.Context, e Edit) (*Change, error) {
	st := p.S.Status()
	if !st.HasRx && e.Drug == "" && st.FillDrug != "" {
		// A first prescription is for what the reservoir was filled with.
		e.Drug = st.FillDrug
		if e.Concentration == 0 {
			e.Concentration = st.FillConc
		}
	}
	rx, err := e.Apply(st.Rx, st.HasRx)
	if err != nil {
		return nil, err
	}
	c, err := PlanChange(p.Lib, st, rx, p.facts())
	if err != nil {
		return nil, err
	}
	p.printf("Prescription change for pump #%d:", p.S.Pump().Serial)
	c.Write(p.Out)
	if err := p.decide(c); err != nil {
		return c, err
	}
	if strings.TrimSpace(p.Reason) != "" && drug.Worst(c.Findings) == drug.NeedsReason {
		p.printf("Reason stated: %s", p.Reason)
	}
	if err := p.confirm("Program the new prescription?"); err != nil {
		return c, err
	}
	seq, err := p.S.Program(ctx, c)
	if err != nil {
		return c, err
	}
	p.printf("Programmed: the pump stored the new prescription (event #%d) and runs it from now.", seq)
	return c, nil
}

// ClinicianBolus gives volume v over d on top of the running program, after
// showing its mass and checking the day's total against the library's hard
// limit.
func (p *Programmer) ClinicianBolus(ctx context.Context, v unit.Volume, d unit.Duration) error {
	st := p.S.Status()
	if !st.HasRx {
		return fmt.Errorf("%w: no prescription: a bolus needs a drug and concentration", ErrRx)
	}
	u := p.unit()
	day := DailyOf(&st.Rx)
	p.printf("Clinician bolus: %s over %v (%s), on top of the basal %s.", VolumeMass(v, st.Rx.Concentration, u), d,
		unit.RateOf(v, d).PerHour(), VolumeMass(day.Max, st.Rx.Concentration, u)+" a day")
	total := st.Rx.Concentration.Dose(unit.Rate(day.Max + v))
	fs, err := drug.Check(p.Lib, drug.Proposal{Drug: st.Rx.Drug, Concentration: st.Rx.Concentration, Dose: total, At: p.now(), Population: p.Population}, nil)
	if err != nil {
		return err
	}
	var keep []drug.Finding
	for _, f := range fs {
		if f.Kind == drug.HardLimit || f.Kind == drug.SoftLimit {
			f.Message = "basal + bolus today: " + f.Message
			keep = append(keep, f)
			p.printf("  %s: %s", f.Severity, f.Message)
		}
	}
	if err := drug.Decide(keep, p.Reason); err != nil {
		return err
	}
	if err := p.confirm("Give the bolus?"); err != nil {
		return err
	}
	if _, err := p.S.Send(ctx, pump.ClinicianBolus{Volume: v, Duration: d}); err != nil {
		return err
	}
	p.printf("Bolus started.")
	return nil
}

// Prime runs the priming bolus: the pump's own tubing and catheter volume,
// which the programmer computes independently and compares (hazard H5).
func (p *Programmer) Prime(ctx context.Context) error {
	st := p.S.Status()
	pr, err := therapy.Priming(therapy.Catheter{Length: st.CatheterLength, PerCm: st.CatheterPerCm})
	if err != nil {
		return err
	}
	if pr.Volume != st.PrimingVolume {
		return fmt.Errorf("%w: the pump's priming volume %v is not tubing %v + catheter %v (%v at %v per cm) = %v",
			ErrPumpWouldRefuse, st.PrimingVolume, pr.Tubing, pr.Catheter, st.CatheterLength, st.CatheterPerCm, pr.Volume)
	}
	conc, u := st.Rx.Concentration, p.unit()
	if conc == 0 {
		conc = st.FillConc
	}
	p.printf("Priming: %s (tubing %v + catheter %v) at the maximum rate, %v; not counted against max_24h.",
		VolumeMass(pr.Volume, conc, u), pr.Tubing, pr.Catheter, pr.Duration)
	if err := p.confirm("Prime now?"); err != nil {
		return err
	}
	if _, err := p.S.Send(ctx, pump.Prime{Volume: pr.Volume}); err != nil {
		return err
	}
	p.printf("Priming started; the basal program waits for it.")
	return nil
}

// Stop stops delivery. The session then refuses to close unless the
// clinician leaves the pump stopped on purpose. A drug whose withdrawal is
// dangerous shows its warning first, and the stop needs a stated reason.
func (p *Programmer) Stop(ctx context.Context) error {
	if st := p.S.Status(); st.HasRx && st.Rx.Mode != pump.ModeStopped {
		stop := st.Rx
		stop.Mode, stop.Rate, stop.Weekly, stop.FlexSteps, stop.Flex, stop.PatientBolus = pump.ModeStopped, 0, false, 0, [pump.MaxFlexSteps]pump.FlexStep{}, pump.PatientBolus{}
		r, err := therapy.ReviewChange(therapy.ChangeInput{Library: p.Lib, Running: &st.Rx, Proposed: stop, History: p.facts().History,
			Population: p.Population, At: p.now(), Settings: therapy.DefaultSettings})
		if err != nil {
			return err
		}
		var warn []drug.Finding
		for _, f := range r.Findings {
			if f.Kind == drug.WithdrawalRisk {
				warn = append(warn, f)
				p.printf("%s: %s", f.Severity, f.Message)
			}
		}
		if err := drug.Decide(warn, p.Reason); err != nil {
			return err
		}
		if len(warn) > 0 {
			p.printf("Reason stated: %s", p.Reason)
		}
	}
	if _, err := p.S.Send(ctx, pump.Stop{}); err != nil {
		return err
	}
	p.printf("Stopped: the pump delivers no drug until it is resumed.")
	return nil
}

// Resume resumes delivery from now (no catch-up) and clears an occlusion stop.
func (p *Programmer) Resume(ctx context.Context) error {
	if _, err := p.S.Send(ctx, pump.Resume{}); err != nil {
		return err
	}
	st := p.S.Status()
	if st.Delivering {
		p.printf("Resumed: delivering %s a day from now; what was missed is not made up.", VolumeMass(DailyOf(&st.Rx).Max, st.Rx.Concentration, p.unit()))
	} else {
		p.printf("Resumed, but the pump is not delivering: %s.", notDelivering(&st))
	}
	return nil
}

// MinimumRate switches to the minimum rate that keeps the catheter patent,
// reviewed as a change (therapy.ReviewChange): a drug whose withdrawal is
// dangerous shows its warning and needs a reason, and a cut beyond the
// large-change threshold needs its second confirmation.
func (p *Programmer) MinimumRate(ctx context.Context) error {
	st := p.S.Status()
	if !st.HasRx {
		return fmt.Errorf("%w: no prescription to reduce", ErrRx)
	}
	u := p.unit()
	p.printf("Minimum rate: %s a day (was %s), no patient bolus.", VolumeMass(pump.MinRate.Over(unit.Day), st.Rx.Concentration, u),
		VolumeMass(DailyOf(&st.Rx).Max, st.Rx.Concentration, u))
	if st.Rx.Mode != pump.ModeStopped {
		minRx := pump.Prescription{Drug: st.Rx.Drug, Concentration: st.Rx.Concentration, Mode: pump.ModeMinimum,
			Max24h: max(st.Rx.Max24h, therapy.AutoCap(&pump.Prescription{Mode: pump.ModeMinimum})), LowReservoir: st.Rx.LowReservoir}
		r, err := therapy.ReviewChange(therapy.ChangeInput{Library: p.Lib, Running: &st.Rx, Proposed: minRx, History: p.facts().History,
			Population: p.Population, At: p.now(), Settings: therapy.DefaultSettings})
		if err != nil {
			return err
		}
		c := &Change{Unit: u, Review: r, Findings: r.Findings}
		if ch := r.Change; ch.Comparable {
			p.printf("  change: %s", ch.Text(u))
		}
		for _, f := range r.Findings {
			p.printf("  %s: %s", f.Severity, f.Message)
		}
		if err := p.decide(c); err != nil {
			return err
		}
	}
	if err := p.confirm("Set the minimum rate?"); err != nil {
		return err
	}
	if _, err := p.S.Send(ctx, pump.SetMinimumRate{}); err != nil {
		return err
	}
	p.printf("The pump runs the minimum rate.")
	return nil
}

// Acknowledge acknowledges the named alarms (all active ones if none, or
// "ALL"). An unknown name is refused before anything is sent.
func (p *Programmer) Acknowledge(ctx context.Context, alarms ...string) error {
	var cmds []pump.Command
	for _, name := range alarms {
		var a pump.Alarm // AlarmNone: every active alarm
		if name != "ALL" {
			if err := a.UnmarshalText([]byte(name)); err != nil {
				return err
			}
		}
		cmds = append(cmds, pump.Acknowledge{Alarm: a})
	}
	if len(cmds) == 0 {
		cmds = append(cmds, pump.Acknowledge{})
	}
	for _, c := range cmds {
		if _, err := p.S.Send(ctx, c); err != nil {
			return err
		}
	}
	st := p.S.Status()
	p.printf("Acknowledged. Active alarms now: %s.", alarmText(st.Alarms))
	return nil
}

// SetClock sets the pump's UTC offset (zoneName, if given, names where it
// comes from) and reports the difference between the pump's clock and the
// programmer's.
func (p *Programmer) SetClock(ctx context.Context, offset unit.Duration, zoneName string) error {
	st := p.S.Status()
	now := p.clock()
	p.printf("UTC offset: %s → %s%s.", unit.FormatUTCOffset(st.UTCOffset), unit.FormatUTCOffset(offset), zoneSuffix(zoneName))
	if skew := st.At.Sub(now); skew > pumpwire.MaxClockSkew || skew < -pumpwire.MaxClockSkew {
		p.printf("Note: the pump's clock differs from this programmer's by %v; the pump logs it and keeps its own clock (it is never stepped).", skew)
	}
	if st.HasRx && st.Rx.Mode == pump.ModeFlex && offset != st.UTCOffset {
		p.printf("Flex steps move with the offset: each starts at the same local time of day.")
	}
	if err := p.confirm("Set the UTC offset?"); err != nil {
		return err
	}
	if _, err := p.S.Send(ctx, pump.SetClock{UTCOffset: offset, SenderClock: now}); err != nil {
		return err
	}
	p.printf("Set.")
	return nil
}

func zoneSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

// RefillInput is what the refill nurse reports. The drug and the
// concentration are typed from the vial and confirmed — typed again, or the
// vial label's text — and never taken from the program (drug.CheckFill).
type RefillInput struct {
	Withdrawn            unit.Volume
	Added                unit.Volume
	Drug                 string
	Concentration        unit.Concentration
	ConfirmDrug          string
	ConfirmConcentration unit.Concentration
	Label                string
	// Dose is the new daily basal dose: with the change of drug or
	// concentration a physician ordered (0 keeps the daily dose: the rates
	// follow the concentration), or the restart dose after an interruption
	// (0 resumes the dose before).
	Dose unit.DoseRate
}

// RefillPlan is a reviewed refill.
type RefillPlan struct {
	FirstFill bool                // nothing was in the reservoir: no discrepancy check
	Check     therapy.RefillCheck // the discrepancy check
	Since     unit.Duration       // since the last refill
	Refill    pump.Refill
	Unit      unit.MassUnit
	Fill      *drug.FillReview // the drug and concentration as drug.CheckFill found them
	Change    *Change          // the new prescription, when the drug, concentration or dose changes
	// Resume is the review of the prescription that resumes unchanged after
	// an interruption (nil when there was none, or when Change replaces it).
	Resume *Change
	Bridge *therapy.Bridge // when Change starts after a bridge
	Next   *therapy.RefillDate
	Notes  []string
}

// running is what the pump holds and runs: its prescription's drug and
// concentration, or its last fill's; zero before the first fill.
func running(st pumpwire.Status) drug.Product {
	switch {
	case st.HasRx:
		return drug.Product{Drug: st.Rx.Drug, Concentration: st.Rx.Concentration}
	case st.FillDrug != "":
		return drug.Product{Drug: st.FillDrug, Concentration: st.FillConc}
	}
	return drug.Product{}
}

// PlanRefill reviews a refill: the drug and concentration typed, confirmed
// and checked against the library, the pump and the physician's order
// (drug.CheckFill); the discrepancy between what was withdrawn and what the
// pump's count leaves (therapy.CheckRefill); the new prescription and its
// bridge when the order changes the drug or concentration; the prescription
// that resumes after an interruption; and the next refill date. A refused
// fill is an error wrapping drug.ErrRefused; a malformed one wraps ErrRx
// (and the *drug.FillError naming the input).
func PlanRefill(lib *drug.Library, st pumpwire.Status, in RefillInput, f Facts) (*RefillPlan, error) {
	fr, err := drug.CheckFill(lib, drug.Fill{Drug: in.Drug, Concentration: in.Concentration, ConfirmDrug: in.ConfirmDrug,
		ConfirmConcentration: in.ConfirmConcentration, Label: in.Label, Running: running(st), Ordered: f.Order})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRx, err)
	}
	for _, fd := range fr.Findings {
		if fd.Severity == drug.Refused {
			return nil, fmt.Errorf("%w: %s", drug.ErrRefused, fd.Message)
		}
	}
	name, conc := fr.Drug.Name, in.Concentration
	r := &RefillPlan{Refill: pump.Refill{Withdrawn: in.Withdrawn, Added: in.Added, Drug: name, Concentration: conc}, Unit: fr.Drug.DoseUnit, Fill: fr}
	if len(name) > pump.MaxDrugName {
		return nil, fmt.Errorf("%w: the drug's name %q is longer than the pump records (%d bytes)", ErrRx, name, pump.MaxDrugName)
	}
	if in.Added <= pump.EmptyVolume || in.Added > st.Model.Reservoir() {
		return nil, fmt.Errorf("%w: added %v is outside more than %v to %v (the %v reservoir)", ErrRx, in.Added, pump.EmptyVolume, st.Model.Reservoir(), st.Model)
	}
	now := f.Now
	if st.LastFill > 0 {
		r.Since = max(now.Sub(st.LastFillAt), unit.Millisecond)
		delivered := min(max(st.LastFill-st.Reservoir, 0), st.LastFill)
		var err error
		// The pump's own count of what it delivered since the last refill
		// (basal, boluses and what a reset assumed) is the programmed volume.
		r.Check, err = therapy.CheckRefill(therapy.RefillInput{Model: st.Model, LastFill: st.LastFill, Since: r.Since,
			Boluses: delivered, Withdrawn: in.Withdrawn})
		if err != nil {
			return nil, err
		}
	} else {
		r.FirstFill = true
	}
	// A change of drug or concentration (as ordered) or of dose: the new
	// prescription keeps the daily dose (or takes the one given); another
	// drug or concentration starts after a bridge.
	runs := st.HasRx && st.Rx.Mode != pump.ModeStopped
	changes := runs && (!sameDrug(lib, name, st.Rx.Drug) || conc != st.Rx.Concentration)
	after := st
	after.FillDrug, after.FillConc = name, conc
	switch {
	case runs && (changes || in.Dose != 0):
		rx, err := Edit{Drug: name, Concentration: conc, Dose: in.Dose}.Apply(st.Rx, true)
		if err != nil {
			return nil, err
		}
		c, err := PlanChange(lib, after, rx, f)
		if err != nil {
			return nil, err
		}
		if old := DailyOf(&st.Rx); changes && old.Avg > 0 {
			b, err := therapy.BridgeFor(unit.Rate(old.Avg), therapy.Catheter{Length: st.CatheterLength, PerCm: st.CatheterPerCm}, now, st.Rx.Concentration)
			if err != nil {
				return nil, err
			}
			c.Bridge, r.Bridge = true, &b
		}
		r.Change = c
	case runs && f.Interruption != nil:
		// The prescription resumes as it is once the reservoir is filled:
		// reviewed as a restart.
		c, err := PlanChange(lib, after, st.Rx, f)
		if err != nil {
			return nil, err
		}
		r.Resume = c
	}
	if !changes && runs && st.FillDrug != "" && (!sameDrug(lib, name, st.FillDrug) || conc != st.FillConc) {
		r.Notes = append(r.Notes, "the last fill differed from the prescription; this fill matches it")
	}
	// The next refill date for what will run.
	rx := st.Rx
	if r.Change != nil {
		rx = r.Change.New
	}
	if st.HasRx && rx.Mode != pump.ModeStopped && (r.Change != nil || (sameDrug(lib, name, rx.Drug) && conc == rx.Concentration)) {
		d := DailyOf(&rx)
		in := therapy.RefillDateInput{Model: st.Model, Filled: now, Volume: in.Added, Rate: unit.Rate(d.Avg), Max24h: rx.Max24h,
			LowThreshold: pump.LowReservoirDefault, Margin: therapy.DefaultSettings.RefillMargin}
		if rx.LowReservoir != 0 {
			in.LowThreshold = rx.LowReservoir
		}
		if pb := rx.PatientBolus; pb.Volume > 0 {
			in.Bolus = &therapy.PatientBolus{Volume: pb.Volume, Lockout: pb.Lockout, MaxPer24h: int64(pb.MaxPer24h)}
		}
		if dr, ok := lib.Lookup(rx.Drug); ok {
			in.Stability, _, _ = therapy.StabilityLimit(dr, false, r.FirstFill)
		}
		if next, err := therapy.NextRefill(in); err == nil {
			r.Next = &next
		}
	}
	return r, nil
}

// Decide says whether the refill may go ahead, in the order every path
// gives it: a refusal; an ordered change of drug or concentration without
// its confirmation (*therapy.FillChangeError); a large change of the dose
// without its confirmation; then a stated, specific reason for a flagged
// discrepancy (a possible pocket fill, or a pump delivering less than
// programmed), the new prescription's findings and a restart after an
// interruption.
func (r *RefillPlan) Decide(reason string, confirmLarge, confirmFill bool) error {
	var fs []drug.Finding
	for _, c := range []*Change{r.Change, r.Resume} {
		if c != nil {
			fs = append(fs, c.Findings...)
		}
	}
	if drug.Worst(fs) == drug.Refused {
		return drug.ErrRefused
	}
	if err := therapy.ConfirmFill(r.Fill.Change, confirmFill); err != nil {
		return err
	}
	if c := r.Change; c != nil {
		if err := c.Review.Change.Confirm(confirmLarge, c.Unit); err != nil {
			return err
		}
	}
	if !r.FirstFill && r.Check.Flag != therapy.WithinLimit {
		fs = append(fs, drug.Finding{Severity: drug.NeedsReason, Message: "refill discrepancy: " + r.Check.Flag.String()})
	}
	return drug.Decide(fs, reason)
}

// Write prints the refill for review.
func (r *RefillPlan) Write(w io.Writer, st pumpwire.Status, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) { fmt.Fprintf(tw, "  %s\t%s\n", label, value) }
	if r.FirstFill {
		row("last fill", "none recorded: first fill, no discrepancy check")
	} else {
		row("last fill", fmt.Sprintf("%v on %s (%v ago)", st.LastFill, st.LastFillAt.Std().In(loc).Format("2006-01-02 15:04"), roundTo(r.Since, unit.Minute)))
		row("pump delivered since", r.Check.Programmed.String())
		row("expected residual", r.Check.Expected.String())
		row("withdrawn", r.Refill.Withdrawn.String())
		row("discrepancy", fmt.Sprintf("%v (limit ±%v): %s", r.Check.Discrepancy, r.Check.Limit, r.Check.Flag))
	}
	row("new fill", fmt.Sprintf("%s of %s %s", VolumeMass(r.Refill.Added, r.Refill.Concentration, r.Unit), r.Refill.Drug, r.Refill.Concentration.Format(r.Unit)))
	tw.Flush()
	for _, f := range r.Fill.Findings {
		fmt.Fprintf(w, "  %s: %s\n", f.Severity, f.Message)
	}
	if !r.FirstFill && r.Check.Flag != therapy.WithinLimit {
		fmt.Fprintf(w, "WARNING: %s. Check the patient for overdose or withdrawal signs; a stated reason is needed to go on.\n", r.Check.Flag)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
	if r.Change != nil {
		fmt.Fprintln(w, "The prescription is reprogrammed after the refill.")
		r.Change.Write(w)
	}
	if c := r.Resume; c != nil {
		fmt.Fprintln(w, "Delivery had stopped: the prescription resumes with the refill.")
		for _, f := range c.Findings {
			fmt.Fprintf(w, "  %s: %s\n", f.Severity, f.Message)
		}
	}
	if b := r.Bridge; b != nil {
		fmt.Fprintf(w, "Bridge: %s\n", b.Text(r.Change.Old.Drug, r.Change.Old.Concentration, r.Unit, loc))
	}
	if n := r.Next; n != nil {
		by := "low-reservoir alarm"
		if n.ByStability {
			by = "drug stability limit"
		}
		fmt.Fprintf(w, "Next refill due %s (the %s comes %s at the most a day can use, less a %v margin).\n",
			n.Due.Std().In(loc).Format("2006-01-02"), by, n.Earliest.Std().In(loc).Format("2006-01-02"), therapy.DefaultSettings.RefillMargin)
	}
}

// interruption reads how long delivery has stopped for an empty reservoir:
// from the pump's EMPTY_RESERVOIR, raised at the time its log says.
func (p *Programmer) interruption(ctx context.Context, st pumpwire.Status) (*therapy.Interruption, error) {
	if !st.Alarms.Has(pump.EmptyReservoir) {
		return nil, nil
	}
	from := uint64(1)
	if st.LogNext > 1000 {
		from = st.LogNext - 1000
	}
	recs, err := p.S.Log(ctx, from)
	if err != nil {
		return nil, err
	}
	since := st.LastFillAt
	for _, rec := range recs {
		if pump.EventKind(rec.Kind) == pump.EvAlarmRaise && rec.Alarm == pump.EmptyReservoir {
			since = rec.At
		}
	}
	return &therapy.Interruption{Since: since, Until: st.At, Why: "the pump reported EMPTY_RESERVOIR"}, nil
}

// Refill records a refill, after review: the refill, then (in the same
// session) the new prescription with its bridge when the physician's order
// changes the drug or concentration.
func (p *Programmer) Refill(ctx context.Context, in RefillInput) (*RefillPlan, error) {
	st := p.S.Status()
	f := p.facts()
	var err error
	if f.Interruption, err = p.interruption(ctx, st); err != nil {
		return nil, err
	}
	r, err := PlanRefill(p.Lib, st, in, f)
	if err != nil {
		return nil, err
	}
	p.printf("Refill of pump #%d (%v):", p.S.Pump().Serial, st.Model)
	r.Write(p.Out, st, Local(st))
	confirmFill := r.Fill.Change == "" || p.second(p.ConfirmConcentrationChange, "The physician's order changes what the pump holds: "+r.Fill.Change+". Confirm the change?")
	confirmLarge := r.Change == nil || !r.Change.Review.Change.Large ||
		p.second(p.ConfirmLargeChange, fmt.Sprintf("The %s is more than %s: confirm this large change?", r.Change.Review.Change.Text(r.Unit), r.Change.Review.Change.Threshold))
	if err := r.Decide(p.Reason, confirmLarge, confirmFill); err != nil {
		return r, err
	}
	if err := p.confirm("Record the refill?"); err != nil {
		return r, err
	}
	if _, err := p.S.Send(ctx, r.Refill); err != nil {
		return r, err
	}
	p.printf("Refill recorded: the reservoir holds %v.", r.Refill.Added)
	if r.Change != nil {
		seq, err := p.S.Program(ctx, r.Change)
		if err != nil {
			return r, fmt.Errorf("%w: the refill is recorded but the new prescription was not: program it now: %w", ErrReservoirMismatch, err)
		}
		p.printf("Programmed (event #%d)%s.", seq, map[bool]string{true: ", after the bridge", false: ""}[r.Change.Bridge])
	}
	return r, nil
}

// MRICheck is the post-MRI interrogation (hazard H8): it reads the recent
// event log for motor stalls and recoveries, says whether the motor is still
// stalled, how long delivery stopped, and offers to acknowledge a recovered
// MOTOR_STALL.
func (p *Programmer) MRICheck(ctx context.Context) error {
	st, err := p.S.Interrogate(ctx)
	if err != nil {
		return err
	}
	from := uint64(1)
	if st.LogNext > 1000 {
		from = st.LogNext - 1000
	}
	recs, err := p.S.Log(ctx, from)
	if err != nil {
		return err
	}
	loc := Local(st)
	var stall, recovery *pumpwire.Record
	for i := range recs {
		switch pump.EventKind(recs[i].Kind) {
		case pump.EvMotorStall:
			stall, recovery = &recs[i], nil
		case pump.EvMotorStallRecovery:
			recovery = &recs[i]
		}
	}
	at := func(t unit.Time) string { return t.Std().In(loc).Format("2006-01-02 15:04") }
	switch {
	case stall == nil:
		p.printf("Post-MRI check: no motor stall in the recent log; the pump ran through the scan.")
	case recovery == nil:
		p.printf("Post-MRI check: MOTOR STALL since %s: the motor has not recovered; delivery is suspended and retried every 10 minutes.", at(stall.At))
		p.printf("Do not acknowledge. Check again after the magnetic field is gone; if it does not recover, the pump needs attention (the patient may need bridging therapy).")
		return nil
	default:
		gap := recovery.At.Sub(stall.At)
		rate := st.Basal // the basal in force (during a bridge, the old program's)
		if rate == 0 {
			rate = unit.Rate(DailyOf(&st.Rx).Avg)
		}
		missed := VolumeMass(rate.Over(gap), st.Rx.Concentration, p.unit())
		if st.Bridging {
			missed = rate.Over(gap).String() + " of the old drug (a bridge is running)"
		}
		p.printf("Post-MRI check: the motor stalled at %s and recovered at %s (%v): about %s was not delivered and is not made up.",
			at(stall.At), at(recovery.At), roundTo(gap, unit.Minute), missed)
	}
	if !st.Alarms.Has(pump.MotorStall) {
		p.printf("No MOTOR_STALL alarm to acknowledge.")
		return nil
	}
	if err := p.confirm("Acknowledge MOTOR_STALL?"); err != nil {
		p.printf("MOTOR_STALL left raised: the pump keeps reminding hourly until a clinician acknowledges it.")
		return nil
	}
	return p.Acknowledge(ctx, pump.MotorStall.String())
}

// Local is the pump's local time zone: the UTC offset the clinician set.
func Local(st pumpwire.Status) *time.Location {
	return time.FixedZone("UTC"+unit.FormatUTCOffset(st.UTCOffset), int(st.UTCOffset/unit.Second))
}

// roundTo rounds d to the nearest multiple of m, for display.
func roundTo(d, m unit.Duration) unit.Duration { return (d + m/2) / m * m }
