package drug

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckFill: the drug and concentration of a refill are typed and
// confirmed, a strength of the library, within its hard maximum, and what
// the physician's order (or, without one, the pump) names.
func TestCheckFill(t *testing.T) {
	lib := Default()
	bac := func(c string) Product { return Product{"baclofen", conc(t, c)} }
	mor := func(c string) Product { return Product{"morphine", conc(t, c)} }
	typed := func(d, c string) Fill {
		return Fill{Drug: d, Concentration: conc(t, c), ConfirmDrug: d, ConfirmConcentration: conc(t, c)}
	}
	with := func(f Fill, running, ordered Product) Fill { f.Running, f.Ordered = running, ordered; return f }
	for _, c := range []struct {
		name   string
		fill   Fill
		field  string // a *FillError on it
		kind   Kind   // else: the first finding's kind ("" for none)
		sev    Severity
		text   string
		change string
	}{
		{"nothing typed", Fill{}, "drug", "", 0, "", ""},
		{"no concentration typed", Fill{Drug: "baclofen", ConfirmDrug: "baclofen"}, "concentration", "", 0, "", ""},
		{"not confirmed", Fill{Drug: "baclofen", Concentration: conc(t, "2000 mcg/mL")}, "confirm_drug", "", 0, "", ""},
		{"concentration not confirmed", Fill{Drug: "baclofen", ConfirmDrug: "Gablofen", Concentration: conc(t, "2000 mcg/mL")}, "confirm_concentration", "", 0, "", ""},
		{"typed twice, differently", Fill{Drug: "baclofen", ConfirmDrug: "baclofen", Concentration: conc(t, "2000 mcg/mL"), ConfirmConcentration: conc(t, "200 mcg/mL")},
			"confirm_concentration", "", 0, "", ""},
		{"another drug the second time", Fill{Drug: "baclofen", ConfirmDrug: "morphine", Concentration: conc(t, "2000 mcg/mL"), ConfirmConcentration: conc(t, "2000 mcg/mL")},
			"confirm_drug", "", 0, "", ""},
		{"the same refill as the pump runs", with(typed("baclofen", "2000 mcg/mL"), bac("2000 mcg/mL"), bac("2000 mcg/mL")), "", "", 0, "", ""},
		{"a synonym confirms the name", with(Fill{Drug: "Gablofen", ConfirmDrug: "baclofen", Concentration: conc(t, "2000 mcg/mL"), ConfirmConcentration: conc(t, "2000 mcg/mL")},
			bac("2000 mcg/mL"), Product{}), "", "", 0, "", ""},
		{"unknown drug", typed("ketamine", "10 mg/mL"), "", UnknownDrug, Refused, "not in drug library", ""},
		{"ziconotide 250 mcg/mL: over the hard maximum", with(typed("ziconotide", "250 mcg/mL"), Product{"ziconotide", conc(t, "25 mcg/mL")}, Product{}),
			"", ConcentrationNotAllowed, Refused, "250 mcg/mL is not a strength of ziconotide the library lists 25 mcg/mL, 100 mcg/mL", ""},
		{"baclofen 2000 into a morphine pump, no order", with(typed("baclofen", "2000 mcg/mL"), mor("10 mg/mL"), mor("10 mg/mL")),
			"", NotOrdered, Refused, "no physician's order for baclofen 2000 mcg/mL: the pump runs morphine 10 mg/mL", ""},
		{"the other strength, 10 for 25 mg/mL, no order", with(typed("morphine", "10 mg/mL"), mor("25 mg/mL"), Product{}),
			"", NotOrdered, Refused, "no physician's order for morphine 10 mg/mL: the pump runs morphine 25 mg/mL", ""},
		{"the other strength as ordered: a change to confirm", with(typed("morphine", "10 mg/mL"), mor("25 mg/mL"), mor("10 mg/mL")),
			"", FillChange, Info, "morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker), as a physician ordered", "morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker)"},
		{"the old strength after an order for the new", with(typed("morphine", "25 mg/mL"), mor("25 mg/mL"), mor("10 mg/mL")),
			"", NotOrdered, Refused, "the pump runs morphine 25 mg/mL and the physician's order is for morphine 10 mg/mL", ""},
		{"Gablofen's 1000 mcg/mL, ordered", with(typed("baclofen", "1000 mcg/mL"), bac("2000 mcg/mL"), bac("1000 mcg/mL")),
			"", FillChange, Info, "(2× weaker)", "baclofen 2000 mcg/mL → baclofen 1000 mcg/mL (2× weaker)"},
		{"an unlisted strength a physician ordered", with(typed("morphine", "20 mg/mL"), mor("10 mg/mL"), mor("20 mg/mL")),
			"", FillChange, Info, "(2× stronger)", "morphine 10 mg/mL → morphine 20 mg/mL (2× stronger)"},
		{"an unlisted strength nobody ordered", with(typed("morphine", "20 mg/mL"), mor("10 mg/mL"), Product{}),
			"", ConcentrationNotAllowed, Refused, "20 mg/mL is not a strength of morphine", ""},
		{"a ziconotide dilution", with(typed("ziconotide", "5 mcg/mL"), Product{"ziconotide", conc(t, "5 mcg/mL")}, Product{}),
			"", Dilution, Info, "diluted only with preservative-free 0.9% NaCl", ""},
		{"a first fill: nothing to compare", typed("baclofen", "500 mcg/mL"), "", "", 0, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := CheckFill(lib, c.fill)
			if c.field != "" {
				var fe *FillError
				if !errors.As(err, &fe) || !errors.Is(err, ErrFill) || fe.Field != c.field {
					t.Fatalf("CheckFill = %v, %v; want a *FillError on %s", r, err, c.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.kind == "" {
				if len(r.Findings) != 0 || r.Change != "" {
					t.Fatalf("findings %s change %q", list(r.Findings), r.Change)
				}
				return
			}
			if len(r.Findings) == 0 || r.Findings[0].Kind != c.kind || r.Findings[0].Severity != c.sev || !strings.Contains(r.Findings[0].Message, c.text) {
				t.Fatalf("findings:\n%swant %s %v containing %q", list(r.Findings), c.kind, c.sev, c.text)
			}
			if r.Change != c.change {
				t.Errorf("change %q, want %q", r.Change, c.change)
			}
		})
	}
}

// TestFillFromTheLabel: the vial label's text, read apart from what was
// typed, confirms it once; a label of another drug or strength refuses it.
func TestFillFromTheLabel(t *testing.T) {
	lib := Default()
	for _, c := range []struct {
		label, typedDrug, typedConc string
		field                       string // "" accepted
	}{
		{"Gablofen (baclofen injection) 40 mg/20 mL (2000 mcg/mL) For intrathecal use", "baclofen", "2000 mcg/mL", ""},
		{"GABLOFEN 2,000 MCG/ML intrathecal", "baclofen", "2000 mcg/mL", ""},
		{"Infumorph 500 (preservative-free morphine) 25 mg per mL, 20 mL", "morphine", "25 mg/mL", ""},
		{"Infumorph 200 (preservative-free morphine) 10 mg/mL", "morphine", "25 mg/mL", "label"},
		{"Prialt (ziconotide) 100 mcg/mL, 5 mL", "baclofen", "100 mcg/mL", "label"},
		{"Lioresal Intrathecal baclofen injection", "baclofen", "500 mcg/mL", "label"},
		{"sterile water for injection 10 mL", "baclofen", "500 mcg/mL", "label"},
		{"morphine 10 mg/mL and baclofen 500 mcg/mL", "baclofen", "500 mcg/mL", "label"},
	} {
		_, err := CheckFill(lib, Fill{Drug: c.typedDrug, Concentration: conc(t, c.typedConc), Label: c.label})
		var fe *FillError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%q: %v", c.label, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("%q: %v, want a refusal on %s", c.label, err, c.field)
		}
	}
}

// FuzzReadLabel: no label text makes the reader panic, and what it reads is
// a drug of the library with at least one concentration more than 0.
func FuzzReadLabel(f *testing.F) {
	for _, s := range []string{"Gablofen 40 mg/20 mL (2000 mcg/mL)", "morphine 10 mg/mL", "1,000 mcg per mL baclofen", "x 0 mg/0 mL", "9999999999999999 mg/mL morphine", "µg/mL"} {
		f.Add(s)
	}
	lib := Default()
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ReadLabel(lib, s)
		if err != nil {
			var fe *FillError
			if !errors.As(err, &fe) || fe.Field != "label" {
				t.Fatalf("error %v is not a *FillError on label", err)
			}
			return
		}
		if r.Drug == nil || len(r.Concentrations) == 0 {
			t.Fatalf("%q read as %+v", s, r)
		}
		for _, c := range r.Concentrations {
			if c <= 0 {
				t.Fatalf("%q: concentration %v", s, c)
			}
		}
	})
}
