package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// thecal program: the clinician programmer. Wiring only: the workflows are
// package programmer's, the link package peer's.

// exitLeftStopped is the exit status of a session that ended with the pump
// stopped without --leave-stopped (hazard H7).
const exitLeftStopped = 3

func programCommand() *cobra.Command {
	var verbs []*cobra.Command
	for _, v := range programVerbs() {
		verbs = append(verbs, v.command())
	}
	return group("program", "the clinician programmer: interrogate, program, refill, bolus, stop",
		`The clinician programmer: a secure session with a pump (docs/programmer.md).

Every command takes the link flags (--pump, --id, --trust, --serial, --wake; or
the environment THECAL_PUMP, THECAL_ID, THECAL_TRUST, THECAL_SERIAL,
THECAL_WAKE) and --yes, --reason, --leave-stopped, --library, --population.
Exit status: 0 done; 1 refused (by the pump, the drug library, or not
confirmed; the reason is printed); 2 bad input; 3 the session ended with the
pump stopped without --leave-stopped.`, "subcommand", verbs...)
}

// linkFlags say which pump to reach and as whom.
type linkFlags struct {
	pump, id, trust, wake *string
	serial                *value[serialNumber]
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func addLinkFlags(f *devFlags, wakeKind string) *linkFlags {
	return &linkFlags{
		pump:   f.String("pump", envOr("THECAL_PUMP", "127.0.0.1:7400"), "the pump's address (THECAL_PUMP)"),
		id:     f.String("id", os.Getenv("THECAL_ID"), "this device's identity file, from 'thecal keys issue' (THECAL_ID)"),
		trust:  f.String("trust", os.Getenv("THECAL_TRUST"), "the trust file of the authority that enrolled the pump (THECAL_TRUST)"),
		wake:   f.String("wake", os.Getenv("THECAL_WAKE"), "a virtual pump's state directory to wake ("+wakeKind+") before connecting (THECAL_WAKE)"),
		serial: devQty[serialNumber](f, "serial", "the pump's serial, if this device must reach that pump only (THECAL_SERIAL)"),
	}
}

// serialNumber is a pump's or a credential's serial number: a whole number
// from 1. Reaching "any pump" is leaving --serial out, never a 0 or a typo
// read as one.
type serialNumber uint64

func (s *serialNumber) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("%q is not a serial number: a whole number from 1", b)
	}
	*s = serialNumber(n)
	return nil
}

// config is the link's configuration: the flags, or the environment for
// those not given. A THECAL_SERIAL that is not a serial is refused, naming
// it: read as 0 it would switch the pairing check off.
func (l *linkFlags) config(wakeKind string, stdout io.Writer) (peer.Config, error) {
	if env := os.Getenv("THECAL_SERIAL"); env != "" && !l.serial.set {
		if err := l.serial.UnmarshalText([]byte(env)); err != nil {
			return peer.Config{}, fmt.Errorf("THECAL_SERIAL: %w (unset it to reach any pump)", err)
		}
	}
	if *l.id == "" || *l.trust == "" {
		return peer.Config{}, errors.New("--id and --trust are required (or THECAL_ID and THECAL_TRUST)")
	}
	id, tr, err := peer.Load(*l.id, *l.trust)
	if err != nil {
		return peer.Config{}, err
	}
	if *l.wake != "" {
		msg, err := implant.Control(context.Background(), *l.wake, "wake "+wakeKind)
		if err != nil {
			return peer.Config{}, err
		}
		fmt.Fprintf(stdout, "(woken: %s)\n", msg)
	}
	return peer.Config{Addr: *l.pump, Identity: id, Trust: tr, PumpSerial: uint64(l.serial.v)}, nil
}

// programVerb is one programmer command: its flags, and what it does in the
// session.
type programVerb struct {
	name, usage, short, about string
	// setup declares the command's flags and returns its action; check, if
	// set, validates the flags before any connection.
	setup func(f *devFlags) (act func(ctx context.Context, pr *programmer.Programmer) error, check func() error)
}

// plain is the setup of a command with no flags of its own: one method of
// the programmer.
func plain(act func(*programmer.Programmer, context.Context) error) func(*devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	return func(*devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
		return func(ctx context.Context, pr *programmer.Programmer) error { return act(pr, ctx) }, nil
	}
}

func programVerbs() []programVerb {
	return []programVerb{
		{"status", "[--log N]", "interrogate: therapy, reservoir, battery, alarms", "Interrogates the pump: therapy, reservoir, battery, alarms, and with --log N\nthe last N event-log records.", setupStatus},
		{"log", "[--from N]", "the event log from a sequence number (--from N)", "Reads the event log from sequence number N (default: the last 50 records).", setupLog},
		{"set", "[--dose D | --rate R | --flex HH:MM=R,... | --minimum | --stopped] [--drug D --concentration C] [--max-24h V] [--bolus V --bolus-duration D --lockout D --max-per-day N | --no-bolus]",
			"change the prescription: shown old beside new, checked against the drug library, confirmed",
			"Changes the prescription. Only what is given changes; a new concentration keeps\nthe daily dose. The change is shown old beside new in volume and mass per day,\nchecked against the drug library (a hard limit refuses; a soft limit needs\n--reason) and against the pump's own rules, and sent once confirmed.", setupSet},
		{"bolus", "--volume V --duration D", "a clinician bolus on top of the running program", "Gives a clinician bolus on top of the running program.", setupBolus},
		{"prime", "", "the priming bolus (tubing + catheter volume)", "Runs the priming bolus: the pump's tubing and catheter volume at the maximum\nrate (excluded from max_24h).", plain((*programmer.Programmer).Prime)},
		{"refill", "--withdrawn V --added V --drug D --concentration C (--confirm-drug D --confirm-concentration C | --label TEXT) [--dose D] [--confirm-change] [--clinic URL --lot L]",
			"record a refill: drug and concentration typed and confirmed, discrepancy check, bridge and new prescription",
			"Records a refill. The drug and concentration are typed from the vial and\nconfirmed (typed again, or the label's text); they must be a strength of the\nlibrary within its hard maximum and what the pump runs: another drug or\nconcentration needs the physician's order (--record, or --clinic) and\n--confirm-change, and reprograms the prescription for it (same daily dose unless\n--dose; with --clinic, the order) after a bridge. The volume withdrawn is\nchecked against what the pump's count leaves (a discrepancy beyond ±1 mL on a\nTP-20, ±2 mL on a TP-40 needs --reason). After the pump ran empty, resuming is a\nphysician's decision: --reason, or a reduced --dose.\n\nWith --clinic URL (and --token-file or THECAL_TOKEN, and --lot) the clinic\nchecks the refill before anything is sent and records it from the same\nsession; refill, bridge and the order are one workflow (docs/loop.md).", setupRefill},
		{"sync", "--clinic URL [--token-file F]",
			"program the clinic's order: uploads the interrogation, shows the order beside what runs, programs it, reads it back, records the session",
			"Closes the loop with the clinic (docs/loop.md): uploads this session's\ninterrogation, fetches the clinic's order for this pump, shows what the pump\nruns beside what was ordered with every finding of the clinic's rules,\nprograms the order once confirmed, reads the pump back and uploads the\nsession (who, when, before, after, the pump's event numbers). The order then\nshows as programmed, and as verified after the pump's home monitor reports it.\nThe token (--token-file, or THECAL_TOKEN) is your own, from your account page.", setupSync},
		{"stop", "--leave-stopped", "stop delivery (needs --leave-stopped: the session ends stopped)", "Stops delivery. The session then ends with the pump stopped, so --leave-stopped\nis required; the pump raises PUMP_STOPPED until it is resumed.", plain((*programmer.Programmer).Stop)},
		{"resume", "", "resume delivery (no catch-up)", "Resumes delivery from now (what was missed is not made up).", plain((*programmer.Programmer).Resume)},
		{"minimum", "", "switch to the minimum rate that keeps the catheter patent", "Switches to the minimum rate (0.048 mL/day), no patient bolus.", plain((*programmer.Programmer).MinimumRate)},
		{"ack", "[ALARM...]", "acknowledge alarms (all, or those named)", "Acknowledges the named alarms, or all. A recovered MOTOR_STALL, a volume\ndiscrepancy, a catheter warning and a cap fault clear; alarms whose condition\npersists stay.", setupAck},
		{"clock", "(--tz ZONE | --utc-offset ±HH:MM)", "set the pump's UTC offset (--tz ZONE warns of a daylight-saving change)", "Sets the pump's UTC offset, which places flex doses in the patient's day. With\n--tz (an IANA zone, e.g. Europe/Paris) the offset is the zone's now, and a\ndaylight-saving change in the next 14 days is warned of.", setupClock},
		{"mri-check", "", "the post-MRI check: motor stall and recovery, acknowledgement", "The post-MRI check: finds motor stalls and recoveries in the recent log, says\nhow long delivery stopped, and offers to acknowledge a recovered MOTOR_STALL.", plain((*programmer.Programmer).MRICheck)},
	}
}

// sessionFlags are the flags every programmer command takes.
type sessionFlags struct {
	link                        *linkFlags
	yes, leave                  *bool
	reason, library, population *string
	rules                       rulesFlags
}

func (v programVerb) command() *cobra.Command {
	c, f := devCommand(v.name, v.usage, v.short, v.about, cobra.ArbitraryArgs)
	sf := sessionFlags{
		link:       addLinkFlags(f, "contact"),
		yes:        f.Bool("yes", false, "answer yes to every confirmation (non-interactive use)"),
		reason:     f.String("reason", "", "the reason for findings that need one (a soft limit, a refill discrepancy)"),
		leave:      f.Bool("leave-stopped", false, "end the session even though the pump is stopped"),
		library:    f.String("library", "", "the clinic's drug library file (default: the built-in library)"),
		population: f.String("population", "", "the patient's population, where the library's rules differ"),
		rules:      addRulesFlags(f),
	}
	act, check := v.setup(f)
	c.RunE = f.runs(func(stdout, stderr io.Writer) int { return v.run(f, sf, act, check, stdout, stderr) })
	return c
}

// run opens the session, runs the command's action in it and ends it.
func (v programVerb) run(f *devFlags, sf sessionFlags, act func(context.Context, *programmer.Programmer) error, check func() error, stdout, stderr io.Writer) int {
	link, yes, reason, leave, library, population := sf.link, sf.yes, sf.reason, sf.leave, sf.library, sf.population
	if f.NArg() > 0 && v.name != "ack" {
		return f.fail("unexpected arguments %q", f.Args())
	}
	if check != nil {
		if err := check(); err != nil {
			return f.fail("%v", err)
		}
	}
	if v.name == "stop" && !*leave {
		return f.fail("stopping ends this session with the pump stopped: no drug reaches the patient until someone\nresumes it (withdrawal from some drugs, baclofen above all, can kill). Repeat with --leave-stopped to do it.")
	}
	lib, err := readLibrary(*library)
	if err != nil {
		return f.fail("%v", err)
	}
	cfg, err := link.config("contact", stdout)
	if err != nil {
		return f.fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := programmer.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", f.prog, peer.Explain(err))
		return 1
	}
	interactive := isTerminal(os.Stdin)
	in := bufio.NewReader(os.Stdin)
	ask := func(q string) bool {
		fmt.Fprintf(stdout, "%s [y/N] ", q)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return false // no answer (end of input) is no
		}
		return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes")
	}
	pr := &programmer.Programmer{S: s, Lib: lib, Out: stdout, Reason: *reason, Population: *population, Clock: peer.WallClock}
	if err := sf.rules.apply(pr, interactive, ask); err != nil {
		_ = s.Close(true)
		return f.fail("%v", err)
	}
	switch {
	case *yes:
		pr.Confirm = func(q string) bool { fmt.Fprintf(stdout, "%s yes (--yes)\n", q); return true }
	case interactive:
		pr.Confirm = ask
	}
	status := 0
	if err := act(ctx, pr); err != nil {
		status = programError(stderr, f.prog, err)
	} else if changesAlone[v.name] {
		fmt.Fprintln(stdout, notRecorded)
	}
	return endSession(pr, *leave, interactive, ask, status, stdout, stderr)
}

// changesAlone are the commands that change the pump without the clinic:
// after one, the programmer says the clinic's record was not updated.
var changesAlone = map[string]bool{"set": true, "bolus": true, "prime": true, "stop": true, "resume": true, "minimum": true}

// programError explains a workflow's error and returns the exit status.
func programError(stderr io.Writer, prog string, err error) int {
	if status, ok := ruleError(stderr, prog, err); ok {
		return status
	}
	switch {
	case errors.Is(err, drug.ErrRefused):
		fmt.Fprintf(stderr, "%s: refused by the drug library (see the findings above): nothing was sent\n", prog)
	case errors.Is(err, drug.ErrReasonRequired):
		fmt.Fprintf(stderr, "%s: a finding needs a stated reason: give --reason \"...\" (specific: at least 10 characters); nothing was sent\n", prog)
	case errors.Is(err, programmer.ErrNotConfirmed):
		fmt.Fprintf(stderr, "%s: not confirmed: nothing was sent (answer y on a terminal, or add --yes)\n", prog)
	case errors.Is(err, programmer.ErrRx):
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitUsage
	case errors.Is(err, programmer.ErrNotRecorded):
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	case errors.Is(err, programmer.ErrPumpWouldRefuse), errors.Is(err, programmer.ErrReservoirMismatch), errors.Is(err, programmer.ErrNotStored),
		errors.Is(err, programmer.ErrNoOrder), errors.Is(err, programmer.ErrOrderRefused):
		fmt.Fprintf(stderr, "%s: %v; nothing was sent\n", prog, err)
	default:
		fmt.Fprintf(stderr, "%s: %s\n", prog, peer.Explain(err))
	}
	return 1
}

// endSession closes the session, refusing to do it silently while the pump
// is stopped (hazard H7): on a terminal it offers to resume; otherwise it
// ends the session (the pump raises PUMP_STOPPED), says so loudly, and exits
// with status 3.
func endSession(pr *programmer.Programmer, leave, interactive bool, ask func(string) bool, status int, stdout, stderr io.Writer) int {
	err := pr.S.Close(leave)
	if err == nil {
		if leave && pr.S.Status().Stopped() {
			fmt.Fprintln(stdout, "Left STOPPED on purpose (--leave-stopped): the pump sounds PUMP_STOPPED until someone resumes it.")
		}
		return status
	}
	if !errors.Is(err, programmer.ErrLeftStopped) {
		fmt.Fprintf(stderr, "thecal program: %s\n", peer.Explain(err))
		return max(status, 1)
	}
	if interactive && ask("The pump is STOPPED: no drug reaches the patient. Resume delivery now?") {
		err := pr.Resume(context.Background())
		if err == nil {
			if err = pr.S.Close(false); err == nil {
				return status
			}
		}
		fmt.Fprintf(stderr, "thecal program: not resumed: %s\n", peer.Explain(err))
	}
	if err := pr.S.Close(true); err != nil {
		fmt.Fprintf(stderr, "thecal program: %s\n", peer.Explain(err))
	}
	fmt.Fprintln(stderr, "WARNING: the session ended with the pump STOPPED and no --leave-stopped: no drug reaches the patient.\nThe pump sounds PUMP_STOPPED until it is resumed ('thecal program resume').")
	return exitLeftStopped
}

func setupStatus(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	n := f.Int("log", 0, "also print the last N event-log records")
	return func(ctx context.Context, pr *programmer.Programmer) error {
		st := pr.S.Status()
		programmer.WriteStatus(pr.Out, pr.Lib, pr.S.Pump().Serial, st)
		if *n > 0 {
			return printLog(ctx, pr, st.LogNext-min(uint64(*n), st.LogNext-1))
		}
		return nil
	}, nil
}

func printLog(ctx context.Context, pr *programmer.Programmer, from uint64) error {
	recs, err := pr.S.Log(ctx, from)
	if len(recs) > 0 {
		fmt.Fprintf(pr.Out, "Event log from #%d:\n", recs[0].Seq)
		programmer.WriteLog(pr.Out, recs, programmer.Local(pr.S.Status()))
	}
	return err
}

func setupLog(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	from := f.Uint64("from", 0, "the first sequence number (default: the last 50 records)")
	return func(ctx context.Context, pr *programmer.Programmer) error {
		st := pr.S.Status()
		start := *from
		if start == 0 {
			start = st.LogNext - min(50, st.LogNext-1)
		}
		return printLog(ctx, pr, start)
	}, nil
}

func setupSet(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	drugName := f.String("drug", "", "the drug (a new drug needs --concentration)")
	conc := devQty[unit.Concentration](f, "concentration", "the concentration in the reservoir, e.g. 10mg/mL")
	dose := devQty[unit.DoseRate](f, "dose", "continuous basal as a daily dose, e.g. 5mg/day")
	rate := devQty[unit.Rate](f, "rate", "continuous basal rate, e.g. 0.5mL/day")
	flex := f.String("flex", "", "daily flex steps, local time: 00:00=0.4mL/day,08:00=0.6mL/day")
	minimum := f.Bool("minimum", false, "the minimum rate")
	stopped := f.Bool("stopped", false, "a stopped prescription (no delivery: needs --leave-stopped to end the session)")
	cap24 := devQty[unit.Volume](f, "max-24h", "the 24-hour cap (default: basal + every allowed bolus)")
	low := devQty[unit.Volume](f, "low-reservoir", "the low-reservoir alarm threshold, 1mL to 5mL (default 2mL)")
	bolus := devQty[unit.Volume](f, "bolus", "patient bolus volume, e.g. 0.025mL")
	bolusDur := devQty[unit.Duration](f, "bolus-duration", "patient bolus duration, e.g. 10m")
	lockout := devQty[unit.Duration](f, "lockout", "patient bolus lockout, start to start, e.g. 2h")
	perDay := f.Int("max-per-day", 0, "patient boluses at most per rolling 24 h")
	noBolus := f.Bool("no-bolus", false, "remove the patient bolus")
	var steps []pump.FlexStep
	check := func() error {
		modes := 0
		for _, on := range []bool{dose.set, rate.set, *flex != "", *minimum, *stopped} {
			if on {
				modes++
			}
		}
		if modes > 1 {
			return errors.New("give one of --dose, --rate, --flex, --minimum, --stopped")
		}
		if *flex != "" {
			var err error
			if steps, err = parseFlex(*flex); err != nil {
				return err
			}
		}
		if *noBolus && (bolus.set || bolusDur.set || lockout.set || *perDay != 0) {
			return errors.New("--no-bolus with patient bolus flags")
		}
		return nil
	}
	return func(ctx context.Context, pr *programmer.Programmer) error {
		e := programmer.Edit{Drug: *drugName, Concentration: conc.v, Dose: dose.v, Rate: rate.v, Flex: steps,
			Max24h: cap24.v, LowReservoir: low.v}
		switch {
		case *minimum:
			e.Mode = pump.ModeMinimum
		case *stopped:
			e.Mode = pump.ModeStopped
		}
		switch {
		case *noBolus:
			e.Bolus = &pump.PatientBolus{}
		case bolus.set || bolusDur.set || lockout.set || *perDay != 0:
			b := pr.S.Status().Rx.PatientBolus
			if bolus.set {
				b.Volume = bolus.v
			}
			if bolusDur.set {
				b.Duration = bolusDur.v
			}
			if lockout.set {
				b.Lockout = lockout.v
			}
			if *perDay != 0 {
				b.MaxPer24h = *perDay
			}
			if b.Volume == 0 || b.Duration == 0 || b.Lockout == 0 || b.MaxPer24h == 0 {
				return fmt.Errorf("%w: a patient bolus needs --bolus, --bolus-duration, --lockout and --max-per-day", programmer.ErrRx)
			}
			e.Bolus = &b
		}
		_, err := pr.ChangePrescription(ctx, e)
		return err
	}, check
}

// parseFlex reads "HH:MM=RATE,HH:MM=RATE".
func parseFlex(s string) ([]pump.FlexStep, error) {
	var out []pump.FlexStep
	for _, part := range strings.Split(s, ",") {
		at, r, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("--flex step %q: write HH:MM=RATE", part)
		}
		t, err := time.Parse("15:04", at)
		if err != nil {
			return nil, fmt.Errorf("--flex step %q: the time is HH:MM", part)
		}
		rate, err := unit.ParseRate(r)
		if err != nil {
			return nil, fmt.Errorf("--flex step %q: %v", part, err)
		}
		out = append(out, pump.FlexStep{At: unit.Duration(t.Hour())*unit.Hour + unit.Duration(t.Minute())*unit.Minute, Rate: rate})
	}
	return out, nil
}

func setupBolus(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	v := devQty[unit.Volume](f, "volume", "bolus volume, e.g. 0.1mL")
	d := devQty[unit.Duration](f, "duration", "over how long, e.g. 1h")
	f.need("volume", "duration")
	return func(ctx context.Context, pr *programmer.Programmer) error {
		return pr.ClinicianBolus(ctx, v.v, d.v)
	}, nil
}

func setupAck(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	return func(ctx context.Context, pr *programmer.Programmer) error { return pr.Acknowledge(ctx, f.Args()...) }, func() error {
		for _, a := range f.Args() {
			if _, ok := pump.ParseAlarm(a); !ok {
				return fmt.Errorf("no alarm %q (alarms: LOW_RESERVOIR, MOTOR_STALL, VOLUME_DISCREPANCY, …)", a)
			}
		}
		return nil
	}
}

func setupClock(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	tz := f.String("tz", "", "the patient's time zone (IANA name, e.g. Europe/Paris)")
	off := devQty[utcOffset](f, "utc-offset", "the UTC offset, e.g. +01:00 (no daylight-saving warning)")
	warn := devQty[unit.Duration](f, "warn", "how far ahead to look for a daylight-saving change (default 14d)")
	var loc *time.Location
	return func(ctx context.Context, pr *programmer.Programmer) error {
			offset, name := unit.Duration(off.v), ""
			if loc != nil {
				var change *programmer.ZoneChange
				within := programmer.DSTWarning
				if warn.set {
					within = warn.v.Std()
				}
				offset, change = programmer.ZoneOffset(loc, time.Now(), within)
				name = loc.String()
				if change != nil {
					fmt.Fprintf(pr.Out, "WARNING: %s changes to UTC%s on %s (daylight saving): after that, flex steps run %v off the patient's clock until the offset is set again.\n",
						loc, unit.FormatUTCOffset(change.Offset), change.At.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), absDuration(change.Offset-offset))
				}
			} else {
				fmt.Fprintln(pr.Out, "note: without --tz the programmer cannot warn of a daylight-saving change.")
			}
			return pr.SetClock(ctx, offset, name)
		}, func() error {
			if (*tz == "") == !off.set {
				return errors.New("give --tz or --utc-offset")
			}
			if warn.set && (warn.v <= 0 || warn.v > 366*unit.Day) { // a year at most: past any daylight-saving rule, and within time.Duration
				return fmt.Errorf("--warn %v is outside more than 0 to 366d", warn.v)
			}
			if *tz != "" {
				var err error
				if loc, err = time.LoadLocation(*tz); err != nil {
					return fmt.Errorf("--tz %q: %v", *tz, err)
				}
			}
			return nil
		}
}

func absDuration(d unit.Duration) unit.Duration {
	if d < 0 {
		return -d
	}
	return d
}
