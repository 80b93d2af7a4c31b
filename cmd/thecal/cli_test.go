package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestRepeatedFlagRefused: a flag that takes one value, given twice, is
// refused with status 2 naming it, whatever its type; nothing is computed.
func TestRepeatedFlagRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"calc", "dose", "--concentration", "10mg/mL", "--rate", "0.5mL/day", "--rate", "0.6mL/day"}, "--rate: given twice (0.5mL/day, then 0.6mL/day)"},
		{[]string{"calc", "dose", "--concentration", "10mg/mL", "--rate", "0.5mL/day", "--json", "--json"}, "--json: given twice"},
		{[]string{"calc", "check", "--drug", "morphine", "--drug", "baclofen", "--concentration", "10mg/mL", "--dose", "1mg/day"}, "--drug: given twice (morphine, then baclofen)"},
		{[]string{"sim", "population", "--patients", "3", "--patients", "4"}, "--patients: given twice"},
		{[]string{"sim", "run", "--json", "--json=false", toolsExample}, "--json: given twice"},
		{[]string{"program", "status", "--serial", "4001", "--serial", "4002"}, "--serial: given twice"},
		{[]string{"pump", "init", "--state", "a", "--state", "b"}, "--state: given twice"},
	} {
		status, out, stderr := runCLI(c.args...)
		if status != exitUsage || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want status 2, nothing printed, and %q", c.args, status, out, stderr, c.want)
		}
	}
}

// TestRepeatableFlagsSayTheyRepeat: the flags that may be given more than
// once (lists) say so in their help, and are the only ones left unwrapped.
func TestRepeatableFlagsSayTheyRepeat(t *testing.T) {
	var lists []string
	walk(rootCommand(), func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if tf, ok := f.Value.(*textFlag); ok && tf.repeat {
				lists = append(lists, c.CommandPath()+" --"+f.Name)
				if !strings.Contains(f.Usage, "(repeat)") {
					t.Errorf("%s --%s may be repeated but its help does not say so: %q", c.CommandPath(), f.Name, f.Usage)
				}
			} else if _, ok := f.Value.(*once); !ok {
				t.Errorf("%s --%s is not refused when repeated", c.CommandPath(), f.Name)
			}
		})
	})
	if len(lists) != 4 { // calc check --prev, calc screening --result, keys enrol --also-trust, sim population --param
		t.Errorf("repeatable flags: %v", lists)
	}
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// TestEveryCommandHasHelp: --help on every command prints its help on stdout, status 0.
func TestEveryCommandHasHelp(t *testing.T) {
	walk(rootCommand(), func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		status, out, stderr := runCLI(append(path, "--help")...)
		if status != 0 || out == "" || stderr != "" {
			t.Errorf("%s --help: status %d, stderr %q", c.CommandPath(), status, stderr)
		}
		if c.Short == "" {
			t.Errorf("%s has no summary", c.CommandPath())
		}
	})
}

// TestFlagsAnywhere: flags after the positional arguments, as before them.
func TestFlagsAnywhere(t *testing.T) {
	f := writeFile(t, goodScenario)
	for _, args := range [][]string{{"sim", "run", f, "--json"}, {"sim", "run", "--json", f}} {
		status, out, stderr := runCLI(args...)
		if status != 0 || !strings.HasPrefix(out, "{") {
			t.Errorf("%v: status %d, %q %.100q", args, status, stderr, out)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		status, out, stderr := runCLI("completion", sh)
		if status != 0 || !strings.Contains(out, "thecal") {
			t.Errorf("completion %s: status %d, %q", sh, status, stderr)
		}
	}
	// The shell asks the binary: flags of a calculation complete.
	status, out, _ := runCLI("__complete", "calc", "refill", "--with")
	if status != 0 || !strings.Contains(out, "--withdrawn") {
		t.Errorf("__complete: status %d, %q", status, out)
	}
}

func TestUnknownAndBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `thecal: unknown command "nope"`},
		{[]string{"sim", "population", "--patients", "x"}, `--patients: "x" is not a whole number`},
		{[]string{"pump", "init", "--model"}, "--model needs a value"},
		{[]string{"keys", "issue", "--bogus", "1"}, "--bogus is not a flag of this command"},
		{[]string{"pump"}, "usage: thecal pump SUBCOMMAND"},
	} {
		status, out, stderr := runCLI(c.args...)
		if status != exitUsage || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 and %q", c.args, status, out, stderr, c.want)
		}
	}
}

// TestBadSerialRefused: a THECAL_SERIAL that is not a serial is refused
// naming it, before any connection (read as 0 it meant "any pump" and
// switched the pairing check off); so is --serial 0.
func TestBadSerialRefused(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"4OO1", []string{"program", "status", "--id", "x.id", "--trust", "x.pub"}, `THECAL_SERIAL: "4OO1" is not a serial number`},
		{"0", []string{"ptm", "bolus", "--id", "x.id", "--trust", "x.pub"}, `THECAL_SERIAL: "0" is not a serial number`},
		{"-1", []string{"program", "stop", "--leave-stopped"}, `THECAL_SERIAL: "-1" is not a serial number`},
		{"", []string{"program", "status", "--serial", "0"}, `--serial: "0" is not a serial number`},
		{"", []string{"ptm", "status", "--serial", "40O1"}, `--serial: "40O1" is not a serial number`},
	} {
		t.Setenv("THECAL_SERIAL", c.env)
		status, out, stderr := runCLI(c.args...)
		if status != exitUsage || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("THECAL_SERIAL=%q %v: status %d, stdout %q, stderr %q; want 2 and %q", c.env, c.args, status, out, stderr, c.want)
		}
	}
	// A good serial from the environment passes the check (and fails later, on the identity file).
	t.Setenv("THECAL_SERIAL", "4001")
	if _, _, stderr := runCLI("program", "status", "--id", "x.id", "--trust", "x.pub"); strings.Contains(stderr, "THECAL_SERIAL") {
		t.Errorf("a good serial refused: %s", stderr)
	}
}
