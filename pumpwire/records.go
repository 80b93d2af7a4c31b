package pumpwire

import (
	"encoding/binary"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// RecordKind is what an event-log record is about. Below RecLink the kinds
// are the pump core's own (pump.EventKind, same numbers and names): the device
// copies every entry of the core's log. From RecLink up they are the device's
// link and security records, for what never reaches the core: refused
// connections, failed handshakes, refused commands, integrity failures,
// lock-outs, and commands the core does not log itself.
type RecordKind uint8

// The device's own record kinds. Their values (A, B) and fields:
//
//	RADIO_REFUSED    A wake kind, B telemetry error code (locked out, budget, busy)
//	AUTH_FAILED      A wake kind, B error code (untrusted, revoked, expired, bad frame…)
//	COMMAND          A message kind, B error code (0: done), Role, Serial
//	COMMAND_REFUSED  A message kind, B error code (forbidden, unknown, malformed), Role, Serial
//	INTEGRITY        B error code, Role, Serial: a bad frame in an open session
//	LOCKOUT          A wake kind, B error code: a peer reached 5 failed handshakes
//	RADIO            A radio-on ms, B error code: an unauthenticated connection's radio
//	                 time, charged to the battery
//	CLOCK_SKEW       A programmer clock − pump clock in ms, Role, Serial
//
// What peers that never open a session do (refused connections, failed
// handshakes, lock-outs and their radio time) is counted, not recorded one by
// one: the device writes one summary record per kind and reason for each
// listen window, so no flood can push the log's other records out:
//
//	RADIO_REFUSALS   A count, B error code: connections refused before any
//	                 handshake for this reason (locked out, budget, busy)
//	AUTH_FAILURES    A count, B error code: connections that failed or
//	                 abandoned the handshake, or whose credential was refused,
//	                 for this reason
//	LOCKOUTS         A count, B error code (locked out): peers that reached 5
//	                 failed handshakes and are ignored for 10 minutes
//	RADIO_UNAUTH     A radio-on ms, B count: the radio time of the window's
//	                 connections that opened no session, charged to the battery
//
// RADIO_REFUSED, AUTH_FAILED, LOCKOUT and RADIO are the one-by-one records
// of earlier versions; they are still read.
//
// Every record the core writes while carrying out a peer's command, or
// opening or closing its session, is attributed to the peer: Role and Serial.
// The core's SESSION_START also gets A = wake kind and Name.
const (
	RecLink           RecordKind = 0x40
	RecRadioRefused   RecordKind = 0x40
	RecAuthFailed     RecordKind = 0x41
	RecCommand        RecordKind = 0x42
	RecCommandRefused RecordKind = 0x43
	RecIntegrity      RecordKind = 0x44
	RecLockout        RecordKind = 0x45
	RecRadio          RecordKind = 0x46
	RecClockSkew      RecordKind = 0x47
	RecRadioRefusals  RecordKind = 0x48
	RecAuthFailures   RecordKind = 0x49
	RecLockouts       RecordKind = 0x4a
	RecRadioUnauth    RecordKind = 0x4b
	recEnd            RecordKind = 0x4c
)

var linkNames = [...]string{"RADIO_REFUSED", "AUTH_FAILED", "COMMAND", "COMMAND_REFUSED", "INTEGRITY",
	"LOCKOUT", "RADIO", "CLOCK_SKEW", "RADIO_REFUSALS", "AUTH_FAILURES", "LOCKOUTS", "RADIO_UNAUTH"}

// Unauthenticated reports whether records of kind k are about peers that
// opened no session: the one-by-one records of earlier versions and the
// window summaries. A device keeps them apart from the rest of its log.
func (k RecordKind) Unauthenticated() bool {
	switch k {
	case RecRadioRefused, RecAuthFailed, RecLockout, RecRadio, RecRadioRefusals, RecAuthFailures, RecLockouts, RecRadioUnauth:
		return true
	}
	return false
}

func (k RecordKind) String() string {
	if k >= RecLink && k < recEnd {
		return linkNames[k-RecLink]
	}
	if k < RecLink {
		return pump.EventKind(k).String()
	}
	return fmt.Sprintf("KIND_%#02x", uint8(k))
}

// MaxClockSkew is the difference between a programmer's clock and the pump's
// beyond which a SetClock is logged as CLOCK_SKEW. The pump's UTC clock is
// never stepped: a jump would break the no-catch-up rule and the rolling 24-h
// cap window. Only the UTC offset, which places flex doses in the patient's
// day, is set.
const MaxClockSkew = unit.Minute

// WakeKind is what woke the pump's radio; the telemetry server admits by it
// and the event log records it.
type WakeKind uint8

const (
	// WakeContact is a wake by physical contact with the patient (the
	// programmer head or a magnet over the pump): proof of proximity.
	WakeContact WakeKind = 1
	// WakeRadio is a wake by a radio wake-up signal from a programmer nearby.
	WakeRadio WakeKind = 2
	// WakeScheduled is the pump's own scheduled window for the home monitor.
	WakeScheduled WakeKind = 3
)

// NextScheduledWake is when a pump that opens a scheduled window every
// period (of the link's real time, as the listen window runs) opens its next
// one after t: the windows start at the multiples of period since the Unix
// epoch, so that the pump and its home monitor, knowing the period, agree on
// them without talking. A period of 0 or less opens none (the zero time).
func NextScheduledWake(t unit.Time, period unit.Duration) unit.Time {
	if period <= 0 {
		return 0
	}
	return (t/unit.Time(period) + 1) * unit.Time(period)
}

var wakeNames = [...]string{WakeContact: "contact", WakeRadio: "radio", WakeScheduled: "scheduled"}

func (w WakeKind) String() string {
	if w.Valid() {
		return wakeNames[w]
	}
	return fmt.Sprintf("wake-%d", uint8(w))
}

// Valid reports whether w is a known wake kind.
func (w WakeKind) Valid() bool { return w >= WakeContact && w <= WakeScheduled }

// Record is one entry of the device's event log: a copy of a pump core entry
// or a link record. Sequence numbers are the device's own, contiguous, and
// survive restarts of the device process.
type Record struct {
	Seq    uint64
	At     unit.Time // pump time
	Kind   RecordKind
	Alarm  pump.Alarm
	Reason pump.Reason
	A, B   int64
	Role   pump.Role // the peer whose command or session this record comes from, or none
	Serial uint64    // that peer's credential serial
	Name   string    // the peer's credential name, on SESSION_START
}

// MaxName bounds a record's Name (a telemetry credential's name).
const MaxName = 64

// Critical reports whether r must stand out in a log view: emergency access,
// integrity failures, lock-outs, motor stalls, cap faults, critical alarms.
func (r *Record) Critical() bool {
	switch r.Kind {
	case RecIntegrity, RecLockout, RecLockouts:
		return true
	case RecordKind(pump.EvMotorStall), RecordKind(pump.EvCapFault):
		return true
	case RecordKind(pump.EvAlarmRaise):
		return r.Alarm.Critical()
	}
	return r.Role == pump.RoleEmergency || r.Reason == pump.RoleEmergency
}

// Describe says what r's values mean, with their units. code gives the text
// of a link error code (telemetry.ErrorCode's, whose meaning telemetry owns).
func (r *Record) Describe(code func(uint16) string) string {
	vol := func(v int64) string { return unit.Volume(v).String() }
	dur := func(v int64) string { return unit.Duration(v).String() }
	result := func(v int64) string {
		if v == 0 {
			return "done"
		}
		return code(uint16(v))
	}
	peer := func() string {
		s := r.Role.String()
		if r.Serial != 0 {
			s += fmt.Sprintf(" #%d", r.Serial)
		}
		return s
	}
	if k := pump.EventKind(r.Kind); r.Kind < RecLink && r.Serial != 0 && k != pump.EvSessionStart && k != pump.EvSessionEnd {
		if d := r.describe(vol, dur); d != "" {
			return d + " (" + peer() + ")"
		}
		return "(" + peer() + ")"
	}
	switch r.Kind {
	case RecRadioRefused, RecAuthFailed, RecLockout:
		return fmt.Sprintf("%s wake: %s", WakeKind(r.A), result(r.B))
	case RecCommand, RecCommandRefused:
		return fmt.Sprintf("%s by %s: %s", Kind(r.A), peer(), result(r.B))
	case RecIntegrity:
		return fmt.Sprintf("session of %s closed: %s", peer(), result(r.B))
	case RecRadio:
		return fmt.Sprintf("radio on %s, not authenticated: %s", dur(r.A), result(r.B))
	case RecClockSkew:
		return fmt.Sprintf("programmer clock differs from the pump's by %s (%s); the pump clock is not stepped", dur(r.A), peer())
	case RecRadioRefusals:
		return fmt.Sprintf("%d %s refused in the listen window: %s", r.A, plural(r.A, "connection"), result(r.B))
	case RecAuthFailures:
		return fmt.Sprintf("%d %s failed in the listen window: %s", r.A, plural(r.A, "handshake"), result(r.B))
	case RecLockouts:
		return fmt.Sprintf("%d %s locked out in the listen window: %s", r.A, plural(r.A, "peer"), result(r.B))
	case RecRadioUnauth:
		return fmt.Sprintf("radio on %s for %d %s that opened no session, charged to the battery", dur(r.A), r.B, plural(r.B, "connection"))
	}
	return r.describe(vol, dur)
}

func plural(n int64, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// describe says what a core record's values mean.
func (r *Record) describe(vol, dur func(int64) string) string {
	switch pump.EventKind(r.Kind) {
	case pump.EvAlarmRaise, pump.EvAlarmClear, pump.EvAlarmAcknowledge:
		s := r.Alarm.String()
		if r.Alarm == pump.VolumeDiscrepancy && pump.EventKind(r.Kind) == pump.EvAlarmRaise {
			s += fmt.Sprintf(" (measured %s, estimate %s)", vol(r.A), vol(r.B))
		}
		return s
	case pump.EvProgram:
		return fmt.Sprintf("%s, max_24h %s", pump.Mode(r.A), vol(r.B))
	case pump.EvPatientBolusStart, pump.EvClinicianBolusStart:
		return fmt.Sprintf("%s over %s", vol(r.A), dur(r.B))
	case pump.EvPatientBolusRefused, pump.EvClinicianBolusRefused:
		return fmt.Sprintf("%s refused: %s", vol(r.A), r.Reason)
	case pump.EvPatientBolusEnd, pump.EvClinicianBolusEnd, pump.EvPrimeEnd, pump.EvBridgeEnd:
		return fmt.Sprintf("%s: %s in %s", r.Reason, vol(r.A), dur(r.B))
	case pump.EvPrimeStart, pump.EvBridgeStart:
		return vol(r.A)
	case pump.EvRefill:
		return fmt.Sprintf("reservoir %s, discrepancy %s", vol(r.A), vol(r.B))
	case pump.EvReset:
		return fmt.Sprintf("assumed delivered %s over %s since the last checkpoint", vol(r.A), dur(r.B))
	case pump.EvSessionStart:
		s := r.Reason.String()
		if r.Serial != 0 {
			s += fmt.Sprintf(" #%d %q, %s wake", r.Serial, r.Name, WakeKind(r.A))
		}
		return s
	case pump.EvSessionEnd:
		return fmt.Sprintf("%s, radio on %s", r.Reason, dur(r.A))
	case pump.EvSetClock:
		return fmt.Sprintf("UTC offset %s → %s", unit.FormatUTCOffset(unit.Duration(r.A)), unit.FormatUTCOffset(unit.Duration(r.B)))
	case pump.EvCapFault:
		return fmt.Sprintf("stroke refused: %d strokes in 24 h, cap %d", r.A, r.B)
	case pump.EvMotorStall:
		return fmt.Sprintf("%d strokes not completed", r.A)
	case pump.EvProgramRefused, pump.EvBolusAborted:
		return r.Reason.String()
	case pump.EvCommandRefused:
		return fmt.Sprintf("%s: %s", pump.EventKind(r.A), r.Reason)
	case pump.EvConcentrationMismatch:
		return fmt.Sprintf("programmed %s, reservoir %s", unit.Concentration(r.A), unit.Concentration(r.B))
	}
	return ""
}

// Record flags in the compact encoding: which optional fields follow.
const (
	recAlarm = 1 << iota
	recReason
	recA
	recB
	recSerial
	recName
	recRole
	recSamePeer // Role and Serial are the previous record's
)

// recGap is the one byte that is not a record kind in the compact encoding:
// it marks sequence numbers the log no longer holds (a device drops old
// records of one kind to keep room for the others).
const recGap = 0xff

// AppendRecords appends the compact encoding of rs, whose sequence numbers
// must increase, to b. It is what a Log message carries:
//
//	first seq uvarint | records, and gaps between them
//	record: kind u8 | flags u8 | time − previous zigzag varint (the first
//	        record: its time) | [alarm u8] | [reason u8] | [A zigzag] |
//	        [B zigzag] | [serial uvarint] | [name string8] | [role u8]
//	gap:    0xff | how many sequence numbers are skipped uvarint (≥ 1)
//
// A record's sequence number is the previous one's plus one, plus a gap's
// count if a gap comes between them; a gap is never first, last, or next to
// another gap. A flag is set exactly when its field is not zero, except that
// a record attributed to the same peer as the record before it says so with
// one flag (bit 7) instead of repeating role and serial; so the encoding is
// canonical. No records encode to nothing. The kind 0xff is refused.
func AppendRecords(b []byte, rs []Record) ([]byte, error) {
	b, n, err := AppendRecordsWithin(b, rs, MaxMessage*len(rs))
	if err == nil && n < len(rs) {
		err = fmt.Errorf("%w: record #%d", ErrMalformed, rs[n].Seq)
	}
	return b, err
}

// AppendRecordsWithin appends the encoding of as many of rs, from the first,
// as fit in max bytes (the header included), and returns how many it took.
func AppendRecordsWithin(b []byte, rs []Record, max int) ([]byte, int, error) {
	if len(rs) == 0 {
		return b, 0, nil
	}
	start := len(b)
	b = binary.AppendUvarint(b, rs[0].Seq)
	var prev *Record
	for i := range rs {
		r := &rs[i]
		end := len(b)
		if prev != nil {
			if r.Seq <= prev.Seq {
				return b[:start], 0, fmt.Errorf("%w: record #%d after #%d", ErrMalformed, r.Seq, prev.Seq)
			}
			if skip := r.Seq - prev.Seq - 1; skip > 0 {
				b = binary.AppendUvarint(append(b, recGap), skip)
			}
		}
		var err error
		if b, err = appendRecord(b, r, prev); err != nil {
			return b[:start], 0, err
		}
		if len(b)-start > max {
			if i == 0 {
				return b[:start], 0, nil
			}
			return b[:end], i, nil
		}
		prev = r
	}
	return b, len(rs), nil
}

func samePeer(r, prev *Record) bool {
	return prev != nil && r.Serial != 0 && r.Serial == prev.Serial && r.Role == prev.Role
}

func appendRecord(b []byte, r, prev *Record) ([]byte, error) {
	same := samePeer(r, prev)
	flags := byte(0)
	for _, f := range []struct {
		set bool
		bit byte
	}{{r.Alarm != 0, recAlarm}, {r.Reason != 0, recReason}, {r.A != 0, recA}, {r.B != 0, recB},
		{r.Serial != 0 && !same, recSerial}, {r.Name != "", recName}, {r.Role != 0 && !same, recRole}, {same, recSamePeer}} {
		if f.set {
			flags |= f.bit
		}
	}
	if r.Kind == recGap {
		return b, fmt.Errorf("%w: record #%d of kind %#02x", ErrMalformed, r.Seq, recGap)
	}
	prevAt := unit.Time(0)
	if prev != nil {
		prevAt = prev.At
	}
	b = append(b, byte(r.Kind), flags)
	b = binary.AppendVarint(b, int64(r.At-prevAt))
	if flags&recAlarm != 0 {
		b = append(b, byte(r.Alarm))
	}
	if flags&recReason != 0 {
		b = append(b, byte(r.Reason))
	}
	if flags&recA != 0 {
		b = binary.AppendVarint(b, r.A)
	}
	if flags&recB != 0 {
		b = binary.AppendVarint(b, r.B)
	}
	if flags&recSerial != 0 {
		b = binary.AppendUvarint(b, r.Serial)
	}
	if flags&recName != 0 {
		var err error
		if b, err = AppendString8(b, r.Name, MaxName); err != nil {
			return b, err
		}
	}
	if flags&recRole != 0 {
		b = append(b, byte(r.Role))
	}
	return b, nil
}

// ConsumeRecords decodes what AppendRecords wrote. It refuses non-canonical
// input (overlong varints, flags for zero fields); no bytes are no records.
func ConsumeRecords(b []byte) ([]Record, error) {
	if len(b) == 0 {
		return nil, nil
	}
	c := NewCursor(b)
	seq := c.Uvarint()
	at := unit.Time(0)
	var rs []Record
	gap := false // the last thing read was a gap
	for c.Err() == nil && c.Len() > 0 {
		kind := c.U8()
		if kind == recGap {
			skip := c.Uvarint()
			switch {
			case len(rs) == 0 || gap:
				c.Fail("a gap first or after a gap")
			case skip == 0:
				c.Fail("an empty gap")
			case seq+skip < seq:
				c.Fail("a gap past the last sequence number")
			}
			seq += skip
			gap = true
			continue
		}
		if len(rs) > 0 {
			if seq++; seq == 0 {
				c.Fail("a record past the last sequence number")
			}
		}
		gap = false
		r := Record{Seq: seq}
		r.Kind = RecordKind(kind)
		flags := c.U8()
		at += unit.Time(c.Varint())
		r.At = at
		if flags&recAlarm != 0 {
			r.Alarm = pump.Alarm(nonZero(c, uint64(c.U8())))
		}
		if flags&recReason != 0 {
			r.Reason = pump.Reason(nonZero(c, uint64(c.U8())))
		}
		if flags&recA != 0 {
			r.A = int64(nonZero(c, uint64(c.Varint())))
		}
		if flags&recB != 0 {
			r.B = int64(nonZero(c, uint64(c.Varint())))
		}
		if flags&recSerial != 0 {
			r.Serial = nonZero(c, c.Uvarint())
		}
		if flags&recName != 0 {
			if r.Name = c.String8(MaxName); r.Name == "" {
				c.Fail("an empty name flagged")
			}
		}
		if flags&recRole != 0 {
			r.Role = pump.Role(nonZero(c, uint64(c.U8())))
		}
		n := len(rs)
		switch {
		case flags&recSamePeer != 0 && (flags&(recRole|recSerial) != 0 || n == 0 || rs[n-1].Serial == 0):
			c.Fail("the same-peer flag without a peer before")
		case flags&recSamePeer != 0:
			r.Role, r.Serial = rs[n-1].Role, rs[n-1].Serial
		case n > 0 && samePeer(&r, &rs[n-1]):
			c.Fail("the peer repeated instead of flagged")
		}
		rs = append(rs, r)
	}
	switch {
	case c.Err() == nil && len(rs) == 0:
		c.Fail("a header without records")
	case gap:
		c.Fail("a gap last")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

// nonZero fails c when a flagged field is zero (the flag says it is not).
func nonZero(c *Cursor, v uint64) uint64 {
	if v == 0 {
		c.Fail("a zero field flagged")
	}
	return v
}
