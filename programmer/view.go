package programmer

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// WriteStatus prints an interrogation for a clinician: therapy, reservoir,
// battery, alarms, catheter, and where the event log stands. Times are the
// pump's local time.
func WriteStatus(w io.Writer, lib *drug.Library, serial uint64, st pumpwire.Status) {
	loc := Local(st)
	at := func(t unit.Time) string { return t.Std().In(loc).Format("2006-01-02 15:04") }
	u := unit.Milligram
	if d, ok := lib.Lookup(st.Rx.Drug); ok {
		u = d.DoseUnit
	} else if d, ok := lib.Lookup(st.FillDrug); ok {
		u = d.DoseUnit
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{label}, args...)...)
	}
	row("pump", "%v #%d, pump time %s (%s)", st.Model, serial, at(st.At), loc)
	switch {
	case st.Delivering:
		row("therapy", "DELIVERING")
	default:
		row("therapy", "NOT DELIVERING: %s", notDelivering(&st))
	}
	if st.HasRx {
		rx := &st.Rx
		d := DailyOf(rx)
		row("prescription", "%s %s, %s", rx.Drug, rx.Concentration.Format(u), modeText(rx))
		row("  per day", "%s basal (most %s with every bolus, cap %s)", VolumeMass(d.Max, rx.Concentration, u),
			VolumeMass(d.Total(), rx.Concentration, u), VolumeMass(rx.Max24h, rx.Concentration, u))
		if pb := rx.PatientBolus; pb.Volume > 0 {
			row("  patient bolus", "%s over %v, lockout %v, at most %d a day", VolumeMass(pb.Volume, rx.Concentration, u), pb.Duration, pb.Lockout, pb.MaxPer24h)
			next := "now"
			if st.NextPatientBolus > st.At {
				next = at(st.NextPatientBolus)
			}
			row("  next bolus", "possible %s (as far as lockout and count allow)", next)
		}
		if st.RxSince != 0 {
			row("  since", "%s", at(st.RxSince))
		}
		if st.Bridging {
			row("  bridge", "running: the old drug in the catheter is delivered first")
		}
		if st.Priming {
			row("  priming", "running")
		}
	} else {
		row("prescription", "none")
	}
	fill := "no refill recorded"
	if st.LastFill > 0 {
		fill = fmt.Sprintf("last fill %v of %s %s on %s", st.LastFill, st.FillDrug, st.FillConc.Format(u), at(st.LastFillAt))
	}
	row("reservoir", "%v estimated (%s)", st.Reservoir, fill)
	row("battery", "%v (ERI at %v)", st.Battery, st.ERIThreshold)
	row("alarms", "%s", alarmText(st.Alarms))
	row("catheter", "%v at %v per cm; priming volume %v", st.CatheterLength, st.CatheterPerCm, st.PrimingVolume)
	row("event log", "next #%d", st.LogNext)
	tw.Flush()
}

// notDelivering says why a pump delivers nothing.
func notDelivering(st *pumpwire.Status) string {
	var why []string
	switch {
	case !st.HasRx:
		why = append(why, "no prescription")
	case st.Rx.Mode == pump.ModeStopped:
		why = append(why, "the prescription is 'stopped'")
	}
	if !st.Running {
		why = append(why, "STOPPED by a clinician")
	}
	st.Alarms.Each(func(a pump.Alarm) {
		if a.Critical() {
			why = append(why, a.String()+" alarm")
		}
	})
	if len(why) == 0 {
		return "held"
	}
	return strings.Join(why, ", ")
}

func alarmText(a pump.Alarms) string {
	var out []string
	a.Each(func(x pump.Alarm) {
		s := x.String()
		if x.Critical() {
			s += " (critical)"
		}
		out = append(out, s)
	})
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// WriteLog prints event-log records, one a line, in the pump's local time;
// critical ones are marked with "!".
func WriteLog(w io.Writer, recs []pumpwire.Record, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := range recs {
		r := &recs[i]
		mark := " "
		if r.Critical() {
			mark = "!"
		}
		fmt.Fprintf(tw, "%s#%d\t%s\t%s\t%s\n", mark, r.Seq, r.At.Std().In(loc).Format("2006-01-02 15:04:05"), r.Kind, telemetry.Describe(r))
	}
	tw.Flush()
}
