package implant

import (
	"errors"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Handle carries out one authorised command on the pump core (it is the
// telemetry.Handler). Every command goes to the core's Step, and is answered
// with what the command table's Response names, built from Step's Result and
// the implant's own facts (the status, the event log). Every command ends up
// in the event log: the core logs what it does and refuses; when it logs
// nothing (a status or log read, a command refused before it changed
// anything) the implant writes a COMMAND record with the result. The answer
// is sent only after the records and any new memory image are stored: a
// failure to store them answers an internal error, never success.
func (im *Implant) Handle(s telemetry.SessionInfo, c pump.Command) pumpwire.Response {
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
	var resp pumpwire.Response
	err := im.foreign(s)
	if err == nil {
		resp, err = im.dispatch(now, s, c)
	}
	im.dev.Persist()
	if err != nil {
		resp = telemetry.Refuse(err)
	}
	if im.dev.Log.Next() == coreBefore {
		code := int64(0)
		if e, ok := resp.(*pumpwire.Error); ok {
			code = int64(e.Code)
		}
		im.append(pumpwire.Record{At: now, Kind: pumpwire.RecCommand, A: int64(c.Kind()), B: code, Role: s.Role.Sender(), Serial: s.Serial})
	}
	if err := im.sync(); err != nil {
		return telemetry.Refuse(fmt.Errorf("%w: %w", telemetry.ErrInternal, err))
	}
	if ack, ok := resp.(*pumpwire.Ack); ok {
		ack.Seq = im.ackSeq(first)
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

// ackSeq is the sequence number an Ack reports: the record of the prescription
// the command stored (PROGRAM, or BRIDGE_START), if it stored one, otherwise
// the first record the command wrote.
func (im *Implant) ackSeq(first uint64) uint64 {
	for _, r := range im.since(first) {
		if r.Kind == pumpwire.RecordKind(pump.EvProgram) || r.Kind == pumpwire.RecordKind(pump.EvBridgeStart) {
			return r.Seq
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

// dispatch hands c to the core and answers as the command table says. The
// device's own part is small: the clock-skew record of a SetClock, the
// simulated reservoir a refill fills, and the answers built from its own
// facts (the status, the log).
func (im *Implant) dispatch(now unit.Time, s telemetry.SessionInfo, c pump.Command) (pumpwire.Response, error) {
	spec, ok := c.Kind().Spec()
	if !ok || spec.Roles == pump.ByDevice {
		return nil, fmt.Errorf("%w: %v", telemetry.ErrUnknownCommand, c.Kind())
	}
	if sc, ok := c.(pump.SetClock); ok {
		if skew := sc.SenderClock.Sub(now); skew > pumpwire.MaxClockSkew || skew < -pumpwire.MaxClockSkew {
			im.append(pumpwire.Record{At: now, Kind: pumpwire.RecClockSkew, A: int64(skew), Role: s.Role.Sender(), Serial: s.Serial})
		}
	}
	res, err := im.dev.Core.Step(now, c)
	if err != nil {
		return nil, refusal(err)
	}
	if r, ok := c.(pump.Refill); ok {
		// The nurse emptied the reservoir and filled it: the simulated
		// hardware now holds what was added.
		im.dev.HW.Reservoir = r.Added
	}
	switch spec.Response {
	case pump.RespStatus:
		if err := im.sync(); err != nil { // LogNext includes what the core logged (INTERROGATE)
			return nil, fmt.Errorf("%w: %w", telemetry.ErrInternal, err)
		}
		return im.statusOf(&res.Status)
	case pump.RespLog:
		r := c.(pump.ReadLog)
		return im.readLog(r.From, int(r.MaxBytes))
	case pump.RespBolus:
		return &pumpwire.BolusResult{BolusResult: res.Bolus}, nil
	}
	return &pumpwire.Ack{}, nil
}

// statusOf answers a status read: the core's status with the implant's
// configuration and the facts it derives from its log.
func (im *Implant) statusOf(cs *pump.Status) (pumpwire.Response, error) {
	s := im.status(cs)
	if _, err := pumpwire.AppendStatus(nil, &s); err != nil {
		return nil, fmt.Errorf("%w: status: %w", telemetry.ErrInternal, err)
	}
	return &s, nil
}

// readLog answers a ReadLog: contiguous records from `from` (or the oldest
// held), as many as fit in max bytes.
func (im *Implant) readLog(from uint64, max int) (pumpwire.Response, error) {
	rs := im.since(from)
	b, n, err := pumpwire.AppendRecordsWithin(nil, rs, max)
	if err != nil {
		return nil, fmt.Errorf("%w: log: %w", telemetry.ErrInternal, err)
	}
	next := from
	switch {
	case n > 0:
		next = rs[n-1].Seq + 1
	case len(rs) > 0:
		next = rs[0].Seq
	case from > im.next:
		next = im.next
	}
	return &pumpwire.Log{Next: next, More: next < im.next, Entries: b}, nil
}

// event records a telemetry audit event in the event log, opens and closes
// the core's session, and charges the radio time of connections that opened
// no session (an open session's radio time is charged by the core's
// CloseSession). What such connections did is counted in the listen window's
// summaries (linklog.go), not recorded one by one. It answers nobody: when
// the log or the image cannot be stored, the failure is sticky (Err), and
// every later command is refused.
func (im *Implant) event(e telemetry.Event) {
	if e.Kind == telemetry.EventCommand {
		return // an authorised command is logged by Handle
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil || e.Kind == telemetry.EventWake && !im.window.pending() {
		return
	}
	now := im.now()
	im.dev.Run(now)
	if err := im.sync(); err != nil {
		im.logger.Error("PERSIST", "err", err) // sticky, as below
		return
	}
	code := int64(0)
	if e.Err != nil {
		code = int64(telemetry.CodeOf(e.Err))
	}
	peer := pumpwire.Record{At: now, Role: e.Peer.Role.Sender(), Serial: e.Peer.Serial, B: code}
	var err error // the core's refusal of a session's opening or closing
	switch {
	case e.Kind == telemetry.EventWake, e.Kind == telemetry.EventSessionOpened:
		// A wake starts a listen window; a session's records follow what
		// came before it in the window.
		im.flushLink(now)
		if err := im.sync(); err != nil {
			im.logger.Error("PERSIST", "err", err)
			return
		}
		if e.Kind == telemetry.EventWake {
			return // the pump's own
		}
		p := e.Peer
		im.by = &p
		err = im.dev.Do(now, func(c *pump.Pump) error {
			_, err := c.Step(now, pump.OpenSession{Role: p.Role.Sender()})
			if errors.Is(err, pump.ErrSession) {
				// A session the core still thinks open (it cannot be: one
				// at a time); close it with no radio time and open anew.
				if _, err := c.Step(now, pump.CloseSession{}); err != nil {
					return err
				}
				_, err = c.Step(now, pump.OpenSession{Role: p.Role.Sender()})
			}
			return err
		})
	case im.linkEvent(now, e, code):
		// Counted.
	case e.Kind == telemetry.EventCommandRefused:
		peer.Kind, peer.A = pumpwire.RecCommandRefused, int64(e.Command)
		im.append(peer)
	case e.Kind == telemetry.EventIntegrity:
		peer.Kind = pumpwire.RecIntegrity
		im.append(peer)
	case e.Kind == telemetry.EventSessionClosed:
		p := e.Peer
		im.by = &p
		err = im.dev.Do(now, func(c *pump.Pump) error { _, err := c.Step(now, pump.CloseSession{Radio: e.Radio}); return err })
	}
	if err != nil {
		// A depleted pump refuses to open or close sessions; nobody waits for
		// an answer, so the console says so.
		im.logger.Warn("the pump core refused a session event", "event", e.Kind.String(), "err", err)
	}
	if err := im.sync(); err != nil {
		// Sticky: Err reports it, every later command is refused, and Run stops.
		im.logger.Error("PERSIST", "err", err)
	}
	im.by = nil
}

var _ telemetry.Handler = (*Implant)(nil)
