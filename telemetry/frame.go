package telemetry

import (
	"encoding/binary"
	"fmt"

	"github.com/thecal/thecal/pumpwire"
)

// Version is the only frame version this package speaks.
const Version uint8 = 1

// Frame limits. A frame is a 4-byte header and at most MaxPayload bytes; no
// decoder in this package holds more than one frame of buffer per connection,
// and a message reassembled from several data frames is capped at MaxMessage.
const (
	HeaderLen  = 4
	MaxPayload = 4096
	MaxFrame   = HeaderLen + MaxPayload
	// MaxMessage bounds one command or response after reassembly (four full
	// data frames): pumpwire's bound on a message.
	MaxMessage = pumpwire.MaxMessage
)

// FrameType says what a frame's payload is.
type FrameType uint8

const (
	// FrameHello is Noise XX message 1 (→ e), sent by the peer. Its payload is
	// the peer's ephemeral public key and nothing else.
	FrameHello FrameType = 0x01
	// FrameHandshake is Noise XX message 2 (← e, ee, s, es), sent by the pump;
	// its encrypted payload is the pump's credential.
	FrameHandshake FrameType = 0x02
	// FrameFinish is Noise XX message 3 (→ s, se), sent by the peer; its
	// encrypted payload is the peer's credential.
	FrameFinish FrameType = 0x03
	// FrameData carries one fragment of a command or response, sealed with the
	// session key for its direction; the frame header is the AEAD's associated
	// data and the nonce is the per-direction frame counter.
	FrameData FrameType = 0x10
	// FrameAlert is a cleartext, unauthenticated 2-byte error code sent just
	// before a side closes a connection it will not or cannot authenticate.
	FrameAlert FrameType = 0x7f
)

var frameNames = map[FrameType]string{FrameHello: "hello", FrameHandshake: "handshake", FrameFinish: "finish",
	FrameData: "data", FrameAlert: "alert"}

func (t FrameType) String() string { return nameOf(frameNames, t, "frame-type-0x%02x") }

// Known reports whether t is a frame type of this version.
func (t FrameType) Known() bool {
	_, ok := frameNames[t]
	return ok
}

// Header is the fixed start of every frame: version, type, and the payload
// length as a 2-byte big-endian number.
type Header struct {
	Version uint8
	Type    FrameType
	Length  uint16
}

// AppendHeader appends the 4 header bytes of h to b.
func AppendHeader(b []byte, h Header) []byte {
	return append(b, h.Version, byte(h.Type), byte(h.Length>>8), byte(h.Length))
}

// ConsumeHeader decodes and checks a frame header at the start of b. It
// returns ErrTruncated if b is shorter than a header, ErrVersion for a version
// other than Version, ErrFrameType for an unknown type and ErrTooLarge for a
// length above MaxPayload. The version is checked first, so a future version
// with a different layout is always reported as a version error.
func ConsumeHeader(b []byte) (Header, error) {
	if len(b) < 1 {
		return Header{}, ErrTruncated
	}
	if b[0] != Version {
		return Header{Version: b[0]}, ErrVersion
	}
	if len(b) < HeaderLen {
		return Header{Version: b[0]}, ErrTruncated
	}
	h := Header{Version: b[0], Type: FrameType(b[1]), Length: binary.BigEndian.Uint16(b[2:4])}
	if !h.Type.Known() {
		return h, ErrFrameType
	}
	if int(h.Length) > MaxPayload {
		return h, ErrTooLarge
	}
	return h, nil
}

// ConsumeFrame decodes one frame at the start of b. The payload aliases b;
// nothing is allocated. n is the number of bytes the frame occupies. Errors
// are those of ConsumeHeader, and ErrTruncated if b holds less payload than
// the header announces.
func ConsumeFrame(b []byte) (h Header, payload []byte, n int, err error) {
	h, err = ConsumeHeader(b)
	if err != nil {
		return h, nil, 0, err
	}
	end := HeaderLen + int(h.Length)
	if len(b) < end {
		return h, nil, 0, ErrTruncated
	}
	return h, b[HeaderLen:end:end], end, nil
}

// ConsumePacket decodes a frame that must fill p exactly, as on a datagram
// transport: trailing bytes are ErrMalformed.
func ConsumePacket(p []byte) (Header, []byte, error) {
	h, payload, n, err := ConsumeFrame(p)
	if err != nil {
		return h, nil, err
	}
	if n != len(p) {
		return h, nil, fmt.Errorf("%w: %d bytes after the frame", ErrMalformed, len(p)-n)
	}
	return h, payload, nil
}

// AppendFrame appends a frame of type t carrying payload to b.
func AppendFrame(b []byte, t FrameType, payload []byte) ([]byte, error) {
	if !t.Known() {
		return b, ErrFrameType
	}
	if len(payload) > MaxPayload {
		return b, ErrTooLarge
	}
	b = AppendHeader(b, Header{Version: Version, Type: t, Length: uint16(len(payload))})
	return append(b, payload...), nil
}

// appendAlert appends an alert frame carrying code.
func appendAlert(b []byte, code ErrorCode) []byte {
	b = AppendHeader(b, Header{Version: Version, Type: FrameAlert, Length: 2})
	return binary.BigEndian.AppendUint16(b, uint16(code))
}

// consumeAlert reads an alert payload.
func consumeAlert(payload []byte) (ErrorCode, error) {
	if len(payload) != 2 {
		return 0, fmt.Errorf("%w: alert of %d bytes", ErrMalformed, len(payload))
	}
	return ErrorCode(binary.BigEndian.Uint16(payload)), nil
}
