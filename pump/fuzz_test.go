package pump

import (
	"crypto/sha256"
	"testing"

	"github.com/thecal/thecal/unit"
)

// FuzzRestore feeds arbitrary persistent-memory images to Restore: it never
// panics, and whatever it restores is a pump in a safe state — a valid
// prescription and a coherent state, or MEMORY_ERROR and stopped.
func FuzzRestore(f *testing.F) {
	// Seeds: real images of a programmed pump, and damaged copies.
	r := filled(f, defaultConfig(), ml(20))
	rx := continuous(halfMLPerDay, ml(0.7))
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}
	r.program(t0, rx)
	r.must(r.at(unit.Hour), func(now unit.Time) error { _, err := r.p.PatientBolus(now); return err })
	r.run(r.at(3 * unit.Hour))
	f.Add(r.nvm[:])
	f.Add(r.nvm[:ImageSize/2])
	f.Add([]byte{})
	bad := r.nvm
	bad[stBase+20] ^= 1
	f.Add(bad[:])
	f.Fuzz(func(t *testing.T, img []byte) {
		p, err := Restore(defaultConfig(), img, NewLog(), t0.Add(unit.Day))
		if err != nil {
			t.Fatal(err)
		}
		st := p.Status()
		if st.Alarms.Has(MemoryError) {
			if st.Delivering {
				t.Fatal("delivering with MEMORY_ERROR")
			}
			return
		}
		if st.HasRx {
			if err := st.Rx.Validate(TP20); err != nil {
				t.Fatalf("restored an invalid prescription: %v", err)
			}
		}
		if st.Battery < 0 || st.Battery > BatteryCapacity && st.Battery != defaultConfig().Battery {
			t.Fatalf("battery %s", st.Battery)
		}
		// It runs: a day of ticks neither panics nor spins.
		for range 100000 {
			a := p.Tick(t0.Add(2 * unit.Day))
			if a.Kind == ActNone {
				return
			}
			if a.Kind == ActStroke {
				p.StrokeDone(StrokeResult{Completed: true})
			} else {
				p.LevelRead(p.Reservoir())
			}
		}
		t.Fatal("more than 100000 actions in a day")
	})
}

// FuzzDecodeRecords fuzzes the record decoders behind the CRC: a record that
// decodes re-encodes to a record that decodes to the same value.
func FuzzDecodeRecords(f *testing.F) {
	rx := flexRx(true, FlexStep{At: 8 * unit.Hour, Rate: 500_000, Days: 0b0111110}, FlexStep{At: 20 * unit.Hour, Rate: 300_000, Days: AllDays})
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}
	f.Add(appendRx(nil, &rx))
	p := newCore(defaultConfig(), t0, NewLog())
	p.pbN, p.fillDrug = 3, "baclofen"
	f.Add(p.appendState(nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if rx, n, err := ConsumePrescription(b); err == nil {
			_ = rx.Validate(TP40) // must not panic
			enc, err := AppendPrescription(nil, &rx)
			if err != nil || string(enc) != string(b[:n]) {
				t.Fatalf("prescription does not re-encode to its bytes: %v\n% x\n% x", err, b[:n], enc)
			}
			if HashOf(&rx) != sha256.Sum256(b[:n]) {
				t.Fatal("the hash is not over the decoded bytes")
			}
		}
		if _, ok := decodeState(b); ok && len(b) > 4096 {
			t.Fatal("decoded a state record larger than the image")
		}
	})
}
