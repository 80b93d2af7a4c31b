package programmer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinicapi"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// A visit is a programming session with the clinic's record (issue 12, items
// 2 and 5): the one session engine that thecal program sync and refill
// --clinic run on a terminal and the web programming station runs in the
// browser. It uploads the interrogation, fetches the order for the pump,
// shows what the pump runs beside what was ordered with every finding of the
// clinic's rules, programs the order (or refills, then bridges to the order
// for a new drug or concentration) once confirmed, reads the pump back, and
// uploads the session — who, when, before, after, and the pump's own event
// numbers of each step.

// Records is the clinic's record as a visit reads and writes it: the
// clinic's JSON API (clinicapi.Client) for thecal program --clinic, the
// clinic's service itself for the web programming station.
type Records interface {
	// Now is the clinic's clock: what a visit dates its reports by.
	Now() time.Time
	Report(ctx context.Context, r *clinic.Report, key string) (*clinic.IngestResult, error)
	Order(ctx context.Context, serial string) (*clinic.PumpOrder, error)
	CheckRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error)
	RecordRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error)
	RecordSession(ctx context.Context, up *clinic.SessionUpload) (*clinic.SessionResult, error)
}

// Errors of a visit.
var (
	// ErrNoOrder: the clinic has no order for the pump.
	ErrNoOrder = errors.New("programmer: the clinic has no order for this pump")
	// ErrOrderRefused: the clinic's rules, or the pump's own validation,
	// refuse the order as it stands now (the library changed since it was
	// written, or it does not suit this pump): a physician must order again.
	ErrOrderRefused = errors.New("programmer: the order is refused by the clinic's rules now")
	// ErrNotRecorded: the pump was changed but the clinic did not record it
	// (the programmer says what to do).
	ErrNotRecorded = errors.New("programmer: the pump was changed but the clinic's record was not updated")
)

// Visit is a programming visit in progress.
type Visit struct {
	Records Records
	// Clock is the programmer's clock: the times the clinic records.
	Clock  func() time.Time
	Serial string
	// Started is when the visit began; Before what the pump reported then,
	// uploaded as Interrogation.
	Started       time.Time
	Before        pumpwire.Status
	Interrogation *clinic.IngestResult
	// Order is the clinic's order for the pump, reviewed by its rules as a
	// change from what the pump runs.
	Order *clinic.PumpOrder
	// Change is programming the order, reviewed against the pump's own
	// rules; nil when the pump runs the order already.
	Change *Change
	// Refill is the refill of a refill visit, as the clinic would record it.
	Refill *clinic.Refill
	// Plan is a refill visit's plan (PlanRefill: the pump's count).
	Plan *RefillPlan

	// Station says the web programming station runs the visit.
	Station bool

	steps []clinic.SessionStep
	last  time.Time // the last report's time, so that two never share one
}

// StartVisit begins a visit in the open session: it uploads what the
// session's interrogation read (with the recent event log), and fetches the
// order for the pump. clock dates the reports (nil: the clinic's, rec.Now).
func (p *Programmer) StartVisit(ctx context.Context, rec Records, clock func() time.Time) (*Visit, error) {
	return p.startVisit(ctx, rec, clock, true)
}

// ReviewVisit is StartVisit for a review only: it fetches the order and
// uploads nothing (the web programming station reviews in one session and
// programs, after the clinician's confirmation, in another).
func (p *Programmer) ReviewVisit(ctx context.Context, rec Records, clock func() time.Time) (*Visit, error) {
	return p.startVisit(ctx, rec, clock, false)
}

func (p *Programmer) startVisit(ctx context.Context, rec Records, clock func() time.Time, upload bool) (*Visit, error) {
	if clock == nil {
		clock = rec.Now
	}
	st := p.S.Status()
	v := &Visit{Records: rec, Clock: clock, Serial: clinicapi.Serial(p.S.Pump().Serial), Before: st}
	v.Started = v.now()
	v.steps = append(v.steps, clinic.SessionStep{Action: "interrogate"})
	if upload {
		recs, err := p.S.Log(ctx, st.LogNext-min(st.LogNext-1, 50))
		if err != nil {
			return nil, err
		}
		r := clinicapi.ReportFrom(v.Serial, st, recs, clinicapi.SourceProgrammer, v.Started)
		if v.Interrogation, err = rec.Report(ctx, r, ""); err != nil {
			return nil, fmt.Errorf("uploading the interrogation: %w", err)
		}
	}
	var err error
	if v.Order, err = rec.Order(ctx, v.Serial); err != nil {
		return nil, fmt.Errorf("fetching the order: %w", err)
	}
	return v, nil
}

// now is the programmer's clock, never the same millisecond twice (each
// report's key is its time).
func (v *Visit) now() time.Time {
	t := v.Clock().UTC().Truncate(time.Millisecond)
	if !t.After(v.last) {
		t = v.last.Add(time.Millisecond)
	}
	v.last = t
	return t
}

// PlanOrder reviews programming the order: the clinic's review refuses what
// its rules refuse now; the pump's rules (validation, the reservoir's drug
// and concentration, hazard H2) are checked as for any change (PlanChange).
// It leaves Change nil when the pump runs the order already.
func (p *Programmer) PlanOrder(v *Visit) error {
	o := v.Order
	if o.Order == nil {
		return ErrNoOrder
	}
	if r := o.Review; r != nil && (r.Refused || r.Invalid != "") {
		return fmt.Errorf("%w: %s", ErrOrderRefused, refusal(r))
	}
	st := v.Before
	if st.HasRx && st.Rx == o.Order.Program {
		v.Change = nil
		return nil
	}
	c, err := PlanChange(p.Lib, st, o.Order.Program, clinicFacts(o.Order.Population, st))
	if err != nil {
		return err
	}
	c.Findings = nil // the clinic's review is the one that counts: shown by Write
	v.Change = c
	return nil
}

// clinicFacts are the facts of a visit's own checks: the pump's rules only.
// The library's rules, with the patient's whole history, are the clinic's
// review of the order (PumpOrder), which the visit shows and obeys; the
// empty history here says so to PlanChange, which would otherwise review
// the change against the running prescription alone.
func clinicFacts(population string, st pumpwire.Status) Facts {
	return Facts{Population: population, Now: st.At, History: []drug.Prescribed{}}
}

func refusal(r *clinic.OrderReview) string {
	if r.Invalid != "" {
		return "the pump would refuse it: " + r.Invalid
	}
	for _, f := range r.Findings {
		if f.Severity == drug.Refused.String() {
			return f.Message
		}
	}
	return "refused"
}

// Write prints the visit for review: the patient and the order with its
// state, what the pump runs beside what was ordered, and the findings of the
// clinic's rules with the prescriber's reason.
func (v *Visit) Write(w io.Writer) {
	o := v.Order
	fmt.Fprintf(w, "Pump %s (%v) of %s, %s.\n", v.Serial, v.Before.Model, o.Patient, o.MRN)
	if v.Interrogation != nil {
		fmt.Fprintf(w, "Interrogation uploaded to the clinic (report %d).\n", v.Interrogation.ReportID)
		for _, d := range v.Interrogation.Program {
			fmt.Fprintf(w, "  differs from the clinic's record: %s\n", d)
		}
		for _, d := range v.Interrogation.Reservoir {
			fmt.Fprintf(w, "  differs from the clinic's record: %s\n", d)
		}
	}
	rx := o.Order
	if rx == nil {
		fmt.Fprintln(w, "The clinic has no order for this pump.")
		return
	}
	fmt.Fprintf(w, "Order %d by %s, from %s: %s.\n", rx.ID, rx.CreatedBy, rx.StartAt.Format("2006-01-02 15:04 MST"), rx.OrderState())
	if rx.Reason != "" {
		fmt.Fprintf(w, "  the prescriber's reason: %s\n", rx.Reason)
	}
	switch {
	case v.Change != nil:
		v.Change.WriteTable(w, "ordered")
	case v.Refill == nil:
		fmt.Fprintln(w, "The pump runs the order already: nothing to program.")
	}
	if r := o.Review; r != nil {
		if r.Change != "" {
			fmt.Fprintf(w, "Change of daily dose: %s.\n", r.Change)
		}
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "The clinic's rules (library %s): no findings.\n", r.Library)
		} else {
			fmt.Fprintf(w, "The clinic's rules (library %s):\n", r.Library)
			for _, f := range r.Findings {
				fmt.Fprintf(w, "  %s: %s\n", f.Severity, f.Message)
			}
		}
		for _, f := range rx.Findings {
			if f.Severity == "confirmed" {
				fmt.Fprintf(w, "  confirmed by the prescriber: %s\n", f.Message)
			}
		}
	}
}

// ProgramOrder programs the reviewed order (after the confirmation), reads
// the pump back and uploads the session. With nothing to program it uploads
// the read-back as a session that changed nothing, which records that the
// pump runs the order.
func (p *Programmer) ProgramOrder(ctx context.Context, v *Visit) (*clinic.SessionResult, error) {
	if v.Order.Order == nil {
		return nil, ErrNoOrder
	}
	outcome := "unchanged"
	if v.Change != nil {
		if err := p.confirm("Program the order?"); err != nil {
			return nil, err
		}
		seq, err := p.S.Program(ctx, v.Change)
		if err != nil {
			return nil, err
		}
		step := "program"
		if v.Change.Bridge {
			step = "bridge"
		}
		v.steps = append(v.steps, clinic.SessionStep{Action: step, Seq: seq, Detail: "order " + itoa(v.Order.Order.ID)})
		p.printf("Programmed: the pump stored the order (event #%d) and runs it%s.", seq, map[bool]string{true: " after the bridge", false: ""}[v.Change.Bridge])
		outcome = "programmed"
	}
	return p.finishVisit(ctx, v, outcome, "")
}

// finishVisit reads the pump back, checks it runs the order, and uploads the
// session with the read-back.
func (p *Programmer) finishVisit(ctx context.Context, v *Visit, outcome, note string) (*clinic.SessionResult, error) {
	st, err := p.S.Interrogate(ctx)
	if err != nil {
		return nil, err
	}
	v.steps = append(v.steps, clinic.SessionStep{Action: "read_back"})
	runs := v.Order.Order != nil && st.HasRx && st.Rx == v.Order.Order.Program
	if v.Order.Order != nil {
		if runs {
			p.printf("Read back: the pump runs the order exactly.")
		} else {
			p.printf("Read back: the pump does NOT run the order.")
		}
	}
	recs, err := p.S.Log(ctx, v.Before.LogNext)
	if err != nil {
		return nil, err
	}
	at := v.now()
	ps := clinic.ProgrammingSession{Serial: v.Serial, Programmer: p.S.Self().Name, StartedAt: v.Started, EndedAt: at,
		Steps: v.steps, Outcome: outcome, Note: note, Station: v.Station}
	if v.Order.Order != nil {
		ps.OrderID = v.Order.Order.ID
	}
	if v.Refill != nil {
		ps.RefillID = v.Refill.ID
	}
	if v.Before.HasRx {
		b := clinic.Program(v.Before.Rx)
		ps.Before = &b
	}
	if st.HasRx {
		a := clinic.Program(st.Rx)
		ps.After = &a
	}
	up := &clinic.SessionUpload{Session: ps, Report: clinicapi.ReportFrom(v.Serial, st, recs, clinicapi.SourceProgrammer, at)}
	res, err := v.Records.RecordSession(ctx, up)
	if err != nil {
		return nil, fmt.Errorf("%w: uploading the session: %w", ErrNotRecorded, err)
	}
	p.printf("Recorded in the clinic: programming session %d by %s; order %d is %s.", res.Session.ID, res.Session.CreatedBy,
		res.Report.Order, res.Report.State)
	if res.Report.State == clinic.Programmed {
		p.printf("It becomes verified when the pump's home monitor next reports it running.")
	}
	for _, d := range res.Report.Program {
		p.printf("  the clinic sees a difference: %s", d)
	}
	if !runs && v.Order.Order != nil {
		return res, fmt.Errorf("%w: after the session the pump runs another program than the order", ErrNotStored)
	}
	return res, nil
}

// RefillVisit is a refill in a visit: what the nurse reports, and the lot of
// the drug (the clinic records it).
type RefillVisit struct {
	In  RefillInput
	Lot string
}

// PlanVisitRefill reviews a refill in a visit: the pump's count of what it
// delivered (PlanRefill), the clinic's checks and accounting of the refill
// (nothing written: a refill the clinic would refuse never goes into the
// pump), and for another drug or concentration than the pump runs, the
// physician's order for it, programmed after a bridge in the same session.
func (p *Programmer) PlanVisitRefill(ctx context.Context, v *Visit, rv RefillVisit) error {
	st := v.Before
	if rv.In.Dose != 0 {
		return fmt.Errorf("%w: with the clinic, the dose is the physician's order: drop --dose", ErrRx)
	}
	// The fill's rules (drug.CheckFill, through PlanRefill): typed and
	// confirmed, a strength of the library, and another drug or
	// concentration than the pump runs only as the physician ordered.
	o := v.Order.Order
	f := clinicFacts(p.Population, st)
	if o != nil {
		f.Order, f.Population = drug.Product{Drug: o.Program.Drug, Concentration: o.Program.Concentration}, o.Population
	}
	plan, err := PlanRefill(p.Lib, st, rv.In, f)
	if err != nil {
		return err
	}
	if plan.Fill.Change != "" {
		// The new program is the order itself, after a bridge.
		if r := v.Order.Review; r != nil && (r.Refused || r.Invalid != "") {
			return fmt.Errorf("%w: %s", ErrOrderRefused, refusal(r))
		}
		after := st
		after.FillDrug, after.FillConc = plan.Refill.Drug, plan.Refill.Concentration
		c, err := PlanChange(p.Lib, after, o.Program, clinicFacts(o.Population, st))
		if err != nil {
			return err
		}
		c.Findings, c.Bridge = nil, plan.Bridge != nil
		plan.Change = c
	} else {
		plan.Change = nil // the order, not an edit, is what a visit programs
	}
	v.Plan = plan
	v.Change = plan.Change
	// The clinic's checks of the same refill, nothing written; the change of
	// fill is confirmed after this review, so it is taken as confirmed here.
	rf := &clinic.Refill{At: v.Started, Drug: plan.Refill.Drug, Concentration: plan.Refill.Concentration, Lot: rv.Lot,
		ConfirmDrug: rv.In.ConfirmDrug, ConfirmConcentration: rv.In.ConfirmConcentration, Label: rv.In.Label,
		ConfirmConcentrationChange: plan.Fill.Change != "", Withdrawn: rv.In.Withdrawn, Added: rv.In.Added}
	if v.Refill, err = v.Records.CheckRefill(ctx, v.Order.PatientID, rf); err != nil {
		return fmt.Errorf("the clinic refuses the refill: %w", err)
	}
	return nil
}

// WriteRefill prints a refill visit for review.
func (v *Visit) WriteRefill(w io.Writer, lib *drug.Library) {
	v.Write(w)
	rf := v.Refill
	u := unit.Milligram
	if d, ok := lib.Lookup(rf.Drug); ok {
		u = d.DoseUnit
	}
	fmt.Fprintln(w, "Refill, as the clinic will record it:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  new fill\t%s of %s %s (lot %s)\n", VolumeMass(rf.Added, rf.Concentration, u), rf.Drug, rf.Concentration.Format(u), rf.Lot)
	fmt.Fprintf(tw, "  withdrawn\t%v (expected %v: discrepancy %v, limit ±%v): %s\n", rf.Withdrawn, rf.Expected, rf.Discrepancy, rf.Limit, strings.ReplaceAll(rf.Flag, "_", " "))
	if rf.NextDue != nil {
		fmt.Fprintf(tw, "  next refill due\t%s\n", rf.NextDue.Format(time.DateOnly))
	}
	tw.Flush()
	if rf.Flagged {
		fmt.Fprintf(w, "WARNING: %s\n", rf.FlagReason)
	}
	if pl := v.Plan; pl != nil && !pl.FirstFill {
		fmt.Fprintf(w, "The pump's own count: delivered %v since the last fill, residual expected %v: %s.\n", pl.Check.Programmed, pl.Check.Expected, pl.Check.Flag)
	}
	if v.Change != nil {
		fmt.Fprintln(w, "The drug or concentration changes as the physician ordered: refill, bridge, then the order, in this session.")
		if b := v.Plan.Bridge; b != nil {
			fmt.Fprintf(w, "Bridge: the old drug in tubing and catheter, %s, at the old rate %v for %v.\n",
				VolumeMass(b.Volume, v.Change.Old.Concentration, u), b.Rate, roundTo(b.Duration, unit.Minute))
		}
	}
}

// RefillOrder refills the pump as reviewed (after the confirmation), then,
// for a new drug or concentration, bridges to the order; it reads the pump
// back, records the refill in the clinic and uploads the session.
func (p *Programmer) RefillOrder(ctx context.Context, v *Visit) (*clinic.SessionResult, error) {
	if v.Plan == nil || v.Refill == nil {
		return nil, errors.New("programmer: no refill planned")
	}
	// The prescriber confirmed the order's change of dose; the change of
	// fill is the nurse's to confirm, explicitly (--confirm-change, or asked).
	confirmFill := v.Plan.Fill.Change == "" || p.second(p.ConfirmConcentrationChange, "The physician's order changes what the pump holds: "+v.Plan.Fill.Change+". Confirm the change?")
	if err := v.Plan.Decide(p.Reason, true, confirmFill); err != nil {
		return nil, err
	}
	q := "Refill the pump and record it?"
	if v.Change != nil {
		q = "Refill, bridge and program the order?"
	}
	if err := p.confirm(q); err != nil {
		return nil, err
	}
	r, err := p.S.Send(ctx, v.Plan.Refill)
	if err != nil {
		return nil, err
	}
	var seq uint64
	if ack, ok := r.(*pumpwire.Ack); ok {
		seq = ack.Seq
	}
	v.steps = append(v.steps, clinic.SessionStep{Action: "refill", Seq: seq,
		Detail: fmt.Sprintf("%v of %s %v", v.Plan.Refill.Added, v.Plan.Refill.Drug, v.Plan.Refill.Concentration)})
	p.printf("Refilled: the pump recorded %v of %s %v (event #%d).", v.Plan.Refill.Added, v.Plan.Refill.Drug, v.Plan.Refill.Concentration, seq)
	outcome := "refilled"
	if v.Change != nil {
		seq, err := p.S.Program(ctx, v.Change)
		if err != nil {
			return nil, fmt.Errorf("%w: the refill is in the pump but the order for the new drug was not programmed: program it now: %w", ErrReservoirMismatch, err)
		}
		v.steps = append(v.steps, clinic.SessionStep{Action: "bridge", Seq: seq, Detail: "order " + itoa(v.Order.Order.ID)})
		p.printf("Bridge started and the order stored (event #%d): the order runs once the old drug is delivered.", seq)
		outcome = "refilled_and_programmed"
	}
	note := ""
	rf := *v.Refill
	rf.ID, rf.Version, rf.ConfirmConcentrationChange = 0, 0, confirmFill
	recorded, err := v.Records.RecordRefill(ctx, v.Order.PatientID, &rf)
	if err != nil {
		note = "the clinic did not record the refill: " + err.Error()
		p.printf("WARNING: %s. Record it by hand on the chart.", note)
		v.Refill = nil
	} else {
		v.Refill = recorded
		p.printf("Refill recorded in the clinic (refill %d).", recorded.ID)
	}
	res, serr := p.finishVisit(ctx, v, outcome, note)
	if serr != nil {
		return res, serr
	}
	if note != "" {
		return res, fmt.Errorf("%w: %s", ErrNotRecorded, note)
	}
	return res, nil
}

func itoa(n int64) string { return fmt.Sprint(n) }
