package drug

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/thecal/thecal/unit"
)

// A refill puts a drug at a concentration into a pump: the step where the
// most common programming error of intrathecal therapy happens (the other
// strength of the same drug, 10 instead of 25 mg/mL). CheckFill is the one
// rule every refill path (the clinic's API and page, the programmer) calls.

// ErrFill is wrapped by every refusal of a fill's input (a *FillError).
var ErrFill = errors.New("drug: fill")

// FillError refuses one input of a fill: Field is its name ("drug",
// "concentration", "confirm_drug", "confirm_concentration", "label"), Reason
// says what is wrong and what is allowed.
type FillError struct {
	Field  string
	Reason string
}

func (e *FillError) Error() string { return e.Field + ": " + e.Reason }
func (e *FillError) Unwrap() error { return ErrFill }

func fillErr(field, format string, args ...any) error {
	return &FillError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Product is a drug at a concentration: what a reservoir holds, a program
// runs or an order names.
type Product struct {
	Drug          string
	Concentration unit.Concentration
}

// IsZero reports whether p names nothing.
func (p Product) IsZero() bool { return p.Drug == "" && p.Concentration == 0 }

// Fill is a refill as it is reported: the drug and concentration put in,
// each typed by the nurse and never taken from anything else, and their
// independent confirmation — typed a second time (ConfirmDrug,
// ConfirmConcentration), or the vial label's text, read (e.g. scanned) apart
// from what was typed (Label). Running is what the pump held and ran before
// (zero when nothing is known: a first fill); Ordered is a physician's order
// for another drug or concentration (zero when there is none).
type Fill struct {
	Drug                 string
	Concentration        unit.Concentration
	ConfirmDrug          string
	ConfirmConcentration unit.Concentration
	Label                string
	Running, Ordered     Product
}

// KindNotOrdered and KindFillChange are the findings of a fill: another drug
// or concentration than the pump runs without a physician's order (refused),
// and with one (the change, to be confirmed).
const (
	NotOrdered Kind = "not_ordered"
	FillChange Kind = "concentration_change"
)

// FillReview is a fill as CheckFill found it.
type FillReview struct {
	Drug     *Drug
	Findings []Finding
	// Change is set when the fill is another drug or concentration than the
	// pump ran, as a physician ordered: the refill needs an explicit
	// confirmation of the change, and a bridge and the new program follow.
	Change string
}

// CheckFill checks a fill against the library and what the pump runs: both
// inputs given and confirmed (a *FillError otherwise); the drug in the
// library (a refusal otherwise); the concentration a listed strength, a
// dilution of one for a drug with a diluent, or the concentration a
// physician ordered, and within the hard maximum (refusals otherwise);
// another drug or concentration than Running refused unless Ordered names
// it, and then a change to confirm.
func CheckFill(lib *Library, f Fill) (*FillReview, error) {
	if strings.TrimSpace(f.Drug) == "" {
		return nil, fillErr("drug", "required: the drug as the vial names it, typed, never taken from the program")
	}
	if f.Concentration <= 0 {
		return nil, fillErr("concentration", "required: the concentration as the vial states it, e.g. \"2000 mcg/mL\", typed, never taken from the program")
	}
	d, ok := lib.Lookup(f.Drug)
	if !ok {
		return &FillReview{Findings: []Finding{{Kind: UnknownDrug, Severity: Refused,
			Message: fmt.Sprintf("%q is not in drug library %s: it cannot go into a pump", f.Drug, lib.Version)}}}, nil
	}
	u := d.DoseUnit
	if err := confirmFill(lib, d, f); err != nil {
		return nil, err
	}
	r := &FillReview{Drug: d}
	add := func(fd Finding) { r.Findings = append(r.Findings, fd) }
	x := f.Concentration
	ordered := sameProduct(lib, f.Ordered, d, x)
	cs := d.Concentrations
	switch {
	case cs != nil && len(cs.List) > 0 && slices.Contains(cs.List, x):
	case cs != nil && len(cs.List) > 0 && d.Diluent != nil && x < slices.Max(cs.List):
		add(Finding{Kind: Dilution, Severity: Info, Field: "diluent", Source: d.Diluent.Source,
			Message: fmt.Sprintf("%s is a dilution of a listed strength (%s): diluted only with %s", x.Format(u), listConc(cs.List, u), d.Diluent.Value)})
	case cs != nil && len(cs.List) == 0 && x >= cs.Min && x <= cs.Max:
	case ordered || sameProduct(lib, f.Running, d, x):
		// Not a listed strength, but the one a physician ordered (with the
		// reason the order needed) or the one the pump already runs.
	default:
		listed := "lists none"
		if cs != nil && len(cs.List) > 0 {
			listed = "lists " + listConc(cs.List, u)
		} else if cs != nil {
			listed = "allows " + cs.Min.Format(u) + " to " + cs.Max.Format(u)
		}
		add(Finding{Kind: ConcentrationNotAllowed, Severity: Refused, Field: "concentrations", Source: concSource(cs),
			Message: fmt.Sprintf("%s is not a strength of %s the library %s, nor one a physician ordered: check the vial", x.Format(u), d.Name, listed)})
	}
	if h := d.Concentration.HardMax; h != nil && x > h.Value {
		add(Finding{Kind: HardLimit, Severity: Refused, Field: "concentration_limit.hard_max", Source: h.Source,
			Message: fmt.Sprintf("concentration %s is above the hard maximum %s (%s)", x.Format(u), h.Value.Format(u), h.Source)})
	}
	// The fill must be what the physician's order names (or, without one,
	// what the pump runs): the other strength, another drug, or the old
	// concentration after an order for a new one are refused.
	target := f.Ordered
	if target.IsZero() {
		target = f.Running
	}
	if !target.IsZero() && !sameProduct(lib, target, d, x) {
		var why string
		switch {
		case f.Running.IsZero():
			why = "the order is for " + productText(lib, target)
		case f.Ordered.IsZero() || f.Ordered == f.Running:
			why = "the pump runs " + productText(lib, f.Running)
		default:
			why = "the pump runs " + productText(lib, f.Running) + " and the physician's order is for " + productText(lib, f.Ordered)
		}
		add(Finding{Kind: NotOrdered, Severity: Refused, Field: "concentration",
			Message: fmt.Sprintf("no physician's order for %s %s: %s; another drug or concentration needs a physician's order first (the refill, the bridge and the new program follow it)",
				d.Name, x.Format(u), why)})
		return r, nil
	}
	if f.Running.IsZero() || sameProduct(lib, f.Running, d, x) {
		return r, nil
	}
	r.Change = changeText(lib, f.Running, d, x)
	add(Finding{Kind: FillChange, Severity: Info, Field: "concentration",
		Message: fmt.Sprintf("%s, as a physician ordered: confirm the change; the old drug in tubing and catheter is bridged before the new program", r.Change)})
	return r, nil
}

func concSource(cs *Concentrations) string {
	if cs == nil {
		return ""
	}
	return cs.Source
}

// confirmFill checks the independent confirmation of what was typed.
func confirmFill(lib *Library, d *Drug, f Fill) error {
	u := d.DoseUnit
	if strings.TrimSpace(f.Label) != "" {
		l, err := ReadLabel(lib, f.Label)
		if err != nil {
			return err
		}
		if l.Drug != d {
			return fillErr("label", "the label names %s, but %s was typed: check the vial", l.Drug.Name, d.Name)
		}
		for _, c := range l.Concentrations {
			if c != f.Concentration {
				return fillErr("label", "the label states %s, but %s was typed: check the vial", c.Format(u), f.Concentration.Format(u))
			}
		}
		return nil
	}
	if strings.TrimSpace(f.ConfirmDrug) == "" || f.ConfirmConcentration == 0 {
		field := "confirm_concentration"
		if strings.TrimSpace(f.ConfirmDrug) == "" {
			field = "confirm_drug"
		}
		return fillErr(field, "required: type the drug and the concentration a second time from the vial, or give the vial label's text (label)")
	}
	if cd, ok := lib.Lookup(f.ConfirmDrug); !ok || cd != d {
		return fillErr("confirm_drug", "%q typed the second time is not %s typed the first: check the vial", f.ConfirmDrug, d.Name)
	}
	if f.ConfirmConcentration != f.Concentration {
		return fillErr("confirm_concentration", "%s typed the second time is not %s typed the first: check the vial",
			f.ConfirmConcentration.Format(u), f.Concentration.Format(u))
	}
	return nil
}

func sameProduct(lib *Library, p Product, d *Drug, x unit.Concentration) bool {
	pd, ok := lib.Lookup(p.Drug)
	return ok && pd == d && p.Concentration == x
}

func productText(lib *Library, p Product) string {
	if d, ok := lib.Lookup(p.Drug); ok {
		return d.Name + " " + p.Concentration.Format(d.DoseUnit)
	}
	return p.Drug + " " + p.Concentration.String()
}

// changeText says a change from what runs to d at x: another drug, or the
// concentration's ratio ("2.5× weaker").
func changeText(lib *Library, from Product, d *Drug, x unit.Concentration) string {
	to := d.Name + " " + x.Format(d.DoseUnit)
	if fd, ok := lib.Lookup(from.Drug); !ok || fd != d {
		return fmt.Sprintf("%s → %s (another drug)", productText(lib, from), to)
	}
	old := from.Concentration
	stronger, a, b := "stronger", int64(x), int64(old)
	if x < old {
		stronger, a, b = "weaker", b, a
	}
	ratio := new(big.Rat).SetFrac64(a, b).FloatString(2)
	ratio = strings.TrimSuffix(strings.TrimSuffix(ratio, "0"), ".0")
	return fmt.Sprintf("%s → %s (%s× %s)", productText(lib, from), to, ratio, stronger)
}

// LabelReading is what a vial label's text says: the library's drug it names
// and every concentration it states.
type LabelReading struct {
	Drug           *Drug
	Concentrations []unit.Concentration
}

// labelConc finds a concentration in label text: "2000 mcg/mL", "2,000
// mcg/mL", "10 mg per mL", or an amount in a volume, "40 mg/20 mL".
var labelConc = regexp.MustCompile(`(?i)(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(mg|mcg|µg|μg|ug|micrograms?|milligrams?)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*(?:ml|millilitres?|milliliters?)\b`)

// ReadLabel reads the text of a vial label: the one drug of the library it
// names (by name or synonym, whole words, case ignored) and the
// concentrations it states. A label naming no drug of the library, or two,
// or stating no concentration is refused (a *FillError on "label").
func ReadLabel(lib *Library, text string) (LabelReading, error) {
	var r LabelReading
	words := " " + plain(text) + " "
	for _, d := range lib.Drugs {
		for _, name := range append([]string{d.Name}, d.Synonyms...) {
			if strings.Contains(words, " "+plain(name)+" ") {
				if r.Drug != nil && r.Drug != d {
					return r, fillErr("label", "the label text names %s and %s: give the text of one vial's label", r.Drug.Name, d.Name)
				}
				r.Drug = d
			}
		}
	}
	if r.Drug == nil {
		return r, fillErr("label", "the label text names no drug of library %s", lib.Version)
	}
	for _, m := range labelConc.FindAllStringSubmatch(text, -1) {
		c, ok := labelAmount(m[1], m[2], m[3])
		if !ok {
			return r, fillErr("label", "%q is not a concentration that can be read exactly", m[0])
		}
		if !slices.Contains(r.Concentrations, c) {
			r.Concentrations = append(r.Concentrations, c)
		}
	}
	if len(r.Concentrations) == 0 {
		return r, fillErr("label", "the label text states no concentration (e.g. \"2000 mcg/mL\" or \"40 mg/20 mL\")")
	}
	return r, nil
}

// labelAmount is amount (in massUnit) per volume mL (1 when empty), exactly.
func labelAmount(amount, massUnit, volume string) (unit.Concentration, bool) {
	u := strings.ToLower(massUnit)
	switch {
	case strings.HasPrefix(u, "mg"), strings.HasPrefix(u, "milli"):
		u = "mg"
	default:
		u = "mcg"
	}
	m, _, err := unit.ParseMass(strings.ReplaceAll(amount, ",", "") + " " + u)
	if err != nil || m <= 0 {
		return 0, false
	}
	if volume == "" {
		volume = "1"
	}
	v, err := unit.ParseVolume(volume + " mL")
	if err != nil || v <= 0 {
		return 0, false
	}
	// fg per nL is ng per mL, the unit of a Concentration.
	if int64(m)%int64(v) != 0 {
		return 0, false
	}
	return unit.Concentration(int64(m) / int64(v)), true
}
