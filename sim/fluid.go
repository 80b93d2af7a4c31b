package sim

import "github.com/thecal/thecal/unit"

// part is one drug in a fluid, at its concentration (ng/mL; a float, because a
// mixture of a residual and a refill need not be a whole number of ng/mL).
type part struct {
	drug int
	conc float64
}

// mixture is a fluid: no parts for a drug-free fluid (an unprimed catheter).
type mixture []part

// segment is a run of one mixture in the pipeline.
type segment struct {
	mix int
	vol unit.Volume
}

// fluids follows drug through reservoir, pump tubing and catheter, first in
// first out, so that what leaves the catheter tip is known exactly: the
// pipeline is a queue of segments, each stroke pushes its volume of the
// reservoir's mixture in and the same volume out of the tip.
type fluids struct {
	mixes  []mixture
	resMix int // the reservoir's mixture

	pipe []segment // oldest (nearest the tip) first
	head int
	out  []segment
}

func newFluids(pipeline unit.Volume, primedWith mixture, primed bool) *fluids {
	f := &fluids{mixes: []mixture{nil}}
	f.resMix = f.add(primedWith)
	start := 0
	if primed {
		start = f.resMix
	}
	f.pipe = []segment{{mix: start, vol: pipeline}}
	return f
}

func (f *fluids) add(m mixture) int {
	f.mixes = append(f.mixes, m)
	return len(f.mixes) - 1
}

// refill mixes what is left in the reservoir (residual) with added volume of a
// new mixture.
func (f *fluids) refill(residual unit.Volume, added unit.Volume, newMix mixture) {
	if residual <= 0 || len(f.mixes[f.resMix]) == 0 {
		f.resMix = f.add(newMix)
		return
	}
	total := float64(residual + added)
	var m mixture
	for _, p := range f.mixes[f.resMix] {
		m = append(m, part{p.drug, p.conc * float64(residual) / total})
	}
	for _, p := range newMix {
		merged := false
		for i := range m {
			if m[i].drug == p.drug {
				m[i].conc += p.conc * float64(added) / total
				merged = true
			}
		}
		if !merged {
			m = append(m, part{p.drug, p.conc * float64(added) / total})
		}
	}
	f.resMix = f.add(m)
}

// steady reports whether the whole pipeline holds the reservoir's mixture, and
// which it is: a push then changes nothing in the pipeline and pushes out the
// volume it pushes in, of that mixture.
func (f *fluids) steady() (mix int, ok bool) {
	return f.resMix, f.head == len(f.pipe)-1 && f.pipe[f.head].mix == f.resMix
}

// push moves v of the reservoir's mixture into the pipeline and returns the runs
// of mixture that the same volume pushes out of the tip (valid until the next push).
func (f *fluids) push(v unit.Volume) []segment {
	f.out = f.out[:0]
	if _, ok := f.steady(); ok {
		f.out = append(f.out, segment{f.resMix, v})
		return f.out
	}
	if last := &f.pipe[len(f.pipe)-1]; last.mix == f.resMix {
		last.vol += v
	} else {
		f.pipe = append(f.pipe, segment{f.resMix, v})
	}
	for v > 0 {
		s := &f.pipe[f.head]
		n := min(v, s.vol)
		f.out = append(f.out, segment{s.mix, n})
		s.vol -= n
		v -= n
		if s.vol == 0 && f.head < len(f.pipe)-1 {
			f.head++
		}
	}
	if f.head > 64 && f.head > len(f.pipe)/2 {
		f.pipe = append(f.pipe[:0], f.pipe[f.head:]...)
		f.head = 0
	}
	return f.out
}

// tip returns the mixture at the catheter tip.
func (f *fluids) tip() int { return f.pipe[f.head].mix }
