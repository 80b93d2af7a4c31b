package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// thecal pump: the virtual implant as its own process. Wiring only: the
// implant package owns the device, its state directory and the protocol.

func pumpCommand() *cobra.Command {
	return group("pump", "run a virtual implant answering the telemetry protocol (init, run, wake)",
		`A virtual implant (TP-20 or TP-40) running as its own process, answering the
telemetry protocol on TCP (the stand-in for the radio). See docs/programmer.md.`, "subcommand",
		pumpInit(), pumpRun(), pumpWake(), pumpMRI())
}

// devFlags are the flags of a device command (pump, keys, program, ptm).
type devFlags struct {
	*pflag.FlagSet
	prog   string
	args   []string
	stderr io.Writer
}

// devCommand returns a device command and its flags; usage shows its
// arguments after its name.
func devCommand(name, usage, short, about string, args cobra.PositionalArgs) (*cobra.Command, *devFlags) {
	c := command(strings.TrimSpace(name+" "+usage), short, about, args)
	return c, &devFlags{FlagSet: c.Flags()}
}

// runs runs body with the command's arguments and streams.
func (f *devFlags) runs(body func(stdout, stderr io.Writer) int) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		f.prog, f.args, f.stderr = c.CommandPath(), args, c.ErrOrStderr()
		return status(body(c.OutOrStdout(), c.ErrOrStderr()))
	}
}

func (f *devFlags) Args() []string { return f.args }
func (f *devFlags) NArg() int      { return len(f.args) }

func (f *devFlags) fail(format string, args ...any) int {
	fmt.Fprintf(f.stderr, "%s: %s\n", f.prog, fmt.Sprintf(format, args...))
	return exitUsage
}

// need marks flags as required (need).
func (f *devFlags) need(names ...string) { need(f.FlagSet, names...) }

// devQty declares a flag holding a quantity with its unit.
func devQty[T any](f *devFlags, name, usage string) *value[T] {
	return flagOf[T](f.FlagSet, name, "", usage)
}

// implantFlags are the flags that describe a new implant.
type implantFlags struct {
	enrolment     *string
	model         *value[pump.Model]
	catheter      *value[unit.Length]
	perCm         *value[unit.VolumePerCm]
	pressure, lvl *bool
	utcOffset     *value[utcOffset]
	seed          *uint64
}

// utcOffset is a UTC offset written ±HH:MM.
type utcOffset unit.Duration

func (o *utcOffset) UnmarshalText(b []byte) error {
	d, err := unit.ParseUTCOffset(string(b))
	*o = utcOffset(d)
	return err
}

func addImplantFlags(f *devFlags) *implantFlags {
	return &implantFlags{
		enrolment: f.String("enrolment", "", "the pump's enrolment file (from 'thecal keys enrol'): its key, credential and trusted authorities"),
		model:     flagOf[pump.Model](f.FlagSet, "model", "TP-20", "pump model: TP-20 (20 mL) or TP-40 (40 mL)"),
		catheter:  flagOf[unit.Length](f.FlagSet, "catheter", "50 cm", "catheter length"),
		perCm:     flagOf[unit.VolumePerCm](f.FlagSet, "catheter-per-cm", unit.VolumePerCm(pump.DefaultCatheterPerCm).String(), "catheter internal volume per cm"),
		pressure:  f.Bool("pressure-sensor", true, "outlet pressure sensor fitted"),
		lvl:       f.Bool("level-sensor", true, "reservoir level sensor fitted"),
		utcOffset: devQty[utcOffset](f, "utc-offset", "the patient's UTC offset, e.g. +01:00 (default +00:00)"),
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
	cfg := pump.Config{Model: i.model.v, CatheterLength: i.catheter.v, CatheterPerCm: unit.Volume(i.perCm.v),
		PressureSensor: *i.pressure, LevelSensor: *i.lvl, Battery: pump.BatteryCapacity, UTCOffset: unit.Duration(i.utcOffset.v)}
	if err := cfg.Validate(); err != nil {
		return err
	}
	now := time.Now()
	return implant.Init(implant.InitConfig{Dir: dir, Enrolment: enr, Pump: cfg, Seed: *i.seed, Now: unit.FromStd(now), WallMS: now.UnixMilli()})
}

func pumpInit() *cobra.Command {
	c, f := devCommand("init", "--state DIR --enrolment FILE [--model TP-20] [--catheter 50cm] ...",
		"set up a new implant in a state directory, enrolled with a file from 'thecal keys enrol'",
		"Sets up a new virtual implant in DIR: factory-fresh (no prescription, empty\nreservoir), enrolled with the enrolment file. DIR must not hold an implant.", noArgs)
	state := f.String("state", "", "the implant's state directory (created, mode 0700)")
	f.need("state")
	im := addImplantFlags(f)
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if err := im.init(*state); err != nil {
			return f.fail("%v", err)
		}
		fmt.Fprintf(stdout, "Implant set up in %s: %s, catheter %s. Start it with 'thecal pump run --state %s'.\n",
			*state, im.model.v, catheterText(im), *state)
		return 0
	})
	return c
}

func catheterText(i *implantFlags) string {
	return fmt.Sprintf("%v at %v per cm", i.catheter.v, unit.Volume(i.perCm.v))
}

func pumpRun() *cobra.Command {
	c, f := devCommand("run", "--state DIR [--listen 127.0.0.1:7400] [--speed N]",
		"run it, in real time or faster, answering the telemetry protocol",
		"Runs the virtual implant in DIR until interrupted (Ctrl-C). Pump time runs in\nreal time, or --speed N times faster; the radio link always runs in real time.\nIt keeps its memory image, event log and configuration in DIR and survives\nkill -9 (it restarts with the core's conservative reset rule). Every event-log\nrecord is printed on stderr as it happens. With --enrolment (and the init\nflags) an empty DIR is set up first.", noArgs)
	state := f.String("state", "", "the implant's state directory")
	f.need("state")
	listen := f.String("listen", "127.0.0.1:7400", "TCP address to answer on (port 0 picks a free one)")
	speed := f.Float64("speed", 1, "pump time per real time (1 to 100000)")
	quiet := f.Bool("quiet", false, "do not print event-log records")
	every := devQty[unit.Duration](f, "monitor-every", "open a scheduled window for the home monitor every D of real time (thecal monitor run --every D), e.g. 6h; default none")
	im := addImplantFlags(f)
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if *speed < 1 || *speed > implant.MaxSpeed {
			return f.fail("--speed %v is outside 1 to %d", *speed, implant.MaxSpeed)
		}
		if every.set && (every.v < unit.Second || every.v > 7*unit.Day) {
			return f.fail("--monitor-every %v is outside 1s to 7d", every.v)
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
			logger = slog.New(implant.LogLines(stderr))
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := implant.Run(ctx, implant.RunConfig{Dir: *state, Listen: *listen, Speed: *speed, Logger: logger, MonitorEvery: every.v,
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
	})
	return c
}

func pumpWake() *cobra.Command {
	c, f := devCommand("wake", "--state DIR [--contact | --scheduled]",
		"the proximity wake: the radio listens for 60 s",
		"Wakes the running virtual implant's radio: it listens for 60 s. The default is\na radio wake (a programmer or PTM nearby); --contact is a programmer head held\non the skin over the pump (proof of proximity: emergency access needs it);\n--scheduled is the pump's own window for a home monitor.", noArgs)
	state := f.String("state", "", "the implant's state directory")
	f.need("state")
	contact := f.Bool("contact", false, "a contact wake")
	scheduled := f.Bool("scheduled", false, "a scheduled wake (home monitor window)")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
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
	})
	return c
}

func pumpMRI() *cobra.Command {
	c, f := devCommand("mri", "--state DIR [--for 20m]",
		"simulate an MRI scan: the motor stalls for --for (pump time)",
		"Simulates an MRI scan on the running virtual implant: the strong magnetic field\nstalls the motor for --for of pump time. The pump detects the stall (three\nmissed strokes), raises MOTOR_STALL, retries every 10 minutes and recovers\nafterwards without catching up; 'thecal program mri-check' is the post-MRI check.", noArgs)
	state := f.String("state", "", "the implant's state directory")
	f.need("state")
	dur := flagOf[unit.Duration](f.FlagSet, "for", "20m", "how long the field lasts, in pump time")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		msg, err := implant.Control(context.Background(), *state, "stall "+dur.v.String())
		if err != nil {
			fmt.Fprintf(stderr, "thecal pump mri: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, msg)
		return 0
	})
	return c
}
