package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/sim/chart"
)

func simPlotCommand() *cobra.Command {
	const cmd = "thecal sim plot"
	c := command("plot [flags] FILE", "plots of a scenario run",
		`Runs a scenario file as 'thecal sim run' does and draws it: delivery, reservoir
(the pump's estimate and the simulated actual volume), battery, alarms and the
dose reaching the patient over time, each as SVG and PNG.`, oneFile)
	fs := c.Flags()
	out := fs.String("out", "plots", "directory for the pictures (`DIR`)")
	points := intWithin(fs, "points", 500, 2, 100_000, "samples over the run")
	asJSON := fs.Bool("json", false, "print the files and the sampled trace as JSON")
	c.RunE = runs(func(args []string, stdout, stderr io.Writer) int {
		if *out == "" {
			fmt.Fprintf(stderr, "%s: --out must name a directory\n", cmd)
			return exitUsage
		}
		sc, ok := readScenario(cmd, args[0], stderr)
		if !ok {
			return exitUsage
		}
		tr, err := sim.RunTrace(sc, *points)
		if err != nil {
			return failed(cmd, stderr, err)
		}
		files, err := chart.WriteRun(*out, tr)
		if err != nil {
			return failed(cmd, stderr, err)
		}
		if *asJSON {
			return writeJSON(cmd, stdout, stderr, struct {
				Files []string   `json:"files"`
				Trace *sim.Trace `json:"trace"`
			}{files, tr})
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
		return 0
	})
	return c
}
