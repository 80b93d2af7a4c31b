package clinic

import (
	"context"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Implant is a pump in a patient, from implant to explant.
type Implant struct {
	Meta
	Model          pump.Model         `json:"model"`  // TP-20 or TP-40
	Serial         string             `json:"serial"` // unique
	ImplantedAt    time.Time          `json:"implanted_at"`
	Surgeon        string             `json:"surgeon"`
	CatheterLength unit.Length        `json:"catheter_length"`
	CatheterPerCm  unit.Volume        `json:"catheter_volume_per_cm,omitempty"` // default pump.DefaultCatheterPerCm
	TipLevel       string             `json:"tip_level"`                        // e.g. T10
	Site           string             `json:"site,omitempty"`
	Drug           string             `json:"drug"`          // the first fill
	Concentration  unit.Concentration `json:"concentration"` // the first fill
	InitialFill    unit.Volume        `json:"initial_fill"`  // in the reservoir after the first fill
	Replaces       int64              `json:"replaces,omitempty"`
	ExplantedAt    *time.Time         `json:"explanted_at,omitempty"`
	ExplantReason  string             `json:"explant_reason,omitempty"`
	// Computed by therapy.Priming: pump tubing + catheter.
	PrimingVolume unit.Volume `json:"priming_volume"`
}

// Active reports whether the pump is still implanted.
func (i *Implant) Active() bool { return i.ExplantedAt == nil }

// activeImplant returns the patient's implanted pump, or nil.
func activeImplant(tx Tx, patientID int64) (*Implant, error) {
	ims, err := list[Implant](tx, RecordFilter{PatientID: patientID, OpenOnly: true, Newest: true, Limit: 1})
	if err != nil || len(ims) == 0 {
		return nil, err
	}
	return ims[0], nil
}

var catheterFields = map[string]string{"catheter-length": "catheter_length", "catheter-per-cm": "catheter_volume_per_cm"}

// CreateImplant records a pump implanted in a patient, explants the pump it
// replaces, and schedules the wound checks after it (hazard H18).
func (s *Service) CreateImplant(ctx context.Context, patientID int64, im *Implant) error {
	if err := s.allow(ctx, WriteImplants); err != nil {
		return err
	}
	now := s.now()
	model := im.Model
	if !model.Valid() {
		return Errorf(EINVALID, "model", "must be TP-20 or TP-40")
	}
	im.Serial = strings.TrimSpace(im.Serial)
	if im.Serial == "" || len(im.Serial) > 64 {
		return Errorf(EINVALID, "serial", "the pump's serial number is required (at most 64 bytes)")
	}
	if err := notFuture("implanted_at", im.ImplantedAt, now); err != nil {
		return err
	}
	if err := nameField("surgeon", im.Surgeon, 200, true); err != nil {
		return err
	}
	if im.CatheterPerCm == 0 {
		im.CatheterPerCm = unit.Volume(pump.DefaultCatheterPerCm)
	}
	prime, err := therapy.Priming(therapy.Catheter{Length: im.CatheterLength, PerCm: im.CatheterPerCm})
	if err != nil {
		return therapyErr(err, catheterFields)
	}
	im.PrimingVolume = unit.Volume(prime.Volume)
	if strings.TrimSpace(im.TipLevel) == "" {
		return Errorf(EINVALID, "tip_level", "the catheter tip's vertebral level is required, e.g. T10")
	}
	d, err := s.lookupDrug("drug", im.Drug)
	if err != nil {
		return err
	}
	im.Drug = d.Name
	if im.Concentration <= 0 {
		return Errorf(EINVALID, "concentration", "must be more than 0, e.g. \"2000 mcg/mL\"")
	}
	if im.InitialFill <= 0 || im.InitialFill > model.Reservoir() {
		return Errorf(EINVALID, "initial_fill", "must be more than 0 and at most the %s reservoir (%s)", model, model.Reservoir())
	}
	im.ExplantedAt, im.ExplantReason = nil, ""
	return s.write(ctx, WriteImplants, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		im.Meta = Meta{PatientID: patientID}
		cur, err := activeImplant(o.tx, patientID)
		if err != nil {
			return err
		}
		switch {
		case cur != nil && im.Replaces != cur.ID:
			return Errorf(EINVALID, "replaces", "the patient has pump %s implanted (implant %d): a new pump replaces it", cur.Serial, cur.ID)
		case cur == nil && im.Replaces != 0:
			old, err := get[Implant](o.tx, im.Replaces)
			if err != nil || old.PatientID != patientID {
				return Errorf(EINVALID, "replaces", "implant %d is not one of this patient's", im.Replaces)
			}
		case cur != nil:
			before := *cur
			at := im.ImplantedAt
			cur.ExplantedAt, cur.ExplantReason = &at, "replaced by pump "+im.Serial
			if err := o.update(&before, cur); err != nil {
				return err
			}
		}
		created, err := o.create(im)
		if err != nil {
			return err
		}
		if !created {
			return Errorf(ECONFLICT, "serial", "pump %s is already recorded (implant %d)", im.Serial, im.ID)
		}
		for _, after := range s.Settings.WoundChecks {
			f := &FollowUp{Meta: Meta{PatientID: patientID}, ImplantID: im.ID, Type: "wound_check",
				Due: im.ImplantedAt.Add(after), Notes: "wound check after the implant of pump " + im.Serial}
			if _, err := o.create(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// ExplantInput records a pump's removal.
type ExplantInput struct {
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
	Version int64     `json:"version"`
}

// Explant records that a pump was removed.
func (s *Service) Explant(ctx context.Context, id int64, in ExplantInput) (*Implant, error) {
	if err := s.allow(ctx, WriteImplants); err != nil {
		return nil, err
	}
	if err := notFuture("at", in.At, s.now()); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, Errorf(EINVALID, "reason", "is required")
	}
	var im *Implant
	err := s.write(ctx, WriteImplants, func(o *op) error {
		var err error
		if im, err = get[Implant](o.tx, id); err != nil {
			return err
		}
		before := *im
		switch {
		case im.Version != in.Version:
			return Errorf(ECONFLICT, "version", "implant %d is at version %d, not %d: reload", id, im.Version, in.Version)
		case im.ExplantedAt != nil:
			return Errorf(EINVALID, "at", "pump %s was explanted already", im.Serial)
		case in.At.Before(im.ImplantedAt):
			return Errorf(EINVALID, "at", "before the implant")
		}
		im.ExplantedAt, im.ExplantReason = &in.At, in.Reason
		return o.update(&before, im)
	})
	return im, err
}
