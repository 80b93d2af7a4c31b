package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/sim/chart"
	"github.com/thecal/thecal/unit"
)

func simTrumpetCommand() *cobra.Command {
	const cmd = "thecal sim trumpet"
	c := command("trumpet [flags] FILE", "trumpet curves",
		`Measures the scenario pump's trumpet curve by the IEC 60601-2-24 method:
delivery sampled every 30 s for 2 h after a stabilisation period, the largest
and smallest flow error over windows of 2, 5, 11, 19 and 31 min from the second
hour, and the mean error. The pump software is measured on an ideal mechanism;
if the scenario's pump block (stroke_spread_pct, stroke_drift_pct_per_year) or
the flags give a mechanical error model, it is measured again with it.`, oneFile)
	fs := c.Flags()
	rate := flagOf[mlPerDay](fs, "rate", "", "continuous rate in mL/day (default: the scenario's)")
	stab := flagOf[unit.Duration](fs, "stabilise", "", "time before sampling starts (default 1h)")
	age := flagOf[unit.Duration](fs, "age", "", "the pump's age at the start, for the drift (default 0s)")
	spread := fs.Float64("spread", 0, "stroke-volume spread, % (1 SD), replacing the scenario's")
	drift := fs.Float64("drift", 0, "stroke-volume drift, % a year (may be negative), replacing the scenario's")
	plotDir := fs.String("plot", "", "also draw trumpet.svg/.png and trumpet-flow.svg/.png into DIR")
	asJSON := fs.Bool("json", false, "print the full result as JSON")
	c.RunE = func(c *cobra.Command, args []string) error {
		if err := percentWithin("spread", *spread, 0, 100); err != nil {
			return err
		}
		if err := percentWithin("drift", *drift, -50, 50); err != nil {
			return err
		}
		if stab.set && stab.v == 0 {
			return badInput("--stabilise must be longer than 0s")
		}
		stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
		sc, ok := readScenario(cmd, args[0], stderr)
		if !ok {
			return exitCode(exitUsage)
		}
		o := sim.TrumpetOptions{Rate: unit.Rate(rate.v), Stabilise: stab.v, Age: age.v}
		if fs.Changed("spread") || fs.Changed("drift") {
			o.HasMechanics = true
			o.SpreadPct, o.DriftPctPerYear = sc.Pump.StrokeSpreadPct, sc.Pump.StrokeDriftPctPerYear
			if fs.Changed("spread") {
				o.SpreadPct = *spread
			}
			if fs.Changed("drift") {
				o.DriftPctPerYear = *drift
			}
		}
		return status(trumpet(cmd, sc, o, *plotDir, *asJSON, stdout, stderr))
	}
	return c
}

func trumpet(cmd string, sc *scenario.Scenario, o sim.TrumpetOptions, plotDir string, asJSON bool, stdout, stderr io.Writer) int {
	tr, err := sim.RunTrumpet(sc, o)
	if err != nil {
		return failed(cmd, stderr, err)
	}
	var files []string
	if plotDir != "" {
		if files, err = chart.WriteTrumpet(plotDir, tr); err != nil {
			return failed(cmd, stderr, err)
		}
	}
	if asJSON {
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
