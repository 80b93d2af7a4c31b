package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

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
	setup func(fs *flag.FlagSet, in *inputs) func() (*report, error)
}

func calcCmds() []calcCmd {
	return []calcCmd{
		doseCmd, primingCmd, bridgeCmd, refillCmd, nextRefillCmd, batteryCmd,
		screeningCmd, titrationCmd, opioidCmd, trialCmd, checkCmd, libraryCmd,
	}
}

func runCalc(args []string, stdout, stderr io.Writer) int {
	var cmds []command
	for _, c := range calcCmds() {
		cmds = append(cmds, command{c.name, c.summary, c.run})
	}
	return dispatch("thecal calc", "calculation", cmds, args, stdout, stderr, calcUsage)
}

func calcUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: thecal calc CALCULATION [INPUTS] [--json]\n\ncalculations:")
	for _, c := range calcCmds() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery amount is written with its unit: 20mL, 0.5mL/day, 10mg/mL, 400mcg/day, 30d.\nRun 'thecal calc CALCULATION --help' for its inputs and an example.")
}

func (c calcCmd) run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thecal calc "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := &inputs{fs: fs}
	compute := c.setup(fs, in)
	asJSON := in.boolean("json", "print the result as JSON")
	prog := "thecal calc " + c.name
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help(stdout, in)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for the inputs.\n", prog, flagError(err), prog)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected %q: every input is a flag, e.g. --rate 0.5mL/day\nRun '%s --help' for the inputs.\n", prog, fs.Arg(0), prog)
		return exitUsage
	}
	var rep *report
	err := required(fs, in.needed...)
	if err == nil {
		rep, err = compute()
	}
	if err != nil {
		var ie *therapy.InputError
		var le *drug.LoadError
		switch {
		case errors.As(err, &ie):
			name := ie.Input
			if fs.Lookup(name) != nil {
				name = "--" + name
			}
			fmt.Fprintf(stderr, "%s: %s: %s\nRun '%s --help' for the inputs.\n", prog, name, ie.Reason, prog)
		case errors.As(err, &le):
			fmt.Fprintf(stderr, "%s: the drug library %s is refused:\n", prog, in.libraryName())
			for _, p := range le.Problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
		default:
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			if errors.Is(err, therapy.ErrMethodsDisagree) {
				return 1
			}
		}
		return exitUsage
	}
	rep.calc = c.name
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep.jsonForm()); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
	} else {
		rep.writeText(stdout)
	}
	return rep.status
}

// flagError rewrites the flag package's error in the calculators' words.
func flagError(err error) string {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "invalid value "); ok {
		// invalid value "20" for flag -reservoir: volume "20" has no unit …
		if _, after, ok := strings.Cut(rest, " for flag -"); ok {
			name, reason, _ := strings.Cut(after, ": ")
			return "--" + name + ": " + reason
		}
	}
	if name, ok := strings.CutPrefix(s, "flag provided but not defined: -"); ok {
		return "--" + strings.TrimPrefix(name, "-") + " is not an input of this calculation"
	}
	if name, ok := strings.CutPrefix(s, "flag needs an argument: -"); ok {
		return "--" + strings.TrimPrefix(name, "-") + " needs a value"
	}
	return s
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
	fs      *flag.FlagSet
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
func (in *inputs) list(v flag.Value, name, example, what string) {
	in.order = append(in.order, name)
	in.fs.Var(v, name, example+"\t"+what)
}

// value is a flag read by a unit parser; set records whether it was given.
type value[T any] struct {
	v     T
	set   bool
	def   string
	parse func(string) (T, error)
}

func (f *value[T]) String() string { return f.def }

func (f *value[T]) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", ""))
	}
	f.v, f.set = v, true
	return nil
}

func declare[T any](in *inputs, name, example, what, def string, parse func(string) (T, error)) *value[T] {
	f := &value[T]{parse: parse, def: def}
	if def != "" {
		if err := f.Set(def); err != nil {
			panic(name + ": bad default: " + err.Error())
		}
		f.set = false
	}
	in.fs.Var(f, name, example+"\t"+what)
	in.order = append(in.order, name)
	return f
}

func (in *inputs) volume(name, example, what, def string) *value[unit.Volume] {
	return declare(in, name, example, what, def, unit.ParseVolume)
}

func (in *inputs) rate(name, example, what, def string) *value[unit.Rate] {
	return declare(in, name, example, what, def, unit.ParseRate)
}

func (in *inputs) duration(name, example, what, def string) *value[unit.Duration] {
	return declare(in, name, example, what, def, unit.ParseDuration)
}

func (in *inputs) time(name, what string) *value[unit.Time] {
	return declare(in, name, "2026-01-05T08:00:00Z", what, "", unit.ParseTime)
}

// withUnit is an amount and the mass unit it was written in.
type withUnit[T any] struct {
	v T
	u unit.MassUnit
}

func (in *inputs) concentration(name, example, what string) *value[withUnit[unit.Concentration]] {
	return declare(in, name, example, what, "", func(s string) (withUnit[unit.Concentration], error) {
		c, u, err := unit.ParseConcentration(s)
		return withUnit[unit.Concentration]{c, u}, err
	})
}

func (in *inputs) dose(name, example, what string) *value[withUnit[unit.DoseRate]] {
	return declare(in, name, example, what, "", parseDose)
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
	return declare(in, name, example, what, def, func(s string) (string, error) { return s, nil })
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
func required(fs *flag.FlagSet, names ...string) error {
	for _, name := range names {
		f := fs.Lookup(name)
		if v, ok := f.Value.(interface{ given() bool }); ok && !v.given() {
			example, what, _ := strings.Cut(f.Usage, "\t")
			return &therapy.InputError{Input: name, Reason: fmt.Sprintf("required: %s, e.g. --%s %s", what, name, example)}
		}
	}
	return nil
}

func (f *value[T]) given() bool { return f.set }

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
