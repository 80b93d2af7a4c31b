package implant

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// RunConfig configures Run.
type RunConfig struct {
	Dir    string
	Listen string  // TCP address, e.g. 127.0.0.1:7400 (port 0 picks one)
	Speed  float64 // pump time per real time; 1 is real time
	Logger *slog.Logger
	// Ready, if set, is called once the pump answers on Listen.
	Ready func(RunInfo)
	// MonitorEvery, if set, opens a scheduled listen window for the pump's
	// home monitor every MonitorEvery of real time, at its multiples since
	// the Unix epoch (pumpwire.NextScheduledWake): the monitor, knowing the
	// period, comes then. Zero opens none.
	MonitorEvery unit.Duration
	// Clock, if set, is the pump's clock instead of the wall clock times
	// Speed from the anchor (the demonstration runs every pump on the
	// clinic's simulated clock). It must not go backwards.
	Clock func() unit.Time
	// Started, if set, is called with the implant before the pump runs (the
	// demonstration injects its hardware faults).
	Started func(*Implant) error
}

// RunInfo describes a running implant.
type RunInfo struct {
	Addr      string // the TCP address it answers on
	Socket    string // its control socket
	Serial    uint64
	Name      string
	Model     string
	PumpTime  unit.Time
	UTCOffset unit.Duration // the pump's local time offset
	Speed     float64
}

// MaxSpeed bounds --speed: beyond it a stroke interval is shorter than the
// loop's own latency.
const MaxSpeed = 100_000

// Run runs the implant in dir until ctx ends: it restores the pump from its
// memory image (the core's conservative reset rule: the time since the last
// checkpoint, the time the process was down included, is counted at the
// highest rate the program could have run), answers telemetry on
// cfg.Listen, listens for wakes on the control socket, and runs the pump in
// real time (or Speed times faster). The link (listen window, timeouts,
// lock-outs, radio budget and radio time) always runs in real time.
func Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Speed < 0 || cfg.Speed > MaxSpeed {
		return fmt.Errorf("implant: speed %v is outside (0, %d]", cfg.Speed, MaxSpeed)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, err := Open(cfg.Dir)
	if err != nil {
		return err
	}
	defer st.Close()

	// Clocks: pump time continues from the anchor (never before anything
	// already recorded); the link clock is the wall clock, both driven by
	// the monotonic clock from here on.
	wall0 := time.Now()
	pump0 := st.Anchor.At(wall0.UnixMilli())
	floor := st.Meta.PumpTime
	if n := len(st.Records); n > 0 {
		floor = max(floor, st.Records[n-1].At)
	}
	pump0 = max(pump0, floor)
	speed := cfg.Speed
	pumpClock := func() unit.Time { return pump0 + unit.Time(float64(time.Since(wall0))/float64(time.Millisecond)*speed) }
	if cfg.Clock != nil {
		pump0 = max(cfg.Clock(), floor)
		pumpClock = func() unit.Time { return max(cfg.Clock(), floor) }
	}
	link0 := unit.FromStd(wall0)
	linkClock := func() unit.Time { return link0 + unit.Time(time.Since(wall0)/time.Millisecond) }
	if err := st.SaveAnchor(Anchor{WallMS: wall0.UnixMilli(), Pump: pump0, Speed: speed}, st.Meta); err != nil {
		return err
	}

	im, err := Start(st, pump0, pumpClock, linkClock, logger)
	if err != nil {
		return err
	}
	if cfg.Started != nil {
		if err := cfg.Started(im); err != nil {
			return err
		}
	}

	l, err := telemetry.ListenTCP(cfg.Listen)
	if err != nil {
		return err
	}
	sock := SocketPath(cfg.Dir)
	os.Remove(sock) // left by a killed process; the lock proves none runs
	ctl, err := net.Listen("unix", sock)
	if err != nil {
		l.Close()
		return fmt.Errorf("implant: control socket %s: %w", sock, err)
	}
	os.Chmod(sock, 0o600)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() {
		if err := im.Serve(ctx, l); err != nil && ctx.Err() == nil {
			serveErr = err
			cancel()
		}
	})
	var trustMu sync.Mutex
	reloadTrust := func() (string, error) {
		trustMu.Lock()
		defer trustMu.Unlock()
		changed, err := st.ReloadTrust()
		if err != nil {
			return "", err
		}
		t := st.Enrolment.Trust
		if changed {
			if err := im.SetTrust(t); err != nil {
				return "", err
			}
			logger.Warn("TRUST", "authorities", len(t.Authorities), "revoked", fmt.Sprint(t.Revoked))
		}
		return fmt.Sprintf("%d authorities trusted, revoked serials %v", len(t.Authorities), t.Revoked), nil
	}
	wg.Go(func() { serveControl(ctx, ctl, im, reloadTrust, logger) })
	defer func() {
		cancel()
		ctl.Close()
		os.Remove(sock)
		wg.Wait()
	}()

	if cfg.Ready != nil {
		cred := st.Enrolment.Identity.Credential
		s, err := im.Status()
		if err != nil {
			return err
		}
		cfg.Ready(RunInfo{Addr: l.Addr(), Socket: sock, Serial: cred.Serial, Name: cred.Name, Model: st.Setup.Model,
			PumpTime: pump0, UTCOffset: s.UTCOffset, Speed: speed})
	}
	lastTrust := time.Now()
	window := pumpwire.NextScheduledWake(linkClock(), cfg.MonitorEvery)
	for {
		next, err := im.Advance()
		if err != nil {
			return err
		}
		if window != 0 && linkClock() >= window {
			if err := im.Wake(telemetry.WakeScheduled); err != nil {
				return err
			}
			logger.Info("WAKE", "kind", telemetry.WakeScheduled.String())
			window = pumpwire.NextScheduledWake(linkClock(), cfg.MonitorEvery)
		}
		if time.Since(lastTrust) >= time.Second {
			lastTrust = time.Now()
			if _, err := reloadTrust(); err != nil {
				logger.Error("TRUST", "err", err)
			}
		}
		wait := time.Second
		if now := pumpClock(); next > now {
			wait = min(wait, time.Duration(float64(next-now)/speed*float64(time.Millisecond)))
		} else {
			wait = 0
		}
		if window != 0 {
			wait = min(wait, time.Duration(window-linkClock())*time.Millisecond)
		}
		wait = max(wait, time.Millisecond)
		select {
		case <-ctx.Done():
			_, err := im.Advance()
			if ferr := im.Flush(); err == nil {
				err = ferr
			}
			if serveErr != nil {
				return serveErr
			}
			return err
		case <-time.After(wait):
		}
	}
}

// Start builds the implant held by st at pump time now, as after a brown-out:
// the core restarts from the memory image with its conservative reset rule
// (pump.Restore), the event log continues from the journal, and the
// simulated reservoir holds what it held at the last save.
func Start(st *State, now unit.Time, clock, link func() unit.Time, logger *slog.Logger) (*Implant, error) {
	pcfg, err := st.Setup.PumpConfig()
	if err != nil {
		return nil, err
	}
	d, err := device.New(pcfg, now, st.Setup.Seed)
	if err != nil {
		return nil, err
	}
	core, err := pump.Restore(pcfg, st.Image[:], d.Log, now)
	if err != nil {
		return nil, err
	}
	d.Core, d.NVM = core, st.Image
	d.Persist()
	d.HW.Reservoir = st.Meta.HWReservoir
	return New(Config{Device: d, Enrolment: st.Enrolment, Clock: clock, LinkClock: link,
		Records: st.Records, Meta: st.Meta, Store: st, Logger: logger})
}

// serveControl answers the control socket: one line in, one line out.
//
//	wake contact|radio|scheduled   open the radio for the listen window
//	trust                          reload trust.pem now
//	stall DURATION                 stall the simulated motor (an MRI scan)
func serveControl(ctx context.Context, l net.Listener, im *Implant, reload func() (string, error), logger *slog.Logger) {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil {
			fmt.Fprintln(c, controlAnswer(strings.Fields(line), im, reload, logger))
		}
		c.Close()
	}
}

func controlAnswer(args []string, im *Implant, reload func() (string, error), logger *slog.Logger) string {
	switch {
	case len(args) == 2 && args[0] == "wake":
		kinds := map[string]telemetry.WakeKind{"contact": telemetry.WakeContact, "radio": telemetry.WakeRadio, "scheduled": telemetry.WakeScheduled}
		k, ok := kinds[args[1]]
		if !ok {
			return "error: wake kind must be contact, radio or scheduled"
		}
		if err := im.Wake(k); err != nil {
			return "error: " + err.Error()
		}
		logger.Info("WAKE", "kind", k.String())
		return fmt.Sprintf("ok: %s wake, the radio listens for %d s", k, telemetry.DefaultListenWindow/unit.Second)
	case len(args) == 2 && args[0] == "stall":
		// A strong magnetic field (an MRI scan) stalls the simulated motor
		// for a while of pump time.
		d, err := unit.ParseDuration(args[1])
		if err != nil || d <= 0 || d > unit.Day {
			return "error: stall needs a duration from 1ms to 1d, e.g. 30m"
		}
		var until unit.Time
		im.Do(func(dev *device.Device, now unit.Time) error {
			until = now.Add(d)
			dev.HW.Stall(until)
			return nil
		})
		logger.Warn("STALL", "until", until.String())
		return fmt.Sprintf("ok: the motor is stalled for %v of pump time (a magnetic field, as in an MRI scanner)", d)
	case len(args) == 1 && args[0] == "trust":
		s, err := reload()
		if err != nil {
			return "error: " + err.Error()
		}
		return "ok: " + s
	}
	return "error: unknown control command (wake KIND, trust, stall DURATION)"
}

// ErrNotRunning means no pump process answers on a state directory's
// control socket.
var ErrNotRunning = errors.New("implant: no running pump on this state directory")

// Control sends one control command to the pump running on dir and returns
// its answer.
func Control(ctx context.Context, dir string, command string) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", SocketPath(dir))
	if err != nil {
		return "", fmt.Errorf("%w (%s): %w", ErrNotRunning, dir, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintln(c, command); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return "", errors.New(msg)
	}
	return strings.TrimPrefix(line, "ok: "), nil
}
