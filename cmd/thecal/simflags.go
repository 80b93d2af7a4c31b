package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/unit"
)

// Flag values with units, for the simulator's subcommands. Each refuses a bad
// value with a message that names the flag (flag prints it, and the command
// exits with status 2).

// rateFlag is a rate in mL/day: "0.5" or "0.5 mL/day".
type rateFlag struct{ r unit.Rate }

func (f *rateFlag) String() string {
	if f.r == 0 {
		return ""
	}
	return f.r.String()
}

func (f *rateFlag) Set(s string) error {
	n, err := unit.ParseFixed(strings.TrimSpace(s), 6)
	if err != nil {
		r, err2 := unit.ParseRate(s)
		if err2 != nil {
			return fmt.Errorf("%q is not a rate: write mL/day, e.g. 0.5", s)
		}
		n = int64(r)
	}
	if n <= 0 {
		return fmt.Errorf("%q: a rate must be more than 0", s)
	}
	f.r = unit.Rate(n)
	return nil
}

// durationFlag is a scenario-format duration: "1h", "3d4h".
type durationFlag struct {
	d   unit.Duration
	set bool
}

func (f *durationFlag) String() string {
	if !f.set {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := unit.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: write e.g. 1h, 90m, 2d", s)
	}
	f.d, f.set = d, true
	return nil
}

// pctFlag is a percentage within ±limit.
type pctFlag struct {
	v     float64
	set   bool
	limit float64
	neg   bool
}

func (f *pctFlag) String() string { return strconv.FormatFloat(f.v, 'g', -1, 64) }

func (f *pctFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	lo := 0.0
	if f.neg {
		lo = -f.limit
	}
	if err != nil || v < lo || v > f.limit {
		return fmt.Errorf("%q is not a percentage from %g to %g", s, lo, f.limit)
	}
	f.v, f.set = v, true
	return nil
}

// newFlags returns a flag set that reports to stderr and prints usage on -h.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}

// parseFlags parses args; it returns the exit status to stop with, or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	return -1
}

// readScenario reads and parses a scenario file; on failure it reports and
// returns false.
func readScenario(cmd, path string, stderr io.Writer) (*scenario.Scenario, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return nil, false
	}
	sc, err := scenario.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, path, err)
		return nil, false
	}
	return sc, true
}

// writeJSON prints v as indented JSON.
func writeJSON(cmd string, stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// failed reports err: a refusal of the input (a *scenario.FieldError or a
// *sim.OptionError, naming the field or flag) exits with status 2, anything else with 1.
func failed(cmd string, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	var fe *scenario.FieldError
	var oe *sim.OptionError
	if errors.As(err, &fe) || errors.As(err, &oe) {
		return exitUsage
	}
	return 1
}
