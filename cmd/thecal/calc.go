package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// thecal calc: one subcommand per calculation of package therapy and the drug
// library check. Each prints its inputs, the working and the result, or with
// --json the same as JSON. Wiring only: every rule lives in drug and therapy.

// exitRefused is the exit status of a check whose findings stop the prescription.
const exitRefused = 1

type calcCmd struct {
	name, summary string
	about         string // what it computes and how, for a nurse
	example       string
	refuses       bool // exit status 1 when the library refuses
	// setup declares the subcommand's flags and returns the computation.
	setup func(in *inputs) func() (*report, error)
}

func calcCmds() []calcCmd {
	return []calcCmd{
		doseCmd, primingCmd, bridgeCmd, refillCmd, nextRefillCmd, batteryCmd,
		screeningCmd, titrationCmd, opioidCmd, trialCmd, checkCmd, libraryCmd,
	}
}

func calcCommand() *cobra.Command {
	var subs []*cobra.Command
	for _, c := range calcCmds() {
		subs = append(subs, c.command())
	}
	return group("calc", "clinical calculators: dose, priming, bridge, refill, dates, titration",
		"Every amount is written with its unit: 20mL, 0.5mL/day, 10mg/mL, 400mcg/day, 30d.\nRun 'thecal calc CALCULATION --help' for its inputs and an example.",
		"calculation", subs...)
}

func (c calcCmd) command() *cobra.Command {
	cmd := command(c.name, c.summary, c.about, calcArgs)
	cmd.Annotations = map[string]string{flagNoun: "input"}
	in := &inputs{fs: cmd.Flags()}
	compute := c.setup(in)
	asJSON := in.boolean("json", "print the result as JSON")
	cmd.SetHelpFunc(func(*cobra.Command, []string) { c.help(cmd.OutOrStdout(), in) })
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		prog := cmd.CommandPath()
		var rep *report
		err := in.required(in.needed...)
		if err == nil {
			rep, err = compute()
		}
		if err != nil {
			var ie *therapy.InputError
			var le *drug.LoadError
			switch {
			case errors.As(err, &ie):
				name := ie.Input
				if in.fs.Lookup(name) != nil {
					name = "--" + name
				}
				return badInput("%s: %s", name, ie.Reason)
			case errors.As(err, &le):
				fmt.Fprintf(stderr, "%s: the drug library %s is refused:\n", prog, in.libraryName())
				for _, p := range le.Problems {
					fmt.Fprintf(stderr, "  %s\n", p)
				}
			default:
				fmt.Fprintf(stderr, "%s: %v\n", prog, err)
				if errors.Is(err, therapy.ErrMethodsDisagree) {
					return exitCode(1)
				}
			}
			return exitCode(exitUsage)
		}
		rep.calc = c.name
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(rep.jsonForm()); err != nil {
				return err
			}
		} else {
			rep.writeText(stdout)
		}
		return status(rep.status)
	}
	return cmd
}

// calcArgs refuses an argument: every input of a calculation is a flag.
func calcArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput("unexpected %q: every input is a flag, e.g. --rate 0.5mL/day", args[0])
	}
	return nil
}

func (c calcCmd) help(w io.Writer, in *inputs) {
	fmt.Fprintf(w, "thecal calc %s: %s\n\n%s\n\nInputs (every amount with its unit; * required):\n", c.name, c.summary, strings.Trim(c.about, "\n"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range in.order {
		f := in.fs.Lookup(name)
		example, what, _ := strings.Cut(f.Usage, "\t")
		mark := " "
		if slices.Contains(in.needed, name) {
			mark = "*"
		}
		line := mark + " --" + f.Name
		if example != "" {
			line += " " + example
		}
		if f.DefValue != "" && f.DefValue != "false" {
			what += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", line, what)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nExample:\n  %s\n\nExit status: 0 done, 2 bad input (the message names the input and what is allowed)", c.example)
	if c.refuses {
		fmt.Fprint(w, ", 1 the library refuses it or a stated reason is missing")
	}
	fmt.Fprintln(w, ".")
}

// inputs declares typed flags that read amounts with their units, in order.
type inputs struct {
	fs      *pflag.FlagSet
	order   []string // flags in the order declared, for --help
	needed  []string // flags that must be given
	libFile string
}

// need marks flags as required: refused before the calculation runs if absent.
func (in *inputs) need(names ...string) { in.needed = append(in.needed, names...) }

func (in *inputs) boolean(name, what string) *bool {
	in.order = append(in.order, name)
	return in.fs.Bool(name, false, "\t"+what)
}

// list declares a repeatable flag.
func (in *inputs) list(v pflag.Value, name, example, what string) {
	in.order = append(in.order, name)
	in.fs.Var(v, name, example+"\t"+what)
}

// declare declares an input of type T: its example and what it is, for the help.
func declare[T any](in *inputs, name, example, what, def string) *value[T] {
	in.order = append(in.order, name)
	return flagOf[T](in.fs, name, def, example+"\t"+what)
}

func (in *inputs) volume(name, example, what, def string) *value[unit.Volume] {
	return declare[unit.Volume](in, name, example, what, def)
}

func (in *inputs) rate(name, example, what, def string) *value[unit.Rate] {
	return declare[unit.Rate](in, name, example, what, def)
}

func (in *inputs) duration(name, example, what, def string) *value[unit.Duration] {
	return declare[unit.Duration](in, name, example, what, def)
}

func (in *inputs) time(name, what string) *value[unit.Time] {
	return declare[unit.Time](in, name, "2026-01-05T08:00:00Z", what, "")
}

// withUnit is an amount and the mass unit it was written in, so that the
// answer is given in the unit the nurse typed.
type withUnit[T any] struct {
	v T
	u unit.MassUnit
}

func (w *withUnit[T]) UnmarshalText(b []byte) error {
	var err error
	switch p := any(&w.v).(type) {
	case *unit.Concentration:
		*p, w.u, err = unit.ParseConcentration(string(b))
	case *unit.DoseRate:
		var d withUnit[unit.DoseRate]
		d, err = parseDose(string(b))
		*p, w.u = d.v, d.u
	}
	return err
}

func (in *inputs) concentration(name, example, what string) *value[withUnit[unit.Concentration]] {
	return declare[withUnit[unit.Concentration]](in, name, example, what, "")
}

func (in *inputs) dose(name, example, what string) *value[withUnit[unit.DoseRate]] {
	return declare[withUnit[unit.DoseRate]](in, name, example, what, "")
}

// parseDose reads a dose per day or per hour; a bare mass is refused here, where
// "5 mg" could as well be a bolus as a daily dose.
func parseDose(s string) (withUnit[unit.DoseRate], error) {
	d, u, err := unit.ParseDoseRate(s)
	if err == nil && !strings.Contains(s, "/") {
		err = fmt.Errorf("%q is a mass, not a dose rate: write it per day or per hour, e.g. %s/day", s, strings.TrimSpace(s))
	}
	return withUnit[unit.DoseRate]{d, u}, err
}

func (in *inputs) text(name, example, what, def string) *value[string] {
	return declare[string](in, name, example, what, def)
}

// library declares --library, read by load.
func (in *inputs) library() {
	in.fs.StringVar(&in.libFile, "library", "", "FILE\ta clinic's drug library file (default: the built-in library)")
	in.order = append(in.order, "library")
}

func (in *inputs) libraryName() string {
	if in.libFile == "" {
		return "(built-in)"
	}
	return in.libFile
}

// load returns the library given with --library, or the built-in one.
func (in *inputs) load() (*drug.Library, error) {
	if in.libFile == "" {
		return drug.Default(), nil
	}
	data, err := os.ReadFile(in.libFile)
	if err != nil {
		return nil, &therapy.InputError{Input: "library", Reason: err.Error()}
	}
	return drug.Load(data)
}

// drug loads the library and finds the drug name in it.
func (in *inputs) drug(name string) (*drug.Library, *drug.Drug, error) {
	lib, err := in.load()
	if err != nil {
		return nil, nil, err
	}
	d, err := lookup(lib, name)
	return lib, d, err
}

// lookup finds --drug in the library.
func lookup(lib *drug.Library, name string) (*drug.Drug, error) {
	d, ok := lib.Lookup(name)
	if !ok {
		var names []string
		for _, d := range lib.Drugs {
			names = append(names, d.Name)
		}
		return nil, &therapy.InputError{Input: "drug", Reason: fmt.Sprintf("%q is not in drug library %s (it has: %s)", name, lib.Version, strings.Join(names, ", "))}
	}
	return d, nil
}

// required refuses the first of the given flags that was not set.
func (in *inputs) required(names ...string) error {
	for _, name := range names {
		if f := in.fs.Lookup(name); !f.Changed {
			example, what, _ := strings.Cut(f.Usage, "\t")
			return &therapy.InputError{Input: name, Reason: fmt.Sprintf("required: %s, e.g. --%s %s", what, name, example)}
		}
	}
	return nil
}

// report is a calculation's result, for people and for machines.
type report struct {
	calc      string
	title     string
	workTitle string // "Working" unless set
	inputs    []field
	working   []string
	results   []field
	notes     []string
	status    int
}

// field is one input or result: value is what JSON carries (a string with its
// unit, a number, a bool), text what a person reads (value when empty).
type field struct {
	key, label string
	value      any
	text       string
}

func (r *report) in(key, label string, value any, text ...string) {
	r.inputs = append(r.inputs, mkField(key, label, value, text))
}

func (r *report) out(key, label string, value any, text ...string) {
	r.results = append(r.results, mkField(key, label, value, text))
}

func (r *report) work(format string, args ...any) {
	r.working = append(r.working, fmt.Sprintf(format, args...))
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func mkField(key, label string, value any, text []string) field {
	f := field{key: key, label: label, value: value}
	if len(text) > 0 {
		f.text = text[0]
	}
	if s, ok := value.(fmt.Stringer); ok {
		f.value = s.String()
	}
	return f
}

func (f field) display() string {
	if f.text != "" {
		return f.text
	}
	if b, ok := f.value.(bool); ok {
		return map[bool]string{true: "yes", false: "no"}[b]
	}
	return fmt.Sprint(f.value)
}

func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s\n", r.title)
	section := func(name string, fs []field) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintf(tw, "  %s\t%s\n", f.label, f.display())
		}
		tw.Flush()
	}
	section("Inputs", r.inputs)
	if len(r.working) > 0 {
		title := r.workTitle
		if title == "" {
			title = "Working"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		for _, l := range r.working {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	section("Result", r.results)
	if len(r.notes) > 0 {
		fmt.Fprintf(w, "\nNotes\n")
		for _, n := range r.notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

func (r *report) jsonForm() any {
	obj := func(fs []field) map[string]any {
		m := make(map[string]any, len(fs))
		for _, f := range fs {
			m[f.key] = f.value
		}
		return m
	}
	return struct {
		Calc    string         `json:"calc"`
		Title   string         `json:"title"`
		Inputs  map[string]any `json:"inputs"`
		Working []string       `json:"working"`
		Result  map[string]any `json:"result"`
		Notes   []string       `json:"notes"`
	}{r.calc, r.title, obj(r.inputs), nonNil(r.working), obj(r.results), nonNil(r.notes)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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

func newClock(f *value[unit.Time], event string) clock { return clock{f.v, f.set, event} }

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

// model declares --reservoir (20mL or 40mL) and --model (TP-20 or TP-40) and
// returns the reading of the pump model from them.
func (in *inputs) model() func() (pump.Model, error) {
	res := in.volume("reservoir", "20mL", "the pump's reservoir: 20mL (TP-20) or 40mL (TP-40)", "")
	name := in.text("model", "TP-20", "the pump model, instead of --reservoir", "")
	return func() (pump.Model, error) {
		if name.set {
			m, ok := pump.ParseModel(name.v)
			if !ok {
				return 0, &therapy.InputError{Input: "model", Reason: fmt.Sprintf("%q is not a model: TP-20 or TP-40", name.v)}
			}
			if res.set && res.v != m.Reservoir() {
				return 0, &therapy.InputError{Input: "reservoir", Reason: fmt.Sprintf("%v does not match %v, whose reservoir is %v", res.v, m, m.Reservoir())}
			}
			return m, nil
		}
		if !res.set {
			return 0, &therapy.InputError{Input: "reservoir", Reason: "required: the pump's reservoir, 20mL (TP-20) or 40mL (TP-40), or give --model"}
		}
		return therapy.ModelFor(res.v)
	}
}
