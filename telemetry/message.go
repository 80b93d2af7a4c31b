package telemetry

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/thecal/thecal/unit"
)

// Kind is a message's type: the first byte of every command, response and
// control message. Requests are below 0x80, responses from 0x80, control
// messages from 0xf0.
type Kind uint8

const (
	KindInterrogate    Kind = 0x01
	KindReadStatus     Kind = 0x02
	KindReadLog        Kind = 0x03
	KindProgram        Kind = 0x04
	KindClinicianBolus Kind = 0x05
	KindPrime          Kind = 0x06
	KindRefill         Kind = 0x07
	KindStop           Kind = 0x08
	KindResume         Kind = 0x09
	KindSetMinimumRate Kind = 0x0a
	KindSetClock       Kind = 0x0b
	KindAcknowledge    Kind = 0x0c
	KindPatientBolus   Kind = 0x0d
	KindSilenceTone    Kind = 0x0e

	KindStatus      Kind = 0x81
	KindLog         Kind = 0x82
	KindAck         Kind = 0x83
	KindBolusResult Kind = 0x84
	KindError       Kind = 0x85

	KindClose Kind = 0xf0
)

var kindNames = map[Kind]string{
	KindInterrogate: "interrogate", KindReadStatus: "read-status", KindReadLog: "read-log",
	KindProgram: "program", KindClinicianBolus: "clinician-bolus", KindPrime: "prime",
	KindRefill: "refill", KindStop: "stop", KindResume: "resume",
	KindSetMinimumRate: "set-minimum-rate", KindSetClock: "set-clock",
	KindAcknowledge: "acknowledge", KindPatientBolus: "patient-bolus",
	KindSilenceTone: "silence-tone", KindStatus: "status", KindLog: "log", KindAck: "ack",
	KindBolusResult: "bolus-result", KindError: "error", KindClose: "close",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind-0x%02x", uint8(k))
}

// IsRequest reports whether k is in the request range.
func (k Kind) IsRequest() bool { return k > 0 && k < 0x80 }

// Message is any command, response or control message of this protocol.
type Message interface {
	Kind() Kind
	appendBody(b []byte) ([]byte, error)
}

// Request is a command sent by a peer to the pump.
type Request interface {
	Message
	isRequest()
}

// Response is the pump's answer to one Request.
type Response interface {
	Message
	isResponse()
}

// AppendMessage appends m's encoding (kind byte, then body) to b.
func AppendMessage(b []byte, m Message) ([]byte, error) {
	start := len(b)
	b = append(b, byte(m.Kind()))
	b, err := m.appendBody(b)
	if err != nil {
		return b[:start], err
	}
	if len(b)-start > MaxMessage {
		return b[:start], fmt.Errorf("%w: %v message of %d bytes", ErrTooLarge, m.Kind(), len(b)-start)
	}
	return b, nil
}

// decoders is the dispatch table of message kinds; a kind missing here decodes
// to Unknown rather than failing, so a newer peer's command is answered with
// ErrUnknownCommand instead of ending the session.
var decoders = map[Kind]func(c *cursor) Message{
	KindInterrogate: func(*cursor) Message { return Interrogate{} },
	KindReadStatus:  func(*cursor) Message { return ReadStatus{} },
	KindReadLog: func(c *cursor) Message {
		return ReadLog{From: c.u64(), MaxBytes: c.u32()}
	},
	KindProgram: func(c *cursor) Message {
		var p Program
		copy(p.ReplacesHash[:], c.take(32))
		p.Prescription = c.bytes16()
		p.Checksum = c.u32()
		return p
	},
	KindClinicianBolus: func(c *cursor) Message {
		return ClinicianBolus{Volume: unit.Volume(c.nonNeg()), Duration: unit.Duration(c.nonNeg())}
	},
	KindPrime: func(c *cursor) Message { return Prime{Volume: unit.Volume(c.nonNeg())} },
	KindRefill: func(c *cursor) Message {
		return Refill{
			Withdrawn:     unit.Volume(c.nonNeg()),
			Added:         unit.Volume(c.nonNeg()),
			Drug:          c.string8(),
			Concentration: unit.Concentration(c.nonNeg()),
		}
	},
	KindStop:           func(*cursor) Message { return Stop{} },
	KindResume:         func(*cursor) Message { return Resume{} },
	KindSetMinimumRate: func(*cursor) Message { return SetMinimumRate{} },
	KindSetClock: func(c *cursor) Message {
		return SetClock{Time: unit.Time(c.i64()), UTCOffset: unit.Duration(c.i64())}
	},
	KindAcknowledge:  func(c *cursor) Message { return Acknowledge{Alarm: c.string8()} },
	KindPatientBolus: func(*cursor) Message { return PatientBolus{} },
	KindSilenceTone:  func(*cursor) Message { return SilenceTone{} },

	KindStatus: func(c *cursor) Message { return &Status{Data: c.bytes16()} },
	KindLog: func(c *cursor) Message {
		return &Log{Next: c.u64(), More: c.boolean(), Entries: c.bytes16()}
	},
	KindAck: func(c *cursor) Message { return &Ack{Seq: c.u64()} },
	KindBolusResult: func(c *cursor) Message {
		return &BolusResult{Given: c.boolean(), Volume: unit.Volume(c.nonNeg()), Next: unit.Time(c.i64()), Reason: c.string8()}
	},
	KindError: func(c *cursor) Message {
		return &ErrorResponse{Code: ErrorCode(c.u16()), Detail: c.string8()}
	},
	KindClose: func(*cursor) Message { return Close{} },
}

// ConsumeMessage decodes one whole message. An unknown kind decodes to
// Unknown; a known kind with a malformed body, or trailing bytes, is an error
// wrapping ErrMalformed or ErrTruncated. Byte fields are copied out of b.
func ConsumeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, ErrTruncated
	}
	if len(b) > MaxMessage {
		return nil, ErrTooLarge
	}
	k := Kind(b[0])
	dec, ok := decoders[k]
	if !ok {
		return Unknown{Type: k, Body: append([]byte(nil), b[1:]...)}, nil
	}
	c := cursor{b: b[1:]}
	m := dec(&c)
	if err := c.done(); err != nil {
		return nil, fmt.Errorf("%w: %v message", err, k)
	}
	return m, nil
}

// Unknown is a message of a kind this version does not know. The pump answers
// an unknown request with ErrUnknownCommand.
type Unknown struct {
	Type Kind
	Body []byte
}

func (u Unknown) Kind() Kind                          { return u.Type }
func (u Unknown) appendBody(b []byte) ([]byte, error) { return append(b, u.Body...), nil }
func (Unknown) isRequest()                            {}
func (Unknown) isResponse()                           {}

// Requests.

// Interrogate asks for the full device status (prescription, reservoir,
// battery, alarms); the answer is a Status.
type Interrogate struct{}

// ReadStatus asks for the short status a patient or monitor may see (delivery
// state, reservoir, alarms, bolus lockout); the answer is a Status.
type ReadStatus struct{}

// ReadLog asks for event-log entries from sequence number From on; the answer
// is a Log of at most MaxBytes bytes of entries (the pump lowers MaxBytes to
// what fits one message; zero means as much as fits).
type ReadLog struct {
	From     uint64
	MaxBytes uint32
}

// Program replaces the running prescription. ReplacesHash is the hash (as the
// device defines it) of the prescription being replaced, Prescription is the
// whole new prescription in the device's encoding, and Checksum is its CRC-32C
// (an end-to-end check of the encoder and decoder; security comes from the
// channel). The device validates, stores, then answers Ack{Seq} with the stored
// prescription's sequence number.
type Program struct {
	ReplacesHash [32]byte
	Prescription []byte
	Checksum     uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewProgram returns a Program with its checksum filled in.
func NewProgram(replaces [32]byte, prescription []byte) Program {
	return Program{ReplacesHash: replaces, Prescription: prescription, Checksum: crc32.Checksum(prescription, castagnoli)}
}

// ChecksumOK reports whether Checksum matches Prescription.
func (p Program) ChecksumOK() bool { return crc32.Checksum(p.Prescription, castagnoli) == p.Checksum }

// ClinicianBolus gives Volume over Duration.
type ClinicianBolus struct {
	Volume   unit.Volume
	Duration unit.Duration
}

// Prime runs a priming bolus of Volume (pump tubing and catheter).
type Prime struct{ Volume unit.Volume }

// Refill records a refill: the volume withdrawn from the reservoir, the volume
// added, and the drug and concentration now in it.
type Refill struct {
	Withdrawn     unit.Volume
	Added         unit.Volume
	Drug          string
	Concentration unit.Concentration
}

// Stop stops delivery.
type Stop struct{}

// Resume resumes the stored prescription after a Stop.
type Resume struct{}

// SetMinimumRate switches to the minimum-rate mode.
type SetMinimumRate struct{}

// SetClock sets the pump clock to Time (UTC) and its UTC offset, the offset
// that places flex doses in the patient's day.
type SetClock struct {
	Time      unit.Time
	UTCOffset unit.Duration
}

// Acknowledge acknowledges the named alarm.
type Acknowledge struct{ Alarm string }

// PatientBolus asks for one patient-activated bolus; the answer is a
// BolusResult.
type PatientBolus struct{}

// SilenceTone silences the current alarm tone.
type SilenceTone struct{}

func (Interrogate) Kind() Kind    { return KindInterrogate }
func (ReadStatus) Kind() Kind     { return KindReadStatus }
func (ReadLog) Kind() Kind        { return KindReadLog }
func (Program) Kind() Kind        { return KindProgram }
func (ClinicianBolus) Kind() Kind { return KindClinicianBolus }
func (Prime) Kind() Kind          { return KindPrime }
func (Refill) Kind() Kind         { return KindRefill }
func (Stop) Kind() Kind           { return KindStop }
func (Resume) Kind() Kind         { return KindResume }
func (SetMinimumRate) Kind() Kind { return KindSetMinimumRate }
func (SetClock) Kind() Kind       { return KindSetClock }
func (Acknowledge) Kind() Kind    { return KindAcknowledge }
func (PatientBolus) Kind() Kind   { return KindPatientBolus }
func (SilenceTone) Kind() Kind    { return KindSilenceTone }

func (Interrogate) isRequest()    {}
func (ReadStatus) isRequest()     {}
func (ReadLog) isRequest()        {}
func (Program) isRequest()        {}
func (ClinicianBolus) isRequest() {}
func (Prime) isRequest()          {}
func (Refill) isRequest()         {}
func (Stop) isRequest()           {}
func (Resume) isRequest()         {}
func (SetMinimumRate) isRequest() {}
func (SetClock) isRequest()       {}
func (Acknowledge) isRequest()    {}
func (PatientBolus) isRequest()   {}
func (SilenceTone) isRequest()    {}

func (Interrogate) appendBody(b []byte) ([]byte, error)    { return b, nil }
func (ReadStatus) appendBody(b []byte) ([]byte, error)     { return b, nil }
func (Stop) appendBody(b []byte) ([]byte, error)           { return b, nil }
func (Resume) appendBody(b []byte) ([]byte, error)         { return b, nil }
func (SetMinimumRate) appendBody(b []byte) ([]byte, error) { return b, nil }
func (PatientBolus) appendBody(b []byte) ([]byte, error)   { return b, nil }
func (SilenceTone) appendBody(b []byte) ([]byte, error)    { return b, nil }

func (r ReadLog) appendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, r.From)
	return binary.BigEndian.AppendUint32(b, r.MaxBytes), nil
}

func (p Program) appendBody(b []byte) ([]byte, error) {
	b = append(b, p.ReplacesHash[:]...)
	if err := checkBytes(p.Prescription); err != nil {
		return b, err
	}
	b = appendBytes16(b, p.Prescription)
	return binary.BigEndian.AppendUint32(b, p.Checksum), nil
}

func (r ClinicianBolus) appendBody(b []byte) ([]byte, error) {
	if r.Volume < 0 || r.Duration < 0 {
		return b, fmt.Errorf("%w: negative bolus", ErrMalformed)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.Volume))
	return binary.BigEndian.AppendUint64(b, uint64(r.Duration)), nil
}

func (r Prime) appendBody(b []byte) ([]byte, error) {
	if r.Volume < 0 {
		return b, fmt.Errorf("%w: negative priming volume", ErrMalformed)
	}
	return binary.BigEndian.AppendUint64(b, uint64(r.Volume)), nil
}

func (r Refill) appendBody(b []byte) ([]byte, error) {
	if r.Withdrawn < 0 || r.Added < 0 || r.Concentration < 0 {
		return b, fmt.Errorf("%w: negative refill quantity", ErrMalformed)
	}
	if err := checkString(r.Drug); err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.Withdrawn))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Added))
	b = appendString8(b, r.Drug)
	return binary.BigEndian.AppendUint64(b, uint64(r.Concentration)), nil
}

func (r SetClock) appendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time))
	return binary.BigEndian.AppendUint64(b, uint64(r.UTCOffset)), nil
}

func (r Acknowledge) appendBody(b []byte) ([]byte, error) {
	if err := checkString(r.Alarm); err != nil {
		return b, err
	}
	return appendString8(b, r.Alarm), nil
}

// Responses.

// Status carries the device's status in the device's own encoding.
type Status struct{ Data []byte }

// Log carries event-log entries in the device's encoding. Next is the sequence
// number to ask for next; More says entries remain after Next.
type Log struct {
	Next    uint64
	More    bool
	Entries []byte
}

// Ack confirms a state-changing command; Seq is the device's sequence number
// for it (for Program, the stored prescription's sequence number).
type Ack struct{ Seq uint64 }

// BolusResult answers a PatientBolus: whether it was given, its volume, when
// the next one is possible, and why not if it was refused.
type BolusResult struct {
	Given  bool
	Volume unit.Volume
	Next   unit.Time
	Reason string
}

func (*Status) Kind() Kind        { return KindStatus }
func (*Log) Kind() Kind           { return KindLog }
func (*Ack) Kind() Kind           { return KindAck }
func (*BolusResult) Kind() Kind   { return KindBolusResult }
func (*ErrorResponse) Kind() Kind { return KindError }

func (*Status) isResponse()        {}
func (*Log) isResponse()           {}
func (*Ack) isResponse()           {}
func (*BolusResult) isResponse()   {}
func (*ErrorResponse) isResponse() {}

func (r *Status) appendBody(b []byte) ([]byte, error) {
	if err := checkBytes(r.Data); err != nil {
		return b, err
	}
	return appendBytes16(b, r.Data), nil
}

func (r *Log) appendBody(b []byte) ([]byte, error) {
	if err := checkBytes(r.Entries); err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint64(b, r.Next)
	b = appendBool(b, r.More)
	return appendBytes16(b, r.Entries), nil
}

func (r *Ack) appendBody(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint64(b, r.Seq), nil
}

func (r *BolusResult) appendBody(b []byte) ([]byte, error) {
	if r.Volume < 0 {
		return b, fmt.Errorf("%w: negative bolus", ErrMalformed)
	}
	if err := checkString(r.Reason); err != nil {
		return b, err
	}
	b = appendBool(b, r.Given)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Volume))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Next))
	return appendString8(b, r.Reason), nil
}

func (r *ErrorResponse) appendBody(b []byte) ([]byte, error) {
	if err := checkString(r.Detail); err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint16(b, uint16(r.Code))
	return appendString8(b, r.Detail), nil
}

// Close ends a session cleanly, in either direction.
type Close struct{}

func (Close) Kind() Kind                          { return KindClose }
func (Close) appendBody(b []byte) ([]byte, error) { return b, nil }

// logOverhead is the encoded size of a Log message without its entries.
const logOverhead = 1 + 8 + 1 + 2

// MaxLogEntries is the most entry bytes one Log response can carry.
const MaxLogEntries = MaxMessage - logOverhead

func checkBytes(p []byte) error {
	if len(p) > MaxMessage {
		return fmt.Errorf("%w: %d-byte field", ErrTooLarge, len(p))
	}
	return nil
}

func checkString(s string) error {
	if len(s) > 255 {
		return fmt.Errorf("%w: string of %d bytes", ErrTooLarge, len(s))
	}
	if !printable([]byte(s)) {
		return fmt.Errorf("%w: string not printable UTF-8", ErrMalformed)
	}
	return nil
}
