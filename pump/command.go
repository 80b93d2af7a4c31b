package pump

import (
	"strconv"

	"github.com/thecal/thecal/unit"
)

// Commands as data. Every input to the core other than time and the
// hardware's reports is a Command value handed to Step, the one entry in the
// shape of etcd-io/raft's Step(Message). The command table below says, for
// each kind, its name, which roles may send it over the telemetry link and
// what answers it; the telemetry role checks, the wire encoding (package
// pumpwire), the implant's dispatch and the simulator's event application are
// generated from it or checked against it by their tests, so a command left
// out of any of them fails go test (docs/adding-a-command.md).

// CommandKind names a command. Its number is the command's kind byte on the
// telemetry link (package pumpwire); the device's own commands, which no peer
// may send, are numbered apart from the link's.
type CommandKind uint8

const (
	CmdInterrogate       CommandKind = 0x01
	CmdReadStatus        CommandKind = 0x02
	CmdReadLog           CommandKind = 0x03
	CmdProgram           CommandKind = 0x04
	CmdClinicianBolus    CommandKind = 0x05
	CmdPrime             CommandKind = 0x06
	CmdRefill            CommandKind = 0x07
	CmdStop              CommandKind = 0x08
	CmdResume            CommandKind = 0x09
	CmdSetMinimumRate    CommandKind = 0x0a
	CmdSetClock          CommandKind = 0x0b
	CmdAcknowledge       CommandKind = 0x0c
	CmdPatientActivation CommandKind = 0x0d
	CmdSilenceTone       CommandKind = 0x0e
	CmdBridge            CommandKind = 0x0f
	CmdOpenSession       CommandKind = 0x10 // the device's own, from here on
	CmdCloseSession      CommandKind = 0x11
	CmdDrain             CommandKind = 0x12
	numCommandKinds                  = CmdDrain + 1
)

// Roles is a set of the roles that may send a command over the link.
type Roles uint8

// The roles of a telemetry session, as sets.
const (
	ByClinician Roles = 1 << iota
	ByPatient
	ByMonitor
	ByEmergency
	// ByDevice is no role: the command is the device's own (a session opening
	// or closing, a battery drain) and never travels over the link.
	ByDevice Roles = 0
)

// Has reports whether r is in the set.
func (s Roles) Has(r Role) bool {
	return r >= RoleClinician && r <= RoleEmergency && s&(1<<(r-RoleClinician)) != 0
}

// Response is what answers a command.
type Response uint8

const (
	RespNone   Response = iota // a device command: there is no one to answer
	RespAck                    // done (or an error)
	RespStatus                 // Result.Status
	RespLog                    // the event log, which the device serves
	RespBolus                  // Result.Bolus
)

// CommandSpec is one row of the command table.
type CommandSpec struct {
	Kind     CommandKind
	Name     string   // as logs and the protocol documentation name it
	Roles    Roles    // who may send it over the link (the emergency role also needs a contact wake: package telemetry)
	Response Response // what answers it
	Zero     Command  // the command's zero value, for code that walks the table
}

// commandTable is the command table: one row per kind.
var commandTable = [numCommandKinds]CommandSpec{
	CmdInterrogate:       {CmdInterrogate, "interrogate", ByClinician, RespStatus, Interrogate{}},
	CmdReadStatus:        {CmdReadStatus, "read-status", ByClinician | ByPatient | ByMonitor | ByEmergency, RespStatus, ReadStatus{}},
	CmdReadLog:           {CmdReadLog, "read-log", ByClinician | ByMonitor, RespLog, ReadLog{}},
	CmdProgram:           {CmdProgram, "program", ByClinician, RespAck, Program{}},
	CmdClinicianBolus:    {CmdClinicianBolus, "clinician-bolus", ByClinician, RespAck, ClinicianBolus{}},
	CmdPrime:             {CmdPrime, "prime", ByClinician, RespAck, Prime{}},
	CmdRefill:            {CmdRefill, "refill", ByClinician, RespAck, Refill{}},
	CmdStop:              {CmdStop, "stop", ByClinician | ByEmergency, RespAck, Stop{}},
	CmdResume:            {CmdResume, "resume", ByClinician, RespAck, Resume{}},
	CmdSetMinimumRate:    {CmdSetMinimumRate, "set-minimum-rate", ByClinician | ByEmergency, RespAck, SetMinimumRate{}},
	CmdSetClock:          {CmdSetClock, "set-clock", ByClinician, RespAck, SetClock{}},
	CmdAcknowledge:       {CmdAcknowledge, "acknowledge", ByClinician, RespAck, Acknowledge{}},
	CmdPatientActivation: {CmdPatientActivation, "patient-bolus", ByPatient, RespBolus, PatientActivation{}},
	CmdSilenceTone:       {CmdSilenceTone, "silence-tone", ByClinician | ByPatient, RespAck, SilenceTone{}},
	CmdBridge:            {CmdBridge, "bridge", ByClinician, RespAck, Bridge{}},
	CmdOpenSession:       {CmdOpenSession, "open-session", ByDevice, RespNone, OpenSession{}},
	CmdCloseSession:      {CmdCloseSession, "close-session", ByDevice, RespNone, CloseSession{}},
	CmdDrain:             {CmdDrain, "drain", ByDevice, RespNone, Drain{}},
}

// Commands returns the command table, one row per kind in kind order.
func Commands() []CommandSpec {
	var out []CommandSpec
	for _, s := range commandTable {
		if s.Kind != 0 {
			out = append(out, s)
		}
	}
	return out
}

// Spec returns k's row of the command table; ok is false for a kind the table
// does not hold.
func (k CommandKind) Spec() (s CommandSpec, ok bool) {
	if k < numCommandKinds && commandTable[k].Kind == k {
		return commandTable[k], true
	}
	return CommandSpec{}, false
}

// String returns k's name in the table ("read-status"), or a number.
func (k CommandKind) String() string {
	if s, ok := k.Spec(); ok {
		return s.Name
	}
	return "command-0x" + strconv.FormatUint(uint64(k), 16)
}

// Command is one input of the core: a value of one of the command types of
// this package (the set is sealed), handed to Step.
type Command interface {
	Kind() CommandKind
	command()
}

// Result is what Step answers, as plain data; which field is set follows the
// command's Response in the table.
type Result struct {
	Status Status      // RespStatus: the pump's state once the command is done
	Bolus  BolusResult // RespBolus
}

// BolusResult answers a patient's activation.
type BolusResult struct {
	Reason Reason      // ReasonNone: the bolus started; otherwise why it was refused
	Volume unit.Volume // the prescription's volume per activation (0: none prescribed)
	Next   unit.Time   // the earliest time another could start, as far as lockout and count allow
}

// Given reports whether the bolus started.
func (b BolusResult) Given() bool { return b.Reason == ReasonNone }

// The commands. Program, Refill and the prescription types are in their own
// files; a command's effect is described at its handler in commands.go.

// Interrogate reads the pump's status and logs the interrogation.
type Interrogate struct{}

// ReadStatus reads the pump's status without logging (what a patient's device
// or a home monitor reads).
type ReadStatus struct{}

// ReadLog asks for the event log from sequence number From on. The core keeps
// its log in Log; the device serves the log it keeps (the core's entries with
// its link records), at most MaxBytes of encoded records per answer (0: as
// much as one message holds).
type ReadLog struct {
	From     uint64
	MaxBytes uint32
}

// Bridge programs a prescription to start once the drug already in tubing and
// catheter has been delivered at the old program's rate (after a refill that
// changed the concentration). Its fields are a Program's.
type Bridge Program

// ClinicianBolus gives Volume over Duration on top of the running program.
type ClinicianBolus struct {
	Volume   unit.Volume
	Duration unit.Duration
}

// PatientActivation is a patient's press of the bolus button (the PTM).
type PatientActivation struct{}

// Prime fills pump tubing and catheter. Volume is the priming volume the
// sender computed: 0 takes the pump's own, any other must equal it (a
// programmer that has another catheter on record is refused).
type Prime struct{ Volume unit.Volume }

// Stop stops all delivery until Resume.
type Stop struct{}

// Resume restarts delivery from now.
type Resume struct{}

// SetMinimumRate switches the prescription to the minimum rate that keeps the
// catheter patent (the core builds it: see minimumRx).
type SetMinimumRate struct{}

// SetClock sets the pump's UTC offset, which places flex steps in the
// patient's day. SenderClock is the sender's own clock (UTC): the pump never
// steps its clock, and the core ignores it; a device may log the difference.
type SetClock struct {
	UTCOffset   unit.Duration
	SenderClock unit.Time
}

// Acknowledge acknowledges one alarm, or every active alarm when Alarm is AlarmNone.
type Acknowledge struct{ Alarm Alarm }

// SilenceTone asks to silence the current tone. A tone is an instant output of
// the core, so there is nothing to cut short: the core accepts it and changes
// nothing (a device with a speaker may stop the sound).
type SilenceTone struct{}

// OpenSession records a telemetry session opening, by Role.
type OpenSession struct{ Role Role }

// CloseSession records the session's end and charges its Radio time.
type CloseSession struct{ Radio unit.Duration }

// Drain records Charge lost outside the core's own accounting, as the battery
// monitor measures it (a fault, or a battery that ages faster than modelled).
type Drain struct{ Charge unit.Charge }

func (Interrogate) Kind() CommandKind       { return CmdInterrogate }
func (ReadStatus) Kind() CommandKind        { return CmdReadStatus }
func (ReadLog) Kind() CommandKind           { return CmdReadLog }
func (Program) Kind() CommandKind           { return CmdProgram }
func (Bridge) Kind() CommandKind            { return CmdBridge }
func (ClinicianBolus) Kind() CommandKind    { return CmdClinicianBolus }
func (PatientActivation) Kind() CommandKind { return CmdPatientActivation }
func (Prime) Kind() CommandKind             { return CmdPrime }
func (Refill) Kind() CommandKind            { return CmdRefill }
func (Stop) Kind() CommandKind              { return CmdStop }
func (Resume) Kind() CommandKind            { return CmdResume }
func (SetMinimumRate) Kind() CommandKind    { return CmdSetMinimumRate }
func (SetClock) Kind() CommandKind          { return CmdSetClock }
func (Acknowledge) Kind() CommandKind       { return CmdAcknowledge }
func (SilenceTone) Kind() CommandKind       { return CmdSilenceTone }
func (OpenSession) Kind() CommandKind       { return CmdOpenSession }
func (CloseSession) Kind() CommandKind      { return CmdCloseSession }
func (Drain) Kind() CommandKind             { return CmdDrain }

func (Interrogate) command()       {}
func (ReadStatus) command()        {}
func (ReadLog) command()           {}
func (Program) command()           {}
func (Bridge) command()            {}
func (ClinicianBolus) command()    {}
func (PatientActivation) command() {}
func (Prime) command()             {}
func (Refill) command()            {}
func (Stop) command()              {}
func (Resume) command()            {}
func (SetMinimumRate) command()    {}
func (SetClock) command()          {}
func (Acknowledge) command()       {}
func (SilenceTone) command()       {}
func (OpenSession) command()       {}
func (CloseSession) command()      {}
func (Drain) command()             {}
