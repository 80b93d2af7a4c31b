// Package monitor is the patient's home monitor (issue 12, item 3): a
// bedside relay that holds a monitor-role credential for one pump, reads the
// pump's status and event log in the pump's scheduled wake windows, and
// forwards each reading to the clinic as an interrogation report.
//
// It keeps to the radio budget of spec/telemetry.md: one short session per
// scheduled window (the pump opens one every period of real time, at the
// multiples of the period since the Unix epoch: pumpwire.NextScheduledWake);
// between windows it does not call. A connection refused because the radio
// is asleep costs the pump nothing, so within a window it tries again every
// Poll until the pump answers or the listen window is over.
//
// Store and forward: a report is on disk (Queue) before the clinic is tried,
// and is sent in the order read, one at a time, with exponential backoff
// while the clinic is unreachable; it leaves the disk only when the clinic
// answers that it holds it. The clinic's ingest is idempotent (a report's
// key is its pump and the time of the reading), so a report sent again after
// a crash between the clinic's answer and the queue's update is answered as
// a duplicate: nothing is lost and nothing counted twice.
//
// Like the programmer and the PTM, it speaks to the pump through package peer
// and reads it with package pumpwire; it never imports the device.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinicapi"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Sender posts a report to the clinic (clinicapi.Client).
type Sender interface {
	Report(ctx context.Context, r *clinic.Report, key string) (*clinic.IngestResult, error)
}

// Config configures a monitor.
type Config struct {
	// Queue is the monitor's store and forward (OpenQueue of its state
	// directory).
	Queue *Queue
	// Pump is the pump to read: its address, the monitor's credential
	// (role monitor) and trust, and the pump's serial (required: a monitor
	// is paired with one pump).
	Pump peer.Config
	// Clinic receives the reports.
	Clinic Sender
	// Every is the pump's scheduled window period (thecal pump run
	// --monitor-every); Window how long a window stays open (the pump's
	// listen window, 60 s).
	Every, Window time.Duration
	// Poll is the time between tries within a window (1 s).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before sending again to a
	// clinic that did not answer (1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Clock is the relay's clock: when reports say the pump was read; nil is
	// the wall clock.
	Clock func() time.Time
	// Logger receives what the monitor does; nil discards it.
	Logger *slog.Logger
	// Now reads the pump at once at the start (the pump opened a window for
	// a monitor just paired), then in each scheduled window.
	Now bool
	// Read, if set, is called after each reading is queued (tests).
	Read func(r *clinic.Report)
	// Forwarded, if set, is called after each report the clinic took.
	Forwarded func(r *clinic.Report, res *clinic.IngestResult)
}

func (c *Config) defaults() error {
	if c.Queue == nil || c.Clinic == nil {
		return errors.New("monitor: needs a Queue and a Clinic")
	}
	if c.Pump.PumpSerial == 0 {
		return errors.New("monitor: a monitor is paired with one pump: give its serial")
	}
	if c.Pump.Identity.Credential.Role != telemetry.RoleMonitor {
		return fmt.Errorf("monitor: the credential's role is %v, not monitor", c.Pump.Identity.Credential.Role)
	}
	if c.Every <= 0 {
		return errors.New("monitor: the pump's scheduled window period is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Window, telemetry.DefaultListenWindow.Std())
	def(&c.Poll, time.Second)
	def(&c.MinBackoff, time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run reads the pump in each scheduled window and forwards the reports
// until ctx ends. Reports still queued stay on disk for the next run.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	m := &monitor{cfg: cfg, queued: make(chan struct{}, 1)}
	errc := make(chan error, 1)
	go func() { errc <- m.forward(ctx) }()
	m.signal() // reports left from a run before
	err := m.read(ctx)
	if ferr := <-errc; err == nil {
		err = ferr
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type monitor struct {
	cfg    Config
	queued chan struct{}
}

func (m *monitor) signal() {
	select {
	case m.queued <- struct{}{}:
	default:
	}
}

func (m *monitor) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// read waits for each window and reads the pump in it, once.
func (m *monitor) read(ctx context.Context) error {
	cfg := &m.cfg
	every, window := unit.Duration(cfg.Every.Milliseconds()), unit.Duration(cfg.Window.Milliseconds())
	w := m.window(unit.FromStd(time.Now()), 0)
	if cfg.Now {
		w = unit.FromStd(time.Now())
	}
	for {
		if now := unit.FromStd(time.Now()); w > now && !m.sleep(ctx, time.Duration(w-now)*time.Millisecond) {
			return nil
		}
		end := w.Add(window)
		for {
			err := m.session(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			// The radio asleep, busy, or taken by a programmer (a session of
			// higher priority ends the monitor's): again, within the window.
			retry := errors.Is(err, telemetry.ErrNotListening) || errors.Is(err, telemetry.ErrBusy) || errors.Is(err, telemetry.ErrYielded) ||
				errors.Is(err, peer.ErrNoPump)
			if !retry {
				cfg.Logger.Error("reading the pump failed", "err", peer.Explain(err))
				break
			}
			if unit.FromStd(time.Now()).Add(unit.Duration(cfg.Poll.Milliseconds())) >= end {
				cfg.Logger.Warn("the pump did not answer in its scheduled window", "window", w.Std().Format(time.RFC3339), "err", peer.Explain(err))
				break
			}
			if !m.sleep(ctx, cfg.Poll) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		w = m.window(unit.FromStd(time.Now()), w.Add(every))
	}
}

// window is the scheduled window to attend next at now: after, the next one
// after the last attended, if it is not over; else the one open now, if its
// listen time is not over; else the next to open.
func (m *monitor) window(now, after unit.Time) unit.Time {
	every, window := unit.Duration(m.cfg.Every.Milliseconds()), unit.Duration(m.cfg.Window.Milliseconds())
	if after != 0 && now.Sub(after) < window {
		return after
	}
	w := pumpwire.NextScheduledWake(now, every) - unit.Time(every)
	if now.Sub(w) >= window {
		w = pumpwire.NextScheduledWake(now, every)
	}
	return w
}

// session reads the pump once — its status, and its event log from where
// the last reading left it — and queues the report.
func (m *monitor) session(ctx context.Context) error {
	cfg := &m.cfg
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := peer.Dial(sctx, cfg.Pump)
	if err != nil {
		return err
	}
	serial := clinicapi.Serial(c.Pump().Serial)
	from, _, _, err := cfg.Queue.Position(ctx, serial)
	if err != nil {
		c.Close()
		return err
	}
	rs, err := c.DoAll(sctx, pump.ReadStatus{}, pump.ReadLog{From: max(from, 1)})
	if err != nil {
		c.Close()
		return err
	}
	st, err := peer.Status(rs[0])
	if err != nil {
		c.Close()
		return err
	}
	if from == 0 || from > st.LogNext {
		// A first reading (or a pump whose log restarted): the recent log
		// only, as much as one report carries.
		from = st.LogNext - min(st.LogNext-1, clinic.MaxLogEntries)
		if rs[1], err = c.Do(sctx, pump.ReadLog{From: from}); err != nil {
			c.Close()
			return err
		}
	}
	recs, err := readLog(sctx, c, rs[1])
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	at := cfg.Clock()
	r := clinicapi.ReportFrom(serial, st, recs, clinicapi.SourceMonitor, at)
	seq, err := cfg.Queue.Add(ctx, r, st.LogNext)
	if err != nil {
		return fmt.Errorf("monitor: queueing the report: %w", err)
	}
	cfg.Logger.Info("read the pump", "queued", seq, "serial", serial, "pump_time", st.At.Std().Format(time.RFC3339),
		"log", fmt.Sprintf("#%d-#%d", from, st.LogNext-1), "alarms", len(r.Status.ActiveAlarms))
	if cfg.Read != nil {
		cfg.Read(r)
	}
	m.signal()
	return nil
}

// readLog reads the event log answer first and the pages after it.
func readLog(ctx context.Context, c *telemetry.Client, first pumpwire.Response) ([]pumpwire.Record, error) {
	var out []pumpwire.Record
	r := first
	for {
		if err := telemetry.AnswerErr(r); err != nil {
			return out, err
		}
		l, ok := r.(*pumpwire.Log)
		if !ok {
			return out, fmt.Errorf("%w: %v instead of a log", telemetry.ErrUnexpected, r.Kind())
		}
		recs, err := pumpwire.ConsumeRecords(l.Entries)
		if err != nil {
			return out, err
		}
		out = append(out, recs...)
		if !l.More {
			return out, nil
		}
		var err2 error
		if r, err2 = c.Do(ctx, pump.ReadLog{From: l.Next}); err2 != nil {
			return out, err2
		}
	}
}

// forward sends the queued reports, oldest first, one at a time.
func (m *monitor) forward(ctx context.Context) error {
	cfg := &m.cfg
	backoff := cfg.MinBackoff
	for {
		e, err := cfg.Queue.Oldest(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if e == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-m.queued:
				continue
			}
		}
		res, err := cfg.Clinic.Report(ctx, e.Report, "monitor:"+e.Key)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if err := cfg.Queue.Sent(ctx, e); err != nil {
				return err
			}
			backoff = cfg.MinBackoff
			cfg.Logger.Info("forwarded", "queued", e.Seq, "report", res.ReportID, "duplicate", res.Duplicate,
				"prescription_mismatch", len(res.Program), "reservoir_mismatch", len(res.Reservoir))
			if cfg.Forwarded != nil {
				cfg.Forwarded(e.Report, res)
			}
		case clinicapi.Permanent(err):
			cfg.Logger.Error("the clinic refused a report for good: kept aside", "queued", e.Seq, "err", err)
			if err := cfg.Queue.Reject(ctx, e, err); err != nil {
				return err
			}
		default:
			if err := cfg.Queue.Failed(ctx, e, err); err != nil && ctx.Err() == nil {
				return err
			}
			cfg.Logger.Warn("the clinic did not take the report: sending again later", "queued", e.Seq, "in", backoff, "err", err)
			if !m.sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, cfg.MaxBackoff)
		}
	}
}
