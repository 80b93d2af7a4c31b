package clinic

import (
	"context"
	"time"
)

// SideEffect is a side effect the patient reported.
type SideEffect struct {
	Meta
	Type       string     `json:"type"` // see SideEffectTypes
	ReportedAt time.Time  `json:"reported_at"`
	Severity   string     `json:"severity"` // mild, moderate, severe
	Drug       string     `json:"drug,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Notes      string     `json:"notes,omitempty"`
}

// SideEffectTypes are the side effects the clinic records.
var SideEffectTypes = []string{"headache", "dizziness", "nausea", "pruritus", "urinary_retention",
	"oedema", "sedation", "other"}

// RecordSideEffect records a side effect the patient reported.
func (s *Service) RecordSideEffect(ctx context.Context, patientID int64, e *SideEffect) error {
	now := s.now()
	if err := oneOf("type", e.Type, SideEffectTypes); err != nil {
		return err
	}
	if e.ReportedAt.IsZero() {
		e.ReportedAt = now
	}
	if err := notFuture("reported_at", e.ReportedAt, now); err != nil {
		return err
	}
	if err := oneOf("severity", e.Severity, []string{"mild", "moderate", "severe"}); err != nil {
		return err
	}
	if e.Drug != "" {
		d, err := s.lookupDrug("drug", e.Drug)
		if err != nil {
			return err
		}
		e.Drug = d.Name
	}
	if err := textField("notes", e.Notes, 10_000); err != nil {
		return err
	}
	return s.write(ctx, WriteCare, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		e.Meta = Meta{PatientID: patientID}
		_, err := o.create(e)
		return err
	})
}
