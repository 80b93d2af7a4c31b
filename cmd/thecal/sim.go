package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/sim"
)

func simCommand() *cobra.Command {
	return group("sim", "run scenarios against the pump core over virtual time",
		`Runs scenario files (docs/scenarios.md) against the pump core over virtual time.
A malformed or unsafe scenario is refused with the field and the reason, exit
status 2. See docs/simulator.md.`, "subcommand",
		simRunCommand(), simTrumpetCommand(), simCampaignCommand(), simPopulationCommand(), simPlotCommand())
}

func simRunCommand() *cobra.Command {
	c := command("run [--json] FILE", "run a scenario",
		`Runs a scenario file (docs/scenarios.md) against the pump core over virtual time
and prints the report: a summary for people by default, the full report as JSON
with --json. A malformed or unsafe scenario is refused with the field and the
reason, exit status 2.`, oneFile)
	asJSON := c.Flags().Bool("json", false, "print the full report as JSON")
	c.RunE = runs(func(args []string, stdout, stderr io.Writer) int {
		data, err := os.ReadFile(args[0])
		if err != nil {
			fmt.Fprintf(stderr, "thecal sim run: %v\n", err)
			return exitUsage
		}
		sc, err := scenario.Parse(data)
		if err != nil {
			fmt.Fprintf(stderr, "thecal sim run: %s: %v\n", args[0], err)
			return exitUsage
		}
		rep, err := sim.Run(sc)
		if err != nil {
			fmt.Fprintf(stderr, "thecal sim run: %s: %v\n", args[0], err)
			return exitUsage
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				fmt.Fprintf(stderr, "thecal sim run: %v\n", err)
				return 1
			}
			return 0
		}
		rep.WriteText(stdout)
		return 0
	})
	return c
}
