package pumpwire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/thecal/thecal/pump"
)

// ErrTruncated is wrapped by a decoding error where the input ends too soon.
var ErrTruncated = errors.New("pumpwire: truncated")

// ErrMalformed is wrapped by every other decoding or encoding error.
var ErrMalformed = errors.New("pumpwire: malformed")

// ErrTooLarge is wrapped by an error about a message or field over its bound.
var ErrTooLarge = errors.New("pumpwire: too large")

// Cursor reads a link encoding from the front of a byte slice, in the
// Consume… style of golang.org/x/net's quicwire: fixed-width fields are
// big-endian, byte strings carry their length before them, strings must be
// printable text, and only canonical forms are accepted. The first failure
// sticks, and every later read returns a zero value, so a decoder reads all
// its fields and checks once (Err, or Done for a whole message). It never
// panics and never allocates more than its input, whatever the input.
//
// It is the link's one cursor: the messages, the status, the event-log
// records and the telemetry credentials are all read with it.
type Cursor struct {
	b   []byte
	err error
}

// NewCursor returns a cursor at the start of b.
func NewCursor(b []byte) *Cursor { return &Cursor{b: b} }

// Fail records err (wrapped in ErrMalformed unless it wraps ErrTruncated or
// ErrMalformed already), if no failure came before it.
func (c *Cursor) Fail(format string, args ...any) {
	if c.err != nil {
		return
	}
	err := fmt.Errorf(format, args...)
	if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c.err, c.b = err, nil
}

// Err returns the first failure, or nil.
func (c *Cursor) Err() error { return c.err }

// Len returns how many bytes are left.
func (c *Cursor) Len() int { return len(c.b) }

// Done returns the first failure, or a failure if any byte is left unread:
// an encoding is read whole or not at all.
func (c *Cursor) Done() error {
	if c.err == nil && len(c.b) != 0 {
		c.Fail("%d bytes after the end", len(c.b))
	}
	return c.err
}

// Take returns the next n bytes, aliasing the input (nil after a failure).
func (c *Cursor) Take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || len(c.b) < n {
		c.Fail("%w: %d bytes wanted, %d left", ErrTruncated, n, len(c.b))
		return nil
	}
	p := c.b[:n:n]
	c.b = c.b[n:]
	return p
}

// fixed reads an n-byte big-endian number.
func (c *Cursor) fixed(n int) uint64 {
	var v uint64
	for _, x := range c.Take(n) {
		v = v<<8 | uint64(x)
	}
	return v
}

func (c *Cursor) U8() uint8   { return uint8(c.fixed(1)) }
func (c *Cursor) U16() uint16 { return uint16(c.fixed(2)) }
func (c *Cursor) U32() uint32 { return uint32(c.fixed(4)) }
func (c *Cursor) U64() uint64 { return c.fixed(8) }
func (c *Cursor) I64() int64  { return int64(c.fixed(8)) }

// NonNeg reads an int64 that must not be negative (volumes, durations,
// concentrations).
func (c *Cursor) NonNeg() int64 {
	v := c.I64()
	if v < 0 {
		c.Fail("a negative quantity")
		return 0
	}
	return v
}

// Bool reads a byte that must be 0 or 1.
func (c *Cursor) Bool() bool {
	switch v := c.U8(); v {
	case 0, 1:
		return v == 1
	default:
		c.Fail("a boolean of %d", v)
		return false
	}
}

// Bytes16 reads a byte string with a 2-byte length and copies it, so that
// what was decoded never aliases a reused buffer (nil for an empty string).
func (c *Cursor) Bytes16() []byte {
	p := c.Take(int(c.U16()))
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// String8 reads a string with a 1-byte length, at most max bytes, that must
// be printable text (pump.Printable): strings end up in logs and on screens.
func (c *Cursor) String8(max int) string {
	n := int(c.U8())
	if n > max {
		c.Fail("a string of %d bytes (at most %d)", n, max)
		return ""
	}
	p := c.Take(n)
	if s := string(p); pump.Printable(s) {
		return s
	}
	c.Fail("a string that is not printable text")
	return ""
}

// Uvarint reads an unsigned varint in its shortest form.
func (c *Cursor) Uvarint() uint64 {
	if c.err != nil {
		return 0
	}
	v, n := binary.Uvarint(c.b)
	shortest := 1
	for x := v; x >= 0x80; x >>= 7 {
		shortest++
	}
	if n <= 0 || n != shortest {
		c.Fail("a varint that is cut short or not in its shortest form")
		return 0
	}
	c.b = c.b[n:]
	return v
}

// Varint reads a signed (zigzag) varint in its shortest form.
func (c *Cursor) Varint() int64 {
	u := c.Uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// Writing. Append… functions append one field; they are the inverses of the
// Cursor's reads, and refuse (ErrMalformed) what the reads would refuse.

func appendBytes16(b, p []byte) ([]byte, error) {
	if len(p) > 0xffff {
		return b, fmt.Errorf("%w: a byte string of %d bytes", ErrTooLarge, len(p))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...), nil
}

// AppendString8 appends s with a 1-byte length, the inverse of
// Cursor.String8: s must be printable text of at most max bytes.
func AppendString8(b []byte, s string, max int) ([]byte, error) {
	if len(s) > max || !pump.Printable(s) {
		return b, fmt.Errorf("%w: a string must be printable text of at most %d bytes", ErrMalformed, max)
	}
	b = append(b, byte(len(s)))
	return append(b, s...), nil
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendNonNeg appends quantities that must not be negative.
func appendNonNeg(b []byte, vs ...int64) ([]byte, error) {
	for _, v := range vs {
		if v < 0 {
			return b, fmt.Errorf("%w: a negative quantity", ErrMalformed)
		}
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return b, nil
}
