package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/ptm"
)

// thecal ptm: the patient's therapy manager. Wiring only: package ptm asks and
// explains.

const ptmUsage = `usage: thecal ptm bolus|status [FLAGS]

The patient's therapy manager, paired with one pump.

  bolus   ask for a patient bolus: says plainly whether it was given, or why
          not and when the next one is possible
  status  is the pump delivering, how much medicine is left, alarms, and when
          the next bolus is possible

Link flags as for 'thecal program' (--pump, --id, --trust, --serial, --wake, or
THECAL_PUMP, THECAL_ID, THECAL_TRUST, THECAL_SERIAL, THECAL_WAKE); --wake here
is a radio wake. Exit status: 0 given (or status read); 1 not given, or
refused (the reason is printed); 2 bad input.
`

func runPTM(args []string, stdout, stderr io.Writer) int {
	return runVerbs("thecal ptm", ptmUsage, []verb{{"bolus", ptmBolus}, {"status", ptmStatus}}, args, stdout, stderr)
}

func ptmSetup(name, about string, args []string, stdout, stderr io.Writer) (peer.Config, int) {
	f := newDevFlags("thecal ptm "+name, "[--pump ADDR --id FILE --trust FILE]", about, stdout, stderr)
	link := addLinkFlags(f, "radio")
	if st := f.parse(args); st >= 0 {
		return peer.Config{}, st
	}
	cfg, err := link.config("radio", stdout)
	if err != nil {
		return peer.Config{}, f.fail("%v", err)
	}
	return cfg, -1
}

func ptmBolus(args []string, stdout, stderr io.Writer) int {
	cfg, st := ptmSetup("bolus", "Asks the pump for one patient bolus.", args, stdout, stderr)
	if st >= 0 {
		return st
	}
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
}

func ptmStatus(args []string, stdout, stderr io.Writer) int {
	cfg, st := ptmSetup("status", "Reads the pump's status.", args, stdout, stderr)
	if st >= 0 {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := ptm.Status(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "Could not read the pump: %s.\n", peer.Explain(err))
		return 1
	}
	ptm.WriteStatus(stdout, drug.Default(), s)
	return 0
}
