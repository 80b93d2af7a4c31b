// Package pumpwire owns every byte on the pump's telemetry link above the
// secure channel: the message kinds and their bodies (every command of the
// pump's command table, and the responses: status, log, acknowledgement,
// bolus result, error), the status encoding, the event-log record encoding,
// and the link's one byte cursor. Its requests are the pump core's own
// commands (pump.Command), and a prescription travels as the core's own
// record of it (pump.AppendPrescription), so what a programmer reviewed, what
// the pump stored and what it hashes are the same bytes.
//
// Package telemetry carries these messages over the authenticated channel and
// checks roles; the device (package implant) answers them; the clients
// (programmer, ptm, peer) send them. None of them encodes a byte of its own.
//
// Encoding is canonical and decoding never panics (fuzzed: decoding an
// encoding and encoding it again gives back the same bytes). Fixed-width
// fields are big-endian, in the Append…/Consume… style of golang.org/x/net's
// quicwire; the prescription inside is the core's little-endian record, byte
// for byte. docs/telemetry.md lists the messages.
package pumpwire

import (
	"fmt"

	"github.com/thecal/thecal/pump"
)

// MaxMessage bounds one message (a command or a response), as the telemetry
// channel reassembles it.
const MaxMessage = 16 * 1024

// Kind is a message's type: its first byte. A request's kind is its command's
// (pump.CommandKind, below 0x80); responses are from 0x81, control messages
// from 0xf0.
type Kind uint8

// The responses and control messages.
const (
	KindStatus Kind = 0x81 + iota // 0x81, and so on
	KindLog
	KindAck
	KindBolusResult
	KindError
	KindClose Kind = 0xf0
)

var kindNames = map[Kind]string{KindStatus: "status", KindLog: "log", KindAck: "ack",
	KindBolusResult: "bolus-result", KindError: "error", KindClose: "close"}

func (k Kind) String() string {
	if s, ok := linkCommand(k); ok {
		return s.Name
	}
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind-0x%02x", uint8(k))
}

// IsRequest reports whether k is in the request range.
func (k Kind) IsRequest() bool { return k > 0 && k < 0x80 }

// Command returns the pump command kind of a request kind.
func (k Kind) Command() (pump.CommandKind, bool) {
	s, ok := linkCommand(k)
	return s.Kind, ok
}

// linkCommand returns the command table's row for a request kind that travels
// over the link: the device's own commands have no wire form.
func linkCommand(k Kind) (pump.CommandSpec, bool) {
	if !k.IsRequest() {
		return pump.CommandSpec{}, false
	}
	s, ok := pump.CommandKind(k).Spec()
	return s, ok && s.Roles != pump.ByDevice
}

// responseKinds maps the command table's Response column to the message that
// answers.
var responseKinds = [...]Kind{pump.RespAck: KindAck, pump.RespStatus: KindStatus, pump.RespLog: KindLog,
	pump.RespBolus: KindBolusResult}

// ResponseKind returns the kind of message that answers a command of kind k
// (besides an Error), from the command table; 0 for a kind that is not a link
// command.
func ResponseKind(k pump.CommandKind) Kind {
	s, ok := linkCommand(Kind(k))
	if !ok || int(s.Response) >= len(responseKinds) {
		return 0
	}
	return responseKinds[s.Response]
}

// Message is any message of the link: a Request, a response, Close or Unknown.
type Message interface {
	Kind() Kind
	appendBody(b []byte) ([]byte, error)
}

// Response is the pump's answer to one request.
type Response interface {
	Message
	response()
}

// AppendMessage appends m's encoding (kind byte, then body) to b. On error b
// is returned unchanged.
func AppendMessage(b []byte, m Message) ([]byte, error) {
	start := len(b)
	b = append(b, byte(m.Kind()))
	b, err := m.appendBody(b)
	if err != nil {
		return b[:start], fmt.Errorf("%v message: %w", m.Kind(), err)
	}
	if len(b)-start > MaxMessage {
		return b[:start], fmt.Errorf("%w: %v message of %d bytes (at most %d)", ErrTooLarge, m.Kind(), len(b)-start, MaxMessage)
	}
	return b, nil
}

// ConsumeMessage decodes one whole message. A kind this version does not
// know (or a device command, which has no wire form) decodes to Unknown, so
// that a newer peer's command can be answered instead of ending the session;
// a known kind with a malformed body, or bytes after it, is an error wrapping
// ErrMalformed or ErrTruncated, and a message over MaxMessage ErrTooLarge. Byte fields are copied out of b.
func ConsumeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: an empty message", ErrTruncated)
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: a message of %d bytes (at most %d)", ErrTooLarge, len(b), MaxMessage)
	}
	k := Kind(b[0])
	c := NewCursor(b[1:])
	var m Message
	if s, ok := linkCommand(k); ok {
		m = Request{consumeCommand(c, s.Kind)}
	} else if dec, ok := responseDecoders[k]; ok {
		m = dec(c)
	} else {
		return Unknown{Type: k, Body: append([]byte(nil), b[1:]...)}, nil
	}
	if err := c.Done(); err != nil {
		return nil, fmt.Errorf("%v message: %w", k, err)
	}
	return m, nil
}

// Request is a command on its way to the pump.
type Request struct{ Command pump.Command }

func (r Request) Kind() Kind {
	if r.Command == nil {
		return 0
	}
	return Kind(r.Command.Kind())
}

func (r Request) appendBody(b []byte) ([]byte, error) { return appendCommand(b, r.Command) }

// Close ends a session cleanly, in either direction.
type Close struct{}

func (Close) Kind() Kind                          { return KindClose }
func (Close) appendBody(b []byte) ([]byte, error) { return b, nil }

// Unknown is a message of a kind this version does not know. The pump
// answers an unknown request with an error (telemetry.ErrUnknownCommand).
type Unknown struct {
	Type Kind
	Body []byte
}

func (u Unknown) Kind() Kind                          { return u.Type }
func (u Unknown) appendBody(b []byte) ([]byte, error) { return append(b, u.Body...), nil }
func (Unknown) response()                             {}
