package therapy

import (
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

func TestCheckDoseChange(t *testing.T) {
	baclofen, _ := drug.Default().Lookup("baclofen")
	strict := &drug.Drug{Name: "strict", DoseUnit: unit.Microgram,
		LargeChange: &drug.Sourced[unit.Percent]{Value: 20 * unit.OnePercent, Source: "the clinic's committee"}}
	s := DefaultSettings
	for _, c := range []struct {
		name       string
		d          *drug.Drug
		same       bool
		old, next  unit.DoseRate
		comparable bool
		large      bool
		change     unit.Percent
		threshold  unit.Percent
	}{
		{"no change", baclofen, true, mcgDay(100), mcgDay(100), true, false, 0, 50 * unit.OnePercent},
		{"+50% exactly is not beyond 50%", baclofen, true, mcgDay(100), mcgDay(150), true, false, 50 * unit.OnePercent, 50 * unit.OnePercent},
		{"+50.001% is beyond", baclofen, true, mcgDay(100_000), mcgDay(150_001), true, true, 50 * unit.OnePercent, 50 * unit.OnePercent},
		{"−50% exactly", baclofen, true, mcgDay(100), mcgDay(50), true, false, -50 * unit.OnePercent, 50 * unit.OnePercent},
		{"−60% is beyond", baclofen, true, mcgDay(100), mcgDay(40), true, true, -60 * unit.OnePercent, 50 * unit.OnePercent},
		{"a stop is −100%", baclofen, true, mcgDay(100), 0, true, true, -100 * unit.OnePercent, 50 * unit.OnePercent},
		{"+4900%", baclofen, true, mgDay(4), mgDay(200), true, true, 4900 * unit.OnePercent, 50 * unit.OnePercent},
		{"the library's own threshold", strict, true, mcgDay(100), mcgDay(125), true, true, 25 * unit.OnePercent, 20 * unit.OnePercent},
		{"unknown drug: the clinic default", nil, true, mcgDay(100), mcgDay(125), true, false, 25 * unit.OnePercent, 50 * unit.OnePercent},
		{"first prescription", baclofen, true, 0, mcgDay(100), false, false, 0, 50 * unit.OnePercent},
		{"another drug", baclofen, false, mgDay(4), mcgDay(100), false, false, 0, 50 * unit.OnePercent},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := CheckDoseChange(c.d, c.same, c.old, c.next, s)
			if ch.Comparable != c.comparable || ch.Large != c.large || ch.Threshold != c.threshold || (c.comparable && ch.Change != c.change) {
				t.Fatalf("%+v, want comparable %v large %v change %v threshold %v", ch, c.comparable, c.large, c.change, c.threshold)
			}
			err := ch.Confirm(false, unit.Microgram)
			var le *LargeChangeError
			if c.large != errors.Is(err, ErrLargeChange) || c.large != errors.As(err, &le) {
				t.Fatalf("Confirm(false) = %v, want a refusal: %v", err, c.large)
			}
			if err := ch.Confirm(true, unit.Microgram); err != nil {
				t.Fatalf("Confirm(true) = %v", err)
			}
		})
	}
	ch := CheckDoseChange(baclofen, true, mgDay(4), mgDay(200), s)
	msg := ch.Confirm(false, unit.Milligram).Error()
	for _, want := range []string{"4 mg/day → 200 mg/day", "+4900%", "more than 50%", "clinic's default"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}
