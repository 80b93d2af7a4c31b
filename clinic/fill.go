package clinic

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The clinical rules of a refill (issue 11 items 1 and 5), as the clinic
// applies them: the drug and concentration typed and confirmed, checked
// against the library and the physician's order (drug.CheckFill), and a
// restart after an interruption of delivery made a physician's decision.

// fillInput checks what a refill must carry before anything is read: the
// drug and the concentration, typed, never taken from the program.
func fillInput(rf *Refill) error {
	if len(rf.Drug) > 64 || len(rf.ConfirmDrug) > 64 {
		return Errorf(EINVALID, "drug", "at most 64 bytes")
	}
	if err := textField("label", rf.Label, 2000); err != nil {
		return err
	}
	if rf.Concentration < 0 || rf.ConfirmConcentration < 0 {
		return Errorf(EINVALID, "concentration", "must be more than 0")
	}
	return nil
}

// checkFill applies drug.CheckFill to a refill in tx: what the pump held
// (the last fill) and what the physician ordered (the newest prescription)
// decide whether the drug and concentration are right. A change the order
// asks for needs confirm_concentration_change; the refill then records the
// change and its bridge.
func (s *Service) checkFill(tx Tx, im *Implant, rf *Refill, refills []*Refill, rxs []*Prescription) error {
	lib, err := s.currentLibrary(tx)
	if err != nil {
		return err
	}
	last := fillBefore(im, refills, rf.At)
	f := drug.Fill{Drug: rf.Drug, Concentration: rf.Concentration, ConfirmDrug: rf.ConfirmDrug,
		ConfirmConcentration: rf.ConfirmConcentration, Label: rf.Label,
		Running: drug.Product{Drug: last.Drug, Concentration: last.Concentration}}
	if o := newestOrder(im, rxs); o != nil {
		f.Ordered = drug.Product{Drug: o.Program.Drug, Concentration: o.Program.Concentration}
	}
	r, err := drug.CheckFill(lib, f)
	var fe *drug.FillError
	if errors.As(err, &fe) {
		return Errorf(EINVALID, fe.Field, "%s", fe.Reason)
	} else if err != nil {
		return err
	}
	for _, fd := range r.Findings {
		if fd.Severity == drug.Refused {
			field := "concentration"
			if fd.Kind == drug.UnknownDrug || fd.Kind == drug.NotOrdered && !sameDrugName(lib, rf.Drug, orTarget(f)) {
				field = "drug"
			}
			return Errorf(EINVALID, field, "refused: %s", fd.Message)
		}
	}
	rf.Drug = r.Drug.Name
	if err := therapy.ConfirmFill(r.Change, rf.ConfirmConcentrationChange); err != nil {
		return Errorf(EINVALID, "confirm_concentration_change", "%s: the drug or concentration changes, as a physician ordered: confirm it explicitly (confirm_concentration_change)", r.Change)
	}
	if r.Change == "" {
		return nil
	}
	rf.DrugMismatch = fmt.Sprintf("%s: the reservoir now holds what the physician ordered, but the pump runs the program for %s %s until it is reprogrammed: the bridge and the new program follow the refill (hazard H2)",
		r.Change, last.Drug, last.Concentration.Format(r.Drug.DoseUnit))
	if old := runningRx(im, rxs, rf.At, last); old != nil && !old.stopped() {
		b, err := therapy.BridgeFor(basalRate(old), therapy.Catheter{Length: im.CatheterLength, PerCm: im.CatheterPerCm}, ustd(rf.At), last.Concentration)
		if err == nil {
			u := unit.Milligram
			if d, ok := lib.Lookup(last.Drug); ok {
				u = d.DoseUnit
			}
			rf.Bridge = "Bridge: " + b.Text(last.Drug, last.Concentration, u, time.UTC)
		}
	}
	return nil
}

// orTarget is what a fill must match: the order, or what runs.
func orTarget(f drug.Fill) string {
	if !f.Ordered.IsZero() {
		return f.Ordered.Drug
	}
	return f.Running.Drug
}

func sameDrugName(lib *drug.Library, a, b string) bool {
	da, ok1 := lib.Lookup(a)
	db, ok2 := lib.Lookup(b)
	return ok1 && ok2 && da == db
}

// newestOrder is the newest prescription recorded for the pump: the
// physician's order a refill must match, whatever its start.
func newestOrder(im *Implant, rxs []*Prescription) *Prescription {
	var o *Prescription
	for _, rx := range rxs {
		if rx.ImplantID == im.ID && (o == nil || rx.ID > o.ID) {
			o = rx
		}
	}
	return o
}

// runningRx is the prescription that ran with the last fill's drug and
// concentration at t: the program a bridge delivers the old drug at.
func runningRx(im *Implant, rxs []*Prescription, t time.Time, last lastFill) *Prescription {
	var cur *Prescription
	for _, rx := range rxs {
		if rx.ImplantID == im.ID && !rx.StartAt.After(t) && rx.Program.Drug == last.Drug && rx.Program.Concentration == last.Concentration {
			cur = rx
		}
	}
	return cur
}

// interruptionAt is the latest stop of delivery the records show for the
// pump at t, since its last fill: the reservoir ran empty by the refill
// accounting (the basal alone gives the latest time), or the pump reported
// EMPTY_RESERVOIR. Nil when there is none.
func interruptionAt(im *Implant, refills []*Refill, rxs []*Prescription, alarms []*Alarm, t time.Time) *therapy.Interruption {
	last := fillBefore(im, refills, t)
	var i *therapy.Interruption
	note := func(since time.Time, why string) {
		if since.Before(t) && !since.Before(last.At) && (i == nil || since.Before(i.Since.Std())) {
			i = &therapy.Interruption{Since: ustd(since), Until: ustd(t), Why: why}
		}
	}
	if rate := programmedSince(im, rxs, last.At, t); rate > 0 && last.Volume > pump.EmptyVolume {
		if d, ok := rate.DurationFor(last.Volume - pump.EmptyVolume); ok {
			note(last.At.Add(d.Std()), fmt.Sprintf("the reservoir ran empty: %v filled on %s at the programmed %v", last.Volume, last.At.Format(time.DateOnly), rate))
		}
	}
	for _, a := range alarms {
		if a.ImplantID == im.ID && a.Code == pump.EmptyReservoir.String() {
			note(a.RaisedAt, fmt.Sprintf("pump %s reported EMPTY_RESERVOIR", a.Serial))
		}
	}
	return i
}

// checkResume refuses a refill that would resume delivery after an
// interruption longer than the drug's threshold (any interruption, when the
// library sets none) unless a physician has ordered the restart since it
// began: resuming the old dose after tolerance may be lost (opioids) or
// after a baclofen interruption is a physician's decision, with a reason, or
// at the reduced restart dose the library gives. It records the
// interruption on the refill.
func (s *Service) checkResume(tx Tx, im *Implant, rf *Refill, refills []*Refill, rxs []*Prescription) error {
	alarms, err := list[Alarm](tx, RecordFilter{PatientID: im.PatientID})
	if err != nil {
		return err
	}
	i := interruptionAt(im, refills, rxs, alarms, rf.At)
	if i == nil {
		return nil
	}
	since := i.Since.Std()
	rf.InterruptedSince = &since
	lib, err := s.currentLibrary(tx)
	if err != nil {
		return err
	}
	d, _ := lib.Lookup(rf.Drug)
	beyond, limit := i.Beyond(d)
	if !beyond {
		return nil
	}
	for _, rx := range rxs {
		if rx.ImplantID == im.ID && rx.CreatedAt.After(since) {
			return nil // the physician's decision, recorded since delivery stopped
		}
	}
	return Errorf(EINVALID, "", "delivery stopped for %v from %s (%s), %s: resuming the dose before is a physician's decision (tolerance may be lost): a physician records the restart order first — with its reason, or at the library's reduced restart dose — then the refill",
		roundDur(i.Duration()), since.Format("2006-01-02 15:04 MST"), i.Why, limit)
}

func roundDur(d unit.Duration) unit.Duration { return (d + unit.Minute/2) / unit.Minute * unit.Minute }

// ProgrammerFacts is what a programmer takes from the patient's record (the
// API's GET …/record): every prescription as the titration rules count it,
// oldest first, and the physician's newest order (the drug and
// concentration a refill must match).
func (r *PatientRecord) ProgrammerFacts() (history []drug.Prescribed, order drug.Product) {
	var newest *Prescription
	for _, rx := range r.Prescriptions {
		history = append(history, drug.Prescribed{At: ustd(rx.StartAt), Drug: rx.Program.Drug, Dose: rx.DosePerDay})
		if newest == nil || rx.ID > newest.ID {
			newest = rx
		}
	}
	slices.SortStableFunc(history, func(a, b drug.Prescribed) int { return int(a.At - b.At) })
	if newest != nil {
		order = drug.Product{Drug: newest.Program.Drug, Concentration: newest.Program.Concentration}
	}
	return history, order
}
