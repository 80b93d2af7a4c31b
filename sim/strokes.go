package sim

import (
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// strokes follows a run of strokes that each moved moved out of the reservoir
// (the device's OnRun) exactly as stroke would one by one: each local day is
// credited with the volume of the run's strokes that fall in it, pushed
// through the pipeline at once. The pipeline is first in, first out, so a
// push of a day's volume leaves at the tip the same volume of each mixture as
// the pushes of its strokes would; the cost is a day's, not a stroke's.
func (r *run) strokes(sr pump.StrokeRun, moved unit.Volume) {
	if moved == 0 {
		return
	}
	for j := 0; j < sr.Len(); {
		t := sr.At(j)
		r.dayAt(t) // opens the day holding t (or keeps the latest, after a clock set back)
		k := sr.Through(r.dayEnd-1) - j
		r.stroke(t, unit.Volume(k)*moved)
		j += k
	}
}
