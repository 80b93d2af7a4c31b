package clinic

import (
	"context"
	"time"
)

// Complication is an adverse event of the therapy.
type Complication struct {
	Meta
	ImplantID   int64      `json:"implant_id,omitempty"`
	Type        string     `json:"type"` // see ComplicationTypes
	Onset       time.Time  `json:"onset"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	Outcome     string     `json:"outcome,omitempty"`
	Description string     `json:"description,omitempty"`
}

// ComplicationTypes are the complications the clinic tracks.
var ComplicationTypes = []string{"infection", "csf_leak", "catheter_problem", "granuloma",
	"device_malfunction", "withdrawal", "overdose", "other"}

func (s *Service) checkComplication(c *Complication, now time.Time) error {
	if err := oneOf("type", c.Type, ComplicationTypes); err != nil {
		return err
	}
	if err := notFuture("onset", c.Onset, now); err != nil {
		return err
	}
	if c.ResolvedAt != nil {
		if err := notFuture("resolved_at", *c.ResolvedAt, now); err != nil {
			return err
		}
		if c.ResolvedAt.Before(c.Onset) {
			return Errorf(EINVALID, "resolved_at", "before the onset")
		}
	}
	if err := textField("description", c.Description, 10_000); err != nil {
		return err
	}
	return textField("outcome", c.Outcome, 1000)
}

// RecordComplication records a complication (infection, CSF leak, catheter
// problem, granuloma, device malfunction, withdrawal, overdose…).
func (s *Service) RecordComplication(ctx context.Context, patientID int64, c *Complication) error {
	if err := s.checkComplication(c, s.now()); err != nil {
		return err
	}
	return s.write(ctx, WriteCare, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		c.Meta = Meta{PatientID: patientID}
		_, err := o.create(c)
		return err
	})
}

// UpdateComplication changes a complication: its outcome, resolution, description.
func (s *Service) UpdateComplication(ctx context.Context, id int64, in *Complication) (*Complication, error) {
	if in.Version <= 0 {
		return nil, Errorf(EINVALID, "version", "give the version you read (for the lost-update check)")
	}
	if err := s.checkComplication(in, s.now()); err != nil {
		return nil, err
	}
	var c *Complication
	err := s.write(ctx, WriteCare, func(o *op) error {
		before, err := get[Complication](o.tx, id)
		if err != nil {
			return err
		}
		if before.Version != in.Version {
			return Errorf(ECONFLICT, "version", "complication %d is at version %d, not %d: reload", id, before.Version, in.Version)
		}
		c = new(Complication)
		*c = *in
		c.Meta = before.Meta
		return o.update(before, c)
	})
	return c, err
}
