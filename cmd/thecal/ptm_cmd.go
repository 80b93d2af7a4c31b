package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/ptm"
)

// thecal ptm: the patient's therapy manager. Wiring only: package ptm asks and
// explains.

func ptmCommand() *cobra.Command {
	return group("ptm", "the patient's therapy manager: patient bolus and status",
		`The patient's therapy manager, paired with one pump.

Link flags as for 'thecal program' (--pump, --id, --trust, --serial, --wake, or
THECAL_PUMP, THECAL_ID, THECAL_TRUST, THECAL_SERIAL, THECAL_WAKE); --wake here
is a radio wake. Exit status: 0 given (or status read); 1 not given, or
refused (the reason is printed); 2 bad input.`, "subcommand",
		ptmBolus(), ptmStatus())
}

// ptmVerb returns a PTM command with the link flags; body runs with the
// link's configuration.
func ptmVerb(name, short, about string, body func(cfg peer.Config, stdout, stderr io.Writer) int) *cobra.Command {
	c, f := devCommand(name, "[--pump ADDR --id FILE --trust FILE]", short, about, noArgs)
	link := addLinkFlags(f, "radio")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		cfg, err := link.config("radio", stdout)
		if err != nil {
			return f.fail("%v", err)
		}
		return body(cfg, stdout, stderr)
	})
	return c
}

func ptmBolus() *cobra.Command {
	return ptmVerb("bolus", "ask for a patient bolus: says plainly whether it was given, or why not and when the next one is possible",
		"Asks the pump for one patient bolus.", func(cfg peer.Config, stdout, stderr io.Writer) int {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := ptm.Bolus(ctx, cfg)
			if err != nil {
				fmt.Fprintf(stderr, "No bolus given: %s.\n", peer.Explain(err))
				return 1
			}
			fmt.Fprintln(stdout, r.Message(drug.Default()))
			if !r.Given {
				return 1
			}
			return 0
		})
}

func ptmStatus() *cobra.Command {
	return ptmVerb("status", "is the pump delivering, how much medicine is left, alarms, and when the next bolus is possible",
		"Reads the pump's status.", func(cfg peer.Config, stdout, stderr io.Writer) int {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := ptm.Status(ctx, cfg)
			if err != nil {
				fmt.Fprintf(stderr, "Could not read the pump: %s.\n", peer.Explain(err))
				return 1
			}
			ptm.WriteStatus(stdout, drug.Default(), s)
			return 0
		})
}
