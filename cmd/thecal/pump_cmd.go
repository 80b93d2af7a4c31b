package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// thecal pump: the virtual implant as its own process. Wiring only: the
// implant package owns the device, its state directory and the protocol.

func runPump(args []string, stdout, stderr io.Writer) int {
	return runVerbs("thecal pump", pumpUsage, []verb{
		{"init", pumpInit},
		{"run", pumpRun},
		{"wake", pumpWake},
		{"mri", pumpMRI},
	}, args, stdout, stderr)
}

const pumpUsage = `usage: thecal pump init|run|wake [FLAGS]

A virtual implant (TP-20 or TP-40) running as its own process, answering the
telemetry protocol on TCP (the stand-in for the radio). See docs/programmer.md.

  init   set up a new implant in a state directory (factory-fresh: no
         prescription, empty reservoir), enrolled with a file from 'thecal keys enrol'
  run    run it: in real time or --speed N times faster, answering on --listen;
         it keeps its memory image, event log and configuration in --state and
         survives kill -9 (it restarts with the core's conservative reset rule)
  wake   the proximity wake: the radio listens for 60 s (--contact: the wake an
         emergency programmer needs, a programmer head held on the skin)
  mri    simulate an MRI scan: the motor stalls for --for (pump time)

Run 'thecal pump COMMAND --help' for its flags.
`

// subcommand is one verb of a command.
type verb struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) int
}

func runVerbs(prog, usage string, subs []verb, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown subcommand %q\n\n%s", prog, args[0], usage)
	return exitUsage
}

// flags is a flag set that reports its own errors and help.
type devFlags struct {
	*flag.FlagSet
	prog, usage, about string
	stderr             io.Writer
	stdout             io.Writer
}

// newDevFlags returns the flags of command prog ("thecal pump run"), whose
// arguments usage shows after its name.
func newDevFlags(prog, usage, about string, stdout, stderr io.Writer) *devFlags {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &devFlags{FlagSet: fs, prog: prog, usage: usage, about: about, stderr: stderr, stdout: stdout}
}

// parse parses args and returns -1 to go on, or the exit status.
func (f *devFlags) parse(args []string) int {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.help(f.stdout)
			return 0
		}
		fmt.Fprintf(f.stderr, "%s: %v\n\n", f.prog, err)
		f.help(f.stderr)
		return exitUsage
	}
	return -1
}

func (f *devFlags) help(w io.Writer) {
	fmt.Fprintf(w, "usage: %s %s\n\n%s\n", f.prog, f.usage, f.about)
	var b strings.Builder
	f.SetOutput(&b)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nflags:\n%s", b.String())
	}
}

func (f *devFlags) fail(format string, args ...any) int {
	fmt.Fprintf(f.stderr, "%s: %s\n", f.prog, fmt.Sprintf(format, args...))
	return exitUsage
}

// quantity is a flag holding a value with its unit, read by parse.
type devQuantity[T any] struct {
	v     T
	set   bool
	parse func(string) (T, error)
}

func (q *devQuantity[T]) String() string { return "" }
func (q *devQuantity[T]) Set(s string) error {
	v, err := q.parse(s)
	if err != nil {
		return err
	}
	q.v, q.set = v, true
	return nil
}

func devQty[T any](f *devFlags, name, usage string, parse func(string) (T, error)) *devQuantity[T] {
	q := &devQuantity[T]{parse: parse}
	f.Var(q, name, usage)
	return q
}

func parseConcentration(s string) (unit.Concentration, error) {
	c, _, err := unit.ParseConcentration(s)
	return c, err
}

func parseDoseRate(s string) (unit.DoseRate, error) {
	d, _, err := unit.ParseDoseRate(s)
	return d, err
}

// implantFlags are the flags that describe a new implant.
type implantFlags struct {
	enrolment     *string
	model         *string
	catheter      *devQuantity[unit.Length]
	perCm         *devQuantity[unit.Volume]
	pressure, lvl *bool
	utcOffset     *devQuantity[unit.Duration]
	seed          *uint64
}

func addImplantFlags(f *devFlags) *implantFlags {
	return &implantFlags{
		enrolment: f.String("enrolment", "", "the pump's enrolment file (from 'thecal keys enrol'): its key, credential and trusted authorities"),
		model:     f.String("model", "TP-20", "pump model: TP-20 (20 mL) or TP-40 (40 mL)"),
		catheter:  devQty(f, "catheter", "catheter length, e.g. 50cm (default 50cm)", unit.ParseLength),
		perCm:     devQty(f, "catheter-per-cm", "catheter internal volume per cm (default 0.0022mL)", unit.ParseVolume),
		pressure:  f.Bool("pressure-sensor", true, "outlet pressure sensor fitted"),
		lvl:       f.Bool("level-sensor", true, "reservoir level sensor fitted"),
		utcOffset: devQty(f, "utc-offset", "the patient's UTC offset, e.g. +01:00 (default +00:00)", unit.ParseUTCOffset),
		seed:      f.Uint64("seed", 1, "seed of the simulated sensors' noise"),
	}
}

func (i *implantFlags) init(dir string) error {
	if *i.enrolment == "" {
		return errors.New("--enrolment is required to set up an implant")
	}
	enr, err := telemetry.ReadEnrolment(*i.enrolment)
	if err != nil {
		return err
	}
	m, ok := pump.ParseModel(*i.model)
	if !ok {
		return fmt.Errorf("--model %q: TP-20 or TP-40", *i.model)
	}
	cfg := pump.Config{Model: m, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		PressureSensor: *i.pressure, LevelSensor: *i.lvl, Battery: pump.BatteryCapacity, UTCOffset: i.utcOffset.v}
	if i.catheter.set {
		cfg.CatheterLength = i.catheter.v
	}
	if i.perCm.set {
		cfg.CatheterPerCm = i.perCm.v
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	now := time.Now()
	return implant.Init(implant.InitConfig{Dir: dir, Enrolment: enr, Pump: cfg, Seed: *i.seed, Now: unit.FromStd(now), WallMS: now.UnixMilli()})
}

func pumpInit(args []string, stdout, stderr io.Writer) int {
	f := newDevFlags("thecal pump init", "--state DIR --enrolment FILE [--model TP-20] [--catheter 50cm] ...",
		"Sets up a new virtual implant in DIR: factory-fresh (no prescription, empty\nreservoir), enrolled with the enrolment file. DIR must not hold an implant.", stdout, stderr)
	state := f.String("state", "", "the implant's state directory (created, mode 0700)")
	im := addImplantFlags(f)
	if st := f.parse(args); st >= 0 {
		return st
	}
	if *state == "" {
		return f.fail("--state is required")
	}
	if err := im.init(*state); err != nil {
		return f.fail("%v", err)
	}
	fmt.Fprintf(stdout, "Implant set up in %s: %s, catheter %s. Start it with 'thecal pump run --state %s'.\n",
		*state, *im.model, catheterText(im), *state)
	return 0
}

func catheterText(i *implantFlags) string {
	l, v := 50*unit.Centimetre, pump.DefaultCatheterPerCm
	if i.catheter.set {
		l = i.catheter.v
	}
	if i.perCm.set {
		v = i.perCm.v
	}
	return fmt.Sprintf("%v at %v per cm", l, v)
}

func pumpRun(args []string, stdout, stderr io.Writer) int {
	f := newDevFlags("thecal pump run", "--state DIR [--listen 127.0.0.1:7400] [--speed N]",
		"Runs the virtual implant in DIR until interrupted (Ctrl-C). Pump time runs in\nreal time, or --speed N times faster; the radio link always runs in real time.\nEvery event-log record is printed on stderr as it happens. With --enrolment\n(and the init flags) an empty DIR is set up first.", stdout, stderr)
	state := f.String("state", "", "the implant's state directory")
	listen := f.String("listen", "127.0.0.1:7400", "TCP address to answer on (port 0 picks a free one)")
	speed := f.Float64("speed", 1, "pump time per real time (1 to 100000)")
	quiet := f.Bool("quiet", false, "do not print event-log records")
	im := addImplantFlags(f)
	if st := f.parse(args); st >= 0 {
		return st
	}
	if *state == "" {
		return f.fail("--state is required")
	}
	if *speed < 1 || *speed > implant.MaxSpeed {
		return f.fail("--speed %v is outside 1 to %d", *speed, implant.MaxSpeed)
	}
	if *im.enrolment != "" {
		if _, err := os.Stat(*state + "/implant.json"); errors.Is(err, os.ErrNotExist) {
			if err := im.init(*state); err != nil {
				return f.fail("%v", err)
			}
		}
	}
	var logger *slog.Logger
	if !*quiet {
		logger = slog.New(&recordHandler{w: stderr})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := implant.Run(ctx, implant.RunConfig{Dir: *state, Listen: *listen, Speed: *speed, Logger: logger,
		Ready: func(ri implant.RunInfo) {
			local := ri.PumpTime.Std().In(time.FixedZone("", int(ri.UTCOffset/unit.Second)))
			fmt.Fprintf(stdout, "pump %s #%d (%q) answering on %s, pump time %s, speed %v×\n", ri.Model, ri.Serial, ri.Name, ri.Addr,
				local.Format("2006-01-02 15:04:05Z07:00"), ri.Speed)
			fmt.Fprintf(stdout, "the radio is asleep: wake it with 'thecal pump wake --state %s' (Ctrl-C stops the pump)\n", *state)
		}})
	if err != nil {
		fmt.Fprintf(stderr, "thecal pump run: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "pump stopped")
	return 0
}

func pumpWake(args []string, stdout, stderr io.Writer) int {
	f := newDevFlags("thecal pump wake", "--state DIR [--contact | --scheduled]",
		"Wakes the running virtual implant's radio: it listens for 60 s. The default is\na radio wake (a programmer or PTM nearby); --contact is a programmer head held\non the skin over the pump (proof of proximity: emergency access needs it);\n--scheduled is the pump's own window for a home monitor.", stdout, stderr)
	state := f.String("state", "", "the implant's state directory")
	contact := f.Bool("contact", false, "a contact wake")
	scheduled := f.Bool("scheduled", false, "a scheduled wake (home monitor window)")
	if st := f.parse(args); st >= 0 {
		return st
	}
	if *state == "" {
		return f.fail("--state is required")
	}
	kind := "radio"
	switch {
	case *contact && *scheduled:
		return f.fail("--contact or --scheduled, not both")
	case *contact:
		kind = "contact"
	case *scheduled:
		kind = "scheduled"
	}
	msg, err := implant.Control(context.Background(), *state, "wake "+kind)
	if err != nil {
		fmt.Fprintf(stderr, "thecal pump wake: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

func pumpMRI(args []string, stdout, stderr io.Writer) int {
	f := newDevFlags("thecal pump mri", "--state DIR [--for 20m]",
		"Simulates an MRI scan on the running virtual implant: the strong magnetic field\nstalls the motor for --for of pump time. The pump detects the stall (three\nmissed strokes), raises MOTOR_STALL, retries every 10 minutes and recovers\nafterwards without catching up; 'thecal program mri-check' is the post-MRI check.", stdout, stderr)
	state := f.String("state", "", "the implant's state directory")
	dur := devQty(f, "for", "how long the field lasts, in pump time (default 20m)", unit.ParseDuration)
	if st := f.parse(args); st >= 0 {
		return st
	}
	if *state == "" {
		return f.fail("--state is required")
	}
	d := 20 * unit.Minute
	if dur.set {
		d = dur.v
	}
	msg, err := implant.Control(context.Background(), *state, "stall "+d.String())
	if err != nil {
		fmt.Fprintf(stderr, "thecal pump mri: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

// recordHandler prints the implant's event-log records, one a line:
//
//	INFO  #12  2026-01-05T10:00:00.000Z  PROGRAM  continuous, max_24h 0.6 mL
type recordHandler struct {
	mu sync.Mutex
	w  io.Writer
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s ", r.Level)
	var seq, at, detail string
	var rest []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "seq":
			seq = "#" + a.Value.String()
		case "at":
			at = a.Value.String()
		case "detail":
			detail = a.Value.String()
		default:
			rest = append(rest, a.Key+"="+a.Value.String())
		}
		return true
	})
	if seq != "" {
		fmt.Fprintf(&b, "%-6s %s  ", seq, at)
	}
	b.WriteString(r.Message)
	if detail != "" {
		b.WriteString("  " + detail)
	}
	if len(rest) > 0 {
		b.WriteString("  " + strings.Join(rest, " "))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}
