package telemetry

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrameCodec(t *testing.T) {
	good, err := AppendFrame(nil, FrameData, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{1, 0x10, 0, 7, 'p', 'a', 'y', 'l', 'o', 'a', 'd'}; !bytes.Equal(good, want) {
		t.Fatalf("AppendFrame = %x, want %x", good, want)
	}
	max := append([]byte{1, 0x10, 0x10, 0x00}, make([]byte, MaxPayload)...)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		n    int
	}{
		{"good", good, nil, len(good)},
		{"good with a following frame", append(append([]byte(nil), good...), good...), nil, len(good)},
		{"empty payload", []byte{1, 0x7f, 0, 0}, nil, 4},
		{"largest", max, nil, MaxFrame},
		{"empty", nil, ErrTruncated, 0},
		{"version 0", []byte{0, 1, 0, 0}, ErrVersion, 0},
		{"version 2 of any length", []byte{2}, ErrVersion, 0},
		{"version 255", []byte{255, 1, 0, 0}, ErrVersion, 0},
		{"short header", []byte{1, 1, 0}, ErrTruncated, 0},
		{"unknown type", []byte{1, 0x20, 0, 0}, ErrFrameType, 0},
		{"type zero", []byte{1, 0, 0, 0}, ErrFrameType, 0},
		{"oversized", []byte{1, 0x10, 0x10, 0x01}, ErrTooLarge, 0},
		{"oversized max", []byte{1, 0x10, 0xff, 0xff}, ErrTooLarge, 0},
		{"short payload", good[:len(good)-1], ErrTruncated, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, payload, n, err := ConsumeFrame(tc.in)
			if !errors.Is(err, tc.want) || n != tc.n {
				t.Fatalf("ConsumeFrame = %d, %v; want %d, %v", n, err, tc.n, tc.want)
			}
			if err == nil && len(payload) > 0 && &payload[0] != &tc.in[HeaderLen] {
				t.Error("payload does not alias the input")
			}
		})
	}
	if _, _, err := ConsumePacket(append(append([]byte(nil), good...), 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte in a packet: %v", err)
	}
	if _, err := AppendFrame(nil, FrameData, make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("AppendFrame oversized: %v", err)
	}
	if _, err := AppendFrame(nil, 0x42, nil); !errors.Is(err, ErrFrameType) {
		t.Errorf("AppendFrame unknown type: %v", err)
	}
}

// The decoder allocates nothing: whatever a frame announces, it is not
// trusted to size a buffer.
func TestConsumeFrameAllocatesNothing(t *testing.T) {
	frames := [][]byte{
		append([]byte{1, 0x10, 0x10, 0x00}, make([]byte, MaxPayload)...),
		{1, 0x10, 0xff, 0xff},
		{9, 9, 9, 9},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			ConsumeFrame(f)
		}
	})
	if allocs != 0 {
		t.Errorf("ConsumeFrame allocates %v times", allocs)
	}
}

// FuzzDecodeFrame checks that decoding never panics, never claims more bytes
// than it was given, and that decode(encode(decode(x))) == decode(x).
func FuzzDecodeFrame(f *testing.F) {
	good, _ := AppendFrame(nil, FrameData, []byte("payload"))
	hello, _ := AppendFrame(nil, FrameHello, make([]byte, 32))
	for _, s := range [][]byte{
		nil, {1}, {2, 0, 0, 0}, {1, 0x10, 0xff, 0xff}, {1, 0x55, 0, 0}, good, hello,
		good[:5], appendAlert(nil, CodeLockedOut), append(good, good...),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, n, err := ConsumeFrame(b)
		if err != nil {
			for _, e := range []error{ErrTruncated, ErrVersion, ErrFrameType, ErrTooLarge} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("untyped error %v", err)
		}
		if n > len(b) || n != HeaderLen+len(payload) || int(h.Length) != len(payload) || len(payload) > MaxPayload {
			t.Fatalf("n=%d len=%d header %+v payload %d", n, len(b), h, len(payload))
		}
		re, err := AppendFrame(nil, h.Type, payload)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoded %x, want %x", re, b[:n])
		}
		h2, p2, n2, err := ConsumeFrame(re)
		if err != nil || h2 != h || !bytes.Equal(p2, payload) || n2 != n {
			t.Fatal("second decode differs")
		}
	})
}

func TestErrorCodes(t *testing.T) {
	seen := map[ErrorCode]bool{}
	for _, c := range codes {
		if seen[c.code] {
			t.Errorf("code %d twice", c.code)
		}
		seen[c.code] = true
		if got := CodeOf(c.err); got != c.code {
			t.Errorf("CodeOf(%v) = %d, want %d", c.err, got, c.code)
		}
		r := &ErrorResponse{Code: c.code}
		if !errors.Is(r, c.err) {
			t.Errorf("response with code %d is not %v", c.code, c.err)
		}
	}
	if !errors.Is(&AlertError{Code: CodeNoContactWake}, ErrForbidden) {
		t.Error("no-contact-wake alert is not ErrForbidden")
	}
	if errors.Is(&ErrorResponse{Code: 999}, ErrForbidden) || !errors.Is(&ErrorResponse{Code: 999}, ErrRemote) {
		t.Error("unknown code")
	}
	for _, e := range []error{ErrUntrusted, ErrSignature, ErrExpired, ErrRevoked, ErrKeyMismatch, ErrRole, ErrWrongPump} {
		if !errors.Is(e, ErrCredential) {
			t.Errorf("%v does not wrap ErrCredential", e)
		}
	}
}
