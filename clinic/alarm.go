package clinic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
)

// Alarm is an alarm a pump reported. A critical alarm stays open — on the
// worklist and the chart — until it is both acknowledged (with what was done)
// and cleared (a later report of the pump no longer shows it): acknowledging
// one does not make its condition go away (issue 11 item 6). Another alarm
// closes when it is acknowledged.
type Alarm struct {
	Meta
	ImplantID int64      `json:"implant_id"`
	Serial    string     `json:"serial"`
	Code      string     `json:"code"` // a pump alarm name, e.g. OCCLUSION
	Critical  bool       `json:"critical"`
	RaisedAt  time.Time  `json:"raised_at"`
	ReportID  int64      `json:"report_id"`
	AckedAt   *time.Time `json:"acked_at,omitempty"`
	AckedBy   string     `json:"acked_by,omitempty"`
	AckNote   string     `json:"ack_note,omitempty"`
	// FollowUpID is the follow-up the acknowledgement created (or found
	// open already) for what the alarm calls for (AlarmFollowUps).
	FollowUpID int64 `json:"follow_up_id,omitempty"`
	// ClearedAt is the interrogation of the pump's first report after the
	// alarm that no longer shows it; ClearedBy that report's id.
	ClearedAt *time.Time `json:"cleared_at,omitempty"`
	ClearedBy int64      `json:"cleared_by_report,omitempty"`
}

// Open reports whether the alarm still needs attention: not acknowledged, or
// critical and not yet cleared by a report.
func (a *Alarm) Open() bool { return a.AckedAt == nil || a.Critical && a.ClearedAt == nil }

// AlarmFollowUp is the follow-up an alarm calls for when it is
// acknowledged: its type, how soon it is due, and why.
type AlarmFollowUp struct {
	Type   string
	Within time.Duration
	Why    string
}

// DefaultAlarmFollowUps is the table of docs/clinic.md ("Alarms"): what
// each alarm calls for, from the hazards it belongs to (spec/hazards.md).
// The intervals are the clinic's workflow choice, reviewed by the clinic
// (Settings.AlarmFollowUps), not clinical figures with a source.
var DefaultAlarmFollowUps = map[string]AlarmFollowUp{
	pump.Occlusion.String(): {"catheter_investigation", 24 * time.Hour,
		"catheter occlusion or a catheter-tip granuloma (hazard H9): aspirate the catheter access port, a contrast study or imaging"},
	pump.CatheterIntegrity.String(): {"catheter_investigation", 24 * time.Hour,
		"a catheter leak or break (hazard H9): aspirate the catheter access port, a contrast study or imaging"},
	pump.MotorStall.String(): {"pump_check", 24 * time.Hour,
		"the motor stalled (hazard H8): interrogate the pump, ask about MRI or a strong magnet; replace it if it does not recover"},
	pump.MemoryError.String(): {"pump_check", 0,
		"the pump's memory failed (hazard H11): reprogram and verify it, or replace it"},
	pump.EmptyReservoir.String(): {"refill_visit", 0,
		"the reservoir ran empty and delivery stopped (hazard H4): refill now; resuming the old dose after an interruption is a physician's decision (withdrawal; loss of opioid tolerance)"},
	pump.EOS.String(): {"replacement_planning", 0,
		"the battery reached end of service and delivery stopped (hazard H10): replace the pump now"},
	pump.ERI.String(): {"replacement_planning", 14 * 24 * time.Hour,
		"the battery reached its elective replacement indicator (hazard H10): plan the replacement before end of service"},
	pump.PumpStopped.String(): {"pump_check", 0,
		"the pump was left stopped (hazard H7): resume delivery or confirm the stop with the prescriber"},
	pump.VolumeDiscrepancy.String(): {"pump_check", 7 * 24 * time.Hour,
		"the reservoir's level sensor disagrees with the delivered volume (hazards H3, H9): check the pump and the catheter at the next visit"},
	pump.DailyCap.String(): {"dose_review", 7 * 24 * time.Hour,
		"the patient reached the 24-hour maximum: review the dose and the patient bolus"},
}

// AckInput acknowledges an alarm: what was done, and the version read.
type AckInput struct {
	Note    string `json:"note"`
	Version int64  `json:"version"`
}

// AckAlarm acknowledges an alarm with what was done (CheckStatement: a real
// sentence), and in the same transaction creates the follow-up the alarm calls
// for (AlarmFollowUps), unless one of that type is open for the pump already,
// to which it is then linked. A critical alarm stays on the worklist, marked
// acknowledged, until a report shows it cleared.
func (s *Service) AckAlarm(ctx context.Context, id int64, in AckInput) (*Alarm, error) {
	if err := s.allow(ctx, AckAlarms); err != nil {
		return nil, err
	}
	var a *Alarm
	err := s.write(ctx, AckAlarms, func(o *op) error {
		var err error
		if a, err = get[Alarm](o.tx, id); err != nil {
			return err
		}
		before := *a
		switch {
		case a.Version != in.Version:
			return Errorf(ECONFLICT, "version", "alarm %d is at version %d, not %d: reload", id, a.Version, in.Version)
		case a.AckedAt != nil:
			return Errorf(ECONFLICT, "id", "alarm %d was acknowledged by %s already", id, a.AckedBy)
		}
		if err := CheckStatement("note", in.Note, a.Code, strings.ReplaceAll(a.Code, "_", " ")); err != nil {
			return err
		}
		a.AckedAt, a.AckedBy, a.AckNote = &o.now, o.p.Name, strings.TrimSpace(in.Note)
		if fu, ok := s.Settings.AlarmFollowUps[a.Code]; ok {
			f, err := o.alarmFollowUp(a, fu)
			if err != nil {
				return err
			}
			a.FollowUpID = f.ID
		}
		o.result(a)
		return o.update(&before, a)
	})
	return a, err
}

// alarmFollowUp creates the follow-up an acknowledged alarm calls for, or
// returns one of its type open for the same pump already.
func (o *op) alarmFollowUp(a *Alarm, fu AlarmFollowUp) (*FollowUp, error) {
	open, err := list[FollowUp](o.tx, RecordFilter{PatientID: a.PatientID, OpenOnly: true})
	if err != nil {
		return nil, err
	}
	for _, f := range open {
		if f.Type == fu.Type && f.ImplantID == a.ImplantID {
			return f, nil
		}
	}
	f := &FollowUp{Meta: Meta{PatientID: a.PatientID}, ImplantID: a.ImplantID, Type: fu.Type, Due: o.now.Add(fu.Within), AlarmID: a.ID, AlarmCode: a.Code,
		Notes: fmt.Sprintf("after alarm %s of pump %s at %s: %s. Done at the acknowledgement: %s", a.Code, a.Serial,
			a.RaisedAt.Format("2 Jan 2006 15:04 UTC"), fu.Why, strings.TrimSpace(a.AckNote))}
	_, err = o.create(f)
	return f, err
}

// clearAlarms records, for a pump's newest report, the open alarms it no
// longer shows: cleared at the report's interrogation. A critical alarm
// acknowledged already then closes.
func (o *op) clearAlarms(sr *StoredReport, open []*Alarm) error {
	newest, err := list[StoredReport](o.tx, RecordFilter{PatientID: sr.PatientID, Newest: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(newest) == 0 || newest[0].ID != sr.ID {
		return nil // a late report of an earlier moment clears nothing
	}
	for _, a := range open {
		if a.Serial != sr.Serial || a.ClearedAt != nil || !a.RaisedAt.Before(sr.InterrogatedAt) || slices.Contains(sr.Status.ActiveAlarms, a.Code) {
			continue
		}
		before := *a
		at := sr.InterrogatedAt
		a.ClearedAt, a.ClearedBy = &at, sr.ID
		if err := o.update(&before, a); err != nil {
			return err
		}
	}
	return nil
}
