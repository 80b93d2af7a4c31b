package implant

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Kind is what an event-log record is about. Below KindLink the kinds are the
// pump core's own (pump.EventKind, same numbers and names): the implant copies
// every entry of the core's log. From KindLink up they are the implant's link
// and security records, for what never reaches the core: refused connections,
// failed handshakes, refused commands, integrity failures, lock-outs, and
// commands the core does not log itself.
type Kind uint8

// The implant's own record kinds. Their values (A, B) and fields:
//
//	RADIO_REFUSED    A wake kind, B telemetry error code (locked out, budget, busy)
//	AUTH_FAILED      A wake kind, B error code (untrusted, revoked, expired, bad frame…)
//	COMMAND          A telemetry command kind, B error code (0: done), Role, Serial
//	COMMAND_REFUSED  A command kind, B error code (forbidden, unknown, malformed), Role, Serial
//	INTEGRITY        B error code, Role, Serial: a bad frame in an open session
//	LOCKOUT          A wake kind, B error code: a peer reached 5 failed handshakes
//	RADIO            A radio-on ms, B error code: an unauthenticated connection's radio
//	                 time, charged to the battery
//	CLOCK_SKEW       A programmer clock − pump clock in ms, Role, Serial
//
// Every record the core writes while carrying out a peer's command, or
// opening or closing its session, is attributed to the peer: Role and Serial.
// The core's SESSION_START also gets A = wake kind and Name.
const (
	KindLink           Kind = 0x40
	KindRadioRefused   Kind = 0x40
	KindAuthFailed     Kind = 0x41
	KindCommand        Kind = 0x42
	KindCommandRefused Kind = 0x43
	KindIntegrity      Kind = 0x44
	KindLockout        Kind = 0x45
	KindRadio          Kind = 0x46
	KindClockSkew      Kind = 0x47
	kindEnd            Kind = 0x48
)

var linkNames = [...]string{"RADIO_REFUSED", "AUTH_FAILED", "COMMAND", "COMMAND_REFUSED", "INTEGRITY",
	"LOCKOUT", "RADIO", "CLOCK_SKEW"}

func (k Kind) String() string {
	if k >= KindLink && k < kindEnd {
		return linkNames[k-KindLink]
	}
	if k < KindLink {
		return pump.EventKind(k).String()
	}
	return fmt.Sprintf("KIND_%#02x", uint8(k))
}

// Record is one entry of the implant's event log: a copy of a pump core entry
// or a link record. Sequence numbers are the implant's own, contiguous, and
// survive restarts of the device process (the core's log restarts at 1 when
// the process does; the implant's does not).
type Record struct {
	Seq    uint64
	At     unit.Time // pump time
	Kind   Kind
	Alarm  pump.Alarm
	Reason pump.Reason
	A, B   int64
	Role   pump.Reason // the peer whose command or session this record comes from (a role reason), or none
	Serial uint64      // that peer's credential serial
	Name   string      // the peer's credential name, on SESSION_START
}

// Critical reports whether r must stand out in a log view: emergency access,
// integrity failures, lock-outs, motor stalls, cap faults, critical alarms.
func (r *Record) Critical() bool {
	switch r.Kind {
	case KindIntegrity, KindLockout:
		return true
	case Kind(pump.EvMotorStall), Kind(pump.EvCapFault):
		return true
	case Kind(pump.EvAlarmRaise):
		return r.Alarm.Critical()
	}
	return r.Role == pump.RoleEmergency || r.Reason == pump.RoleEmergency
}

// Describe says what r's values mean, with their units.
func (r *Record) Describe() string {
	vol := func(v int64) string { return unit.Volume(v).String() }
	dur := func(v int64) string { return unit.Duration(v).String() }
	code := func(v int64) string {
		if v == 0 {
			return "done"
		}
		return telemetry.ErrorCode(v).String()
	}
	peer := func() string {
		s := r.Role.String()
		if r.Serial != 0 {
			s += fmt.Sprintf(" #%d", r.Serial)
		}
		return s
	}
	if k := pump.EventKind(r.Kind); r.Kind < KindLink && r.Serial != 0 && k != pump.EvSessionStart && k != pump.EvSessionEnd {
		if d := r.describe(vol, dur); d != "" {
			return d + " (" + peer() + ")"
		}
		return "(" + peer() + ")"
	}
	switch r.Kind {
	case KindRadioRefused, KindAuthFailed, KindLockout:
		return fmt.Sprintf("%s wake: %s", telemetry.WakeKind(r.A), code(r.B))
	case KindCommand, KindCommandRefused:
		return fmt.Sprintf("%s by %s: %s", telemetry.Kind(r.A), peer(), code(r.B))
	case KindIntegrity:
		return fmt.Sprintf("session of %s closed: %s", peer(), code(r.B))
	case KindRadio:
		return fmt.Sprintf("radio on %s, not authenticated: %s", dur(r.A), code(r.B))
	case KindClockSkew:
		return fmt.Sprintf("programmer clock differs from the pump's by %s (%s); the pump clock is not stepped", dur(r.A), peer())
	}
	return r.describe(vol, dur)
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
			s += fmt.Sprintf(" #%d %q, %s wake", r.Serial, r.Name, telemetry.WakeKind(r.A))
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

func (r Record) String() string {
	s := fmt.Sprintf("#%d %s %s", r.Seq, r.At.Format("2006-01-02T15:04:05.000Z07:00"), r.Kind)
	if d := r.Describe(); d != "" {
		s += " " + d
	}
	return s
}

// roleReason maps a credential role to the core's session reason.
func roleReason(r telemetry.Role) pump.Reason {
	switch r {
	case telemetry.RoleClinician:
		return pump.RoleClinician
	case telemetry.RolePatient:
		return pump.RolePatient
	case telemetry.RoleMonitor:
		return pump.RoleMonitor
	case telemetry.RoleEmergency:
		return pump.RoleEmergency
	}
	return pump.ReasonNone
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
	recAll      = recAlarm | recReason | recA | recB | recSerial | recName | recRole | recSamePeer
)

// AppendRecords appends the compact encoding of rs, which must have
// contiguous sequence numbers, to b. It is what a Log response carries:
//
//	first seq uvarint | records
//	record: kind u8 | flags u8 | time − previous zigzag varint (the first
//	        record: its time) | [alarm u8] | [reason u8] | [A zigzag] |
//	        [B zigzag] | [serial uvarint] | [name string8] | [role u8]
//
// A flag is set exactly when its field is not zero, except that a record
// attributed to the same peer as the record before it says so with one flag
// (bit 7) instead of repeating role and serial; so the encoding is canonical.
// No records encode to nothing.
func AppendRecords(b []byte, rs []Record) ([]byte, error) {
	if len(rs) == 0 {
		return b, nil
	}
	b = binary.AppendUvarint(b, rs[0].Seq)
	var prev *Record
	for i := range rs {
		r := &rs[i]
		if r.Seq != rs[0].Seq+uint64(i) {
			return b, fmt.Errorf("%w: records not contiguous at #%d", ErrEncoding, r.Seq)
		}
		var err error
		if b, err = appendRecord(b, r, prev); err != nil {
			return b, err
		}
		prev = r
	}
	return b, nil
}

// RecordSize returns how many bytes r takes in AppendRecords after the
// record prev (nil for the first record; the header aside).
func RecordSize(r, prev *Record) int {
	var buf [3 + 4*binary.MaxVarintLen64 + 2 + 1 + 255]byte
	b, err := appendRecord(buf[:0], r, prev)
	if err != nil {
		return 0
	}
	return len(b)
}

func samePeer(r, prev *Record) bool {
	return prev != nil && r.Serial != 0 && r.Serial == prev.Serial && r.Role == prev.Role
}

// headerSize is the size of AppendRecords' header for a first record r.
func headerSize(r *Record) int {
	var buf [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(buf[:0], r.Seq))
}

func appendRecord(b []byte, r, prev *Record) ([]byte, error) {
	if len(r.Name) > telemetry.MaxNameLen || !printable(r.Name) {
		return b, fmt.Errorf("%w: record name", ErrEncoding)
	}
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
		b = append(b, byte(len(r.Name)))
		b = append(b, r.Name...)
	}
	if flags&recRole != 0 {
		b = append(b, byte(r.Role))
	}
	return b, nil
}

// ConsumeRecords decodes what AppendRecords wrote. It refuses non-canonical
// input (overlong varints, flags for zero fields, a zero-length input is no
// records).
func ConsumeRecords(b []byte) ([]Record, error) {
	if len(b) == 0 {
		return nil, nil
	}
	v := varintReader{b: b}
	seq := v.uvarint()
	at := unit.Time(0)
	var rs []Record
	for v.err == nil && len(v.b) > 0 {
		r := Record{Seq: seq + uint64(len(rs))}
		r.Kind = Kind(v.u8())
		flags := v.u8()
		if flags&^recAll != 0 {
			v.fail("record flags %#x", flags)
		}
		at += unit.Time(v.varint())
		r.At = at
		if flags&recAlarm != 0 {
			r.Alarm = pump.Alarm(v.nonZero8())
		}
		if flags&recReason != 0 {
			r.Reason = pump.Reason(v.nonZero8())
		}
		if flags&recA != 0 {
			r.A = v.nonZeroVarint()
		}
		if flags&recB != 0 {
			r.B = v.nonZeroVarint()
		}
		if flags&recSerial != 0 {
			if r.Serial = v.uvarint(); r.Serial == 0 {
				v.fail("zero serial flagged")
			}
		}
		if flags&recName != 0 {
			n := int(v.u8())
			if n == 0 || n > telemetry.MaxNameLen {
				v.fail("name of %d bytes", n)
			}
			r.Name = string(v.take(n))
			if v.err == nil && !printable(r.Name) {
				v.fail("name not printable")
			}
		}
		if flags&recRole != 0 {
			r.Role = pump.Reason(v.nonZero8())
		}
		if n := len(rs); flags&recSamePeer != 0 {
			if flags&(recRole|recSerial) != 0 || n == 0 || rs[n-1].Serial == 0 {
				v.fail("same-peer flag without a peer before")
			} else {
				r.Role, r.Serial = rs[n-1].Role, rs[n-1].Serial
			}
		} else if n > 0 && samePeer(&r, &rs[n-1]) {
			v.fail("peer repeated instead of flagged")
		}
		rs = append(rs, r)
	}
	if v.err == nil && len(rs) == 0 {
		v.fail("header without records")
	}
	if v.err != nil {
		return nil, v.err
	}
	return rs, nil
}

// varintReader reads the compact record encoding, canonical forms only.
type varintReader struct {
	b   []byte
	err error
}

func (v *varintReader) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: "+format, append([]any{ErrEncoding}, args...)...)
	}
}

func (v *varintReader) take(n int) []byte {
	if v.err != nil || len(v.b) < n {
		v.fail("truncated record")
		return make([]byte, n)
	}
	p := v.b[:n]
	v.b = v.b[n:]
	return p
}

func (v *varintReader) u8() byte { return v.take(1)[0] }

func (v *varintReader) nonZero8() byte {
	x := v.u8()
	if x == 0 {
		v.fail("zero field flagged")
	}
	return x
}

func (v *varintReader) uvarint() uint64 {
	if v.err != nil {
		return 0
	}
	x, n := binary.Uvarint(v.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, x)) {
		v.fail("bad varint")
		return 0
	}
	v.b = v.b[n:]
	return x
}

func (v *varintReader) varint() int64 {
	if v.err != nil {
		return 0
	}
	x, n := binary.Varint(v.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, x)) {
		v.fail("bad varint")
		return 0
	}
	v.b = v.b[n:]
	return x
}

func (v *varintReader) nonZeroVarint() int64 {
	x := v.varint()
	if x == 0 && v.err == nil {
		v.fail("zero field flagged")
	}
	return x
}

// The journal: how the implant keeps its log on disk. Each record is
//
//	length u16 | seq u64 | at i64 | kind u8 | alarm u8 | reason u8 | role u8 |
//	A i64 | B i64 | serial u64 | name string8 | CRC-32C u32 (of everything before it)
//
// appended and fsynced. A record torn by a crash fails its CRC and ends the
// journal there.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const journalFixed = 2 + 8 + 8 + 4 + 8 + 8 + 8 + 1 + 4

func appendJournal(b []byte, r *Record) []byte {
	be := binary.BigEndian
	start := len(b)
	b = be.AppendUint16(b, uint16(journalFixed+len(r.Name)))
	b = be.AppendUint64(b, r.Seq)
	b = be.AppendUint64(b, uint64(r.At))
	b = append(b, byte(r.Kind), byte(r.Alarm), byte(r.Reason), byte(r.Role))
	b = be.AppendUint64(b, uint64(r.A))
	b = be.AppendUint64(b, uint64(r.B))
	b = be.AppendUint64(b, r.Serial)
	b = append(b, byte(len(r.Name)))
	b = append(b, r.Name...)
	return be.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// consumeJournal reads one journal record from the start of b and returns it
// with its size; ok is false for a torn or corrupt record.
func consumeJournal(b []byte) (Record, int, bool) {
	be := binary.BigEndian
	if len(b) < 2 {
		return Record{}, 0, false
	}
	n := int(be.Uint16(b))
	if n < journalFixed || n > journalFixed+255 || n > len(b) {
		return Record{}, 0, false
	}
	if crc32.Checksum(b[:n-4], castagnoli) != be.Uint32(b[n-4:]) {
		return Record{}, 0, false
	}
	c := cursor{b: b[2 : n-4]}
	var r Record
	r.Seq = c.u64()
	r.At = unit.Time(c.i64())
	r.Kind, r.Alarm, r.Reason, r.Role = Kind(c.u8()), pump.Alarm(c.u8()), pump.Reason(c.u8()), pump.Reason(c.u8())
	r.A, r.B = c.i64(), c.i64()
	r.Serial = c.u64()
	r.Name = c.string8(255)
	if c.done() != nil {
		return Record{}, 0, false
	}
	return r, n, true
}
