package clinic

import (
	"context"
	"fmt"
	"time"

	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Trial is a screening trial: a single bolus or a continuous infusion, the pain
// scores and function before and during it, and the decision it leads to.
type Trial struct {
	Meta
	Method           string        `json:"method"` // single_bolus or continuous
	Drug             string        `json:"drug"`
	Doses            []unit.Mass   `json:"doses,omitempty"`        // boluses given
	DosePerDay       unit.DoseRate `json:"dose_per_day,omitempty"` // a continuous trial
	StartedAt        time.Time     `json:"started_at"`
	BaselinePain     *Score        `json:"baseline_pain,omitempty"`
	TrialPain        *Score        `json:"trial_pain,omitempty"`
	BaselineFunction string        `json:"baseline_function,omitempty"`
	TrialFunction    string        `json:"trial_function,omitempty"`
	Functional       string        `json:"functional,omitempty"` // improved, not_improved, or not recorded
	SideEffects      []string      `json:"side_effects,omitempty"`
	Decision         string        `json:"decision,omitempty"` // implant or no_implant; empty while pending
	DecisionNote     string        `json:"decision_note,omitempty"`
	DecidedBy        string        `json:"decided_by,omitempty"`
	DecidedAt        *time.Time    `json:"decided_at,omitempty"`
	// Computed by therapy.EvaluateTrial against the clinic's threshold.
	Reduction string `json:"reduction,omitempty"` // e.g. "62.5%"
	Threshold string `json:"threshold,omitempty"`
	Outcome   string `json:"outcome"` // pending, success or failure
}

func (s *Service) checkTrial(t *Trial, now time.Time) error {
	if err := oneOf("method", t.Method, []string{"single_bolus", "continuous"}); err != nil {
		return err
	}
	d, err := s.lookupDrug("drug", t.Drug)
	if err != nil {
		return err
	}
	t.Drug = d.Name
	switch t.Method {
	case "single_bolus":
		if len(t.Doses) == 0 {
			return Errorf(EINVALID, "doses", "a single-bolus trial lists the boluses given, e.g. [\"50 mcg\"]")
		}
		for i, m := range t.Doses {
			if m <= 0 {
				return Errorf(EINVALID, fmt.Sprintf("doses[%d]", i), "must be more than 0")
			}
		}
	case "continuous":
		if t.DosePerDay <= 0 {
			return Errorf(EINVALID, "dose_per_day", "a continuous trial gives its daily dose, e.g. \"0.5 mg/day\"")
		}
	}
	if t.StartedAt.IsZero() {
		return Errorf(EINVALID, "started_at", "is required")
	}
	if t.StartedAt.After(now.Add(366 * 24 * time.Hour)) {
		return Errorf(EINVALID, "started_at", "more than a year ahead")
	}
	for f, sc := range map[string]*Score{"baseline_pain": t.BaselinePain, "trial_pain": t.TrialPain} {
		if sc != nil && (*sc < 0 || therapy.Score(*sc) > s.Settings.PainScale) {
			return Errorf(EINVALID, f, "must be from 0 to %s", unit.FormatFixed(int64(s.Settings.PainScale), 2))
		}
	}
	if t.TrialPain != nil && t.BaselinePain == nil {
		return Errorf(EINVALID, "baseline_pain", "is needed to judge the trial pain score against")
	}
	if err := oneOf("functional", t.Functional, []string{"", "improved", "not_improved"}); err != nil {
		return err
	}
	if err := oneOf("decision", t.Decision, []string{"", "implant", "no_implant"}); err != nil {
		return err
	}
	for i, e := range t.SideEffects {
		if err := oneOf(fmt.Sprintf("side_effects[%d]", i), e, SideEffectTypes); err != nil {
			return err
		}
	}
	for f, v := range map[string]string{"baseline_function": t.BaselineFunction, "trial_function": t.TrialFunction, "decision_note": t.DecisionNote} {
		if err := textField(f, v, 10_000); err != nil {
			return err
		}
	}
	return s.evaluateTrial(t)
}

// evaluateTrial sets the trial's outcome from therapy.EvaluateTrial.
func (s *Service) evaluateTrial(t *Trial) error {
	t.Outcome, t.Reduction, t.Threshold = "pending", "", ""
	if t.BaselinePain == nil || t.TrialPain == nil {
		return nil
	}
	f := therapy.FunctionalNotRecorded
	switch t.Functional {
	case "improved":
		f = therapy.FunctionalImproved
	case "not_improved":
		f = therapy.FunctionalNotImproved
	}
	r, err := therapy.EvaluateTrial(therapy.Score(*t.BaselinePain), therapy.Score(*t.TrialPain), s.Settings.PainScale,
		s.Settings.Therapy.TrialSuccess, f)
	if err != nil {
		return therapyErr(err, map[string]string{"baseline": "baseline_pain", "trial": "trial_pain"})
	}
	t.Reduction, t.Threshold = r.Reduction.String(), r.Threshold.String()
	switch {
	case r.Success:
		t.Outcome = "success"
	case !r.MeetsPain || f == therapy.FunctionalNotImproved:
		t.Outcome = "failure"
	default:
		t.Outcome = "pending" // the pain threshold is met; function not yet recorded
	}
	return nil
}

// CreateTrial records a screening trial.
func (s *Service) CreateTrial(ctx context.Context, patientID int64, t *Trial) error {
	if err := s.allow(ctx, WriteTrials); err != nil {
		return err
	}
	now := s.now()
	if err := s.checkTrial(t, now); err != nil {
		return err
	}
	return s.write(ctx, WriteTrials, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		t.Meta = Meta{PatientID: patientID}
		if t.Decision != "" {
			t.DecidedBy, t.DecidedAt = o.p.Name, &o.now
		}
		_, err := o.create(t)
		return err
	})
}

// UpdateTrial records a trial's scores, function, side effects or decision.
func (s *Service) UpdateTrial(ctx context.Context, id int64, in *Trial) (*Trial, error) {
	if err := s.allow(ctx, WriteTrials); err != nil {
		return nil, err
	}
	if in.Version <= 0 {
		return nil, Errorf(EINVALID, "version", "give the version you read (for the lost-update check)")
	}
	var t *Trial
	err := s.write(ctx, WriteTrials, func(o *op) error {
		before, err := get[Trial](o.tx, id)
		if err != nil {
			return err
		}
		if before.Version != in.Version {
			return Errorf(ECONFLICT, "version", "trial %d is at version %d, not %d: someone changed it; reload", id, before.Version, in.Version)
		}
		t = new(Trial)
		*t = *in
		t.Meta = before.Meta
		if err := s.checkTrial(t, o.now); err != nil {
			return err
		}
		t.DecidedBy, t.DecidedAt = before.DecidedBy, before.DecidedAt
		if t.Decision != before.Decision {
			t.DecidedBy, t.DecidedAt = "", nil
			if t.Decision != "" {
				t.DecidedBy, t.DecidedAt = o.p.Name, &o.now
			}
		}
		return o.update(before, t)
	})
	return t, err
}
