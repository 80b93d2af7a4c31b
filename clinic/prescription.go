package clinic

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Bolus is a prescription's patient bolus.
type Bolus struct {
	Volume    Volume   `json:"volume"`
	Duration  Duration `json:"duration"`
	Lockout   Duration `json:"lockout"`
	MaxPer24h int      `json:"max_per_24h"`
}

// LibraryFinding is one finding of the drug-library check a prescription went through.
type LibraryFinding struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Source   string `json:"source,omitempty"`
}

// Prescription is one program for a patient's pump. Prescriptions are never
// edited: a change is a new prescription, so the history is complete.
type Prescription struct {
	Meta
	ImplantID     int64         `json:"implant_id"`
	StartAt       time.Time     `json:"start_at"`
	Drug          string        `json:"drug"`
	Concentration Concentration `json:"concentration"`
	Diluted       bool          `json:"diluted,omitempty"`
	Mode          string        `json:"mode"` // continuous, minimum or stopped
	Rate          Rate          `json:"rate,omitempty"`
	DosePerDay    DoseRate      `json:"dose_per_day,omitempty"`
	PatientBolus  *Bolus        `json:"patient_bolus,omitempty"`
	Max24h        Volume        `json:"max_24h,omitempty"`
	LowReservoir  Volume        `json:"low_reservoir,omitempty"`
	Population    string        `json:"population,omitempty"`
	Reason        string        `json:"reason,omitempty"` // why: required past a soft limit
	// Set by the service.
	Findings       []LibraryFinding `json:"findings,omitempty"`
	LibraryVersion string           `json:"library_version"`
	LibraryDigest  string           `json:"library_digest"`
	Supersedes     int64            `json:"supersedes,omitempty"`
}

var dosingFields = map[string]string{"dose": "dose_per_day", "rate": "rate", "concentration": "concentration"}

// pumpRx is the prescription as the pump would run it.
func pumpRx(rx *Prescription) pump.Prescription {
	p := pump.Prescription{Rate: unit.Rate(rx.Rate), Max24h: unit.Volume(rx.Max24h), LowReservoir: unit.Volume(rx.LowReservoir),
		Drug: rx.Drug, Concentration: unit.Concentration(rx.Concentration)}
	switch rx.Mode {
	case "continuous":
		p.Mode = pump.ModeContinuous
	case "minimum":
		p.Mode, p.Rate = pump.ModeMinimum, 0
	case "stopped":
		p.Mode = pump.ModeStopped
	}
	if b := rx.PatientBolus; b != nil {
		p.PatientBolus = pump.PatientBolus{Volume: unit.Volume(b.Volume), Duration: unit.Duration(b.Duration),
			Lockout: unit.Duration(b.Lockout), MaxPer24h: b.MaxPer24h}
	}
	return p
}

// basalRate is the rate a prescription runs at.
func basalRate(rx *Prescription) unit.Rate {
	switch rx.Mode {
	case "continuous":
		return unit.Rate(rx.Rate)
	case "minimum":
		return pump.MinRate
	}
	return 0
}

// Prescribe records a new prescription for the patient's implanted pump, after
// the pump's own checks and the drug library's: a hard limit refuses it, a soft
// limit needs a stated reason. The library version is recorded with it.
func (s *Service) Prescribe(ctx context.Context, patientID int64, rx *Prescription) error {
	if err := s.allow(ctx, Prescribe); err != nil {
		return err
	}
	now := s.now()
	if err := oneOf("mode", rx.Mode, []string{"continuous", "minimum", "stopped"}); err != nil {
		return err
	}
	d, err := s.lookupDrug("drug", rx.Drug)
	if err != nil {
		return err
	}
	rx.Drug = d.Name
	if rx.Concentration <= 0 {
		return Errorf(EINVALID, "concentration", "must be more than 0, e.g. \"2000 mcg/mL\"")
	}
	if rx.StartAt.IsZero() {
		rx.StartAt = now
	}
	if err := dateInRange("start_at", rx.StartAt); err != nil {
		return err
	}
	if rx.StartAt.Before(now.Add(-24 * time.Hour)) {
		return Errorf(EINVALID, "start_at", "a prescription cannot start more than a day in the past")
	}
	switch rx.Mode {
	case "continuous":
		var dz therapy.Dosing
		var err error
		switch {
		case rx.Rate != 0 && rx.DosePerDay != 0:
			return Errorf(EINVALID, "rate", "give the rate or the dose_per_day, not both")
		case rx.Rate != 0:
			dz, err = therapy.DosingForRate(unit.Rate(rx.Rate), unit.Concentration(rx.Concentration))
		case rx.DosePerDay != 0:
			dz, err = therapy.DosingForDose(unit.DoseRate(rx.DosePerDay), unit.Concentration(rx.Concentration))
		default:
			return Errorf(EINVALID, "dose_per_day", "a continuous prescription needs a dose_per_day or a rate")
		}
		if err != nil {
			return therapyErr(err, dosingFields)
		}
		rx.Rate, rx.DosePerDay = Rate(dz.Rate), DoseRate(dz.Dose)
	case "minimum":
		rx.Rate, rx.DosePerDay = 0, DoseRate(unit.Concentration(rx.Concentration).Dose(pump.MinRate))
	case "stopped":
		rx.Rate, rx.DosePerDay = 0, 0
	}
	if err := textField("reason", rx.Reason, 10_000); err != nil {
		return err
	}
	return s.write(ctx, Prescribe, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		im, err := activeImplant(o.tx, patientID)
		if err != nil {
			return err
		}
		if im == nil || rx.ImplantID != 0 && rx.ImplantID != im.ID {
			return Errorf(EINVALID, "implant_id", "the patient has no implanted pump to prescribe for")
		}
		rx.ImplantID = im.ID
		model, _ := pump.ParseModel(im.Model)
		p := pumpRx(rx)
		if err := p.Validate(model); err != nil {
			var ve *pump.ValidationError
			if errors.As(err, &ve) {
				return Errorf(EINVALID, ve.Field, "%s", ve.Reason)
			}
			return err
		}
		history, err := list[Prescription](o.tx, RecordFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		var past []drug.Prescribed
		for _, h := range history {
			if !h.StartAt.After(rx.StartAt) {
				past = append(past, drug.Prescribed{At: ustd(h.StartAt), Drug: h.Drug, Dose: unit.DoseRate(h.DosePerDay)})
			}
		}
		// The library in force is read in this transaction: another server
		// sharing the database may have published a newer version.
		lib, err := s.currentLibrary(o.tx)
		if err != nil {
			return err
		}
		findings, err := drug.Check(lib, drug.Proposal{Drug: rx.Drug, Concentration: unit.Concentration(rx.Concentration),
			Dose: unit.DoseRate(rx.DosePerDay), At: ustd(rx.StartAt), Population: rx.Population}, past)
		if err != nil {
			field := "start_at"
			if strings.Contains(err.Error(), "population") {
				field = "population"
			}
			return Errorf(EINVALID, field, "%s", strings.TrimPrefix(err.Error(), "drug: invalid proposal: "))
		}
		rx.Findings = nil
		for _, f := range findings {
			rx.Findings = append(rx.Findings, LibraryFinding{Kind: string(f.Kind), Severity: f.Severity.String(), Message: f.Message, Source: f.Source})
		}
		switch err := drug.Decide(findings, rx.Reason); {
		case errors.Is(err, drug.ErrRefused):
			for _, f := range findings {
				if f.Severity == drug.Refused {
					return Errorf(EINVALID, findingField(f), "refused by drug library %s: %s", lib.Version, f.Message)
				}
			}
		case errors.Is(err, drug.ErrReasonRequired):
			var msgs []string
			for _, f := range findings {
				if f.Severity == drug.NeedsReason {
					msgs = append(msgs, f.Message)
				}
			}
			return Errorf(EINVALID, "reason", "a stated reason is required: %s", strings.Join(msgs, "; "))
		}
		rx.LibraryVersion, rx.LibraryDigest = lib.Version, lib.Digest
		rx.Supersedes = 0
		if len(history) > 0 {
			rx.Supersedes = history[len(history)-1].ID
		}
		rx.Meta = Meta{PatientID: patientID}
		_, err = o.create(rx)
		return err
	})
}

// findingField is the prescription field a library finding is about.
func findingField(f drug.Finding) string {
	switch {
	case f.Kind == drug.UnknownDrug || f.Kind == drug.NotLabelled:
		return "drug"
	case f.Kind == drug.ConcentrationNotAllowed || f.Kind == drug.Dilution || strings.Contains(f.Field, "concentration"):
		return "concentration"
	}
	return "dose_per_day"
}
