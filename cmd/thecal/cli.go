package main

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// The command line: one tree of github.com/spf13/cobra commands, flags by
// github.com/spf13/pflag (flags anywhere on the line, generated help, shell
// completion). Each command is built by a function returning its
// *cobra.Command; its RunE parses nothing itself and returns nil, an
// *inputError (status 2) or an exitCode (the command has said why).
//
// Adding a command: in a file of its own, a function that builds it with
// command(use, summary, help, args) (or group for one with subcommands),
// declares its flags on c.Flags() — quantities with flagOf[unit.X] (read by
// their UnmarshalText), lists with listOf, required ones with need — and sets
// RunE; then list it in rootCommand or its group. Logic goes in a package;
// the command reads flags, calls it and prints. Every flag is refused when
// given twice, without anything more to write.

// exitUsage is the exit status for bad input: a malformed or unsafe file, flag or value.
const exitUsage = 2

// inputError refuses the command line: printed as "PROG: MSG" with a pointer to
// the help, exit status 2.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &inputError{fmt.Sprintf(format, args...)}
}

// exitCode ends a command that has said all it has to say with a status.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// status turns a command's exit status into RunE's error.
func status(code int) error {
	if code == 0 {
		return nil
	}
	return exitCode(code)
}

// runs adapts a body that prints its own messages and returns an exit status.
func runs(body func(args []string, stdout, stderr io.Writer) int) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		return status(body(args, c.OutOrStdout(), c.ErrOrStderr()))
	}
}

// run builds the command tree, runs the command args name and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := rootCommand()
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	c, err := root.ExecuteC()
	var code exitCode
	var bad *inputError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &bad):
		fmt.Fprintf(stderr, "%s: %s\n", c.CommandPath(), bad.msg)
		if c.HasAvailableSubCommands() {
			fmt.Fprint(stderr, "\n"+c.UsageString())
		} else {
			fmt.Fprintf(stderr, "Run '%s --help' for %s.\n", c.CommandPath(), helpNoun(c))
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", c.CommandPath(), err)
	return 1
}

// annotation keys on commands.
const (
	// flagNoun is what a command calls its flags in messages ("input" for a calculator).
	flagNoun = "thecal-flag-noun"
	// subNoun is what a group calls its subcommands ("calculation"), subWord
	// how its usage line shows one ("CALCULATION").
	subNoun = "thecal-sub-noun"
	subWord = "thecal-sub-word"
)

func helpNoun(c *cobra.Command) string {
	if n := c.Annotations[flagNoun]; n != "" {
		return "the " + n + "s"
	}
	return "its flags"
}

const usageBody = `{{if .HasAvailableSubCommands}}

{{index .Annotations "thecal-sub-noun"}}s:{{range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding}}  {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

flags of every command here:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasExample}}

example:
  {{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} {{index .Annotations "thecal-sub-word"}} --help' for its own help.{{end}}
`

const (
	usageTemplate = "usage: {{.UseLine}}" + usageBody
	helpTemplate  = "usage: {{.UseLine}}{{with .Long}}\n\n{{. | trimTrailingWhitespaces}}{{end}}" + usageBody
)

// rootCommand is the whole tree. A command is added by writing a function
// that returns it, in a file of its own, and listing it here or in its group.
func rootCommand() *cobra.Command {
	cobra.EnableCommandSorting = false // help lists commands in the order given
	root := group("thecal", "Thecal: an open intrathecal drug pump system",
		"Thecal's one binary: the simulator, the clinical calculators, the pump process,\nthe programmer, the patient's device and the clinic server.", "command",
		simCommand(), calcCommand(), serveCommand(), demoCommand(), usersCommand(),
		backupCommand(), restoreCommand(), auditCommand(), pumpCommand(), keysCommand(), programCommand(), ptmCommand(), monitorCommand(),
	)
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	root.SetFlagErrorFunc(flagError)
	root.PersistentPreRunE = checkRequired
	refuseRepeats(root)
	return root
}

// group is a command that only chooses among its subcommands, each called a
// noun ("command", "calculation").
func group(name, short, long, noun string, subs ...*cobra.Command) *cobra.Command {
	word := strings.ToUpper(noun)
	g := &cobra.Command{Use: name + " " + word, Short: short, Long: long, Args: cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true, Annotations: map[string]string{subNoun: noun, subWord: word}}
	g.RunE = func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			fmt.Fprint(c.ErrOrStderr(), c.UsageString())
			return exitCode(exitUsage)
		case args[0] == "help":
			return c.Help()
		}
		return badInput("unknown %s %q", noun, args[0])
	}
	g.AddCommand(subs...)
	return g
}

// command is a leaf command; args checks its arguments (noArgs, oneFile, …).
func command(use, short, long string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, Args: args, DisableFlagsInUseLine: true}
	c.Flags().SortFlags = false
	return c
}

// requiredFlag marks a flag its command cannot run without; example, the
// example its refusal shows.
const requiredFlag, exampleFlag = "thecal-required", "thecal-example"

// need marks flags of fs as required.
func need(fs *pflag.FlagSet, names ...string) {
	for _, name := range names {
		if err := fs.SetAnnotation(name, requiredFlag, []string{"true"}); err != nil {
			panic(err) // no such flag: a programming error, caught by every test
		}
	}
}

// checkRequired refuses the first required flag of c not given, before c runs.
func checkRequired(c *cobra.Command, _ []string) error {
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Annotations[requiredFlag] == nil || f.Changed {
			return
		}
		err = badInput("--%s: required: %s", f.Name, strings.ReplaceAll(f.Usage, "`", ""))
		if ex := f.Annotations[exampleFlag]; ex != nil {
			err = badInput("--%s: required: %s, e.g. --%s %s", f.Name, f.Usage, f.Name, ex[0])
		}
	})
	return err
}

// noArgs refuses any argument: every input is a flag.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput("unexpected argument %q", args[0])
	}
	return nil
}

// oneFile takes exactly one scenario file.
func oneFile(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return badInput("give exactly one scenario file")
	}
	return nil
}

// flagError says what pflag refused, naming the flag.
func flagError(c *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	var unknown *pflag.NotExistError
	var missing *pflag.ValueRequiredError
	switch {
	case errors.As(err, &invalid):
		return badInput("--%s: %s", invalid.GetFlag().Name, valueError(invalid.GetValue(), invalid.Unwrap()))
	case errors.As(err, &unknown):
		noun := "flag of this command"
		if n := c.Annotations[flagNoun]; n != "" {
			noun = n + " of this calculation"
		}
		return badInput("--%s is not a%s %s", unknown.GetSpecifiedName(), article(noun), noun)
	case errors.As(err, &missing):
		return badInput("--%s needs a value", missing.GetSpecifiedName())
	}
	return badInput("%v", err)
}

func article(noun string) string {
	if strings.IndexByte("aeiou", noun[0]) >= 0 {
		return "n"
	}
	return ""
}

// valueError says why a flag's value was refused, in words: the unit
// package's own message, or what kind of number was expected.
func valueError(value string, err error) string {
	var num *strconv.NumError
	if errors.As(err, &num) {
		switch {
		case errors.Is(num.Err, strconv.ErrRange):
			return fmt.Sprintf("%q is out of range", value)
		case num.Func == "ParseFloat":
			return fmt.Sprintf("%q is not a number", value)
		case num.Func == "ParseBool":
			return fmt.Sprintf("%q is not true or false", value)
		}
		return fmt.Sprintf("%q is not a whole number", value)
	}
	var name *pump.TextError
	if errors.As(err, &name) {
		return fmt.Sprintf("%q is not a %s (allowed: %s)", name.Text, name.Type, strings.Join(name.Allowed, ", "))
	}
	return clean(err).Error()
}

// clean drops the unit package's "unit: " prefixes from a parse error.
func clean(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", ""))
}

// once refuses a second value for a flag that takes one: pflag alone would
// keep the last silently, so a typo corrected by retyping the flag would
// still run — with whichever value came last.
type once struct {
	pflag.Value
	first string
	given bool
}

func (o *once) Set(s string) error {
	if o.given {
		if o.Type() == "bool" {
			return errors.New("given twice: give it once")
		}
		return fmt.Errorf("given twice (%s, then %s): give it once", o.first, s)
	}
	if err := o.Value.Set(s); err != nil {
		return err
	}
	o.first, o.given = s, true
	return nil
}

// refuseRepeats wraps every flag of the tree in once, but for the lists.
func refuseRepeats(c *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if t, ok := f.Value.(*textFlag); ok && t.repeat {
			return
		}
		if _, ok := f.Value.(*once); !ok {
			f.Value = &once{Value: f.Value}
		}
	}
	c.Flags().VisitAll(wrap)
	c.PersistentFlags().VisitAll(wrap)
	for _, sub := range c.Commands() {
		refuseRepeats(sub)
	}
}

// textFlag is the one adapter between pflag and Thecal's values: a flag
// whose value reads itself from text (an encoding.TextUnmarshaler: every
// unit quantity, every calculator's input, value and list below). A repeat
// flag may be given more than once; its help must say "(repeat)".
type textFlag struct {
	encoding.TextUnmarshaler
	typ, def string
	repeat   bool
}

func (f *textFlag) Set(s string) error { return f.UnmarshalText([]byte(s)) }
func (f *textFlag) String() string     { return f.def }
func (f *textFlag) Type() string       { return f.typ }

// value holds one T read from text: a string, or a type whose pointer reads
// itself (encoding.TextUnmarshaler). set says whether the flag was given.
type value[T any] struct {
	v   T
	set bool
}

func (f *value[T]) UnmarshalText(b []byte) error {
	var x T
	switch p := any(&x).(type) {
	case *string:
		*p = string(b)
	case encoding.TextUnmarshaler:
		if err := p.UnmarshalText(b); err != nil {
			return err
		}
	default:
		panic(fmt.Sprintf("%T does not read itself from text", x))
	}
	f.v, f.set = x, true
	return nil
}

// list holds every T a repeated flag gave, in order.
type list[T any] struct{ v []T }

func (l *list[T]) UnmarshalText(b []byte) error {
	var x value[T]
	if err := x.UnmarshalText(b); err != nil {
		return err
	}
	l.v = append(l.v, x.v)
	return nil
}

// typeName names T in help: "volume", "rate", "string".
func typeName[T any]() string { return strings.ToLower(reflect.TypeFor[T]().Name()) }

// intWithin declares a whole-number flag refused outside lo to hi.
func intWithin(fs *pflag.FlagSet, name string, def, lo, hi int, usage string) *int {
	p := &def
	read := textFunc(func(b []byte) error {
		n, err := strconv.Atoi(string(b))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is outside %d to %d", b, lo, hi)
		}
		*p = n
		return nil
	})
	fs.Var(&textFlag{TextUnmarshaler: read, typ: "int", def: strconv.Itoa(def)}, name, usage)
	return p
}

// textFunc reads text with a function.
type textFunc func([]byte) error

func (f textFunc) UnmarshalText(b []byte) error { return f(b) }

// flagOf declares a flag of type T on fs, with a default read from def ("" for none).
func flagOf[T any](fs *pflag.FlagSet, name, def, usage string) *value[T] {
	v := &value[T]{}
	if def != "" {
		if err := v.UnmarshalText([]byte(def)); err != nil {
			panic("flag --" + name + ": bad default: " + err.Error())
		}
		v.set = false
	}
	fs.Var(&textFlag{TextUnmarshaler: v, typ: typeName[T](), def: def}, name, usage)
	return v
}

// listOf declares a flag of type T that may be given more than once.
func listOf[T any](fs *pflag.FlagSet, name, usage string) *list[T] {
	l := &list[T]{}
	fs.Var(&textFlag{TextUnmarshaler: l, typ: typeName[T](), repeat: true}, name, usage)
	return l
}
