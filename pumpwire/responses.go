package pumpwire

import (
	"encoding/binary"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// responseDecoders reads the body of each response kind.
var responseDecoders = map[Kind]func(c *Cursor) Message{
	KindStatus: func(c *Cursor) Message { s := consumeStatus(c); return &s },
	KindLog: func(c *Cursor) Message {
		return &Log{Next: c.U64(), More: c.Bool(), Entries: c.Bytes16()}
	},
	KindAck: func(c *Cursor) Message { return &Ack{Seq: c.U64()} },
	KindBolusResult: func(c *Cursor) Message {
		r := pump.Reason(c.U8())
		if !r.Known() {
			c.Fail("reason %d", r)
		}
		return &BolusResult{pump.BolusResult{Reason: r, Volume: unit.Volume(c.NonNeg()), Next: unit.Time(c.I64())}}
	},
	KindError: func(c *Cursor) Message { return &Error{Code: c.U16(), Detail: c.String8(MaxDetail)} },
	KindClose: func(*Cursor) Message { return Close{} },
}

// Log carries event-log records (AppendRecords). Next is the sequence number
// to ask for next; More says records remain after Next.
type Log struct {
	Next    uint64
	More    bool
	Entries []byte
}

// LogOverhead is the encoded size of a Log message without its entries.
const LogOverhead = 1 + 8 + 1 + 2

// MaxLogEntries is the most entry bytes one Log message can carry.
const MaxLogEntries = MaxMessage - LogOverhead

// Ack confirms a command; Seq is the sequence number of the event-log record
// it wrote (for a program, the record of the stored prescription).
type Ack struct{ Seq uint64 }

// BolusResult answers a patient's activation.
type BolusResult struct{ pump.BolusResult }

// MaxDetail bounds an Error's detail.
const MaxDetail = 255

// Error answers a request that was refused or failed. Code is the link's
// number for the refusal (its meaning, and the error it stands for, are
// package telemetry's: telemetry.ErrorCode); Detail says why, for people, and
// never carries a secret.
type Error struct {
	Code   uint16
	Detail string
}

func (*Status) Kind() Kind      { return KindStatus }
func (*Log) Kind() Kind         { return KindLog }
func (*Ack) Kind() Kind         { return KindAck }
func (*BolusResult) Kind() Kind { return KindBolusResult }
func (*Error) Kind() Kind       { return KindError }

func (*Status) response()      {}
func (*Log) response()         {}
func (*Ack) response()         {}
func (*BolusResult) response() {}
func (*Error) response()       {}

func (s *Status) appendBody(b []byte) ([]byte, error) { return AppendStatus(b, s) }

func (r *Log) appendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, r.Next)
	return appendBytes16(appendBool(b, r.More), r.Entries)
}

func (r *Ack) appendBody(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint64(b, r.Seq), nil
}

func (r *BolusResult) appendBody(b []byte) ([]byte, error) {
	if !r.Reason.Known() {
		return b, fmt.Errorf("%w: reason %d", ErrMalformed, r.Reason)
	}
	b, err := appendNonNeg(append(b, byte(r.Reason)), int64(r.Volume))
	return binary.BigEndian.AppendUint64(b, uint64(r.Next)), err
}

func (r *Error) appendBody(b []byte) ([]byte, error) {
	return AppendString8(binary.BigEndian.AppendUint16(b, r.Code), r.Detail, MaxDetail)
}
