package clinic

import (
	"context"
	"time"

	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// FollowUp is a scheduled visit: a wound check, a dose review, a refill visit.
type FollowUp struct {
	Meta
	ImplantID int64      `json:"implant_id,omitempty"`
	Type      string     `json:"type"` // wound_check, dose_review, refill_visit, other
	Due       time.Time  `json:"due"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
	PainScore *Score     `json:"pain_score,omitempty"`
	Notes     string     `json:"notes,omitempty"`
	// AlarmID is the alarm whose acknowledgement created it, if any, and
	// AlarmCode that alarm's name.
	AlarmID   int64  `json:"alarm_id,omitempty"`
	AlarmCode string `json:"alarm_code,omitempty"`
}

// FollowUpTypes are the kinds of follow-up visit. The last three are what
// an acknowledged alarm calls for (AlarmFollowUps).
var FollowUpTypes = []string{"wound_check", "dose_review", "refill_visit", "other",
	"catheter_investigation", "pump_check", "replacement_planning"}

// ScheduleFollowUp schedules a follow-up visit.
func (s *Service) ScheduleFollowUp(ctx context.Context, patientID int64, f *FollowUp) error {
	if err := oneOf("type", f.Type, FollowUpTypes); err != nil {
		return err
	}
	if f.Due.IsZero() {
		return Errorf(EINVALID, "due", "is required")
	}
	if err := dateInRange("due", f.Due); err != nil {
		return err
	}
	if err := textField("notes", f.Notes, 10_000); err != nil {
		return err
	}
	if f.DoneAt != nil {
		if err := notFuture("done_at", *f.DoneAt, s.now()); err != nil {
			return err
		}
	}
	if err := s.checkScore("pain_score", f.PainScore); err != nil {
		return err
	}
	return s.write(ctx, WriteCare, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		f.Meta = Meta{PatientID: patientID}
		_, err := o.create(f)
		return err
	})
}

func (s *Service) checkScore(field string, sc *Score) error {
	if sc != nil && (*sc < 0 || therapy.Score(*sc) > s.Settings.PainScale) {
		return Errorf(EINVALID, field, "must be from 0 to %s", unit.FormatFixed(int64(s.Settings.PainScale), 2))
	}
	return nil
}

// FollowUpDone records a follow-up as done.
type FollowUpDone struct {
	DoneAt    time.Time `json:"done_at"`
	PainScore *Score    `json:"pain_score"`
	Notes     string    `json:"notes"`
	Version   int64     `json:"version"`
}

// CompleteFollowUp records a follow-up as done.
func (s *Service) CompleteFollowUp(ctx context.Context, id int64, in FollowUpDone) (*FollowUp, error) {
	if in.DoneAt.IsZero() {
		in.DoneAt = s.now()
	}
	if err := notFuture("done_at", in.DoneAt, s.now()); err != nil {
		return nil, err
	}
	if err := s.checkScore("pain_score", in.PainScore); err != nil {
		return nil, err
	}
	if err := textField("notes", in.Notes, 10_000); err != nil {
		return nil, err
	}
	var f *FollowUp
	err := s.write(ctx, WriteCare, func(o *op) error {
		var err error
		if f, err = get[FollowUp](o.tx, id); err != nil {
			return err
		}
		before := *f
		if f.Version != in.Version {
			return Errorf(ECONFLICT, "version", "follow-up %d is at version %d, not %d: reload", id, f.Version, in.Version)
		}
		f.DoneAt, f.PainScore = &in.DoneAt, in.PainScore
		if in.Notes != "" {
			f.Notes = in.Notes
		}
		return o.update(&before, f)
	})
	return f, err
}
