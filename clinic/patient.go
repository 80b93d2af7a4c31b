package clinic

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Patient is a person in the clinic's care.
type Patient struct {
	ID         int64  `json:"id"`
	MRN        string `json:"mrn"` // medical record number, unique in the clinic
	FamilyName string `json:"family_name"`
	GivenName  string `json:"given_name"`
	BirthDate  Date   `json:"birth_date"`
	Sex        string `json:"sex"`        // female, male, other, unknown
	Indication string `json:"indication"` // pain or spasticity
	// Origin of spasticity: cerebral or spinal (baclofen titration differs).
	Origin    string    `json:"origin,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (p *Patient) validate(now Date) error {
	p.MRN = strings.TrimSpace(p.MRN)
	p.FamilyName, p.GivenName = strings.TrimSpace(p.FamilyName), strings.TrimSpace(p.GivenName)
	if p.MRN == "" || len(p.MRN) > 64 {
		return Errorf(EINVALID, "mrn", "the medical record number is required (at most 64 bytes)")
	}
	for _, err := range []error{checkText("mrn", p.MRN, false), nameField("family_name", p.FamilyName, 200, true),
		nameField("given_name", p.GivenName, 200, false)} {
		if err != nil {
			return err
		}
	}
	if !p.BirthDate.IsZero() {
		if err := dateInRange("birth_date", p.BirthDate.Time); err != nil {
			return err
		}
	}
	switch {
	case p.BirthDate.IsZero():
		return Errorf(EINVALID, "birth_date", "is required (YYYY-MM-DD)")
	case p.BirthDate.After(now.Time):
		return Errorf(EINVALID, "birth_date", "%s is not a possible birth date", p.BirthDate.Format("2006-01-02"))
	case !slices.Contains([]string{"female", "male", "other", "unknown"}, p.Sex):
		return Errorf(EINVALID, "sex", "must be female, male, other or unknown")
	case !slices.Contains([]string{"pain", "spasticity"}, p.Indication):
		return Errorf(EINVALID, "indication", "must be pain or spasticity")
	case !slices.Contains([]string{"", "cerebral", "spinal"}, p.Origin):
		return Errorf(EINVALID, "origin", "must be cerebral or spinal (spasticity), or empty")
	}
	return textField("notes", p.Notes, 10_000)
}

// CreatePatient adds a patient.
func (s *Service) CreatePatient(ctx context.Context, p *Patient) error {
	if err := s.allow(ctx, WritePatients); err != nil {
		return err
	}
	if err := p.validate(Date{s.now()}); err != nil {
		return err
	}
	return s.write(ctx, WritePatients, func(o *op) error {
		p.CreatedAt, p.UpdatedAt = o.now, o.now
		if err := o.tx.CreatePatient(p); err != nil {
			return err
		}
		o.auditPatient("patient.create", nil, p)
		return nil
	})
}

// UpdatePatient saves changes to a patient if p.Version is still the stored
// version; otherwise ECONFLICT and nothing is written.
func (s *Service) UpdatePatient(ctx context.Context, p *Patient) error {
	if err := s.allow(ctx, WritePatients); err != nil {
		return err
	}
	if p.Version <= 0 {
		return Errorf(EINVALID, "version", "give the version you read (for the lost-update check)")
	}
	if err := p.validate(Date{s.now()}); err != nil {
		return err
	}
	return s.write(ctx, WritePatients, func(o *op) error {
		before, err := o.tx.Patient(p.ID)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return Errorf(ECONFLICT, "version", "patient %d is at version %d, not %d: someone changed it; reload", p.ID, before.Version, p.Version)
		}
		p.CreatedAt, p.UpdatedAt = before.CreatedAt, o.now
		if err := o.tx.UpdatePatient(p); err != nil {
			return err
		}
		o.auditPatient("patient.update", before, p)
		return nil
	})
}

// Patient returns one patient.
func (s *Service) Patient(ctx context.Context, id int64) (*Patient, error) {
	var p *Patient
	err := s.view(ctx, ReadRecords, func(tx Tx) (err error) {
		p, err = tx.Patient(id)
		return err
	})
	if err == nil {
		err = s.auditRead(ctx, "patient.read", id)
	}
	return p, err
}

// PatientRecord returns everything held about a patient, with its worklist.
func (s *Service) PatientRecord(ctx context.Context, id int64) (*PatientRecord, error) {
	if err := s.allow(ctx, ReadRecords); err != nil {
		return nil, err
	}
	r, err := s.patientRecord(ctx, id)
	if err == nil {
		err = s.auditRead(ctx, "patient.read", id)
	}
	return r, err
}

func (s *Service) patientRecord(ctx context.Context, id int64) (*PatientRecord, error) {
	now := s.now()
	r := &PatientRecord{}
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		if r.Patient, err = tx.Patient(id); err != nil {
			return err
		}
		f := RecordFilter{PatientID: id}
		if r.Trials, err = list[Trial](tx, f); err != nil {
			return err
		}
		if r.Implants, err = list[Implant](tx, f); err != nil {
			return err
		}
		if r.Prescriptions, err = list[Prescription](tx, f); err != nil {
			return err
		}
		if r.Refills, err = list[Refill](tx, f); err != nil {
			return err
		}
		if r.FollowUps, err = list[FollowUp](tx, f); err != nil {
			return err
		}
		if r.Complications, err = list[Complication](tx, f); err != nil {
			return err
		}
		if r.SideEffects, err = list[SideEffect](tx, f); err != nil {
			return err
		}
		if r.Alarms, err = list[Alarm](tx, f); err != nil {
			return err
		}
		if r.Reports, err = list[StoredReport](tx, RecordFilter{PatientID: id, Newest: true, Limit: 50}); err != nil {
			return err
		}
		if r.Sessions, err = list[ProgrammingSession](tx, RecordFilter{PatientID: id, Newest: true, Limit: 50}); err != nil {
			return err
		}
		r.Worklist, err = tx.Work(WorkQuery{Now: now.Add(3650 * 24 * 3600e9), PatientID: id, Limit: 1000})
		for i := range r.Worklist {
			r.Worklist[i].setStatus(now)
		}
		return err
	})
	if err == nil {
		r.Dates = s.PatientDates(r.snapshot(), now)
	}
	return r, err
}

// ExportRecord returns a patient's record for export (FHIR).
func (s *Service) ExportRecord(ctx context.Context, id int64) (*PatientRecord, error) {
	if err := s.allow(ctx, ExportRecords); err != nil {
		return nil, err
	}
	r, err := s.patientRecord(ctx, id)
	if err == nil {
		err = s.auditRead(ctx, "patient.export", id)
	}
	return r, err
}

// mustPatient loads the patient a record is for.
func (o *op) mustPatient(id int64) (*Patient, error) {
	p, err := o.tx.Patient(id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "patient_id", "no patient %d", id)
	}
	return p, err
}
