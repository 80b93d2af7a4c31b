package clinicapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// TestReportFrom: a reading becomes a report that carries what the pump
// runs, its fill, its clock and its log position; the pump's times are given
// on the relay's clock, never after the reading; an alarm raised and cleared
// since is in the log only; the newest log records are kept.
func TestReportFrom(t *testing.T) {
	pumpNow := unit.FromStd(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	rx := pump.Prescription{Drug: "baclofen", Concentration: 2000 * unit.MicrogramPerMillilitre, Mode: pump.ModeContinuous,
		Rate: unit.Rate(200 * unit.Microlitre), Max24h: unit.Millilitres(1)}
	st := pumpwire.Status{At: pumpNow, Model: pump.TP20, HasRx: true, Rx: rx, Running: true, Delivering: true, Basal: rx.Rate,
		Reservoir: -unit.Millilitres(0.1), FillDrug: "baclofen", FillConc: rx.Concentration, Battery: 900 * unit.MicroampHour * 1000,
		Alarms: pump.Alarms(1 << pump.Occlusion), LogNext: 400}
	var recs []pumpwire.Record
	for i := range uint64(300) {
		recs = append(recs, pumpwire.Record{Seq: 100 + i, At: pumpNow.Add(-unit.Duration(300-i) * unit.Minute), Kind: pumpwire.RecordKind(pump.EvInterrogate)})
	}
	recs[len(recs)-3] = pumpwire.Record{Seq: recs[len(recs)-3].Seq, At: pumpNow.Add(-2 * unit.Minute), Kind: pumpwire.RecordKind(pump.EvAlarmRaise), Alarm: pump.Occlusion}
	recs[len(recs)-4] = pumpwire.Record{Seq: recs[len(recs)-4].Seq, At: pumpNow.Add(-3 * unit.Minute), Kind: pumpwire.RecordKind(pump.EvAlarmRaise), Alarm: pump.LowReservoir}
	relay := pumpNow.Std().Add(90 * time.Second) // the relay's clock is 90 s ahead
	r := ReportFrom("4001", st, recs, SourceMonitor, relay)
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if r.Status.Program == nil || pump.Prescription(*r.Status.Program) != rx || r.Status.Drug != "baclofen" || r.Status.Reservoir != 0 ||
		!r.Status.PumpTime.Equal(pumpNow.Std()) || r.Status.LogNext != 400 || !r.InterrogatedAt.Equal(relay) {
		t.Fatalf("status %+v", r.Status)
	}
	if len(r.Alarms) != 1 || r.Alarms[0].Code != "OCCLUSION" || !r.Alarms[0].RaisedAt.Equal(pumpNow.Std().Add(-2*time.Minute+90*time.Second)) {
		t.Fatalf("alarms %+v", r.Alarms)
	}
	if len(r.Log) != clinic.MaxLogEntries || r.Log[0].Seq != 400-clinic.MaxLogEntries || r.Log[len(r.Log)-1].Seq != 399 {
		t.Fatalf("log %d entries, #%d to #%d", len(r.Log), r.Log[0].Seq, r.Log[len(r.Log)-1].Seq)
	}
	// A relay behind the pump: nothing is dated after the reading.
	r = ReportFrom("4001", st, recs, SourceMonitor, pumpNow.Std().Add(-time.Hour))
	for _, e := range r.Log {
		if e.At.After(r.InterrogatedAt) {
			t.Fatalf("a log record at %s after the reading at %s", e.At, r.InterrogatedAt)
		}
	}
}
