package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/sim"
)

func simPopulationCommand() *cobra.Command {
	const cmd = "thecal sim population"
	c := command("population [flags]", "virtual patient populations",
		`Simulates a clinic's implanted patients over years, each on the real pump core,
with refill visits, patient boluses, MRIs, missed refills and battery life drawn
from stated distributions (printed with the result, explained in
docs/simulator.md), on every CPU. Prints, per month: refills, missed refills,
patient boluses, MRIs, alarms by kind, therapy interruptions, ERI events and
pump replacements. The result depends on the seed only, not on the workers.`, noArgs)
	fs := c.Flags()
	patients := fs.Int("patients", 100, "number of patients")
	years := fs.Int("years", 5, "years followed")
	seed := fs.Int64("seed", 1, "seed")
	workers := intWithin(fs, "workers", 0, 0, 1024, "parallel workers (default: every CPU)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int {
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
	})
	return c
}
