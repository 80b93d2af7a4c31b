package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/calc"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/therapy"
)

// thecal calc: one subcommand per calculator of package calc, its inputs
// flags. Each reads its flags into the calculator's inputs, runs it and
// prints the report, as text or with --json as JSON.

// exitRefused is the exit status of a report the drug library refuses.
const exitRefused = 1

// calcExamples are the example command lines of the calculators' help pages.
var calcExamples = map[string]string{
	"dose":        "thecal calc dose --concentration 10mg/mL --rate 0.5mL/day",
	"priming":     "thecal calc priming --catheter-length 50cm",
	"bridge":      "thecal calc bridge --old-rate 0.5mL/day --catheter-length 50cm --start 2026-01-05T08:00:00Z",
	"refill":      "thecal calc refill --reservoir 20mL --last-fill 20mL --rate 0.5mL/day --since 30d --withdrawn 4.1mL",
	"next-refill": "thecal calc next-refill --reservoir 20mL --volume 20mL --rate 0.5mL/day --bolus-volume 0.02mL --lockout 4h --max-per-24h 4 --drug morphine --filled 2026-01-05T08:00:00Z",
	"battery":     "thecal calc battery --battery 1000000uAh --rate 0.5mL/day --at 2026-01-05T08:00:00Z",
	"screening":   "thecal calc screening --start 2026-01-05T08:00:00Z --result 50mcg:none --result 75mcg:10h",
	"titration":   "thecal calc titration --drug ziconotide --start 2.4mcg/day --target 19.2mcg/day --concentration 25mcg/mL --from 2026-01-05T08:00:00Z",
	"opioid":      "thecal calc opioid --oral 60mg/day",
	"trial":       "thecal calc trial --baseline 8 --trial 3 --functional yes",
	"check":       "thecal calc check --drug ziconotide --concentration 25mcg/mL --dose 4.8mcg/day --at 2026-01-07T08:00:00Z --prev 2d=2.4mcg/day",
	"library":     "thecal calc library --drug ziconotide",
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

// calcLeaf is one calculation: its inputs as flags, then --library when it
// reads the drug library, and --json.
func calcLeaf(d calc.Doc) *cobra.Command {
	c := command(d.Name, d.Summary, d.About, calcArgs)
	c.Annotations = map[string]string{flagNoun: "input"}
	c.Example = calcExamples[d.Name]
	calculation := d.New()
	inputs := calculation.Inputs()
	fs := c.Flags()
	for _, in := range inputs {
		if in.Switch != nil {
			fs.BoolVar(in.Switch, in.Name, false, in.What)
			continue
		}
		if in.Default != "" {
			if err := in.Text.UnmarshalText([]byte(in.Default)); err != nil {
				panic("calc " + d.Name + " --" + in.Name + ": bad default: " + err.Error())
			}
		}
		fs.Var(&textFlag{TextUnmarshaler: in.Text, typ: in.Example, def: in.Default, repeat: in.Repeat}, in.Name, in.What)
	}
	lib := calc.Library{Library: drug.Default()}
	if d.Library {
		fs.StringVar(&lib.File, "library", "", "a clinic's drug library file (default: the built-in library)")
		inputs = append(inputs, calc.Input{Name: "library", Example: "FILE", What: fs.Lookup("library").Usage})
	}
	asJSON := fs.Bool("json", false, "print the result as JSON")
	inputs = append(inputs, calc.Input{Name: "json", What: "print the result as JSON"})
	c.SetHelpFunc(func(*cobra.Command, []string) { calcHelp(c.OutOrStdout(), d, inputs) })
	c.RunE = func(c *cobra.Command, _ []string) error {
		for _, in := range inputs {
			if in.Required && !fs.Changed(in.Name) {
				return calcError(c, lib, in.Missing())
			}
		}
		if err := loadLibrary(&lib); err != nil {
			return calcError(c, lib, err)
		}
		rep, err := calculation.Report(lib)
		if err != nil {
			return calcError(c, lib, err)
		}
		write := rep.WriteText
		if *asJSON {
			write = rep.WriteJSON
		}
		if err := write(c.OutOrStdout()); err != nil {
			return err
		}
		if rep.Refused {
			return exitCode(exitRefused)
		}
		return nil
	}
	return c
}

// loadLibrary reads the library file given with --library, if one was.
func loadLibrary(lib *calc.Library) error {
	if lib.File == "" {
		return nil
	}
	data, err := os.ReadFile(lib.File)
	if err != nil {
		return &therapy.InputError{Input: "library", Reason: err.Error()}
	}
	lib.Library, err = drug.Load(data)
	return err
}

// calcError says why a calculation was refused: an input by its flag, a
// library file with every problem in it.
func calcError(c *cobra.Command, lib calc.Library, err error) error {
	var ie *therapy.InputError
	var le *drug.LoadError
	stderr := c.ErrOrStderr()
	switch {
	case errors.As(err, &ie):
		var names []string
		for _, name := range append([]string{ie.Input}, ie.With...) {
			if c.Flags().Lookup(name) != nil {
				name = "--" + name
			}
			names = append(names, name)
		}
		return badInput("%s: %s", strings.Join(names, ", "), ie.Reason)
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "%s: the drug library %s is refused:\n", c.CommandPath(), lib.File)
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
func calcHelp(w io.Writer, d calc.Doc, inputs []calc.Input) {
	fmt.Fprintf(w, "thecal calc %s: %s\n\n%s\n\nInputs (every amount with its unit; * required):\n", d.Name, d.Summary, strings.Trim(d.About, "\n"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
	_ = tw.Flush() // w is a terminal or a pipe: nowhere to say it failed
	fmt.Fprintf(w, "\nExample:\n  %s\n\nExit status: 0 done, 2 bad input (the message names the input and what is allowed)", calcExamples[d.Name])
	if d.Refuses {
		fmt.Fprint(w, ", 1 the library refuses it or a stated reason is missing")
	}
	fmt.Fprintln(w, ".")
}
