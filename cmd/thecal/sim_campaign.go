package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/sim"
)

func simCampaignCommand() *cobra.Command {
	const cmd = "thecal sim campaign"
	c := command("campaign [flags]", "fault campaigns",
		`Generates random scenarios (reproducibly, from the seed) with every fault kind at
random times, runs each against the pump core and checks the safety invariants
of spec/pump.md on every stroke and event. A failing case is shrunk (duration
cut, events removed) and written as a scenario file that reproduces it; the
command then exits with status 1. --replay checks one scenario file the same way.`, noArgs)
	fs := c.Flags()
	cases := intWithin(fs, "cases", 1000, 1, 10_000_000, "number of cases")
	seed := fs.Int64("seed", 1, "campaign seed")
	workers := intWithin(fs, "workers", 0, 0, 1024, "parallel workers (default: every CPU; the result does not depend on it)")
	out := fs.String("out", "campaign-failures", "where failing cases are written")
	replay := fs.String("replay", "", "check one scenario `FILE` and print its violations")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int {
		if *replay != "" {
			return campaignReplay(*replay, *asJSON, stdout, stderr)
		}
		bar := newProgress(stderr, "campaign")
		res, err := sim.RunCampaign(sim.CampaignOptions{Seed: *seed, Cases: *cases, Workers: *workers, Progress: bar.update})
		bar.finish()
		if err != nil {
			return failed(cmd, stderr, err)
		}
		if len(res.Failures) > 0 {
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return failed(cmd, stderr, err)
			}
			for i := range res.Failures {
				f := &res.Failures[i]
				f.File = filepath.Join(*out, fmt.Sprintf("seed-%d-case-%d.json", *seed, f.Case))
				if err := os.WriteFile(f.File, f.Shrunk, 0o644); err != nil {
					return failed(cmd, stderr, err)
				}
			}
		}
		status := 0
		if res.Failed > 0 {
			status = 1
		}
		if *asJSON {
			if st := writeJSON(cmd, stdout, stderr, res); st != 0 {
				return st
			}
			return status
		}
		res.WriteText(stdout)
		return status
	})
	return c
}

// campaignReplay checks one scenario file against the invariants.
func campaignReplay(path string, asJSON bool, stdout, stderr io.Writer) int {
	const cmd = "thecal sim campaign --replay"
	sc, ok := readScenario(cmd, path, stderr)
	if !ok {
		return exitUsage
	}
	res, err := sim.Check(sc, nil)
	if err != nil {
		return failed(cmd, stderr, err)
	}
	status := 0
	if len(res.Violations) > 0 {
		status = 1
	}
	if asJSON {
		if st := writeJSON(cmd, stdout, stderr, res); st != 0 {
			return st
		}
		return status
	}
	fmt.Fprintf(stdout, "%s: %d strokes checked against %d invariants\n", path, res.Strokes, len(sim.Invariants))
	if len(res.Violations) == 0 {
		fmt.Fprintln(stdout, "no violation")
	}
	for _, v := range res.Violations {
		fmt.Fprintf(stdout, "%s at %s: %s\n", v.Invariant, v.At, v.Detail)
	}
	return status
}
