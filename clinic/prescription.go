package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// LibraryFinding is one finding of the checks a prescription went through: the
// drug library's (drug.Check) and the large-change rule's (kind large_change).
type LibraryFinding struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Source   string `json:"source,omitempty"`
}

// KindLargeChange is the finding of a change of daily dose beyond the drug's
// threshold, recorded with the prescriber's second confirmation.
const KindLargeChange = "large_change"

// Prescription is a physician's order for a patient's pump: the program the
// pump is to run — a pump.Prescription, Thecal's one prescription type, every
// mode the pump runs included, with the pump's one validation and binary codec
// — and beside it what only the clinic knows: the dose as written, whether the
// drug was diluted, the population, why, the library it was checked against
// and what it found, the order it supersedes. Prescriptions are never edited:
// a change is a new prescription, so the history is complete. Its JSON form
// is in program.go.
type Prescription struct {
	Meta
	ImplantID int64     `json:"implant_id"`
	StartAt   time.Time `json:"start_at"`
	// Program is what the pump runs ("program" in JSON).
	Program pump.Prescription `json:"-"`
	// DosePerDay is the daily dose as written. A continuous program may be
	// given by it instead of program.rate; the service then sets it, for every
	// mode, to the dose the program gives (therapy.DailyDose).
	DosePerDay unit.DoseRate `json:"dose_per_day,omitempty"`
	Diluted    bool          `json:"diluted,omitempty"`
	Population string        `json:"population,omitempty"`
	Reason     string        `json:"reason,omitempty"` // why: required past a soft limit
	// ConfirmLargeChange is the prescriber's second, explicit confirmation of
	// a change of the daily dose beyond the drug's threshold
	// (therapy.CheckDoseChange): without it such a change is refused.
	ConfirmLargeChange bool `json:"confirm_large_change,omitempty"`
	// ConfirmConcentrationChange confirms an order for another drug or
	// concentration than the reservoir holds: the reservoir is emptied and
	// refilled with it, and the old drug bridged (therapy.ConfirmFill).
	ConfirmConcentrationChange bool `json:"confirm_concentration_change,omitempty"`
	// Set by the service.
	Findings       []LibraryFinding `json:"findings,omitempty"`
	LibraryVersion string           `json:"library_version"`
	LibraryDigest  string           `json:"library_digest"`
	Supersedes     int64            `json:"supersedes,omitempty"`
	// The order's state (order.go): ordered, then programmed when a
	// programmer reports the pump running it, then verified when a later
	// report from the pump's home monitor shows it. Set by the service.
	OrderStatus
}

// basalRate is the rate a prescription runs at on average (for flex, over a
// week): what refill accounting and the battery model take.
func basalRate(rx *Prescription) unit.Rate {
	return unit.Rate(therapy.DailyOf(&rx.Program).Avg)
}

// peakRate is the most basal a prescription delivers in any one day: what the
// worst-case next refill date takes.
func peakRate(rx *Prescription) unit.Rate {
	return unit.Rate(therapy.DailyOf(&rx.Program).Max)
}

// stopped reports whether the prescription delivers nothing.
func (rx *Prescription) stopped() bool { return rx.Program.Mode == pump.ModeStopped }

// PrescriptionReview is a proposed prescription as the service checked it,
// before anything is written: the prescription in force it would replace,
// the proposal completed by the service (rates, daily dose, drug name), every
// finding, and the change of daily dose against the drug's threshold. The
// pages show it for review; Prescribe refuses on it.
type PrescriptionReview struct {
	Current  *Prescription // nil when there is none
	Proposed *Prescription
	Findings []drug.Finding
	Change   therapy.DoseChange
	// Most is everything the proposal lets the pump give in a day: the basal
	// and every allowed patient bolus, within max_24h (what the limits count).
	Most unit.DoseRate
	// FillChange says the change of drug or concentration from what the
	// reservoir holds, when the proposal orders one ("" when not).
	FillChange string
	Unit       unit.MassUnit // the drug's dose unit
	Library    *drug.Library
	// Invalid is the pump's refusal of the program (pump.Prescription.Validate),
	// naming its field: shown at review beside the findings, refused by Prescribe.
	Invalid *Error
	// latest is the newest prescription recorded (whatever its start): the
	// one a new prescription supersedes.
	latest int64
	review *therapy.ChangeReview
}

// MarshalJSON writes the review as the API answers it: the prescription in
// force and the proposal (with its findings), the change of daily dose with
// its threshold, everything a day can give, a change of what the reservoir
// holds, and whether a recording needs a reason. (A refusal is no review:
// the API answers it with 400.)
func (r PrescriptionReview) MarshalJSON() ([]byte, error) {
	type change struct {
		Comparable bool          `json:"comparable"`
		Old        unit.DoseRate `json:"old"`
		New        unit.DoseRate `json:"new"`
		Percent    *unit.Percent `json:"percent,omitempty"`
		Threshold  unit.Percent  `json:"threshold"`
		Source     string        `json:"source"`
		Large      bool          `json:"large"`
	}
	c := r.Change
	out := struct {
		Current     *Prescription `json:"current"`
		Proposed    *Prescription `json:"proposed"`
		Change      change        `json:"change"`
		Most        unit.DoseRate `json:"most_per_day"`
		FillChange  string        `json:"concentration_change,omitempty"`
		NeedsReason bool          `json:"needs_reason"`
	}{Current: r.Current, Proposed: r.Proposed, NeedsReason: r.NeedsReason(), Most: r.Most, FillChange: r.FillChange,
		Change: change{Comparable: c.Comparable, Old: c.Old, New: c.New, Threshold: c.Threshold, Source: c.Source, Large: c.Large}}
	if c.Comparable {
		out.Change.Percent = &c.Change
	}
	return json.Marshal(out)
}

// Refused reports whether a finding refuses the proposal (a hard limit).
func (r *PrescriptionReview) Refused() bool { return drug.Worst(r.Findings) == drug.Refused }

// NeedsReason reports whether a finding needs a stated reason.
func (r *PrescriptionReview) NeedsReason() bool { return drug.Worst(r.Findings) == drug.NeedsReason }

// ReviewPrescription checks a proposed prescription exactly as Prescribe does
// and returns the review, writing nothing: the prescription in force beside
// the proposal, the findings of the proposal, the change of daily dose. What
// the pump's validation refuses and a hard limit refuse at review: the review
// is returned with the refusal (an *Error naming the field), for the
// prescriber to see both. A missing reason and an unconfirmed change are in
// the review, asked for at the confirmation. Any other error is an input the
// checks cannot take (an unknown drug, a dose the pump cannot run, no
// implanted pump…), with no review.
func (s *Service) ReviewPrescription(ctx context.Context, patientID int64, rx *Prescription) (*PrescriptionReview, error) {
	if err := s.allow(ctx, Prescribe); err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.completeRx(rx, now); err != nil {
		return nil, err
	}
	var rev *PrescriptionReview
	err := s.view(ctx, Prescribe, func(tx Tx) error {
		var err error
		rev, err = s.reviewRx(tx, patientID, rx)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The review shows the prescription in force: a read of the record.
	if err := s.auditRead(ctx, "patient.read", patientID); err != nil {
		return nil, err
	}
	return rev, rev.refusal()
}

// refusal is what refuses a proposal at review: the pump's validation, then
// a hard limit of the library; nil when neither does.
func (rev *PrescriptionReview) refusal() error {
	if rev.Invalid != nil {
		return rev.Invalid
	}
	for _, f := range rev.Findings {
		if f.Severity == drug.Refused {
			return Errorf(EINVALID, findingField(f), "refused by drug library %s: %s", rev.Library.Version, f.Message)
		}
	}
	return nil
}

// Prescribe records a new prescription for the patient's implanted pump, after
// the pump's own checks and the drug library's: a hard limit refuses it, a
// change of the daily dose beyond the drug's threshold needs
// ConfirmLargeChange, a soft limit needs a stated reason. The library version
// is recorded with it.
func (s *Service) Prescribe(ctx context.Context, patientID int64, rx *Prescription) error {
	if err := s.allow(ctx, Prescribe); err != nil {
		return err
	}
	if err := s.completeRx(rx, s.now()); err != nil {
		return err
	}
	return s.write(ctx, Prescribe, func(o *op) error { return s.prescribeIn(o, patientID, rx) })
}

// prescribeIn records the completed prescription rx in the write o, as a new
// order (its state ordered, whatever the input said).
func (s *Service) prescribeIn(o *op, patientID int64, rx *Prescription) error {
	{
		rev, err := s.reviewRx(o.tx, patientID, rx)
		if err != nil {
			return err
		}
		if err := decideRx(rev); err != nil {
			return err
		}
		if rev.Change.Large {
			rx.Findings = append(rx.Findings, LibraryFinding{Kind: KindLargeChange, Severity: "confirmed",
				Message: rev.Change.Text(rev.Unit) + fmt.Sprintf(", more than %s: confirmed by the prescriber", rev.Change.Threshold),
				Source:  rev.Change.Source})
		}
		if rev.FillChange != "" {
			rx.Findings = append(rx.Findings, LibraryFinding{Kind: string(therapy.KindFillChange), Severity: "confirmed",
				Message: rev.FillChange + ": the change of drug or concentration confirmed by the prescriber"})
		}
		rx.LibraryVersion, rx.LibraryDigest = rev.Library.Version, rev.Library.Digest
		rx.Supersedes = rev.latest
		rx.Meta = Meta{PatientID: patientID}
		rx.OrderStatus = OrderStatus{State: Ordered}
		_, err = o.create(rx)
		return err
	}
}

// completeRx checks what can be checked without the records and completes the
// program: the drug's library name, the rate of a continuous program given by
// its dose, the daily dose of every mode.
func (s *Service) completeRx(rx *Prescription, now time.Time) error {
	p := &rx.Program
	if p.Mode == 0 {
		return Errorf(EINVALID, "program.mode", "is required: %s", modeList())
	}
	d, err := s.lookupDrug("program.drug", p.Drug)
	if err != nil {
		return err
	}
	p.Drug = d.Name
	if p.Concentration <= 0 {
		return Errorf(EINVALID, "program.concentration", "must be more than 0, e.g. \"2000 mcg/mL\"")
	}
	if rx.StartAt.IsZero() {
		rx.StartAt = now
	}
	if err := dateInRange("start_at", rx.StartAt); err != nil {
		return err
	}
	if rx.StartAt.Before(now.Add(-24 * time.Hour)) {
		return Errorf(EINVALID, "start_at", "a prescription cannot start more than a day in the past")
	}
	switch p.Mode {
	case pump.ModeContinuous:
		var dz therapy.Dosing
		var err error
		switch {
		case p.Rate != 0 && rx.DosePerDay != 0:
			return Errorf(EINVALID, "program.rate", "give the rate or the dose_per_day, not both")
		case p.Rate != 0:
			dz, err = therapy.DosingForRate(p.Rate, p.Concentration)
		case rx.DosePerDay != 0:
			dz, err = therapy.DosingForDose(rx.DosePerDay, p.Concentration)
		default:
			return Errorf(EINVALID, "dose_per_day", "a continuous prescription needs a dose_per_day or a program.rate")
		}
		if err != nil {
			return therapyErr(err, dosingFields)
		}
		p.Rate = dz.Rate
	case pump.ModeFlex:
		if rx.DosePerDay != 0 {
			return Errorf(EINVALID, "dose_per_day", "a flex program is given by its steps' rates: the daily dose follows from them")
		}
	}
	if err := therapy.CheckDaily(p); err != nil {
		return therapyErr(err, dosingFields)
	}
	rx.DosePerDay = therapy.DailyDose(p)
	return textField("reason", rx.Reason, 10_000)
}

var dosingFields = map[string]string{"dose": "dose_per_day", "rate": "program.rate", "concentration": "program.concentration", "patient-bolus": "program.patient_bolus"}

// reviewRx runs every check of a completed prescription in tx: the patient's
// implanted pump, the pump's own validation, the drug library against the
// patient's history, and the change of daily dose against the prescription
// in force.
func (s *Service) reviewRx(tx Tx, patientID int64, rx *Prescription) (*PrescriptionReview, error) {
	return s.reviewRxAgainst(tx, patientID, rx, nil)
}

// reviewRxAgainst is reviewRx with the prescription the change is from given:
// running, when not nil, stands for the prescription in force (the program a
// pump reported it runs). A recorded rx is reviewed as if proposed: its own
// record is not part of its history.
func (s *Service) reviewRxAgainst(tx Tx, patientID int64, rx *Prescription, running *Prescription) (*PrescriptionReview, error) {
	if _, err := tx.Patient(patientID); ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "patient_id", "no patient %d", patientID)
	} else if err != nil {
		return nil, err
	}
	im, err := activeImplant(tx, patientID)
	if err != nil {
		return nil, err
	}
	if im == nil || rx.ImplantID != 0 && rx.ImplantID != im.ID {
		return nil, Errorf(EINVALID, "implant_id", "the patient has no implanted pump to prescribe for")
	}
	rx.ImplantID = im.ID
	rev := &PrescriptionReview{Proposed: rx}
	if err := rx.Program.Validate(im.Model); err != nil {
		var ve *pump.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		rev.Invalid = Errorf(EINVALID, "program."+ve.Field, "%s", ve.Reason)
	}
	history, err := list[Prescription](tx, RecordFilter{PatientID: patientID})
	if err != nil {
		return nil, err
	}
	if n := len(history); n > 0 {
		rev.latest = history[n-1].ID
	}
	var past []drug.Prescribed
	for _, h := range history {
		if rx.ID != 0 && h.ID >= rx.ID {
			continue // an order is reviewed against what came before it
		}
		if !h.StartAt.After(rx.StartAt) {
			past = append(past, drug.Prescribed{At: ustd(h.StartAt), Drug: h.Program.Drug, Dose: h.DosePerDay})
			rev.Current = h
		}
	}
	// The library in force is read in this transaction: another server
	// sharing the database may have published a newer version.
	if running != nil {
		rev.Current = running
	}
	lib, err := s.currentLibrary(tx)
	if err != nil {
		return nil, err
	}
	rev.Library = lib
	in := therapy.ChangeInput{Library: lib, Proposed: rx.Program, History: past, Population: rx.Population,
		At: ustd(rx.StartAt), Settings: s.Settings.Therapy}
	if rev.Current != nil {
		in.Running = &rev.Current.Program
	}
	if err := s.reviewContext(tx, patientID, im, history, rev.Current, &in); err != nil {
		return nil, err
	}
	cr, err := therapy.ReviewChange(in)
	if err != nil {
		var pe *drug.ProposalError
		if errors.As(err, &pe) {
			return nil, Errorf(EINVALID, proposalFields[strings.SplitN(pe.Field, "[", 2)[0]], "%s", pe.Reason)
		}
		return nil, err
	}
	rev.review, rev.Findings, rev.Change, rev.Most, rev.FillChange, rev.Unit = cr, cr.Findings, cr.Change, cr.Most, cr.FillChange, cr.Unit
	rx.Findings = nil
	for _, f := range cr.Findings {
		rx.Findings = append(rx.Findings, LibraryFinding{Kind: string(f.Kind), Severity: f.Severity.String(), Message: f.Message, Source: f.Source})
	}
	return rev, nil
}

// reviewContext fills in what the review of a prescription for the
// patient's pump im needs from the records: what the reservoir holds (an
// order for another drug or concentration changes the fill), an
// interruption of delivery since the last fill or the stop in force, and
// the screening result a first dose is checked against.
func (s *Service) reviewContext(tx Tx, patientID int64, im *Implant, history []*Prescription, cur *Prescription, in *therapy.ChangeInput) error {
	refills, err := list[Refill](tx, RecordFilter{PatientID: patientID})
	if err != nil {
		return err
	}
	alarms, err := list[Alarm](tx, RecordFilter{PatientID: patientID})
	if err != nil {
		return err
	}
	trials, err := list[Trial](tx, RecordFilter{PatientID: patientID})
	if err != nil {
		return err
	}
	now := s.now()
	last := fillBefore(im, refills, now.Add(clockSkew+time.Millisecond))
	in.Reservoir = drug.Product{Drug: last.Drug, Concentration: last.Concentration}
	in.Interruption = interruptionAt(im, refills, history, alarms, now)
	if cur != nil && cur.stopped() && cur.StartAt.Before(now) && (in.Interruption == nil || cur.StartAt.Before(in.Interruption.Since.Std())) {
		in.Interruption = &therapy.Interruption{Since: ustd(cur.StartAt), Until: ustd(now), Why: "stopped by the prescription of " + cur.StartAt.Format(time.DateOnly)}
	}
	d, ok := in.Library.Lookup(in.Proposed.Drug)
	for _, t := range trials {
		td, tok := in.Library.Lookup(t.Drug)
		if ok && tok && td == d && t.Decision == "implant" && len(t.Doses) > 0 {
			in.Screening = &therapy.Screening{Effective: t.Doses[len(t.Doses)-1]}
		}
	}
	return nil
}

// proposalFields maps a drug.ProposalError's input to the field the
// prescriber gave; the history is the patient's earlier prescriptions, which
// must come before this one's start.
var proposalFields = map[string]string{"concentration": "program.concentration", "dose": "dose_per_day",
	"population": "population", "history": "start_at"}

// decideRx applies the verdict of a review (therapy.ChangeReview.Decide):
// what the pump refuses is refused, a hard limit refuses, a large change and
// a change of fill need their confirmations, a soft limit a specific reason.
func decideRx(rev *PrescriptionReview) error {
	rx := rev.Proposed
	if err := rev.refusal(); err != nil {
		return err
	}
	err := rev.review.Decide(rx.Reason, rx.ConfirmLargeChange, rx.ConfirmConcentrationChange)
	var le *therapy.LargeChangeError
	var fe *therapy.FillChangeError
	var re *drug.ReasonError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		c := le.Change
		return Errorf(EINVALID, "confirm_large_change", "%s is more than %s (%s): a second, explicit confirmation is required (confirm_large_change)",
			c.Text(le.Unit), c.Threshold, c.Source)
	case errors.As(err, &fe):
		return Errorf(EINVALID, "confirm_concentration_change", "%s: this order changes what the reservoir holds: confirm it explicitly (confirm_concentration_change)", fe.Change)
	case errors.As(err, &re):
		return Errorf(EINVALID, "reason", "the stated reason %q %s", re.Reason, re.Why)
	case errors.Is(err, drug.ErrReasonRequired):
		var msgs []string
		for _, f := range rev.Findings {
			if f.Severity == drug.NeedsReason {
				msgs = append(msgs, f.Message)
			}
		}
		return Errorf(EINVALID, "reason", "a stated reason is required: %s", strings.Join(msgs, "; "))
	}
	return err
}

// findingField is the prescription field a library finding is about.
func findingField(f drug.Finding) string {
	switch {
	case f.Kind == drug.UnknownDrug || f.Kind == drug.NotLabelled:
		return "program.drug"
	case f.Kind == drug.PatientBolusNotAllowed:
		return "program.patient_bolus"
	case f.Kind == drug.ConcentrationNotAllowed || f.Kind == drug.Dilution || strings.HasPrefix(f.Field, "concentration"):
		return "program.concentration"
	}
	return "dose_per_day"
}
