package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/sim"
)

func simCommand() *cobra.Command {
	return group("sim", "run scenarios against the pump core over virtual time",
		`Runs scenario files (docs/scenarios.md) against the pump core over virtual time.
A malformed or unsafe scenario is refused with the field and the reason, exit
status 2. See docs/simulator.md.`, "subcommand",
		simRunCommand(), simTrumpetCommand(), simCampaignCommand(), simPopulationCommand(), simMergeCommand(), simPlotCommand())
}

func simRunCommand() *cobra.Command {
	c := command("run [--json] FILE", "run a scenario",
		`Runs a scenario file (docs/scenarios.md) against the pump core over virtual time
and prints the report: a summary for people by default, the full report as JSON
with --json. A malformed or unsafe scenario is refused with the field and the
reason, exit status 2.`, oneFile)
	asJSON := c.Flags().Bool("json", false, "print the full report as JSON")
	c.RunE = runs(func(args []string, stdout, stderr io.Writer) int {
		const cmd = "thecal sim run"
		sc, ok := readScenario(cmd, args[0], stderr)
		if !ok {
			return exitUsage
		}
		rep, err := sim.Run(sc)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, args[0], err)
			return exitUsage
		}
		if *asJSON {
			return writeJSON(cmd, stdout, stderr, rep)
		}
		rep.WriteText(stdout)
		return 0
	})
	return c
}
