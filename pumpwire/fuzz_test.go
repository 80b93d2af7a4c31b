package pumpwire

import (
	"bytes"
	"testing"

	"github.com/thecal/thecal/pump"
)

// seeds are the encodings of every command of the table (zero and sample
// values) and of every response.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	var t testing.T
	ms := []Message{Close{}}
	for _, s := range pump.Commands() {
		if s.Roles != pump.ByDevice {
			ms = append(ms, Request{s.Zero})
		}
	}
	for _, c := range samples {
		ms = append(ms, Request{c})
	}
	for _, r := range responses(&t) {
		ms = append(ms, r)
	}
	for _, m := range ms {
		b, err := AppendMessage(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzMessage: no input makes ConsumeMessage panic, and a message that
// decodes re-encodes to the same bytes, which decode to the same message:
// decode(encode(decode(x))) == decode(x).
func FuzzMessage(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	f.Add([]byte{0x7e, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ConsumeMessage(b)
		if err != nil {
			return
		}
		enc, err := AppendMessage(nil, m)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", m, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("not canonical:\n in % x\nout % x", b, enc)
		}
		again, err := ConsumeMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		if enc2, _ := AppendMessage(nil, again); !bytes.Equal(enc2, enc) {
			t.Fatalf("decode(encode(decode(x))) differs: %#v vs %#v", m, again)
		}
	})
}

// FuzzStatus: the status decoder alone, crash-only and round trip.
func FuzzStatus(f *testing.F) {
	for _, b := range seeds(f) {
		if len(b) > 0 && Kind(b[0]) == KindStatus {
			f.Add(b[1:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ConsumeStatus(b)
		if err != nil {
			return
		}
		enc, err := AppendStatus(nil, &s)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("status does not re-encode to its bytes: %v", err)
		}
		if again, err := ConsumeStatus(enc); err != nil || again != s {
			t.Fatalf("decode(encode(decode(x))) differs: %v", err)
		}
	})
}

// FuzzRecords: the event-log record decoder, crash-only and round trip.
func FuzzRecords(f *testing.F) {
	b, err := AppendRecords(nil, testRecords())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{1, byte(pump.EvStop), 0, 0})
	gaps := testRecords()
	gaps[3].Seq, gaps[4].Seq, gaps[5].Seq = 60, 61, 1<<40
	if b, err = AppendRecords(nil, gaps); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ConsumeRecords(b)
		if err != nil {
			return
		}
		enc, err := AppendRecords(nil, rs)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("records do not re-encode to their bytes: %v\n in % x\nout % x", err, b, enc)
		}
		again, err := ConsumeRecords(enc)
		if err != nil || len(again) != len(rs) {
			t.Fatalf("decode(encode(decode(x))) differs: %v", err)
		}
		for i := range rs {
			if again[i] != rs[i] {
				t.Fatalf("record %d differs", i)
			}
			_ = rs[i].Describe(func(uint16) string { return "code" }) // every record says what it is
		}
	})
}
