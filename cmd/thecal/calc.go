package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

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

func calcCommand() *cobra.Command {
	var subs []*cobra.Command
	for _, d := range calc.Docs {
		subs = append(subs, calcLeaf(d))
	}
	return group("calc", "clinical calculators: dose, priming, bridge, refill, dates, titration",
		"Every amount is written with its unit: 20mL, 0.5mL/day, 10mg/mL, 400mcg/day, 30d.",
		"calculation", subs...)
}

// calcLeaf is one calculation: its inputs as flags, then --library when it
// reads the drug library, and --json.
func calcLeaf(d calc.Doc) *cobra.Command {
	c := command(d.Name, d.Summary, d.About, calcArgs)
	c.Annotations = map[string]string{flagNoun: "input"}
	c.Example = d.Example
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
		if err := fs.SetAnnotation(in.Name, exampleFlag, []string{in.Example}); err != nil {
			panic(err)
		}
		if in.Required {
			need(fs, in.Name)
		}
	}
	lib := calc.Library{Library: drug.Default()}
	if d.Library {
		fs.StringVar(&lib.File, "library", "", "a clinic's drug library file (default: the built-in library)")
		inputs = append(inputs, calc.Input{Name: "library", Example: "FILE", What: fs.Lookup("library").Usage})
	}
	asJSON := fs.Bool("json", false, "print the result as JSON")
	inputs = append(inputs, calc.Input{Name: "json", What: "print the result as JSON"})
	c.SetHelpFunc(func(*cobra.Command, []string) {
		if err := d.WriteHelp(c.OutOrStdout(), inputs); err != nil {
			fmt.Fprintln(c.ErrOrStderr(), err)
		}
	})
	c.RunE = func(c *cobra.Command, _ []string) error {
		var err error
		if lib.Library, err = readLibrary(lib.File); err != nil {
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

// readLibrary reads a clinic's drug library file (--library), or returns
// the built-in library when path is "".
func readLibrary(path string) (*drug.Library, error) {
	if path == "" {
		return drug.Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &therapy.InputError{Input: "library", Reason: err.Error()}
	}
	return drug.Load(data)
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
