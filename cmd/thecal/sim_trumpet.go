package main

import (
	"fmt"
	"io"

	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/sim/chart"
)

const trumpetUsage = `usage: thecal sim trumpet [flags] FILE

Measures the scenario pump's trumpet curve by the IEC 60601-2-24 method:
delivery sampled every 30 s for 2 h after a stabilisation period, the largest
and smallest flow error over windows of 2, 5, 11, 19 and 31 min from the second
hour, and the mean error. The pump software is measured on an ideal mechanism;
if the scenario's pump block (stroke_spread_pct, stroke_drift_pct_per_year) or
the flags give a mechanical error model, it is measured again with it.

flags:
  --rate R        continuous rate in mL/day (default: the scenario's)
  --stabilise D   time before sampling starts (default 1h)
  --age D         the pump's age at the start, for the drift (default 0s)
  --spread P      stroke-volume spread, % (1 SD), replacing the scenario's
  --drift P       stroke-volume drift, % a year (may be negative), replacing the scenario's
  --plot DIR      also draw trumpet.svg/.png and trumpet-flow.svg/.png into DIR
  --json          print the full result as JSON
`

func simTrumpet(args []string, stdout, stderr io.Writer) int {
	const cmd = "thecal sim trumpet"
	fs := newFlags(cmd, trumpetUsage, stderr)
	var rate rateFlag
	var stab, age durationFlag
	spread := pctFlag{limit: 100}
	drift := pctFlag{limit: 50, neg: true}
	fs.Var(&rate, "rate", "")
	fs.Var(&stab, "stabilise", "")
	fs.Var(&age, "age", "")
	fs.Var(&spread, "spread", "")
	fs.Var(&drift, "drift", "")
	plotDir := fs.String("plot", "", "")
	asJSON := fs.Bool("json", false, "")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, cmd+": give exactly one scenario file\n\n"+trumpetUsage)
		return exitUsage
	}
	sc, ok := readScenario(cmd, fs.Arg(0), stderr)
	if !ok {
		return exitUsage
	}
	o := sim.TrumpetOptions{Rate: rate.r, Stabilise: stab.d, Age: age.d}
	if spread.set || drift.set {
		o.HasMechanics = true
		o.SpreadPct, o.DriftPctPerYear = sc.Pump.StrokeSpreadPct, sc.Pump.StrokeDriftPctPerYear
		if spread.set {
			o.SpreadPct = spread.v
		}
		if drift.set {
			o.DriftPctPerYear = drift.v
		}
	}
	if stab.set && stab.d == 0 {
		fmt.Fprintf(stderr, "%s: --stabilise must be longer than 0s\n", cmd)
		return exitUsage
	}
	tr, err := sim.RunTrumpet(sc, o)
	if err != nil {
		return failed(cmd, stderr, err)
	}
	var files []string
	if *plotDir != "" {
		if files, err = chart.WriteTrumpet(*plotDir, tr); err != nil {
			return failed(cmd, stderr, err)
		}
	}
	if *asJSON {
		return writeJSON(cmd, stdout, stderr, struct {
			*sim.Trumpet
			Plots []string `json:"plots,omitempty"`
		}{tr, files})
	}
	tr.WriteText(stdout)
	for _, f := range files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return 0
}
