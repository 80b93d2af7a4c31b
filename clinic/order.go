package clinic

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// A prescription is a physician's order for the patient's pump, with a state
// (issue 12, item 1):
//
//	ordered     recorded by the physician; the pump does not run it yet
//	programmed  a programmer (thecal program sync, the web programming
//	            station) reported the pump running it
//	verified    a later report from the pump itself, through its home
//	            monitor, shows it running
//
// The states only move forward, and only on a report that shows the pump
// running the order's program exactly (Reconcile). An order not programmed
// within Settings.ProgramWindow of its start is a worklist item.

// OrderState is an order's state.
type OrderState string

const (
	Ordered    OrderState = "ordered"
	Programmed OrderState = "programmed"
	Verified   OrderState = "verified"
)

// OrderStatus is an order's state and how it got there.
type OrderStatus struct {
	// State "" is an order recorded before orders had states: read as
	// ordered, but never late (it was programmed by hand, unrecorded).
	State OrderState `json:"state,omitempty"`
	// ProgrammedAt and ProgrammedBy: the programmer's report that showed the
	// pump running the order, and who sent it; Session the programming
	// session that programmed it, if one was uploaded.
	ProgrammedAt     *time.Time `json:"programmed_at,omitempty"`
	ProgrammedBy     string     `json:"programmed_by,omitempty"`
	ProgrammedReport int64      `json:"programmed_report,omitempty"`
	Session          int64      `json:"programming_session,omitempty"`
	// VerifiedAt and VerifiedReport: the home monitor's report that showed it.
	VerifiedAt     *time.Time `json:"verified_at,omitempty"`
	VerifiedReport int64      `json:"verified_report,omitempty"`
	// FromReport is the report whose program a physician recorded as this
	// order (AdoptProgram): the pump ran it before the clinic ordered it.
	FromReport int64 `json:"from_report,omitempty"`
}

// OrderState returns the order's state ("" reads as ordered).
func (rx *Prescription) OrderState() OrderState {
	if rx.State == "" {
		return Ordered
	}
	return rx.State
}

// Done reports whether a programmer or the pump showed the order running.
func (s OrderState) Done() bool { return s == Programmed || s == Verified }

// advance moves order rx forward on report rep, which shows the pump running
// its program: a programmer's report makes an ordered order programmed; a
// home monitor's report (sent with a monitor's credential, never a
// programmer's) makes it verified, once it is later than the programming. It
// returns whether the state changed.
func (rx *Prescription) advance(rep *StoredReport) bool {
	at := rep.InterrogatedAt
	switch {
	case rep.Source == "programmer" && !rep.ByMonitor && rx.OrderState() == Ordered:
		rx.State, rx.ProgrammedAt, rx.ProgrammedBy, rx.ProgrammedReport = Programmed, &at, rep.ReceivedBy, rep.ID
		return true
	case rep.Source == "home_monitor" && rep.ByMonitor && rx.OrderState() != Verified:
		if rx.ProgrammedAt != nil && at.Before(*rx.ProgrammedAt) {
			return false // taken before the programming: not a later report
		}
		rx.State, rx.VerifiedAt, rx.VerifiedReport = Verified, &at, rep.ID
		return true
	}
	return false
}

// PumpOrder is the clinic's order for one pump, as a programmer fetches it
// before programming (GET /api/v1/pumps/{serial}/order): the patient, the
// order in force with its state, the order's review by the clinic's rules as
// a change from what the pump ran at its latest report, and what the clinic
// recorded the reservoir was last filled with.
type PumpOrder struct {
	PatientID int64      `json:"patient_id"`
	Patient   string     `json:"patient"` // family name, given name
	MRN       string     `json:"mrn"`
	ImplantID int64      `json:"implant_id"`
	Serial    string     `json:"serial"`
	Model     pump.Model `json:"model"`
	// Order is the order in force (nil: the clinic has none); its state says
	// whether it was programmed.
	Order *Prescription `json:"order"`
	// Review is the order checked by the clinic's rules (ReviewPrescription's
	// checks) as a change from Running, the program the pump ran at its
	// latest report (ReportID); nil without an order.
	Review   *OrderReview `json:"review,omitempty"`
	Running  *Program     `json:"running,omitempty"`
	ReportID int64        `json:"report_id,omitempty"`
	// Fill is what the clinic recorded the reservoir was last filled with.
	Fill Fill `json:"fill"`
}

// OrderReview is a review of an order as the programmer shows and obeys it:
// what the pump would refuse (Invalid), every finding of the rules, whether
// a finding refuses it, and the change of daily dose.
type OrderReview struct {
	Invalid  string           `json:"invalid,omitempty"`
	Findings []LibraryFinding `json:"findings"`
	Refused  bool             `json:"refused"`
	Change   string           `json:"change,omitempty"`
	Library  string           `json:"library"`
}

// Fill is a drug and concentration in a reservoir, and when it was filled.
type Fill struct {
	At            time.Time          `json:"at"`
	Drug          string             `json:"drug"`
	Concentration unit.Concentration `json:"concentration"`
}

// PumpOrder returns the order for the implanted pump with the serial: what a
// programmer programs. Reading it is a read of the patient's record.
func (s *Service) PumpOrder(ctx context.Context, serial string) (*PumpOrder, error) {
	if err := s.allow(ctx, ReadRecords); err != nil {
		return nil, err
	}
	now := s.now()
	out := &PumpOrder{}
	err := s.Store.View(ctx, func(tx Tx) error {
		im, err := implantBySerial(tx, serial)
		if err != nil {
			return err
		}
		p, err := tx.Patient(im.PatientID)
		if err != nil {
			return err
		}
		out.PatientID, out.Patient, out.MRN = p.ID, p.FamilyName+", "+p.GivenName, p.MRN
		out.ImplantID, out.Serial, out.Model = im.ID, im.Serial, im.Model
		rxs, err := list[Prescription](tx, RecordFilter{PatientID: p.ID})
		if err != nil {
			return err
		}
		refills, err := list[Refill](tx, RecordFilter{PatientID: p.ID})
		if err != nil {
			return err
		}
		out.Fill = fillOf(fillBefore(im, refills, now.Add(clockSkew)))
		reps, err := list[StoredReport](tx, RecordFilter{PatientID: p.ID, Newest: true, Limit: 1})
		if err != nil {
			return err
		}
		var running *Prescription
		if len(reps) > 0 && reps[0].ImplantID == im.ID && reps[0].Status.Program != nil {
			out.ReportID, out.Running = reps[0].ID, reps[0].Status.Program
			prog := pump.Prescription(*reps[0].Status.Program)
			running = &Prescription{ImplantID: im.ID, StartAt: reps[0].InterrogatedAt, Program: prog, DosePerDay: therapy.DailyDose(&prog)}
		}
		out.Order = currentRx(im, rxs, now.Add(clockSkew))
		if out.Order == nil {
			return nil
		}
		o := *out.Order
		rev, err := s.reviewRxAgainst(tx, p.ID, &o, running)
		if err != nil {
			return err
		}
		out.Review = orderReview(rev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.auditRead(ctx, "patient.read", out.PatientID)
}

// orderReview is what a programmer needs of a review.
func orderReview(rev *PrescriptionReview) *OrderReview {
	or := &OrderReview{Findings: []LibraryFinding{}, Refused: rev.Refused(), Library: rev.Library.Version}
	if rev.Invalid != nil {
		or.Invalid = rev.Invalid.Field + ": " + rev.Invalid.Message
	}
	for _, f := range rev.Findings {
		or.Findings = append(or.Findings, LibraryFinding{Kind: string(f.Kind), Severity: f.Severity.String(), Message: f.Message, Source: f.Source})
	}
	if c := rev.Change; c.Comparable {
		or.Change = c.Text(rev.Unit)
		if c.Large {
			or.Change += fmt.Sprintf(", more than %s: a large change", c.Threshold)
		}
	}
	return or
}

// AdoptInput records the program a pump reported as the patient's new order.
type AdoptInput struct {
	// Reason says why the pump's program becomes the order (required).
	Reason             string `json:"reason"`
	ConfirmLargeChange bool   `json:"confirm_large_change,omitempty"`
	// ConfirmConcentrationChange confirms a program for another drug or
	// concentration than the clinic's record of the reservoir.
	ConfirmConcentrationChange bool `json:"confirm_concentration_change,omitempty"`
}

// AdoptProgram records the program that report reportID shows the pump
// running as the patient's new order: what a physician does when a pump was
// reprogrammed outside the clinic and the change is right. It goes through
// every check of Prescribe (a hard limit refuses it: then the pump must be
// reprogrammed instead); the order starts programmed (a programmer's report)
// or verified (a home monitor's), as the report shows it running.
func (s *Service) AdoptProgram(ctx context.Context, reportID int64, in AdoptInput) (*Prescription, error) {
	if err := s.allow(ctx, Prescribe); err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(in.Reason)) == 0 {
		return nil, Errorf(EINVALID, "reason", "say why the pump's program becomes the order")
	}
	var rx *Prescription
	err := s.write(ctx, Prescribe, func(o *op) error {
		rep, err := get[StoredReport](o.tx, reportID)
		if err != nil {
			return err
		}
		if rep.Status.Program == nil {
			return Errorf(EINVALID, "report_id", "report %d does not say what program the pump runs", reportID)
		}
		im, err := activeImplant(o.tx, rep.PatientID)
		if err != nil {
			return err
		}
		if im == nil || im.ID != rep.ImplantID {
			return Errorf(EINVALID, "report_id", "report %d is from a pump no longer implanted", reportID)
		}
		rx = &Prescription{ImplantID: im.ID, StartAt: o.now, Program: pump.Prescription(*rep.Status.Program),
			Reason: in.Reason, ConfirmLargeChange: in.ConfirmLargeChange, ConfirmConcentrationChange: in.ConfirmConcentrationChange}
		if err := s.completeRx(rx, o.now); err != nil {
			return err
		}
		if err := s.prescribeIn(o, rep.PatientID, rx); err != nil {
			return err
		}
		before := *rx
		rx.FromReport = rep.ID
		rx.advance(rep)
		o.result(rx)
		return o.update(&before, rx)
	})
	return rx, err
}
