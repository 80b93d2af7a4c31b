package drug

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/thecal/thecal/unit"
)

// quantity reads one kind of number in a library file: a string with its unit
// ("2.4 mcg/day", "24h", "15%") or, for counts, a whole JSON number. Every
// number in a library is more than zero.
type quantity[T ~int64] struct {
	read func(r *reader, path string, raw json.RawMessage) (T, bool)
	show func(T) string
}

// textQuantity is a quantity written as a string and read by parse.
func textQuantity[T ~int64](parse func(string) (T, error), show func(T) string) quantity[T] {
	return quantity[T]{
		read: func(r *reader, path string, raw json.RawMessage) (T, bool) {
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
		read: func(r *reader, path string, raw json.RawMessage) (int64, bool) {
			return r.integer(path, raw, 1, 1000)
		},
		show: func(n int64) string { return strconv.FormatInt(n, 10) },
	}
)

// sourced reads {"value": …, "source": "…"}: a value is never without its source.
func sourced[T any](r *reader, path string, raw json.RawMessage, read func(string, json.RawMessage) (T, bool)) *Sourced[T] {
	o, ok := r.object(path, raw, "value", "source")
	if !ok {
		return nil
	}
	v, s := o.get("value"), o.get("source")
	if v == nil && s == nil {
		r.fail(path, "empty: give \"value\" and \"source\", or leave the field out")
		return nil
	}
	if v == nil {
		r.fail(o.at("value"), "required: the value this source is for")
		return nil
	}
	val, ok := read(o.at("value"), v)
	src := r.source(o)
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

// readLimit reads a limit with the given sides and checks that they are in the
// order hard_min ≤ soft_min ≤ soft_max ≤ hard_max.
func readLimit[T ~int64](r *reader, path string, raw json.RawMessage, q quantity[T], sides []string) Limit[T] {
	var l Limit[T]
	o, ok := r.object(path, raw, sides...)
	if !ok {
		return l
	}
	if len(o.members) == 0 {
		r.fail(path, "empty: give %s, or leave the field out", strings.Join(sides, ", "))
		return l
	}
	slots := map[string]**Sourced[T]{"hard_min": &l.HardMin, "soft_min": &l.SoftMin, "soft_max": &l.SoftMax, "hard_max": &l.HardMax}
	for _, side := range sides {
		if v := o.get(side); v != nil {
			*slots[side] = sourced(r, o.at(side), v, func(p string, v json.RawMessage) (T, bool) { return q.read(r, p, v) })
		}
	}
	// Every present pair, in chain order, must be ordered.
	for i, lo := range allSides {
		for _, hi := range allSides[i+1:] {
			a, b := *slots[lo], *slots[hi]
			if a == nil || b == nil || a.Value <= b.Value {
				continue
			}
			why := "a soft limit lies inside its hard limit"
			if lo[:4] == hi[:4] {
				why = "a lower bound is not above an upper one"
			}
			r.fail(o.at(lo), "%s %s is above %s %s: %s", lo, q.show(a.Value), hi, q.show(b.Value), why)
		}
	}
	return l
}
