// Package programmer is the clinician programmer: a session with a pump over
// the telemetry protocol, and the workflows a clinician runs in it —
// interrogation (status, alarms, reservoir, battery, event log), prescription
// changes reviewed against the drug library and shown old beside new in volume
// and mass per day, clinician bolus, priming, the refill workflow (discrepancy
// check, new drug and concentration, bridge), stop, resume and minimum rate,
// alarm acknowledgement, clock and UTC offset with a daylight-saving warning,
// and the post-MRI check.
//
// It never bypasses the pump core's own checks: it refuses early what the
// core would refuse, and the core decides. It refuses to end a session
// silently while the pump is stopped (hazard H7).
package programmer

import (
	"context"
	"errors"
	"fmt"

	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
)

// ErrLeftStopped is Close's refusal to end a session while the pump delivers
// nothing, unless the clinician has said to leave it stopped.
var ErrLeftStopped = errors.New("programmer: the pump is stopped: it delivers no drug until someone resumes it")

// ErrNotStored means the pump acknowledged a prescription but reports another
// one running: the session must be reviewed before anything else.
var ErrNotStored = errors.New("programmer: the pump does not run the prescription it acknowledged")

// Session is an open session with a pump.
type Session struct {
	c      *telemetry.Client
	status implant.Status
}

// Open dials the pump and interrogates it (the interrogation rides with the
// last handshake message: two round trips in all). An emergency programmer,
// which may not interrogate, reads the status instead.
func Open(ctx context.Context, cfg peer.Config) (*Session, error) {
	c, err := peer.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{c: c}
	if cfg.Identity.Credential.Role == telemetry.RoleClinician {
		_, err = s.Interrogate(ctx)
	} else {
		err = s.readStatus(ctx)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) readStatus(ctx context.Context) error {
	r, err := s.c.Do(ctx, telemetry.ReadStatus{})
	if err != nil {
		return err
	}
	st, err := peer.Status(r)
	if err == nil {
		s.status = st
	}
	return err
}

// Pump returns the pump's credential, as the handshake authenticated it.
func (s *Session) Pump() telemetry.Credential { return s.c.Pump() }

// Status returns the pump's status as last read (every command refreshes it).
func (s *Session) Status() implant.Status { return s.status }

// Interrogate reads the full status (logged by the pump as an interrogation).
func (s *Session) Interrogate(ctx context.Context) (implant.Status, error) {
	r, err := s.c.Do(ctx, telemetry.Interrogate{})
	if err != nil {
		return implant.Status{}, err
	}
	st, err := peer.Status(r)
	if err != nil {
		return implant.Status{}, err
	}
	s.status = st
	return st, nil
}

// Send sends req and reads the status back in the same round trip, so the
// programmer always knows what the pump is doing after a command.
func (s *Session) Send(ctx context.Context, req telemetry.Request) (telemetry.Response, error) {
	rs, err := s.c.DoAll(ctx, req, telemetry.ReadStatus{})
	if err != nil {
		return nil, err
	}
	if st, err := peer.Status(rs[1]); err == nil {
		s.status = st
	}
	if e, ok := rs[0].(*telemetry.ErrorResponse); ok {
		return e, e
	}
	return rs[0], nil
}

// Log reads the event log from sequence number from to its end, a page per
// round trip.
func (s *Session) Log(ctx context.Context, from uint64) ([]implant.Record, error) {
	var out []implant.Record
	for {
		r, err := s.c.Do(ctx, telemetry.ReadLog{From: from})
		if err != nil {
			return out, err
		}
		l, ok := r.(*telemetry.Log)
		if !ok {
			return out, fmt.Errorf("%w: %v instead of a log", telemetry.ErrUnexpected, r.Kind())
		}
		rs, err := implant.ConsumeRecords(l.Entries)
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
		if !l.More || l.Next <= from {
			return out, nil
		}
		from = l.Next
	}
}

// Program sends a reviewed change and checks, from the status read back in
// the same round trip, that the pump runs exactly the reviewed prescription.
// It returns the event-log sequence number of the stored prescription.
func (s *Session) Program(ctx context.Context, c *Change) (uint64, error) {
	b, err := implant.AppendProgram(nil, implant.ProgramRequest{Rx: c.New, Bridge: c.Bridge})
	if err != nil {
		return 0, err
	}
	r, err := s.Send(ctx, telemetry.NewProgram(c.Replaces, b))
	if err != nil {
		return 0, err
	}
	if s.status.RxHash != pump.HashOf(&c.New) {
		return 0, ErrNotStored
	}
	return r.(*telemetry.Ack).Seq, nil
}

// Close ends the session. While the pump is stopped (no prescription, a stop
// prescription or a clinician's stop) it refuses, and keeps the session open,
// unless leaveStopped says the clinician means it; the pump raises
// PUMP_STOPPED anyway.
func (s *Session) Close(leaveStopped bool) error {
	if s.status.Stopped() && !leaveStopped {
		return ErrLeftStopped
	}
	return s.c.Close()
}
