package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/unit"
)

// mlPerDay is a rate in mL/day, written "0.5" or "0.5 mL/day" (the scenario
// format writes rates as plain numbers of mL/day).
type mlPerDay unit.Rate

func (r *mlPerDay) UnmarshalText(b []byte) error {
	s := string(b)
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
	*r = mlPerDay(n)
	return nil
}

// percentWithin refuses a percentage outside lo to hi, naming the flag.
func percentWithin(name string, v, lo, hi float64) error {
	if v < lo || v > hi {
		return badInput("--%s: %g is not a percentage from %g to %g", name, v, lo, hi)
	}
	return nil
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
