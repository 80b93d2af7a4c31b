package clinic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Refill is a reservoir refill: what came out, what went in, and the accounting.
type Refill struct {
	Meta
	ImplantID     int64              `json:"implant_id"`
	At            time.Time          `json:"at"`
	Drug          string             `json:"drug"`
	Concentration unit.Concentration `json:"concentration"`
	Diluted       bool               `json:"diluted,omitempty"`
	Lot           string             `json:"lot"`
	Withdrawn     unit.Volume        `json:"withdrawn"`
	Added         unit.Volume        `json:"added"`
	Boluses       unit.Volume        `json:"boluses,omitempty"` // bolus volume the pump reports given since the last refill
	Observation   string             `json:"observation,omitempty"`
	ObservedFor   unit.Duration      `json:"observed_for,omitempty"`
	// Computed by therapy.CheckRefill and therapy.NextRefill.
	Programmed   unit.Volume `json:"programmed"`
	Expected     unit.Volume `json:"expected"`
	Discrepancy  unit.Volume `json:"discrepancy"`
	Limit        unit.Volume `json:"limit"`
	Flag         string      `json:"flag"` // within_limit, less_than_expected, more_than_expected, not_checked
	Flagged      bool        `json:"flagged"`
	FlagReason   string      `json:"flag_reason,omitempty"`
	DrugMismatch string      `json:"drug_mismatch,omitempty"` // set when drug or concentration differ from the prescription (hazard H2)
	NextDue      *time.Time  `json:"next_due,omitempty"`
	NextDueBasis string      `json:"next_due_basis,omitempty"`
	ReviewedBy   string      `json:"reviewed_by,omitempty"`
	ReviewedAt   *time.Time  `json:"reviewed_at,omitempty"`
	ReviewNote   string      `json:"review_note,omitempty"`

	// The independent confirmation of the drug and concentration typed:
	// typed a second time, or the vial label's text (drug.CheckFill).
	ConfirmDrug          string             `json:"confirm_drug,omitempty"`
	ConfirmConcentration unit.Concentration `json:"confirm_concentration,omitempty"`
	Label                string             `json:"label,omitempty"`
	// ConfirmConcentrationChange confirms a change of drug or concentration
	// a physician ordered; without it such a refill is refused.
	ConfirmConcentrationChange bool `json:"confirm_concentration_change,omitempty"`
	// Bridge is the bridge after an ordered change of drug or concentration.
	Bridge string `json:"bridge,omitempty"`
	// InterruptedSince is when delivery stopped before this refill (the
	// reservoir ran empty, or the pump reported it empty), if it did.
	InterruptedSince *time.Time `json:"interrupted_since,omitempty"`
}

// lastFill is the fill a refill follows: the last refill of the pump before at,
// or the pump's first fill.
type lastFill struct {
	At            time.Time
	Volume        unit.Volume
	Drug          string
	Concentration unit.Concentration
	Diluted       bool
	First         bool
}

func fillBefore(im *Implant, refills []*Refill, at time.Time) lastFill {
	f := lastFill{At: im.ImplantedAt, Volume: im.InitialFill, Drug: im.Drug,
		Concentration: im.Concentration, First: true}
	for _, r := range refills {
		if r.ImplantID == im.ID && r.At.Before(at) && !r.At.Before(f.At) {
			f = lastFill{At: r.At, Volume: r.Added, Drug: r.Drug,
				Concentration: r.Concentration, Diluted: r.Diluted}
		}
	}
	return f
}

// programmedSince returns the average basal rate the pump's prescriptions ran
// between from and to: the prescription in force at each moment, weighted by
// how long it ran. With one prescription over the interval, it is its rate.
func programmedSince(im *Implant, rxs []*Prescription, from, to time.Time) unit.Rate {
	type seg struct {
		at   time.Time
		rate unit.Rate
	}
	var segs []seg
	for _, rx := range rxs {
		if rx.ImplantID != im.ID || !rx.StartAt.Before(to) {
			continue
		}
		segs = append(segs, seg{rx.StartAt, basalRate(rx)})
	}
	if len(segs) == 0 {
		return 0
	}
	// Rates in force over [from, to).
	var total unit.Volume
	var single unit.Rate = -1
	for i, sg := range segs {
		start, end := sg.at, to
		if i+1 < len(segs) {
			end = segs[i+1].at
		}
		if start.Before(from) {
			start = from
		}
		if !end.After(start) {
			continue
		}
		if single == -1 {
			single = sg.rate
		} else if single != sg.rate {
			single = -2
		}
		total += sg.rate.Over(unit.Duration(end.Sub(start).Milliseconds()))
	}
	if single >= 0 {
		return single
	}
	return unit.RateOf(total, unit.Duration(to.Sub(from).Milliseconds()))
}

// currentRx returns the prescription in force for the pump at t, or nil.
func currentRx(im *Implant, rxs []*Prescription, t time.Time) *Prescription {
	var cur *Prescription
	for _, rx := range rxs {
		if rx.ImplantID == im.ID && !rx.StartAt.After(t) {
			cur = rx
		}
	}
	return cur
}

// RecordRefill records a refill with its accounting: the expected residual,
// the discrepancy and its flag (therapy.CheckRefill, hazard H3), a drug or
// concentration different from the prescription (H2), and the next refill date.
func (s *Service) RecordRefill(ctx context.Context, patientID int64, rf *Refill) error {
	if err := s.checkRefillInput(ctx, rf); err != nil {
		return err
	}
	return s.recordRefill(ctx, patientID, rf)
}

// checkRefillInput checks what a refill says before the records are read.
func (s *Service) checkRefillInput(ctx context.Context, rf *Refill) error {
	if err := s.allow(ctx, WriteCare); err != nil {
		return err
	}
	now := s.now()
	if rf.At.IsZero() {
		rf.At = now
	}
	if err := notFuture("at", rf.At, now); err != nil {
		return err
	}
	if err := fillInput(rf); err != nil {
		return err
	}
	if strings.TrimSpace(rf.Lot) == "" || len(rf.Lot) > 64 {
		return Errorf(EINVALID, "lot", "the drug lot number is required (at most 64 bytes)")
	}
	if rf.Withdrawn < 0 {
		return Errorf(EINVALID, "withdrawn", "must not be negative")
	}
	if rf.Boluses < 0 {
		return Errorf(EINVALID, "boluses", "must not be negative")
	}
	return textField("observation", rf.Observation, 10_000)
}

// recordRefill records a checked refill input (RecordRefill).
func (s *Service) recordRefill(ctx context.Context, patientID int64, rf *Refill) error {
	return s.write(ctx, WriteCare, func(o *op) error {
		if err := s.prepareRefill(o.tx, patientID, rf); err != nil {
			return err
		}
		rf.Meta = Meta{PatientID: patientID}
		_, err := o.create(rf)
		return err
	})
}

// CheckRefill runs every check and all the accounting of RecordRefill on rf
// and returns it as it would be recorded, writing nothing: what a programmer
// shows and obeys before it refills a pump (thecal program refill --clinic,
// the programming station), so that a refill the clinic would refuse is never
// put into the pump.
func (s *Service) CheckRefill(ctx context.Context, patientID int64, rf *Refill) (*Refill, error) {
	if err := s.checkRefillInput(ctx, rf); err != nil {
		return nil, err
	}
	err := s.view(ctx, WriteCare, func(tx Tx) error { return s.prepareRefill(tx, patientID, rf) })
	if err != nil {
		return nil, err
	}
	rf.Meta = Meta{PatientID: patientID}
	return rf, nil
}

// prepareRefill checks refill rf against the patient's records in tx and
// fills in its accounting.
func (s *Service) prepareRefill(tx Tx, patientID int64, rf *Refill) error {
	if _, err := tx.Patient(patientID); ErrorCode(err) == ENOTFOUND {
		return Errorf(ENOTFOUND, "patient_id", "no patient %d", patientID)
	} else if err != nil {
		return err
	}
	{
		im, err := activeImplant(tx, patientID)
		if err != nil {
			return err
		}
		if im == nil || rf.ImplantID != 0 && rf.ImplantID != im.ID {
			return Errorf(EINVALID, "implant_id", "the patient has no implanted pump to refill")
		}
		rf.ImplantID = im.ID
		if rf.At.Before(im.ImplantedAt) {
			return Errorf(EINVALID, "at", "before the pump was implanted")
		}
		model := im.Model
		if rf.Added <= 0 || rf.Added > model.Reservoir() {
			return Errorf(EINVALID, "added", "must be more than 0 and at most the %s reservoir (%s)", model, model.Reservoir())
		}
		refills, err := list[Refill](tx, RecordFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		rxs, err := list[Prescription](tx, RecordFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		s.account(rf, im, model, refills, rxs)
		if rf.Flag == "invalid" {
			return Errorf(EINVALID, rf.NextDueBasis, "%s", rf.FlagReason)
		}
		if err := s.checkFill(tx, im, rf, refills, rxs); err != nil {
			return err
		}
		if err := s.checkResume(tx, im, rf, refills, rxs); err != nil {
			return err
		}
		// The next refill date as the chart, the worklist and the documents
		// will show it (dates.go), from this fill.
		if rx := currentRx(im, rxs, rf.At); rx != nil && !rx.stopped() {
			fill := lastFill{At: rf.At, Volume: rf.Added, Drug: rf.Drug, Concentration: rf.Concentration, Diluted: rf.Diluted}
			if next, _, _, ok := s.project(im, rxs, fill, fill, rf.At); ok {
				rf.NextDue, rf.NextDueBasis = &next.Date, next.Basis
			}
		}
		return nil
	}
}

// account fills the refill's accounting from therapy.CheckRefill. A refused
// input sets Flag "invalid" with the field in NextDueBasis (read by the caller).
func (s *Service) account(rf *Refill, im *Implant, model pump.Model, refills []*Refill, rxs []*Prescription) {
	last := fillBefore(im, refills, rf.At)
	since := unit.Duration(rf.At.Sub(last.At).Milliseconds())
	rate := programmedSince(im, rxs, last.At, rf.At)
	rf.ReviewedAt, rf.ReviewedBy, rf.ReviewNote = nil, "", ""
	if since <= 0 {
		rf.Flag, rf.Flagged, rf.FlagReason = "invalid", false, "at the same time as the last fill"
		rf.NextDueBasis = "at"
		return
	}
	c, err := therapy.CheckRefill(therapy.RefillInput{Model: model, LastFill: last.Volume, Rate: rate, Since: since,
		Boluses: rf.Boluses, Withdrawn: rf.Withdrawn})
	if err != nil {
		var ie *therapy.InputError
		if errors.As(err, &ie) && (ie.Input == "withdrawn" || ie.Input == "boluses") {
			rf.Flag, rf.FlagReason, rf.NextDueBasis = "invalid", ie.Reason, ie.Input
			return
		}
		// The accounting cannot be done (e.g. an average rate under the pump's
		// minimum after a stop): say so; a person checks the residual.
		rf.Flag, rf.Flagged = "not_checked", true
		rf.FlagReason = "the discrepancy could not be computed (" + err.Error() + "): check the residual by hand"
		return
	}
	rf.Programmed, rf.Expected, rf.Discrepancy, rf.Limit = unit.Volume(c.Programmed), unit.Volume(c.Expected), unit.Volume(c.Discrepancy), unit.Volume(c.Limit)
	switch c.Flag {
	case therapy.WithinLimit:
		rf.Flag, rf.Flagged = "within_limit", false
	case therapy.LessThanExpected:
		rf.Flag, rf.Flagged = "less_than_expected", true
	case therapy.MoreThanExpected:
		rf.Flag, rf.Flagged = "more_than_expected", true
	}
	if rf.Flagged {
		rf.FlagReason = fmt.Sprintf("withdrew %s, expected %s: discrepancy %s beyond ±%s: %s",
			c.Discrepancy+c.Expected, c.Expected, c.Discrepancy, c.Limit, c.Flag)
	}
	if c.RanEmpty {
		rf.FlagReason = strings.TrimPrefix(rf.FlagReason+"; the program would have emptied the reservoir", "; ")
		rf.Flagged = true
	}
}

// ReviewInput marks a flag as reviewed.
type ReviewInput struct {
	Note    string `json:"note"`
	Version int64  `json:"version"`
}

// ReviewRefill records that a flagged refill was looked into.
func (s *Service) ReviewRefill(ctx context.Context, id int64, in ReviewInput) (*Refill, error) {
	if strings.TrimSpace(in.Note) == "" {
		return nil, Errorf(EINVALID, "note", "say what was found")
	}
	var rf *Refill
	err := s.write(ctx, WriteCare, func(o *op) error {
		var err error
		if rf, err = get[Refill](o.tx, id); err != nil {
			return err
		}
		before := *rf
		if rf.Version != in.Version {
			return Errorf(ECONFLICT, "version", "refill %d is at version %d, not %d: reload", id, rf.Version, in.Version)
		}
		rf.ReviewedAt, rf.ReviewedBy, rf.ReviewNote = &o.now, o.p.Name, in.Note
		return o.update(&before, rf)
	})
	return rf, err
}
