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

	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
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
	self   telemetry.Credential
	status pumpwire.Status
}

// Open dials the pump and interrogates it (the interrogation rides with the
// last handshake message: two round trips in all). An emergency programmer,
// which may not interrogate, reads the status instead.
func Open(ctx context.Context, cfg peer.Config) (*Session, error) {
	c, err := peer.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{c: c, self: cfg.Identity.Credential}
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
	r, err := s.c.Do(ctx, pump.ReadStatus{})
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

// Self returns this programmer's own credential (the pump's event log names
// the session by it).
func (s *Session) Self() telemetry.Credential { return s.self }

// Status returns the pump's status as last read (every command refreshes it).
func (s *Session) Status() pumpwire.Status { return s.status }

// Interrogate reads the full status (logged by the pump as an interrogation).
func (s *Session) Interrogate(ctx context.Context) (pumpwire.Status, error) {
	r, err := s.c.Do(ctx, pump.Interrogate{})
	if err != nil {
		return pumpwire.Status{}, err
	}
	st, err := peer.Status(r)
	if err != nil {
		return pumpwire.Status{}, err
	}
	s.status = st
	return st, nil
}

// Send sends command c and reads the status back in the same round trip, so
// the programmer always knows what the pump is doing after a command.
func (s *Session) Send(ctx context.Context, c pump.Command) (pumpwire.Response, error) {
	rs, err := s.c.DoAll(ctx, c, pump.ReadStatus{})
	if err != nil {
		return nil, err
	}
	if st, err := peer.Status(rs[1]); err == nil {
		s.status = st
	}
	return rs[0], telemetry.AnswerErr(rs[0])
}

// Log reads the event log from sequence number from to its end, a page per
// round trip.
func (s *Session) Log(ctx context.Context, from uint64) ([]pumpwire.Record, error) {
	var out []pumpwire.Record
	for {
		r, err := s.c.Do(ctx, pump.ReadLog{From: from})
		if err != nil {
			return out, err
		}
		l, ok := r.(*pumpwire.Log)
		if !ok {
			return out, fmt.Errorf("%w: %v instead of a log", telemetry.ErrUnexpected, r.Kind())
		}
		rs, err := pumpwire.ConsumeRecords(l.Entries)
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
	var cmd pump.Command = pump.NewProgram(c.New, c.Replaces)
	if c.Bridge {
		cmd = pump.Bridge(pump.NewProgram(c.New, c.Replaces))
	}
	r, err := s.Send(ctx, cmd)
	if err != nil {
		return 0, err
	}
	if s.status.RxHash != pump.HashOf(&c.New) {
		return 0, ErrNotStored
	}
	ack, ok := r.(*pumpwire.Ack)
	if !ok {
		return 0, fmt.Errorf("%w: %v instead of an ack", telemetry.ErrUnexpected, r.Kind())
	}
	return ack.Seq, nil
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
