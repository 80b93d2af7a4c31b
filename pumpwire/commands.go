package pumpwire

import (
	"encoding/binary"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// body is the wire form of one command kind: how its body is written and
// read. Both directions sit side by side, one entry per command of the pump's
// command table that travels over the link (TestEveryLinkCommandHasABody).
type body struct {
	append  func(b []byte, c pump.Command) ([]byte, error)
	consume func(c *Cursor) pump.Command
}

// empty is the body of a command without fields.
func empty(zero pump.Command) body {
	return body{
		append:  func(b []byte, _ pump.Command) ([]byte, error) { return b, nil },
		consume: func(*Cursor) pump.Command { return zero },
	}
}

// bodies is the table of command bodies, by command kind:
//
//	interrogate, read-status, stop, resume, set-minimum-rate, patient-bolus,
//	silence-tone: no body
//	read-log          from u64 | max bytes u32
//	program, bridge   replaces hash [32] | prescription (the core's record) | checksum u32
//	clinician-bolus   volume nL | duration ms
//	prime             volume nL (0: the pump's own)
//	refill            withdrawn nL | added nL | drug string8 | concentration ng/mL
//	set-clock         sender's clock (ms since the epoch, UTC) | UTC offset ms
//	acknowledge       alarm u8 (0: every active alarm)
//
// Quantities are 8-byte big-endian and must not be negative.
var bodies = map[pump.CommandKind]body{
	pump.CmdInterrogate:       empty(pump.Interrogate{}),
	pump.CmdReadStatus:        empty(pump.ReadStatus{}),
	pump.CmdStop:              empty(pump.Stop{}),
	pump.CmdResume:            empty(pump.Resume{}),
	pump.CmdSetMinimumRate:    empty(pump.SetMinimumRate{}),
	pump.CmdPatientActivation: empty(pump.PatientActivation{}),
	pump.CmdSilenceTone:       empty(pump.SilenceTone{}),
	pump.CmdReadLog: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			r := c.(pump.ReadLog)
			return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(b, r.From), r.MaxBytes), nil
		},
		consume: func(c *Cursor) pump.Command { return pump.ReadLog{From: c.U64(), MaxBytes: c.U32()} },
	},
	pump.CmdProgram: {
		append:  func(b []byte, c pump.Command) ([]byte, error) { p := c.(pump.Program); return appendProgram(b, &p) },
		consume: func(c *Cursor) pump.Command { return consumeProgram(c) },
	},
	pump.CmdBridge: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			p := pump.Program(c.(pump.Bridge))
			return appendProgram(b, &p)
		},
		consume: func(c *Cursor) pump.Command { return pump.Bridge(consumeProgram(c)) },
	},
	pump.CmdClinicianBolus: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			r := c.(pump.ClinicianBolus)
			return appendNonNeg(b, int64(r.Volume), int64(r.Duration))
		},
		consume: func(c *Cursor) pump.Command {
			return pump.ClinicianBolus{Volume: unit.Volume(c.NonNeg()), Duration: unit.Duration(c.NonNeg())}
		},
	},
	pump.CmdPrime: {
		append:  func(b []byte, c pump.Command) ([]byte, error) { return appendNonNeg(b, int64(c.(pump.Prime).Volume)) },
		consume: func(c *Cursor) pump.Command { return pump.Prime{Volume: unit.Volume(c.NonNeg())} },
	},
	pump.CmdRefill: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			r := c.(pump.Refill)
			b, err := appendNonNeg(b, int64(r.Withdrawn), int64(r.Added))
			if err == nil {
				b, err = AppendString8(b, r.Drug, pump.MaxDrugName)
			}
			if err == nil {
				b, err = appendNonNeg(b, int64(r.Concentration))
			}
			return b, err
		},
		consume: func(c *Cursor) pump.Command {
			return pump.Refill{Withdrawn: unit.Volume(c.NonNeg()), Added: unit.Volume(c.NonNeg()),
				Drug: c.String8(pump.MaxDrugName), Concentration: unit.Concentration(c.NonNeg())}
		},
	},
	pump.CmdSetClock: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			r := c.(pump.SetClock)
			return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, uint64(r.SenderClock)), uint64(r.UTCOffset)), nil
		},
		consume: func(c *Cursor) pump.Command {
			return pump.SetClock{SenderClock: unit.Time(c.I64()), UTCOffset: unit.Duration(c.I64())}
		},
	},
	pump.CmdAcknowledge: {
		append: func(b []byte, c pump.Command) ([]byte, error) {
			a := c.(pump.Acknowledge).Alarm
			if a != pump.AlarmNone && !a.Known() {
				return b, fmt.Errorf("%w: alarm %d", ErrMalformed, a)
			}
			return append(b, byte(a)), nil
		},
		consume: func(c *Cursor) pump.Command {
			a := pump.Alarm(c.U8())
			if a != pump.AlarmNone && !a.Known() {
				c.Fail("alarm %d", a)
			}
			return pump.Acknowledge{Alarm: a}
		},
	},
}

// appendCommand appends the body of c.
func appendCommand(b []byte, c pump.Command) ([]byte, error) {
	if c == nil {
		return b, fmt.Errorf("%w: no command", ErrMalformed)
	}
	bd, ok := bodies[c.Kind()]
	if _, link := linkCommand(Kind(c.Kind())); !ok || !link {
		return b, fmt.Errorf("%w: %v does not travel over the link", ErrMalformed, c.Kind())
	}
	return bd.append(b, c)
}

// consumeCommand reads the body of a command of kind k. A kind of the table
// without a body is a failure, not a panic.
func consumeCommand(c *Cursor, k pump.CommandKind) pump.Command {
	bd, ok := bodies[k]
	if !ok {
		c.Fail("no wire form for %v", k)
		return nil
	}
	return bd.consume(c)
}

// appendProgram appends a program's body: the hash it replaces, the
// prescription in the core's own encoding, and the checksum the sender
// computed (pump.Checksum). The pump core checks that checksum against the
// prescription as it decoded it: an end-to-end check of both ends' codecs.
func appendProgram(b []byte, p *pump.Program) ([]byte, error) {
	b = append(b, p.Replaces[:]...)
	b, err := pump.AppendPrescription(b, &p.Rx)
	if err != nil {
		return b, err
	}
	return binary.BigEndian.AppendUint32(b, p.Checksum), nil
}

func consumeProgram(c *Cursor) pump.Program {
	var p pump.Program
	copy(p.Replaces[:], c.Take(len(p.Replaces)))
	p.Rx = consumePrescription(c)
	p.Checksum = c.U32()
	return p
}

// consumePrescription reads a prescription in the core's own encoding.
func consumePrescription(c *Cursor) pump.Prescription {
	if c.Err() != nil {
		return pump.Prescription{}
	}
	rx, n, err := pump.ConsumePrescription(c.b)
	if err != nil {
		c.Fail("prescription: %w", err)
		return pump.Prescription{}
	}
	c.Take(n)
	return rx
}
