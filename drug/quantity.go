package drug

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/thecal/thecal/unit"
)

// quantity reads one kind of number in a library file: a string with its unit
// ("2.4 mcg/day", "24h", "15%") or, for counts, a whole JSON number. Every
// number in a library is more than zero.
type quantity[T ~int64] struct {
	read func(r *reader, path string, v jsontext.Value) (T, bool)
	show func(T) string
}

// textQuantity is a quantity written as a string and read by parse.
func textQuantity[T ~int64](parse func(string) (T, error), show func(T) string) quantity[T] {
	return quantity[T]{
		read: func(r *reader, path string, raw jsontext.Value) (T, bool) {
			s, ok := r.str(path, raw)
			if !ok {
				return 0, false
			}
			v, err := parse(s)
			if err != nil {
				r.fail(path, "%s", reason(err))
				return 0, false
			}
			if v <= 0 {
				r.fail(path, "%q must be more than 0", short(s))
				return 0, false
			}
			return v, true
		},
		show: show,
	}
}

var errUnitMismatch = errors.New("unit mismatch")

// sameUnit refuses a quantity written in another mass unit than the drug's:
// a library that mixes mg and mcg for one drug invites a ×1000 error.
func sameUnit(s string, want, got unit.MassUnit) error {
	if got != want {
		return fmt.Errorf("%w: %q is written in %s, but this drug's dose unit is %s: write every dose and concentration of it in %s", errUnitMismatch, short(s), got, want, want)
	}
	return nil
}

// inUnit is a quantity written in the drug's dose unit.
func inUnit[T ~int64](u unit.MassUnit, parse func(string) (T, unit.MassUnit, error), show func(T, unit.MassUnit) string) quantity[T] {
	return textQuantity(func(s string) (T, error) {
		v, got, err := parse(s)
		if err == nil {
			err = sameUnit(s, u, got)
		}
		return v, err
	}, func(v T) string { return show(v, u) })
}

func doseQuantity(u unit.MassUnit) quantity[unit.DoseRate] {
	return inUnit(u, func(s string) (unit.DoseRate, unit.MassUnit, error) {
		d, got, err := unit.ParseDoseRate(s)
		if err == nil && !strings.Contains(s, "/") { // ParseDoseRate reads a bare mass as per day
			err = fmt.Errorf("%q is not a dose per day: write e.g. \"2.4 %s/day\"", short(s), u)
		}
		return d, got, err
	}, unit.DoseRate.Format)
}

func concQuantity(u unit.MassUnit) quantity[unit.Concentration] {
	return inUnit(u, unit.ParseConcentration, unit.Concentration.Format)
}

func massQuantity(u unit.MassUnit) quantity[unit.Mass] {
	return inUnit(u, unit.ParseMass, unit.Mass.Format)
}

var (
	durationQuantity = textQuantity(unit.ParseDuration, unit.Duration.String)
	volumeQuantity   = textQuantity(unit.ParseVolume, unit.Volume.String)
	percentQuantity  = textQuantity(func(s string) (unit.Percent, error) {
		p, err := unit.ParsePercent(s)
		if err == nil && p > 100*unit.OnePercent {
			err = fmt.Errorf("%q is more than 100%%: a step larger than the current dose", short(s))
		}
		return p, err
	}, unit.Percent.String)
	countQuantity = quantity[int64]{
		read: func(r *reader, path string, v jsontext.Value) (int64, bool) {
			return r.integer(path, v, 1, 1000)
		},
		show: func(n int64) string { return strconv.FormatInt(n, 10) },
	}
)

// sourced reads {"value": …, "source": "…"}: a value is never without its source.
func sourced[T any](r *reader, path string, f *fileSourced, read func(string, jsontext.Value) (T, bool)) *Sourced[T] {
	if f.Value == nil && f.Source == nil {
		r.fail(path, "empty: give \"value\" and \"source\", or leave the field out")
		return nil
	}
	if f.Value == nil {
		r.fail(join(path, "value"), "required: the value this source is for")
		return nil
	}
	val, ok := read(join(path, "value"), f.Value)
	src := r.source(path, f.Source)
	if !ok || src == "" {
		return nil
	}
	return &Sourced[T]{Value: val, Source: src}
}

var (
	allSides = []string{"hard_min", "soft_min", "soft_max", "hard_max"}
	maxSides = []string{"soft_max", "hard_max"}
	minSides = []string{"hard_min", "soft_min"}
)

// readLimit reads a limit, whose sides are given in chain order (those it may
// not have, nil), and checks that they are in the order hard_min ≤ soft_min ≤
// soft_max ≤ hard_max. names are the sides it may have.
func readLimit[T ~int64](r *reader, path string, sides [4]*fileSourced, q quantity[T], names []string) Limit[T] {
	var l Limit[T]
	if sides == [4]*fileSourced{} {
		r.fail(path, "empty: give %s, or leave the field out", strings.Join(names, ", "))
		return l
	}
	slots := [4]**Sourced[T]{&l.HardMin, &l.SoftMin, &l.SoftMax, &l.HardMax}
	for i, side := range sides {
		if side != nil {
			*slots[i] = sourced(r, join(path, allSides[i]), side, func(p string, v jsontext.Value) (T, bool) { return q.read(r, p, v) })
		}
	}
	// Every present pair, in chain order, must be ordered.
	for i, lo := range allSides {
		for j, hi := range allSides[i+1:] {
			a, b := *slots[i], *slots[i+1+j]
			if a == nil || b == nil || a.Value <= b.Value {
				continue
			}
			why := "a soft limit lies inside its hard limit"
			if lo[:4] == hi[:4] {
				why = "a lower bound is not above an upper one"
			}
			r.fail(join(path, lo), "%s %s is above %s %s: %s", lo, q.show(a.Value), hi, q.show(b.Value), why)
		}
	}
	return l
}
