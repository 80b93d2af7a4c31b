package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/sim/chart"
)

func simPopulationCommand() *cobra.Command {
	const cmd = "thecal sim population"
	c := command("population [flags]", "virtual patient populations",
		`Simulates a clinic over years, every patient on the real pump core: the patients
implanted at the start and the referrals that arrive, screening trials, implants,
refills, patient boluses, MRIs, catheter faults on the simulated hardware (seen by
the pump's own alarms or at a refill), revisions, infections, pump replacements at
ERI, explants and deaths. Every rate comes from a published source or is marked
'assumed' (--params lists them; docs/simulator.md has the references). Prints, per
month: patients, referrals, trials, implants, replacements, revisions, explants,
deaths, infections, refills, alarms and drug put into pumps. The result depends on
the seeds only, not on the workers or the shards.`, noArgs)
	fs := c.Flags()
	patients := fs.Int("patients", 100, "patients with pumps at the start")
	years := fs.Int("years", 5, "years followed")
	seed := fs.Int64("seed", 1, "first seed")
	seeds := fs.Int("seeds", 1, "replicates, seeds S to S+N-1: every month's mean and 90% interval")
	params := listOf[string](fs, "param", "set a lifecycle parameter, NAME=VALUE (repeat); --params lists them")
	listParams := fs.Bool("params", false, "list the lifecycle parameters with their values and sources, and exit")
	shard := flagOf[shardSpec](fs, "shard", "", "run shard I (0 to N-1) of N, I/N: writes the exact counts (--raw, or stdout) for 'thecal sim merge'")
	workers := intWithin(fs, "workers", 0, 0, 1024, "parallel workers (default: every CPU)")
	out := populationOutputFlags(fs)
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int {
		if *listParams {
			sim.WriteParams(stdout, sim.DefaultParams())
			return 0
		}
		sharded := shard.set && shard.v.n > 1
		if sharded && (*out.json || *out.csv != "" || *out.plot != "") {
			fmt.Fprintf(stderr, "%s: --shard writes the exact counts only (--raw, or stdout); --json, --csv and --plot come from 'thecal sim merge'\n", cmd)
			return exitUsage
		}
		bar := newProgress(stderr, "patients")
		raw, err := sim.RunPopulation(sim.PopulationOptions{Patients: *patients, Years: *years, Seed: *seed, Seeds: *seeds,
			Shard: shard.v.i, Shards: shard.v.n, Params: params.v, Workers: *workers, Progress: bar.update})
		bar.finish()
		if err != nil {
			return failed(cmd, stderr, err)
		}
		if sharded && *out.raw == "" {
			return writeJSON(cmd, stdout, stderr, raw)
		}
		return writePopulation(cmd, raw, out, stdout, stderr)
	})
	return c
}

// shardSpec is I/N: shard I of N.
type shardSpec struct{ i, n int }

func (s *shardSpec) UnmarshalText(b []byte) error {
	a, z, ok := strings.Cut(string(b), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(z)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return fmt.Errorf("%q: write I/N with 0 <= I < N, e.g. 3/8", b)
	}
	s.i, s.n = i, n
	return nil
}

// populationOutputs are the ways a population result is written.
type populationOutputs struct {
	json           *bool
	csv, plot, raw *string
}

func populationOutputFlags(fs *pflag.FlagSet) *populationOutputs {
	return &populationOutputs{
		json: fs.Bool("json", false, "print the result as JSON"),
		csv:  fs.String("csv", "", "write every column of every month with its 90% interval as CSV to `FILE`"),
		plot: fs.String("plot", "", "draw the monthly counts (SVG and PNG) into `DIR`"),
		raw:  fs.String("raw", "", "write the exact counts (what 'thecal sim merge' adds up) to `FILE`"),
	}
}

// writePopulation writes a run's result the ways asked (a shard: its exact
// counts only).
func writePopulation(cmd string, raw *sim.PopulationRaw, out *populationOutputs, stdout, stderr io.Writer) int {
	if *out.raw != "" {
		if st := writeJSONFile(cmd, *out.raw, raw, stderr); st != 0 {
			return st
		}
		if raw.Shard != "0/1" {
			return 0
		}
	}
	res, err := sim.Summarize(raw)
	if err != nil {
		return failed(cmd, stderr, err)
	}
	if *out.csv != "" {
		f, err := os.Create(*out.csv)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return 1
		}
		err = res.WriteCSV(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, *out.csv, err)
			return 1
		}
	}
	if *out.plot != "" {
		files, err := chart.WritePopulation(*out.plot, res)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return 1
		}
		if !*out.json {
			for _, f := range files {
				fmt.Fprintf(stderr, "wrote %s\n", f)
			}
		}
	}
	if *out.json {
		return writeJSON(cmd, stdout, stderr, res)
	}
	res.WriteText(stdout)
	return 0
}

// writeJSONFile writes v as indented JSON to path.
func writeJSONFile(cmd, path string, v any, stderr io.Writer) int {
	data, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	return 0
}
