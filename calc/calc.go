// Package calc owns the clinical calculators of 'thecal calc': each takes
// its inputs as typed values, runs the arithmetic of package therapy and the
// checks of package drug, and returns a Report — the inputs, the working (each
// formula with the numbers put in), the result and notes — that prints as
// text for a nurse and as JSON for machines. The calculators add no rule of
// their own: a bad input is refused with a *therapy.InputError naming it as
// the command line spells it ("last-fill").
package calc

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Doc describes a calculation: its help, whether it reads the drug library,
// and New, which returns its inputs ready to be read.
type Doc struct {
	Name, Summary string
	About         string // what it computes and how, for a nurse
	Refuses       bool   // its report may be Refused by the drug library
	Library       bool   // it reads the drug library (a clinic's, or the built-in one)
	Example       string // a command line that runs it
	New           func() Calculation
}

// WriteHelp writes the calculation's help page for a nurse: the formula,
// every input with an example (those given, library and json included), an
// example command line and the exit statuses.
func (d Doc) WriteHelp(w io.Writer, inputs []Input) error {
	sw := &stickyWriter{w: w}
	fmt.Fprintf(sw, "thecal calc %s: %s\n\n%s\n\nInputs (every amount with its unit; * required):\n", d.Name, d.Summary, strings.Trim(d.About, "\n"))
	tw := tabwriter.NewWriter(sw, 0, 0, 2, ' ', 0)
	for _, in := range inputs {
		line := map[bool]string{true: "*", false: " "}[in.Required] + " --" + in.Name
		if in.Example != "" {
			line += " " + in.Example
		}
		what := in.What
		if in.Default != "" {
			what += " (default " + in.Default + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", line, what)
	}
	_ = tw.Flush() // its error is sw's, returned below
	fmt.Fprintf(sw, "\nExample:\n  %s\n\nExit status: 0 done, 2 bad input (the message names the input and what is allowed)", d.Example)
	if d.Refuses {
		fmt.Fprint(sw, ", 1 the library refuses it or a stated reason is missing")
	}
	fmt.Fprintln(sw, ".")
	return sw.err
}

// Concentration is a concentration with the mass unit it was written in, so
// the answer is given in the unit the nurse typed.
type Concentration struct {
	Value unit.Concentration
	Unit  unit.MassUnit
}

func (c *Concentration) UnmarshalText(b []byte) (err error) {
	c.Value, c.Unit, err = unit.ParseConcentration(string(b))
	return err
}

// Dose is a dose per day or per hour with the mass unit it was written in. A
// bare mass is refused here, where "5 mg" could as well be a bolus as a daily dose.
type Dose struct {
	Value unit.DoseRate
	Unit  unit.MassUnit
}

func (d *Dose) UnmarshalText(b []byte) (err error) {
	s := string(b)
	if d.Value, d.Unit, err = unit.ParseDoseRate(s); err == nil && !strings.Contains(s, "/") {
		err = fmt.Errorf("%q is a mass, not a dose rate: write it per day or per hour, e.g. %s/day", s, strings.TrimSpace(s))
	}
	return err
}

// Count is a whole number from 1 to 1000.
type Count int64

func (n *Count) UnmarshalText(b []byte) error {
	x, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || x < 1 || x > 1000 {
		return fmt.Errorf("%q is not a whole number from 1 to 1000", b)
	}
	*n = Count(x)
	return nil
}

func inputErr(input, format string, args ...any) error {
	return &therapy.InputError{Input: input, Reason: fmt.Sprintf(format, args...)}
}

// Lookup finds a drug in the library by name or synonym.
func Lookup(lib *drug.Library, name string) (*drug.Drug, error) {
	d, ok := lib.Lookup(name)
	if !ok {
		var names []string
		for _, d := range lib.Drugs {
			names = append(names, d.Name)
		}
		return nil, inputErr("drug", "%q is not in drug library %s (it has: %s)", name, lib.Version, strings.Join(names, ", "))
	}
	return d, nil
}

// Display helpers.

func rateText(r unit.Rate) string { return r.String() + " (" + r.PerHour() + ")" }

func doseText(d unit.DoseRate, u unit.MassUnit) string {
	return d.Format(u) + " (" + d.FormatPerHour(u) + ")"
}

// otherUnit is mg for mcg and mcg for mg.
func otherUnit(u unit.MassUnit) unit.MassUnit {
	if u == unit.Milligram {
		return unit.Microgram
	}
	return unit.Milligram
}

func daysText(d unit.Duration) string {
	return fmt.Sprintf("%v (%.2f days)", d, float64(d)/float64(unit.Day))
}

// clock shows times as dates when an anchor time was given, otherwise as time
// after the anchor event ("refill + 24d49m").
type clock struct {
	base  unit.Time
	given bool
	event string
}

func newClock(t *unit.Time, event string) clock {
	if t == nil {
		return clock{event: event}
	}
	return clock{*t, true, event}
}

func (c clock) show(t unit.Time) string {
	if c.given {
		return t.Std().Format("Mon 2006-01-02 15:04 UTC")
	}
	if t.Before(c.base) {
		return c.event + " − " + c.base.Sub(t).String()
	}
	return c.event + " + " + t.Sub(c.base).String()
}

// also is " = DATE" when dated, else "": the relative form needs no repeating.
func (c clock) also(t unit.Time) string {
	if c.given {
		return " = " + c.show(t)
	}
	return ""
}

// json is a time for machines: RFC 3339 when dated, else the duration after the anchor.
func (c clock) json(t unit.Time) string {
	if c.given {
		return t.String()
	}
	return t.Sub(c.base).String()
}

// or is *p, or the zero value when p is nil.
func or[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
