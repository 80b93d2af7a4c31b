package pump

import "github.com/thecal/thecal/unit"

// Alarm is one of the pump's alarms.
type Alarm uint8

const (
	AlarmNone Alarm = iota
	LowReservoir
	EmptyReservoir
	ERI
	EOS
	MotorStall
	Occlusion
	CatheterIntegrity
	VolumeDiscrepancy
	MemoryError
	PumpStopped
	DailyCap
	numAlarms
)

var alarmNames = names[Alarm]{"alarm", []string{"", "LOW_RESERVOIR", "EMPTY_RESERVOIR", "ERI", "EOS", "MOTOR_STALL",
	"OCCLUSION", "CATHETER_INTEGRITY", "VOLUME_DISCREPANCY", "MEMORY_ERROR", "PUMP_STOPPED", "DAILY_CAP"}, LowReservoir}

func (a Alarm) String() string {
	if a == AlarmNone {
		return ""
	}
	return alarmNames.name(a, "UNKNOWN_ALARM")
}

// ParseAlarm reads an alarm name such as "LOW_RESERVOIR".
func ParseAlarm(s string) (Alarm, bool) {
	var a Alarm
	if a.UnmarshalText([]byte(s)) != nil {
		return AlarmNone, false
	}
	return a, true
}

// Known reports whether a is one of the pump's alarms (AlarmNone is not).
func (a Alarm) Known() bool { return alarmNames.known(a) }

// MarshalText writes the alarm's name ("LOW_RESERVOIR"); AlarmNone and
// unknown alarms are an error.
func (a Alarm) MarshalText() ([]byte, error) { return alarmNames.text(a) }

// UnmarshalText reads an alarm's name; other text is a *TextError naming the alarms.
func (a *Alarm) UnmarshalText(b []byte) error { return alarmNames.read(b, a) }

// Critical reports whether a is a critical alarm: it stops the delivery it
// concerns and sounds a two-tone pattern every 10 minutes.
func (a Alarm) Critical() bool {
	switch a {
	case EmptyReservoir, EOS, MotorStall, Occlusion, MemoryError:
		return true
	}
	return false
}

// Alarms is a set of alarms.
type Alarms uint16

func (s Alarms) Has(a Alarm) bool { return s&(1<<a) != 0 }

// Each calls f for each alarm in s, in order.
func (s Alarms) Each(f func(Alarm)) {
	for a := Alarm(1); a < numAlarms; a++ {
		if s.Has(a) {
			f(a)
		}
	}
}

// EventKind is the kind of an event log entry.
type EventKind uint8

const (
	EvProgram EventKind = iota + 1
	EvProgramRefused
	EvStop
	EvResume
	EvClinicianBolusStart
	EvClinicianBolusEnd
	EvClinicianBolusRefused
	EvPrimeStart
	EvPrimeEnd
	EvBridgeStart
	EvBridgeEnd
	EvPatientBolusStart
	EvPatientBolusEnd
	EvPatientBolusRefused
	EvRefill
	EvAlarmRaise
	EvAlarmClear
	EvAlarmAcknowledge
	EvMotorStall
	EvMotorStallRecovery
	EvCapFault
	EvReset
	EvSessionStart
	EvSessionEnd
	EvSetClock
	EvInterrogate
	EvConcentrationMismatch
	EvBolusAborted
	EvBatteryDepleted
	EvCommandRefused
	numEventKinds
)

var eventNames = [numEventKinds]string{"", "PROGRAM", "PROGRAM_REFUSED", "STOP", "RESUME",
	"CLINICIAN_BOLUS_START", "CLINICIAN_BOLUS_END", "CLINICIAN_BOLUS_REFUSED", "PRIME_START", "PRIME_END",
	"BRIDGE_START", "BRIDGE_END", "PATIENT_BOLUS_START", "PATIENT_BOLUS_END", "PATIENT_BOLUS_REFUSED",
	"REFILL", "ALARM_RAISE", "ALARM_CLEAR", "ALARM_ACKNOWLEDGE", "MOTOR_STALL", "MOTOR_STALL_RECOVERY",
	"CAP_FAULT", "RESET", "SESSION_START", "SESSION_END", "SET_CLOCK", "INTERROGATE",
	"CONCENTRATION_MISMATCH", "BOLUS_ABORTED", "BATTERY_DEPLETED", "COMMAND_REFUSED"}

func (k EventKind) String() string {
	if k < numEventKinds {
		return eventNames[k]
	}
	return "UNKNOWN_EVENT"
}

// Reason qualifies a log entry: why a bolus was refused or ended, who opened a session.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonLockout
	ReasonBolusActive
	ReasonMaxCount
	ReasonMax24h
	ReasonStopped
	ReasonAlarm
	ReasonPriming
	ReasonBridge
	ReasonNotPrescribed
	ReasonCompleted
	ReasonInterrupted
	ReasonRoleClinician
	ReasonRolePatient
	ReasonRoleMonitor
	ReasonRoleEmergency
	ReasonHashMismatch
	ReasonChecksum
	ReasonInvalid
	ReasonReplaced
	numReasons
)

var reasonNames = names[Reason]{"reason", []string{"", "lockout", "bolus_active", "max_count", "max_24h", "stopped", "alarm",
	"priming", "bridge", "not_prescribed", "completed", "interrupted", "clinician", "patient", "monitor",
	"emergency", "hash_mismatch", "checksum", "invalid", "replaced"}, ReasonNone}

func (r Reason) String() string { return reasonNames.name(r, "unknown") }

// Known reports whether r is one of the core's reasons (ReasonNone included).
func (r Reason) Known() bool { return reasonNames.known(r) }

// MarshalText writes the reason's name ("lockout"; ReasonNone is empty); an
// unknown reason is an error.
func (r Reason) MarshalText() ([]byte, error) { return reasonNames.text(r) }

// UnmarshalText reads a reason's name (empty text is ReasonNone); other text
// is a *TextError naming the reasons.
func (r *Reason) UnmarshalText(b []byte) error { return reasonNames.read(b, r) }

// Entry is one event log entry. Its values depend on its kind (see EntryValues in
// the docs): volumes in nL, durations in ms, charges in nA·ms.
type Entry struct {
	Seq    uint64
	At     unit.Time
	Kind   EventKind
	Alarm  Alarm
	Reason Reason
	A, B   int64
}

// LogSize is the number of entries the ring log keeps.
const LogSize = 4096

// Log is the pump's event ring log. It lives in its own persistent memory, apart
// from the state image, and survives resets.
type Log struct {
	// entries[seq % LogSize] holds entry seq. The ring is grown as the log
	// fills, to LogSize: a simulated pump that logs little costs little.
	entries []Entry
	next    uint64 // sequence number of the next entry; the first entry is 1
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{next: 1} }

func (l *Log) add(e Entry) {
	e.Seq = l.next
	i := e.Seq % LogSize
	if len(l.entries) == 0 {
		l.entries = make([]Entry, 0, 128)
	}
	for i >= uint64(len(l.entries)) { // still filling: entries holds 0 .. next-1
		l.entries = append(l.entries, Entry{})
	}
	l.entries[i] = e
	l.next++
}

// Next returns the sequence number the next entry will get.
func (l *Log) Next() uint64 { return l.next }

// Oldest returns the sequence number of the oldest entry still held.
func (l *Log) Oldest() uint64 {
	if l.next > LogSize {
		return l.next - LogSize
	}
	return 1
}

// At returns the entry with sequence number seq, which must be held
// (Oldest ≤ seq < Next).
func (l *Log) At(seq uint64) *Entry { return &l.entries[seq%LogSize] }

// Since appends to dst the entries from sequence number seq on (or from the
// oldest held, if seq has been overwritten) and returns it.
func (l *Log) Since(seq uint64, dst []Entry) []Entry {
	seq = max(seq, l.Oldest())
	for s := seq; s < l.next; s++ {
		dst = append(dst, l.entries[s%LogSize])
	}
	return dst
}
