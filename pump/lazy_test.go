package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

// TestLazyRecordsKeepLongerTails: patient boluses leave the last 24 h one by
// one, so each state record is shorter than the one before in its slot, and
// the image keeps the tails of the longer ones. A core whose image is read
// only at the end (records kept unencoded, more of them than it holds, then
// encoded in order) leaves the image byte for byte as one read after every
// step, over a week of coasting with boluses every few hours.
func TestLazyRecordsKeepLongerTails(t *testing.T) {
	rx := continuous(halfMLPerDay, ml(2))
	rx.PatientBolus = PatientBolus{Volume: ml(0.002), Duration: unit.Minute, Lockout: unit.Hour, MaxPer24h: 48}
	var cores [2]*Pump
	for i := range cores {
		p, err := New(defaultConfig(), t0, NewLog())
		if err != nil {
			t.Fatal(err)
		}
		p.Refill(t0, Refill{Added: ml(20), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
		p.Program(t0, NewProgram(rx, p.Status().RxHash))
		cores[i] = p
	}
	eager, lazy := cores[0], cores[1]
	drive := func(p *Pump, until unit.Time, read bool) {
		for {
			p.Coast(until, nil)
			a := p.Tick(until)
			if read {
				p.Image()
			}
			switch a.Kind {
			case ActNone:
				return
			case ActStroke:
				p.StrokeDone(StrokeResult{Completed: true})
			}
		}
	}
	now := t0
	deep := 0
	for day := range 7 {
		for k := range 8 - day { // fewer boluses each day: records shrink
			now = now.Add(unit.Duration(3*k+1) * unit.Hour / 2)
			for i, p := range cores {
				drive(p, now, i == 0)
				if _, err := p.PatientBolus(now); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					p.Image()
				}
			}
			deep = max(deep, lazy.nPending[0], lazy.nPending[1])
		}
		now = now.Add(20 * unit.Hour)
		drive(eager, now, true)
		drive(lazy, now, false)
		deep = max(deep, lazy.nPending[0], lazy.nPending[1])
	}
	if deep < pendingDepth {
		t.Fatalf("at most %d records waited in a slot: the test did not fill it", deep)
	}
	if *eager.Image() != *lazy.Image() {
		t.Fatal("the images differ")
	}
}
