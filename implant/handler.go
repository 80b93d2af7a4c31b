package implant

import (
	"errors"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// MaxClockSkew is the difference between a programmer's clock and the pump's
// beyond which SetClock records a CLOCK_SKEW. The pump's UTC clock is never
// stepped: a jump would break the no-catch-up rule and the rolling 24-h cap
// window. Only the UTC offset, which places flex doses in the patient's day, is
// set.
const MaxClockSkew = unit.Minute

// Handle carries out one authorised command on the pump core (it is the
// telemetry.Handler). Every command ends up in the event log: the core logs
// what it does and refuses; when it logs nothing (a status read, a log read, a
// command refused before it changed anything) the implant writes a COMMAND
// record with the result. The answer is sent only after the records and any
// new memory image are stored.
func (im *Implant) Handle(s telemetry.SessionInfo, req telemetry.Request) telemetry.Response {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil {
		return telemetry.Refuse(fmt.Errorf("%w: %w", telemetry.ErrInternal, im.failed))
	}
	now := im.now()
	im.dev.Run(now)
	if err := im.sync(); err != nil {
		return telemetry.Refuse(fmt.Errorf("%w: %w", telemetry.ErrInternal, err))
	}
	coreBefore, first := im.dev.Log.Next(), im.next
	im.by = &s
	defer func() { im.by = nil }()
	var resp telemetry.Response
	err := im.foreign(s)
	if err == nil {
		resp, err = im.dispatch(now, s, req)
	}
	im.dev.Persist()
	if err != nil {
		resp = telemetry.Refuse(err)
	}
	if im.dev.Log.Next() == coreBefore {
		code := int64(0)
		if e, ok := resp.(*telemetry.ErrorResponse); ok {
			code = int64(e.Code)
		}
		im.append(Record{At: now, Kind: KindCommand, A: int64(req.Kind()), B: code, Role: roleReason(s.Role), Serial: s.Serial})
	}
	if err := im.sync(); err != nil {
		return telemetry.Refuse(fmt.Errorf("%w: %w", telemetry.ErrInternal, err))
	}
	if ack, ok := resp.(*telemetry.Ack); ok {
		ack.Seq = im.ackSeq(first, req.Kind())
	}
	return resp
}

// foreign refuses a credential that is not an emergency credential and does
// not come from the implanting clinic's authority (the one that signed the
// pump's own credential). The pump trusts further authorities — a regional
// emergency authority — for emergency access only: such an authority cannot
// make someone the patient's clinician. (The telemetry layer lets any trusted
// authority issue any role; this is the device's rule on top of it.)
func (im *Implant) foreign(s telemetry.SessionInfo) error {
	if s.Authority == im.home || s.Role == telemetry.RoleEmergency {
		return nil
	}
	return fmt.Errorf("%w: credentials from authority %v count for emergency access only on this pump; its clinician, patient and monitor credentials come from %v",
		telemetry.ErrForbidden, s.Authority, im.home)
}

// ackSeq is the sequence number an Ack reports: the record of the stored
// prescription for a Program (PROGRAM, or BRIDGE_START), otherwise the first
// record the command wrote.
func (im *Implant) ackSeq(first uint64, k telemetry.Kind) uint64 {
	if k == telemetry.KindProgram || k == telemetry.KindSetMinimumRate {
		for _, r := range im.since(first) {
			if r.Kind == Kind(pump.EvProgram) || r.Kind == Kind(pump.EvBridgeStart) {
				return r.Seq
			}
		}
	}
	return first
}

// refusal turns a core error into the protocol's: a replaced-hash mismatch is
// a conflict, anything else the device refused is a rejection; the detail is
// the core's own words (field and reason).
func refusal(err error) error {
	if errors.Is(err, pump.ErrHashMismatch) {
		return &refused{telemetry.ErrConflict, err}
	}
	return &refused{telemetry.ErrRejected, err}
}

// refused is a device refusal: its code is the protocol sentinel's, its text
// the cause's alone (telemetry.Refuse puts the text in the answer's detail).
type refused struct {
	sentinel error
	cause    error
}

func (r *refused) Error() string   { return r.cause.Error() }
func (r *refused) Unwrap() []error { return []error{r.sentinel, r.cause} }

func rejected(format string, args ...any) error {
	return &refused{telemetry.ErrRejected, fmt.Errorf(format, args...)}
}

func (im *Implant) core(f func(c *pump.Pump) error) error {
	if err := f(im.dev.Core); err != nil {
		return refusal(err)
	}
	return nil
}

func (im *Implant) dispatch(now unit.Time, s telemetry.SessionInfo, req telemetry.Request) (telemetry.Response, error) {
	ack := &telemetry.Ack{}
	switch r := req.(type) {
	case telemetry.Interrogate:
		if err := im.core(func(c *pump.Pump) error { _, err := c.Interrogate(now); return err }); err != nil {
			return nil, err
		}
		if err := im.sync(); err != nil { // LogNext includes the INTERROGATE record
			return nil, fmt.Errorf("%w: %w", telemetry.ErrInternal, err)
		}
		return im.statusResponse()
	case telemetry.ReadStatus:
		return im.statusResponse()
	case telemetry.ReadLog:
		return im.readLog(r.From, int(r.MaxBytes))
	case telemetry.Program:
		pr, sum, err := ConsumeProgram(r.Prescription)
		if err != nil {
			return nil, rejected("program request: %w", err)
		}
		prog := pump.Program{Rx: pr.Rx, Checksum: sum, Replaces: pump.Hash(r.ReplacesHash)}
		return ack, im.core(func(c *pump.Pump) error {
			if pr.Bridge {
				return c.Bridge(now, prog)
			}
			return c.Program(now, prog)
		})
	case telemetry.ClinicianBolus:
		return ack, im.core(func(c *pump.Pump) error { return c.ClinicianBolus(now, r.Volume, r.Duration) })
	case telemetry.Prime:
		if own := im.dev.Cfg.PrimingVolume(); r.Volume != 0 && r.Volume != own {
			return nil, rejected("priming volume %v is not this pump's %v (tubing %v + catheter %v at %v per cm)",
				r.Volume, own, pump.TubingVolume, im.dev.Cfg.CatheterLength, im.dev.Cfg.CatheterPerCm)
		}
		return ack, im.core(func(c *pump.Pump) error { return c.Prime(now) })
	case telemetry.Refill:
		err := im.core(func(c *pump.Pump) error {
			return c.Refill(now, pump.Refill{Withdrawn: r.Withdrawn, Added: r.Added, Drug: r.Drug, Concentration: r.Concentration})
		})
		if err == nil {
			// The nurse emptied the reservoir and filled it: the simulated
			// hardware now holds what was added.
			im.dev.HW.Reservoir = r.Added
		}
		return ack, err
	case telemetry.Stop:
		return ack, im.core(func(c *pump.Pump) error { return c.Stop(now) })
	case telemetry.Resume:
		return ack, im.core(func(c *pump.Pump) error { return c.Resume(now) })
	case telemetry.SetMinimumRate:
		return ack, im.core(func(c *pump.Pump) error { return minimumRate(c, now) })
	case telemetry.SetClock:
		if skew := r.Time.Sub(now); skew > MaxClockSkew || skew < -MaxClockSkew {
			im.append(Record{At: now, Kind: KindClockSkew, A: int64(skew), Role: roleReason(s.Role), Serial: s.Serial})
		}
		return ack, im.core(func(c *pump.Pump) error { return c.SetClock(now, r.UTCOffset) })
	case telemetry.Acknowledge:
		a := pump.AlarmNone
		if r.Alarm != "" && r.Alarm != "ALL" {
			var ok bool
			if a, ok = pump.ParseAlarm(r.Alarm); !ok {
				return nil, rejected("no alarm %q", r.Alarm)
			}
		}
		return ack, im.core(func(c *pump.Pump) error { return c.Acknowledge(now, a) })
	case telemetry.PatientBolus:
		var why pump.Reason
		if err := im.core(func(c *pump.Pump) (err error) { why, err = c.PatientBolus(now); return err }); err != nil {
			return nil, err
		}
		c := im.dev.Core
		st := c.Status()
		return &telemetry.BolusResult{Given: why == pump.ReasonNone, Volume: st.Rx.PatientBolus.Volume,
			Next: c.NextPatientBolus(), Reason: why.String()}, nil
	case telemetry.SilenceTone:
		// The simulated hardware has no speaker: the request is logged.
		return ack, nil
	}
	return nil, fmt.Errorf("%w: %v", telemetry.ErrUnknownCommand, req.Kind())
}

// minimumRate switches the running prescription to the minimum-rate mode:
// same drug and concentration, no patient bolus, a cap that allows the
// minimum rate. Delivery stopped by a clinician stays stopped.
func minimumRate(c *pump.Pump, now unit.Time) error {
	st := c.Status()
	if !st.HasRx {
		return fmt.Errorf("%w: no prescription to reduce", pump.ErrNoRx)
	}
	rx := pump.Prescription{Mode: pump.ModeMinimum, Max24h: st.Rx.Max24h, LowReservoir: st.Rx.LowReservoir,
		Drug: st.Rx.Drug, Concentration: st.Rx.Concentration}
	if need := pump.MinRate.Over(unit.Day); rx.Max24h < need {
		rx.Max24h = (need + pump.StrokeVolume - 1) / pump.StrokeVolume * pump.StrokeVolume
	}
	return c.Program(now, pump.NewProgram(rx, st.RxHash))
}

func (im *Implant) statusResponse() (telemetry.Response, error) {
	s := im.status()
	b, err := AppendStatus(nil, &s)
	if err != nil {
		return nil, fmt.Errorf("%w: status: %w", telemetry.ErrInternal, err)
	}
	return &telemetry.Status{Data: b}, nil
}

// readLog answers a ReadLog: contiguous records from `from` (or the oldest
// held), as many as fit in max bytes.
func (im *Implant) readLog(from uint64, max int) (telemetry.Response, error) {
	rs := im.since(from)
	n, size := 0, 0
	if len(rs) > 0 {
		size = headerSize(&rs[0])
		var prev *Record
		for n < len(rs) {
			sz := RecordSize(&rs[n], prev)
			if sz == 0 || size+sz > max {
				break
			}
			size += sz
			prev = &rs[n]
			n++
		}
	}
	next := from
	if n > 0 {
		next = rs[n-1].Seq + 1
	} else if len(rs) > 0 {
		next = rs[0].Seq
	} else if from > im.next {
		next = im.next
	}
	b, err := AppendRecords(make([]byte, 0, size), rs[:n])
	if err != nil {
		return nil, fmt.Errorf("%w: log: %w", telemetry.ErrInternal, err)
	}
	return &telemetry.Log{Next: next, More: next < im.next, Entries: b}, nil
}

// event records a telemetry audit event in the event log, opens and closes
// the core's session, and charges the radio time of connections that never
// authenticated (an authenticated session's radio time is charged by the
// core's CloseSession).
func (im *Implant) event(e telemetry.Event) {
	switch e.Kind {
	case telemetry.EventWake, telemetry.EventCommand:
		// A wake is the pump's own; an authorised command is logged by Handle.
		return
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil {
		return
	}
	now := im.now()
	im.dev.Run(now)
	im.sync()
	code := int64(0)
	if e.Err != nil {
		code = int64(telemetry.CodeOf(e.Err))
	}
	peer := Record{At: now, Role: roleReason(e.Peer.Role), Serial: e.Peer.Serial, B: code}
	switch e.Kind {
	case telemetry.EventRefused:
		im.append(Record{At: now, Kind: KindRadioRefused, A: int64(e.Peer.Wake), B: code})
	case telemetry.EventHandshakeFailed:
		im.append(Record{At: now, Kind: KindAuthFailed, A: int64(e.Peer.Wake), B: code})
	case telemetry.EventLockout:
		im.append(Record{At: now, Kind: KindLockout, A: int64(e.Peer.Wake), B: code, Serial: e.Peer.Serial})
	case telemetry.EventCommandRefused:
		peer.Kind, peer.A = KindCommandRefused, int64(e.Command)
		im.append(peer)
	case telemetry.EventIntegrity:
		peer.Kind = KindIntegrity
		im.append(peer)
	case telemetry.EventSessionOpened:
		p := e.Peer
		im.by = &p
		im.dev.Do(now, func(c *pump.Pump) error {
			err := c.OpenSession(now, roleReason(p.Role))
			if errors.Is(err, pump.ErrSession) {
				// A session the core still thinks open (it cannot be: one
				// at a time); close it with no radio time and open anew.
				c.CloseSession(now, 0)
				err = c.OpenSession(now, roleReason(p.Role))
			}
			return err
		})
	case telemetry.EventSessionClosed:
		if e.Peer.Authenticated() {
			p := e.Peer
			im.by = &p
			im.dev.Do(now, func(c *pump.Pump) error { return c.CloseSession(now, e.Radio) })
			break
		}
		im.append(Record{At: now, Kind: KindRadio, A: int64(e.Radio), B: code})
		if e.Charge > 0 {
			im.dev.Do(now, func(c *pump.Pump) error { return c.Drain(now, e.Charge) })
		}
	}
	im.sync()
	im.by = nil
}

var _ telemetry.Handler = (*Implant)(nil)
