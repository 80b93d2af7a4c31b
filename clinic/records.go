package clinic

import (
	"context"
	"time"
)

// Kind is the kind of a patient's record.
type Kind string

const (
	KindTrial        Kind = "trial"
	KindImplant      Kind = "implant"
	KindPrescription Kind = "prescription"
	KindRefill       Kind = "refill"
	KindFollowUp     Kind = "follow_up"
	KindComplication Kind = "complication"
	KindSideEffect   Kind = "side_effect"
	KindAlarm        Kind = "alarm"
	KindReport       Kind = "report"
	KindSession      Kind = "programming_session"
)

// Meta is what every patient record carries. The store's columns are the truth
// for these fields.
type Meta struct {
	ID        int64     `json:"id"`
	PatientID int64     `json:"patient_id"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by"`
}

func (m *Meta) meta() *Meta { return m }

// PatientRecord is everything the clinic holds about one patient.
type PatientRecord struct {
	Patient       *Patient              `json:"patient"`
	Trials        []*Trial              `json:"trials"`
	Implants      []*Implant            `json:"implants"`
	Prescriptions []*Prescription       `json:"prescriptions"`
	Refills       []*Refill             `json:"refills"`
	FollowUps     []*FollowUp           `json:"follow_ups"`
	Complications []*Complication       `json:"complications"`
	SideEffects   []*SideEffect         `json:"side_effects"`
	Alarms        []*Alarm              `json:"alarms"`
	Reports       []*StoredReport       `json:"reports"`
	Sessions      []*ProgrammingSession `json:"programming_sessions"`
	Worklist      []WorkItem            `json:"worklist"`
	// Dates are the patient's therapy dates at the time of reading
	// (PatientDates): the same the worklist, the chart and the documents show.
	Dates Dates `json:"dates"`
}

// snapshot is what PatientWork and PatientDates take, from a whole record.
func (r *PatientRecord) snapshot() *Snapshot {
	snap := &Snapshot{Patient: r.Patient, Implants: r.Implants, Prescriptions: r.Prescriptions}
	if n := len(r.Refills); n > 0 {
		snap.LastRefill = r.Refills[n-1]
	}
	if len(r.Reports) > 0 {
		snap.LastReport = r.Reports[0] // newest first
	}
	return snap
}

// Record returns one record of a patient as its own type.
func (s *Service) Record(ctx context.Context, id int64) (any, error) {
	var out any
	err := s.view(ctx, ReadRecords, func(tx Tx) error {
		rec, err := tx.Record(id)
		if err != nil {
			return err
		}
		var r record
		switch rec.Kind {
		case KindTrial:
			r = new(Trial)
		case KindImplant:
			r = new(Implant)
		case KindPrescription:
			r = new(Prescription)
		case KindRefill:
			r = new(Refill)
		case KindFollowUp:
			r = new(FollowUp)
		case KindComplication:
			r = new(Complication)
		case KindSideEffect:
			r = new(SideEffect)
		case KindAlarm:
			r = new(Alarm)
		case KindReport:
			r = new(StoredReport)
		case KindSession:
			r = new(ProgrammingSession)
		default:
			return Errorf(ENOTFOUND, "id", "no record %d", id)
		}
		out = r
		return decode(rec, r)
	})
	return out, err
}
