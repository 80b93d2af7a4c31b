package clinic

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ProgrammingSession is a programmer's session with a pump as the clinic
// records it (issue 12, item 2): who ran it (the signed-in clinician whose
// token or session sent it, in Meta.CreatedBy), with which programmer (the
// telemetry credential's name, as the pump's event log names it), when, the
// pump's program before and after, and each step with the sequence number of
// the pump's own event-log record of it. The read-back report that ends the
// session is stored as a report and linked here.
type ProgrammingSession struct {
	Meta
	ImplantID  int64     `json:"implant_id"`
	Serial     string    `json:"serial"`
	Programmer string    `json:"programmer"` // the programmer's telemetry credential, "Dr. A. Ruiz" or "Programming station"
	Station    bool      `json:"station,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	// OrderID is the order the session programmed; RefillID the refill it
	// recorded.
	OrderID  int64         `json:"order_id,omitempty"`
	RefillID int64         `json:"refill_id,omitempty"`
	Before   *Program      `json:"before,omitempty"`
	After    *Program      `json:"after,omitempty"`
	Steps    []SessionStep `json:"steps"`
	// Outcome says how the session ended: programmed, refilled,
	// refilled_and_programmed, unchanged, or failed (Note says why).
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
	// ReportID is the read-back report sent with the session.
	ReportID int64 `json:"report_id,omitempty"`
}

// SessionStep is one thing a programming session did to the pump.
type SessionStep struct {
	Action string `json:"action"` // interrogate, refill, bridge, program, read_back
	// Seq is the pump's event-log record of the step (0: none, as for a read).
	Seq    uint64 `json:"seq,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Session outcomes.
var sessionOutcomes = []string{"programmed", "refilled", "refilled_and_programmed", "unchanged", "failed"}

var sessionActions = []string{"interrogate", "refill", "bridge", "program", "read_back"}

// SessionUpload is what a programmer sends at the end of a session: the
// session, and the report of the status it read back.
type SessionUpload struct {
	Session ProgrammingSession `json:"session"`
	Report  *Report            `json:"report"`
}

// SessionResult says what became of an upload: the session as recorded, the
// read-back report as ingested (with the order's state after it), and
// whether the session was recorded already (the same upload again).
type SessionResult struct {
	Session   *ProgrammingSession `json:"session"`
	Report    *IngestResult       `json:"report"`
	Duplicate bool                `json:"duplicate"`
}

// MaxSessionSteps bounds the steps of one session.
const MaxSessionSteps = 64

// RecordSession records a programming session with the report it read back,
// in one transaction: the report is ingested as any other (reconciled, the
// order it shows running moved forward), and the session is stored once
// however often it is sent (its key is the pump and the session's start).
func (s *Service) RecordSession(ctx context.Context, up *SessionUpload) (*SessionResult, error) {
	if err := s.allow(ctx, ProgramPumps); err != nil {
		return nil, err
	}
	ps := &up.Session
	if up.Report == nil {
		return nil, Errorf(EINVALID, "report", "the status read back at the end of the session is required")
	}
	if err := s.checkReport(ctx, up.Report); err != nil {
		return nil, prefixField("report.", err)
	}
	if up.Report.Source != "programmer" {
		return nil, Errorf(EINVALID, "report.source", "a programming session's report is the programmer's")
	}
	if ps.Serial != up.Report.Serial {
		return nil, Errorf(EINVALID, "session.serial", "%q is not the report's pump %q", ps.Serial, up.Report.Serial)
	}
	if err := nameField("session.programmer", ps.Programmer, 100, true); err != nil {
		return nil, err
	}
	now := s.now()
	if err := notFuture("session.started_at", ps.StartedAt, now); err != nil {
		return nil, err
	}
	if err := notFuture("session.ended_at", ps.EndedAt, now); err != nil {
		return nil, err
	}
	ps.StartedAt, ps.EndedAt = ps.StartedAt.UTC().Truncate(time.Millisecond), ps.EndedAt.UTC().Truncate(time.Millisecond)
	if ps.EndedAt.Before(ps.StartedAt) {
		return nil, Errorf(EINVALID, "session.ended_at", "before started_at")
	}
	if err := oneOf("session.outcome", ps.Outcome, sessionOutcomes); err != nil {
		return nil, err
	}
	if err := textField("session.note", ps.Note, 2000); err != nil {
		return nil, err
	}
	if len(ps.Steps) > MaxSessionSteps {
		return nil, Errorf(ETOOLARGE, "session.steps", "at most %d", MaxSessionSteps)
	}
	for i, st := range ps.Steps {
		f := fmt.Sprintf("session.steps[%d]", i)
		if err := oneOf(f+".action", st.Action, sessionActions); err != nil {
			return nil, err
		}
		if err := textField(f+".detail", st.Detail, 500); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		f string
		p *Program
	}{{"session.before", ps.Before}, {"session.after", ps.After}} {
		if err := checkProgram(p.f, p.p); err != nil {
			return nil, err
		}
	}
	res := &SessionResult{}
	err := s.write(ctx, ProgramPumps, func(o *op) error {
		im, err := implantBySerial(o.tx, ps.Serial)
		if err != nil {
			return prefixField("session.", err)
		}
		ps.ImplantID, ps.Meta = im.ID, Meta{PatientID: im.PatientID}
		if ps.OrderID != 0 {
			if rx, err := get[Prescription](o.tx, ps.OrderID); err != nil || rx.ImplantID != im.ID {
				return Errorf(EINVALID, "session.order_id", "order %d is not an order for pump %s", ps.OrderID, ps.Serial)
			}
		}
		if ps.RefillID != 0 {
			if rf, err := get[Refill](o.tx, ps.RefillID); err != nil || rf.ImplantID != im.ID {
				return Errorf(EINVALID, "session.refill_id", "refill %d is not a refill of pump %s", ps.RefillID, ps.Serial)
			}
		}
		if res.Report, err = s.ingestIn(o, up.Report); err != nil {
			return prefixField("report.", err)
		}
		ps.ReportID = res.Report.ReportID
		created, err := o.create(ps)
		if err != nil {
			return err
		}
		res.Session, res.Duplicate = ps, !created
		o.result(res)
		if !created {
			return nil
		}
		// The order the session programmed names the session that did it.
		if ps.OrderID != 0 && res.Report.Running == ps.OrderID {
			rx, err := get[Prescription](o.tx, ps.OrderID)
			if err != nil {
				return err
			}
			if rx.OrderState().Done() && rx.Session == 0 {
				before := *rx
				rx.Session = ps.ID
				return o.update(&before, rx)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prefixField puts prefix before the field an *Error names.
func prefixField(prefix string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Field != "" {
		c := *e
		c.Field = prefix + c.Field
		return &c
	}
	return err
}
