package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/thecal/thecal/calc"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// thecal calc: one subcommand per calculator of package calc. Each declares
// its flags, reads them into the calculator's input, runs it and prints the
// report, as text or with --json as JSON.

// exitRefused is the exit status of a report the drug library refuses.
const exitRefused = 1

// calcRun runs a calculator on the flags read, with the drug library.
type calcRun func(lib *drug.Library) (*calc.Report, error)

// calcFlags are the calculators' flags, each with the example its help shows.
var calcFlags = map[string]struct {
	example string
	flags   func(in *inputs) calcRun
}{
	"dose":        {"thecal calc dose --concentration 10mg/mL --rate 0.5mL/day", doseFlags},
	"priming":     {"thecal calc priming --catheter-length 50cm", primingFlags},
	"bridge":      {"thecal calc bridge --old-rate 0.5mL/day --catheter-length 50cm --start 2026-01-05T08:00:00Z", bridgeFlags},
	"refill":      {"thecal calc refill --reservoir 20mL --last-fill 20mL --rate 0.5mL/day --since 30d --withdrawn 4.1mL", refillFlags},
	"next-refill": {"thecal calc next-refill --reservoir 20mL --volume 20mL --rate 0.5mL/day --bolus-volume 0.02mL --lockout 4h --max-per-24h 4 --drug morphine --filled 2026-01-05T08:00:00Z", nextRefillFlags},
	"battery":     {"thecal calc battery --battery 1000000uAh --rate 0.5mL/day --at 2026-01-05T08:00:00Z", batteryFlags},
	"screening":   {"thecal calc screening --start 2026-01-05T08:00:00Z --result 50mcg:none --result 75mcg:10h", screeningFlags},
	"titration":   {"thecal calc titration --drug ziconotide --start 2.4mcg/day --target 19.2mcg/day --concentration 25mcg/mL --from 2026-01-05T08:00:00Z", titrationFlags},
	"opioid":      {"thecal calc opioid --oral 60mg/day", opioidFlags},
	"trial":       {"thecal calc trial --baseline 8 --trial 3 --functional yes", trialFlags},
	"check":       {"thecal calc check --drug ziconotide --concentration 25mcg/mL --dose 4.8mcg/day --at 2026-01-07T08:00:00Z --prev 2d=2.4mcg/day", checkFlags},
	"library":     {"thecal calc library --drug ziconotide", libraryFlags},
}

func calcCommand() *cobra.Command {
	var subs []*cobra.Command
	for _, d := range calc.Docs {
		subs = append(subs, calcLeaf(d))
	}
	return group("calc", "clinical calculators: dose, priming, bridge, refill, dates, titration",
		"Every amount is written with its unit: 20mL, 0.5mL/day, 10mg/mL, 400mcg/day, 30d.\nRun 'thecal calc CALCULATION --help' for its inputs and an example.",
		"calculation", subs...)
}

func calcLeaf(d calc.Doc) *cobra.Command {
	c := command(d.Name, d.Summary, d.About, calcArgs)
	c.Annotations = map[string]string{flagNoun: "input"}
	c.Example = calcFlags[d.Name].example
	in := &inputs{fs: c.Flags()}
	run := calcFlags[d.Name].flags(in)
	asJSON := in.fs.Bool("json", false, "print the result as JSON")
	in.order = append(in.order, "json")
	c.SetHelpFunc(func(*cobra.Command, []string) { calcHelp(c.OutOrStdout(), d, c.Example, in) })
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := in.required(in.needed...); err != nil {
			return err
		}
		lib, err := in.load()
		var rep *calc.Report
		if err == nil {
			rep, err = run(lib)
		}
		if err != nil {
			return calcError(c, in, err)
		}
		if *asJSON {
			if err := rep.WriteJSON(c.OutOrStdout()); err != nil {
				return err
			}
		} else {
			rep.WriteText(c.OutOrStdout())
		}
		if rep.Refused {
			return exitCode(exitRefused)
		}
		return nil
	}
	return c
}

// calcError says why a calculation was refused: an input by its flag, a
// library file with every problem in it.
func calcError(c *cobra.Command, in *inputs, err error) error {
	var ie *therapy.InputError
	var le *drug.LoadError
	var bad *inputError
	stderr := c.ErrOrStderr()
	switch {
	case errors.As(err, &bad):
		return err
	case errors.As(err, &ie):
		name := ie.Input
		if in.fs.Lookup(name) != nil {
			name = "--" + name
		}
		return badInput("%s: %s", name, ie.Reason)
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "%s: the drug library %s is refused:\n", c.CommandPath(), in.libraryName())
		for _, p := range le.Problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return exitCode(exitUsage)
	case errors.Is(err, therapy.ErrMethodsDisagree):
		fmt.Fprintf(stderr, "%s: %v\n", c.CommandPath(), err)
		return exitCode(1)
	}
	fmt.Fprintf(stderr, "%s: %v\n", c.CommandPath(), err)
	return exitCode(exitUsage)
}

// calcArgs refuses an argument: every input of a calculation is a flag.
func calcArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput("unexpected %q: every input is a flag, e.g. --rate 0.5mL/day", args[0])
	}
	return nil
}

// calcHelp is a calculation's help page: the formula, every input with an
// example, and an example command that runs.
func calcHelp(w io.Writer, d calc.Doc, example string, in *inputs) {
	fmt.Fprintf(w, "thecal calc %s: %s\n\n%s\n\nInputs (every amount with its unit; * required):\n", d.Name, d.Summary, strings.Trim(d.About, "\n"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range in.order {
		f := in.fs.Lookup(name)
		mark := " "
		if slices.Contains(in.needed, name) {
			mark = "*"
		}
		line := mark + " --" + f.Name
		if ex := f.Annotations["example"]; len(ex) > 0 {
			line += " " + ex[0]
		}
		what := f.Usage
		if f.DefValue != "" && f.DefValue != "false" {
			what += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", line, what)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nExample:\n  %s\n\nExit status: 0 done, 2 bad input (the message names the input and what is allowed)", example)
	if d.Refuses {
		fmt.Fprint(w, ", 1 the library refuses it or a stated reason is missing")
	}
	fmt.Fprintln(w, ".")
}

// inputs are a calculation's flags, in the order declared, for its help.
type inputs struct {
	fs      *pflag.FlagSet
	order   []string // flags in the order declared, for --help
	needed  []string // flags that must be given
	libFile *string  // --library, when the calculation reads the library
}

// input declares an input of type T, with an example for the help and its
// default ("" for none).
func input[T any](in *inputs, name, example, what, def string) *value[T] {
	v := flagOf[T](in.fs, name, def, what)
	in.note(name, example)
	return v
}

// inputList declares a repeatable input.
func inputList[T any](in *inputs, name, example, what string) *list[T] {
	l := &list[T]{}
	in.fs.Var(l, name, what)
	in.note(name, example)
	return l
}

func (in *inputs) note(name, example string) {
	in.order = append(in.order, name)
	if example != "" {
		in.fs.SetAnnotation(name, "example", []string{example})
	}
}

func (in *inputs) boolean(name, what string) *bool {
	in.order = append(in.order, name)
	return in.fs.Bool(name, false, what)
}

// need marks flags as required: refused before the calculation runs if absent.
func (in *inputs) need(names ...string) { in.needed = append(in.needed, names...) }

// required refuses the first of the flags named that was not given.
func (in *inputs) required(names ...string) error {
	for _, name := range names {
		if f := in.fs.Lookup(name); !f.Changed {
			return badInput("--%s: required: %s, e.g. --%s %s", name, f.Usage, name, f.Annotations["example"][0])
		}
	}
	return nil
}

// library declares --library: a clinic's library file instead of the built-in one.
func (in *inputs) library() {
	in.libFile = in.fs.String("library", "", "a clinic's drug library file (default: the built-in library)")
	in.note("library", "FILE")
}

func (in *inputs) libraryName() string {
	if in.libFile == nil || *in.libFile == "" {
		return "(built-in)"
	}
	return *in.libFile
}

// load returns the library given with --library, or the built-in one.
func (in *inputs) load() (*drug.Library, error) {
	if in.libFile == nil || *in.libFile == "" {
		return drug.Default(), nil
	}
	data, err := os.ReadFile(*in.libFile)
	if err != nil {
		return nil, &therapy.InputError{Input: "library", Reason: err.Error()}
	}
	return drug.Load(data)
}

// opt is the flag's value, or nil when it was not given.
func opt[T any](v *value[T]) *T {
	if !v.set {
		return nil
	}
	return &v.v
}

// model declares --reservoir and --model, read by calc.PumpModel.
func (in *inputs) model() func() (pump.Model, error) {
	res := input[unit.Volume](in, "reservoir", "20mL", "the pump's reservoir: 20mL (TP-20) or 40mL (TP-40)", "")
	name := input[string](in, "model", "TP-20", "the pump model, instead of --reservoir", "")
	return func() (pump.Model, error) { return calc.PumpModel(name.v, opt(res)) }
}

// catheter declares --catheter-length and --catheter-per-cm.
func (in *inputs) catheter() func() calc.Catheter {
	length := input[unit.Length](in, "catheter-length", "50cm", "the implanted catheter's length", "")
	perCm := input[unit.Volume](in, "catheter-per-cm", "0.0022mL", "the catheter's internal volume per cm", pump.DefaultCatheterPerCm.String())
	return func() calc.Catheter { return calc.Catheter{Length: length.v, PerCm: perCm.v} }
}
