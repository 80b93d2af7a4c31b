package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Pump is one virtual implant of the demonstration: a device.Device (pump
// core and simulated hardware) standing for the patient's implanted pump.
type Pump struct {
	PatientID int64
	Serial    string
	Model     pump.Model
	Dev       *device.Device
	raised    map[pump.Alarm]time.Time // when each active alarm was first seen
	lastSent  time.Time
	// The newest refill and prescription applied to the device: one recorded
	// in the clinic since is applied at the next report, as a programmer would.
	refillID, rxID int64
}

// StartPumps builds a virtual pump for every patient with an implanted pump,
// programmed with the patient's current prescription and filled with what the
// reservoir should hold, starting 12 simulated hours before the clock so that
// faults already show in the first report. Faults: the ERI patient's battery
// is drained to its elective replacement indicator, and the critical-alarm
// patient's catheter is occluded.
func (c *Clinic) StartPumps(ctx context.Context) error {
	ctx = system(ctx)
	now := c.Clock.Now()
	for _, pt := range c.Patients {
		rec, err := c.Svc.PatientRecord(ctx, pt.ID)
		if err != nil {
			return err
		}
		var im *clinic.Implant
		for _, x := range rec.Implants {
			if x.Active() {
				im = x
			}
		}
		if im == nil || len(rec.Prescriptions) == 0 {
			continue
		}
		rx := rec.Prescriptions[len(rec.Prescriptions)-1]
		cfg := pump.Config{Model: im.Model, CatheterLength: im.CatheterLength, CatheterPerCm: im.CatheterPerCm,
			PressureSensor: true, Battery: pump.BatteryCapacity}
		from := now.Add(-12 * time.Hour)
		if im.ImplantedAt.After(from) {
			from = now
		}
		t0 := unit.FromStd(from)
		dev, err := device.New(cfg, t0, uint64(pt.ID))
		if err != nil {
			return fmt.Errorf("demo: pump %s: %w", im.Serial, err)
		}
		// What the reservoir holds: the last fill less the programmed use since.
		fillAt, fill := im.ImplantedAt, im.InitialFill
		if n := len(rec.Refills); n > 0 {
			fillAt, fill = rec.Refills[n-1].At, rec.Refills[n-1].Added
		}
		avg := unit.Rate(therapy.DailyOf(&rx.Program).Avg)
		left := fill - avg.Over(unit.Duration(from.Sub(fillAt).Milliseconds()))
		left = max(left, pump.EmptyVolume+unit.Millilitres(0.3))
		err = dev.Do(t0, func(p *pump.Pump) error {
			if err := p.Refill(t0, pump.Refill{Added: left, Drug: rx.Program.Drug, Concentration: rx.Program.Concentration}); err != nil {
				return err
			}
			// The clinic's prescription as it is: every field of its program.
			if err := p.Program(t0, pump.NewProgram(rx.Program, p.Status().RxHash)); err != nil {
				return err
			}
			switch pt.Stage {
			case StagePriming:
				return p.Prime(t0)
			case StageERI:
				st := p.Status()
				return p.Drain(t0, st.Battery-st.ERIThreshold+unit.Charge(1000)*unit.MicroampHour)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("demo: pump %s: %w", im.Serial, err)
		}
		if pt.Stage == StageCritical {
			dev.HW.Occlude(t0+unit.Time(time.Hour.Milliseconds()), t0+unit.Time(10*365*24*time.Hour.Milliseconds()))
		}
		vp := &Pump{PatientID: pt.ID, Serial: im.Serial, Model: im.Model, Dev: dev, raised: map[pump.Alarm]time.Time{}, rxID: rx.ID}
		if n := len(rec.Refills); n > 0 {
			vp.refillID = rec.Refills[n-1].ID
		}
		c.Pumps = append(c.Pumps, vp)
	}
	return c.Step(ctx, true)
}

// Step runs every pump to the clock's time and sends a report from each that
// has not reported for ReportEvery of simulated time (all when force).
func (c *Clinic) Step(ctx context.Context, force bool) error {
	ctx = system(ctx)
	now := c.Clock.Now().Truncate(time.Millisecond)
	for _, p := range c.Pumps {
		p.Dev.Run(unit.FromStd(now))
		st := p.Dev.Core.Status()
		seen := map[pump.Alarm]bool{}
		st.Alarms.Each(func(a pump.Alarm) {
			seen[a] = true
			if _, ok := p.raised[a]; !ok {
				p.raised[a] = now
			}
		})
		for a := range p.raised {
			if !seen[a] {
				delete(p.raised, a)
			}
		}
		if !force && now.Sub(p.lastSent) < ReportEvery {
			continue
		}
		p.lastSent = now
		if err := c.sync(ctx, p, now); err != nil {
			return err
		}
		st = p.Dev.Core.Status()
		if _, err := c.Svc.Ingest(ctx, p.report(now, st)); err != nil {
			return fmt.Errorf("demo: report from %s: %w", p.Serial, err)
		}
	}
	return nil
}

// ReportEvery is how often, in simulated time, each virtual pump reports (a
// home monitor's nightly interrogation, more often for the demonstration).
const ReportEvery = 6 * time.Hour

func (p *Pump) report(now time.Time, st pump.Status) *clinic.Report {
	r := &clinic.Report{Format: clinic.ReportFormat, Serial: p.Serial, Model: p.Model, InterrogatedAt: now,
		Source: "home_monitor", Status: clinic.ReportStatus{Running: st.Running, Mode: st.Rx.Mode.String(), Drug: st.FillDrug,
			Concentration: st.FillConcentration, Basal: st.Basal,
			Reservoir: max(st.Reservoir, 0), Delivered: st.Delivered, Battery: max(st.Battery, 0)}}
	if !st.HasRx {
		r.Status.Mode = "stopped"
	}
	st.Alarms.Each(func(a pump.Alarm) {
		r.Status.ActiveAlarms = append(r.Status.ActiveAlarms, a.String())
		r.Alarms = append(r.Alarms, clinic.ReportAlarm{Code: a.String(), RaisedAt: p.raised[a]})
	})
	return r
}

// Run advances the pumps every tick of real time until ctx ends, logging
// (not stopping on) a failed report.
func (c *Clinic) Run(ctx context.Context, tick time.Duration, logger *slog.Logger) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Step(ctx, false); err != nil && ctx.Err() == nil {
				logger.Warn("demo pumps", "err", err)
			}
		}
	}
}

// sync applies to the device a refill or a prescription recorded in the
// clinic since the last report (the clinician's programmer at the visit).
func (c *Clinic) sync(ctx context.Context, p *Pump, now time.Time) error {
	rec, err := c.Svc.PatientRecord(ctx, p.PatientID)
	if err != nil {
		return err
	}
	t := unit.FromStd(now)
	if n := len(rec.Refills); n > 0 && rec.Refills[n-1].ID > p.refillID {
		rf := rec.Refills[n-1]
		p.refillID = rf.ID
		err := p.Dev.Do(t, func(core *pump.Pump) error {
			return core.Refill(t, pump.Refill{Withdrawn: rf.Withdrawn, Added: rf.Added, Drug: rf.Drug, Concentration: rf.Concentration})
		})
		if err != nil {
			return fmt.Errorf("demo: refill of %s: %w", p.Serial, err)
		}
	}
	if n := len(rec.Prescriptions); n > 0 && rec.Prescriptions[n-1].ID > p.rxID {
		rx := rec.Prescriptions[n-1]
		p.rxID = rx.ID
		err := p.Dev.Do(t, func(core *pump.Pump) error { return core.Program(t, pump.NewProgram(rx.Program, core.Status().RxHash)) })
		if err != nil {
			return fmt.Errorf("demo: program %s: %w", p.Serial, err)
		}
	}
	return nil
}
