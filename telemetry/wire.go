package telemetry

import (
	"encoding/binary"
	"unicode/utf8"
)

// Small fixed-width big-endian codecs shared by messages and credentials.
// Decoding is done by a cursor that records the first error and then returns
// zero values, so a decoder reads every field and checks once at the end.

func appendBytes16(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func appendString8(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

type cursor struct {
	b   []byte
	err error
}

func (c *cursor) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.b = nil
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || len(c.b) < n {
		c.fail(ErrTruncated)
		return nil
	}
	p := c.b[:n:n]
	c.b = c.b[n:]
	return p
}

func (c *cursor) u8() uint8 {
	if p := c.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if p := c.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if p := c.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if p := c.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (c *cursor) i64() int64 { return int64(c.u64()) }

// nonNeg reads an int64 that must not be negative (volumes, durations).
func (c *cursor) nonNeg() int64 {
	v := c.i64()
	if v < 0 {
		c.fail(ErrMalformed)
		return 0
	}
	return v
}

func (c *cursor) boolean() bool {
	switch c.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	c.fail(ErrMalformed)
	return false
}

// bytes16 reads a length-prefixed byte string and copies it, so a decoded
// message never aliases a reused frame buffer.
func (c *cursor) bytes16() []byte {
	n := int(c.u16())
	p := c.take(n)
	if p == nil || n == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// string8 reads a length-prefixed string that must be printable UTF-8: these
// strings end up in the pump's event log and on clinicians' screens.
func (c *cursor) string8() string {
	n := int(c.u8())
	p := c.take(n)
	if p == nil {
		return ""
	}
	if !printable(p) {
		c.fail(ErrMalformed)
		return ""
	}
	return string(p)
}

// done fails unless every byte was read: encodings are canonical.
func (c *cursor) done() error {
	if c.err == nil && len(c.b) != 0 {
		c.err = ErrMalformed
	}
	return c.err
}

// printable reports whether p is valid UTF-8 without control characters.
func printable(p []byte) bool {
	if !utf8.Valid(p) {
		return false
	}
	for _, r := range string(p) {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
