package main

import (
	"fmt"
	"io"

	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/sim/chart"
)

const plotUsage = `usage: thecal sim plot [flags] FILE

Runs a scenario file as 'thecal sim run' does and draws it: delivery, reservoir
(the pump's estimate and the simulated actual volume), battery, alarms and the
dose reaching the patient over time, each as SVG and PNG.

flags:
  --out DIR     directory for the pictures (default plots)
  --points N    samples over the run (default 500)
  --json        print the files and the sampled trace as JSON
`

func simPlot(args []string, stdout, stderr io.Writer) int {
	const cmd = "thecal sim plot"
	fs := newFlags(cmd, plotUsage, stderr)
	out := fs.String("out", "plots", "")
	points := fs.Int("points", 500, "")
	asJSON := fs.Bool("json", false, "")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, cmd+": give exactly one scenario file\n\n"+plotUsage)
		return exitUsage
	}
	if *points < 2 || *points > 100_000 {
		fmt.Fprintf(stderr, "%s: --points %d is outside 2 to 100000\n", cmd, *points)
		return exitUsage
	}
	if *out == "" {
		fmt.Fprintf(stderr, "%s: --out must name a directory\n", cmd)
		return exitUsage
	}
	sc, ok := readScenario(cmd, fs.Arg(0), stderr)
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
}
