package clinic

import (
	"context"
	"time"
)

// Alarm is an alarm a pump reported.
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
}

// AckInput acknowledges an alarm.
type AckInput struct {
	Note    string `json:"note"`
	Version int64  `json:"version"`
}

// AckAlarm acknowledges an alarm: it leaves the worklist.
func (s *Service) AckAlarm(ctx context.Context, id int64, in AckInput) (*Alarm, error) {
	if err := textField("note", in.Note, 10_000); err != nil {
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
		a.AckedAt, a.AckedBy, a.AckNote = &o.now, o.p.Name, in.Note
		return o.update(&before, a)
	})
	return a, err
}
