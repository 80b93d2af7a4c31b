package clinicapi

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
)

// Sources of a report: who read the pump.
const (
	SourceMonitor    = "home_monitor"
	SourceProgrammer = "programmer"
)

// Serial is the clinic's name of a pump: its telemetry credential's serial
// number, in decimal (the implant record's serial).
func Serial(n uint64) string { return strconv.FormatUint(n, 10) }

// ReportFrom is the interrogation report of a pump's reading: st, the status
// read at the relay's time at (its own clock), and recs, the event-log
// records read since the last report (oldest first; the newest
// clinic.MaxLogEntries are kept). It carries the program the pump runs, the
// drug and concentration of its last refill, the pump's clock beside the
// relay's and the log's position, for the clinic to reconcile with its
// record.
//
// The pump's times (its log, its alarms) are given on the relay's clock:
// shifted by the difference between the two clocks at the reading, so that
// nothing the pump did is dated after the reading. The pump's own clock is
// reported as it read (status.pump_time).
func ReportFrom(serial string, st pumpwire.Status, recs []pumpwire.Record, source string, at time.Time) *clinic.Report {
	at = at.UTC().Truncate(time.Millisecond)
	shift := at.Sub(st.At.Std())
	relay := func(t time.Time) time.Time {
		if r := t.Add(shift); r.Before(at) {
			return r
		}
		return at
	}
	mode := "stopped"
	if st.HasRx {
		mode = st.Rx.Mode.String()
	}
	r := &clinic.Report{Format: clinic.ReportFormat, Serial: serial, Model: st.Model, InterrogatedAt: at, Source: source,
		Status: clinic.ReportStatus{Running: st.Running, Mode: mode, Drug: st.FillDrug, Concentration: st.FillConc, Basal: st.Basal,
			Reservoir: max(st.Reservoir, 0), Delivered: max(st.Delivered, 0), Battery: max(st.Battery, 0),
			PumpTime: st.At.Std().UTC(), LogNext: st.LogNext}}
	if st.HasRx {
		p := clinic.Program(st.Rx)
		r.Status.Program = &p
	}
	st.Alarms.Each(func(a pump.Alarm) {
		if len(r.Status.ActiveAlarms) < clinic.MaxReportAlarms {
			r.Status.ActiveAlarms = append(r.Status.ActiveAlarms, a.String())
		}
	})
	// Each active alarm with the time the log shows it raised (the latest
	// raise); an alarm raised and cleared since is in the log only.
	raised := map[pump.Alarm]time.Time{}
	for i := range recs {
		if pump.EventKind(recs[i].Kind) == pump.EvAlarmRaise && st.Alarms.Has(recs[i].Alarm) {
			raised[recs[i].Alarm] = relay(recs[i].At.Std())
		}
	}
	for _, a := range r.Status.ActiveAlarms {
		if al, ok := pump.ParseAlarm(a); ok {
			if t, ok := raised[al]; ok {
				r.Alarms = append(r.Alarms, clinic.ReportAlarm{Code: a, RaisedAt: t})
			}
		}
	}
	if n := len(recs); n > clinic.MaxLogEntries {
		recs = recs[n-clinic.MaxLogEntries:]
	}
	for i := range recs {
		rec := &recs[i]
		r.Log = append(r.Log, clinic.ReportEvent{Seq: rec.Seq, At: relay(rec.At.Std()), Event: clip(rec.Kind.String(), 32),
			Detail: clip(telemetry.Describe(rec), 200)})
	}
	slices.SortStableFunc(r.Alarms, func(a, b clinic.ReportAlarm) int { return a.RaisedAt.Compare(b.RaisedAt) })
	return r
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
