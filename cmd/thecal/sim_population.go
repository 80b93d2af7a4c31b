package main

import (
	"fmt"
	"io"

	"github.com/thecal/thecal/sim"
)

const populationUsage = `usage: thecal sim population [flags]

Simulates a clinic's implanted patients over years, each on the real pump core,
with refill visits, patient boluses, MRIs, missed refills and battery life drawn
from stated distributions (printed with the result, explained in
docs/simulator.md), on every CPU. Prints, per month: refills, missed refills,
patient boluses, MRIs, alarms by kind, therapy interruptions, ERI events and
pump replacements. The result depends on the seed only, not on the workers.

flags:
  --patients N  number of patients (default 100)
  --years Y     years followed (default 5)
  --seed S      seed (default 1)
  --workers W   parallel workers (default: every CPU)
  --json        print the result as JSON
`

func simPopulation(args []string, stdout, stderr io.Writer) int {
	const cmd = "thecal sim population"
	fs := newFlags(cmd, populationUsage, stderr)
	patients := fs.Int("patients", 100, "")
	years := fs.Int("years", 5, "")
	seed := fs.Int64("seed", 1, "")
	workers := fs.Int("workers", 0, "")
	asJSON := fs.Bool("json", false, "")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n\n%s", cmd, fs.Arg(0), populationUsage)
		return exitUsage
	}
	if *workers < 0 || *workers > 1024 {
		fmt.Fprintf(stderr, "%s: --workers %d is outside 0 to 1024\n", cmd, *workers)
		return exitUsage
	}
	bar := newProgress(stderr, "patients")
	res, err := sim.RunPopulation(sim.PopulationOptions{Patients: *patients, Years: *years, Seed: *seed, Workers: *workers, Progress: bar.update})
	bar.finish()
	if err != nil {
		return failed(cmd, stderr, err)
	}
	if *asJSON {
		return writeJSON(cmd, stdout, stderr, res)
	}
	res.WriteText(stdout)
	return 0
}
