package pump

import (
	"testing"

	"github.com/thecal/thecal/unit"
)

func TestSmokeContinuous(t *testing.T) {
	r := newRig(t, defaultConfig())
	r.fill(t0, ml(20))
	r.program(t0, continuous(unit.MillilitrePerDay/2, ml(0.7)))
	r.run(r.at(30 * unit.Day))
	st := r.p.Status()
	t.Logf("delivered %s reservoir %s battery %s alarms %b", st.Delivered, st.Reservoir, st.Battery, st.Alarms)
	if st.Delivered != ml(15) {
		t.Errorf("delivered %s, want 15 mL", st.Delivered)
	}
	// LOW at 2.0 mL: 18 mL delivered at 0.5 mL/day = 36 days.
	r.run(r.at(40 * unit.Day))
	if got, want := r.raised(LowReservoir), r.at(36*unit.Day); got != want {
		t.Errorf("LOW_RESERVOIR at %s, want %s", got, want)
	}
	if got, want := r.raised(EmptyReservoir), r.at(39*unit.Day); got != want {
		t.Errorf("EMPTY at %s, want %s", got, want)
	}
}
