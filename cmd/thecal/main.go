// Command thecal is Thecal's one binary: the simulator, the clinical calculators
// and, as they land, the pump process, programmer, patient device and clinic server.
// It holds wiring only; every rule lives in a package.
package main

import (
	"fmt"
	"io"
	"os"
)

// exitUsage is the exit status for bad input: a malformed or unsafe file, flag or value.
const exitUsage = 2

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"sim", "run scenarios against the pump core over virtual time", runSim},
		{"calc", "clinical calculators: dose, priming, bridge, refill, dates, titration", runCalc},
		{"serve", "run the clinic server (JSON API, /healthz, /metrics)", runServe},
		{"demo", "a demonstration clinic with virtual pumps, in the browser", runDemo},
		{"users", "add a clinic user from the command line", runUsers},
		{"backup", "copy the clinic database while the server runs", runBackup},
		{"restore", "restore the clinic database from a backup", runRestore},
		{"audit", "sign a checkpoint of the audit trail, or verify the trail against one", runAudit},
		{"pump", "run a virtual implant answering the telemetry protocol (init, run, wake)", runPump},
		{"keys", "clinic authorities, credentials, pump enrolment and revocation", runKeys},
		{"program", "the clinician programmer: interrogate, program, refill, bolus, stop", runProgram},
		{"ptm", "the patient's therapy manager: patient bolus and status", runPTM},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return dispatch("thecal", "command", commands(), args, stdout, stderr, usage)
}

// dispatch runs the entry of cmds that args[0] names; the top level, thecal
// calc and thecal sim all choose their subcommand through it. With nothing
// named it prints usage to stderr, status 2; asked for help, to stdout; an
// unknown name is refused naming it, status 2.
func dispatch(prog, noun string, cmds []command, args []string, stdout, stderr io.Writer, usage func(io.Writer)) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown %s %q\n\n", prog, noun, args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: thecal COMMAND [ARGS]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'thecal COMMAND --help' for a command's own help.")
}
