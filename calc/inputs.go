package calc

import (
	"encoding"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Calculation is one calculator and its inputs: Inputs says where the text
// of each input goes, Report computes from what was read.
type Calculation interface {
	Inputs() []Input
	Report(lib Library) (*Report, error)
}

// Library is the drug library a calculation reads, and the file it came
// from ("" for the built-in one).
type Library struct {
	*drug.Library
	File string
}

func (l Library) name() string {
	if l.File == "" {
		return "(built-in)"
	}
	return l.File
}

// Input is one input of a calculation, named as the command line spells it.
type Input struct {
	Name     string
	Example  string // an example value, for the help
	What     string
	Default  string // read before any given value; "" for none
	Required bool
	Repeat   bool                     // may be given more than once, each value read in turn
	Text     encoding.TextUnmarshaler // reads the input's text; nil for a switch
	Switch   *bool                    // a yes-or-no input, given by its name alone
}

// Missing refuses the input as required and not given.
func (i Input) Missing() error {
	return inputErr(i.Name, "required: %s, e.g. --%s %s", i.What, i.Name, i.Example)
}

// missing refuses c's input name as required and not given.
func missing(c Calculation, name string) error {
	for _, i := range c.Inputs() {
		if i.Name == name {
			return i.Missing()
		}
	}
	panic("calc: no input " + name)
}

// textFunc reads text with a function.
type textFunc func([]byte) error

func (f textFunc) UnmarshalText(b []byte) error { return f(b) }

type textPtr[T any] interface {
	*T
	encoding.TextUnmarshaler
}

// text reads an input into a string.
func text(p *string) encoding.TextUnmarshaler {
	return textFunc(func(b []byte) error { *p = string(b); return nil })
}

// optional reads an input into *p, which stays nil when the input is not given.
func optional[T any, P textPtr[T]](p **T) encoding.TextUnmarshaler {
	return textFunc(func(b []byte) error {
		x := new(T)
		if err := P(x).UnmarshalText(b); err != nil {
			return err
		}
		*p = x
		return nil
	})
}

// each appends every value of a repeated input to *p.
func each[T any, P textPtr[T]](p *[]T) encoding.TextUnmarshaler {
	return textFunc(func(b []byte) error {
		var x T
		if err := P(&x).UnmarshalText(b); err != nil {
			return err
		}
		*p = append(*p, x)
		return nil
	})
}

// Pump is the pump model, given by its reservoir or its name.
type Pump struct {
	Reservoir *unit.Volume
	Model     *pump.Model
}

func (p *Pump) inputs() []Input {
	return []Input{
		{Name: "reservoir", Example: "20mL", What: "the pump's reservoir: 20mL (TP-20) or 40mL (TP-40)", Text: optional(&p.Reservoir)},
		{Name: "model", Example: "TP-20", What: "the pump model, instead of --reservoir", Text: optional(&p.Model)},
	}
}

// model reads the pump model from --model (TP-20 or TP-40) or --reservoir
// (20 mL or 40 mL), refusing the two when they disagree.
func (p Pump) model() (pump.Model, error) {
	if p.Model != nil {
		m := *p.Model
		if p.Reservoir != nil && *p.Reservoir != m.Reservoir() {
			return 0, inputErr("reservoir", "%v does not match %v, whose reservoir is %v", *p.Reservoir, m, m.Reservoir())
		}
		return m, nil
	}
	if p.Reservoir == nil {
		return 0, inputErr("reservoir", "required: the pump's reservoir, 20mL (TP-20) or 40mL (TP-40), or give --model")
	}
	return therapy.ModelFor(*p.Reservoir)
}

// Catheter is the implanted catheter: its length and volume per centimetre.
type Catheter struct {
	Length unit.Length
	PerCm  unit.Volume
}

func (c *Catheter) inputs() []Input {
	return []Input{
		{Name: "catheter-length", Example: "50cm", What: "the implanted catheter's length", Required: true, Text: &c.Length},
		{Name: "catheter-per-cm", Example: "0.0022mL/cm", What: "the catheter's internal volume per cm", Default: unit.VolumePerCm(pump.DefaultCatheterPerCm).String(), Text: (*unit.VolumePerCm)(&c.PerCm)},
	}
}
