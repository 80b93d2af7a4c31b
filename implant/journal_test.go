package implant

import (
	"bytes"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

func testRecords() []pumpwire.Record {
	return []pumpwire.Record{
		{Seq: 41, At: t0, Kind: pumpwire.RecordKind(pump.EvSessionStart), Reason: pump.RoleClinician, A: 1, Serial: 101, Name: "Dr. A. Ruiz"},
		{Seq: 42, At: t0.Add(3), Kind: pumpwire.RecordKind(pump.EvProgram), A: int64(pump.ModeContinuous), B: 2_000_000},
		{Seq: 43, At: t0.Add(3), Kind: pumpwire.RecordKind(pump.EvAlarmClear), Alarm: pump.PumpStopped},
		{Seq: 44, At: t0.Add(-5), Kind: pumpwire.RecCommand, A: 2, B: 17, Role: pump.RolePatient, Serial: 1 << 60},
		{Seq: 45, At: t0.Add(-4), Kind: pumpwire.RecordKind(pump.EvPatientBolusStart), A: 25_000, B: 600_000, Role: pump.RolePatient, Serial: 1 << 60},
		{Seq: 46, At: t0.Add(unit.Day), Kind: pumpwire.RecRadio, A: -1, B: 9},
	}
}

// TestJournalRecord: a journal record reads back as written, and every byte
// cut or flipped is detected.
func TestJournalRecord(t *testing.T) {
	for _, r := range testRecords() {
		j := appendJournal(nil, &r)
		if got, n, ok := consumeJournal(j); !ok || n != len(j) || got != r {
			t.Fatalf("journal round trip: %v %d %v", got, n, ok)
		}
		for i := range len(j) * 8 {
			c := bytes.Clone(j)
			c[i/8] ^= 1 << (i % 8)
			if got, _, ok := consumeJournal(c); ok && got == r {
				t.Fatalf("bit %d flipped went unnoticed", i)
			}
		}
		for n := range len(j) {
			if _, _, ok := consumeJournal(j[:n]); ok {
				t.Fatalf("cut to %d bytes, read", n)
			}
		}
	}
}

// FuzzJournal: crash-only and canonical.
func FuzzJournal(f *testing.F) {
	rs := testRecords()
	var b []byte
	for i := range rs {
		b = appendJournal(b, &rs[i])
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			r, n, ok := consumeJournal(b)
			if !ok {
				return
			}
			if out := appendJournal(nil, &r); !bytes.Equal(out, b[:n]) {
				t.Fatalf("journal record not canonical")
			}
			b = b[n:]
		}
	})
}
