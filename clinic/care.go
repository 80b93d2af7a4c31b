package clinic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// clockSkew is how far in the future a time that has already happened may lie:
// a device clock slightly ahead of the server's.
const clockSkew = 5 * time.Minute

func notFuture(field string, t, now time.Time) error {
	if t.IsZero() {
		return Errorf(EINVALID, field, "is required (RFC 3339, e.g. 2026-01-05T08:00:00Z)")
	}
	if t.After(now.Add(clockSkew)) {
		return Errorf(EINVALID, field, "%s is in the future", t.Format(time.RFC3339))
	}
	if t.Year() < 1990 {
		return Errorf(EINVALID, field, "%s is before any implanted pump", t.Format(time.RFC3339))
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return Errorf(EINVALID, field, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

func textField(field, v string, max int) error {
	if len(v) > max {
		return Errorf(EINVALID, field, "at most %d bytes", max)
	}
	return nil
}

// therapyField maps a therapy input name to the API field it comes from.
func therapyErr(err error, fields map[string]string) error {
	var ie *therapy.InputError
	if errors.As(err, &ie) {
		f, ok := fields[ie.Input]
		if !ok {
			f = strings.ReplaceAll(ie.Input, "-", "_")
		}
		return Errorf(EINVALID, f, "%s", ie.Reason)
	}
	return err
}

// lookupDrug finds a drug in the library or refuses the field.
func (s *Service) lookupDrug(field, name string) (*drug.Drug, error) {
	lib := s.Library()
	d, ok := lib.Lookup(name)
	if !ok {
		return nil, Errorf(EINVALID, field, "%q is not in drug library %s", name, lib.Version)
	}
	return d, nil
}

// mustPatient loads the patient a record is for.
func (o *op) mustPatient(id int64) (*Patient, error) {
	p, err := o.tx.Patient(id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "patient_id", "no patient %d", id)
	}
	return p, err
}

// activeImplant returns the patient's implanted pump, or nil.
func activeImplant(tx Tx, patientID int64) (*Implant, error) {
	ims, err := list[Implant](tx, RecordFilter{PatientID: patientID, OpenOnly: true, Newest: true, Limit: 1})
	if err != nil || len(ims) == 0 {
		return nil, err
	}
	return ims[0], nil
}

// ---- screening trials ----

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

// ---- implants ----

var catheterFields = map[string]string{"catheter-length": "catheter_length", "catheter-per-cm": "catheter_volume_per_cm"}

// CreateImplant records a pump implanted in a patient, explants the pump it
// replaces, and schedules the wound checks after it (hazard H18).
func (s *Service) CreateImplant(ctx context.Context, patientID int64, im *Implant) error {
	if err := s.allow(ctx, WriteImplants); err != nil {
		return err
	}
	now := s.now()
	model, ok := pump.ParseModel(im.Model)
	if !ok {
		return Errorf(EINVALID, "model", "must be TP-20 or TP-40")
	}
	im.Serial = strings.TrimSpace(im.Serial)
	if im.Serial == "" || len(im.Serial) > 64 {
		return Errorf(EINVALID, "serial", "the pump's serial number is required (at most 64 bytes)")
	}
	if err := notFuture("implanted_at", im.ImplantedAt, now); err != nil {
		return err
	}
	if strings.TrimSpace(im.Surgeon) == "" {
		return Errorf(EINVALID, "surgeon", "is required")
	}
	if im.CatheterPerCm == 0 {
		im.CatheterPerCm = Volume(pump.DefaultCatheterPerCm)
	}
	prime, err := therapy.Priming(therapy.Catheter{Length: unit.Length(im.CatheterLength), PerCm: unit.Volume(im.CatheterPerCm)})
	if err != nil {
		return therapyErr(err, catheterFields)
	}
	im.PrimingVolume = Volume(prime.Volume)
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
	if im.InitialFill <= 0 || unit.Volume(im.InitialFill) > model.Reservoir() {
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

// ---- prescriptions ----

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

// ---- refills ----

// lastFill is the fill a refill follows: the last refill of the pump before at,
// or the pump's first fill.
type lastFill struct {
	At            time.Time
	Volume        unit.Volume
	Drug          string
	Concentration unit.Concentration
	Diluted       bool
	First         bool
}

func fillBefore(im *Implant, refills []*Refill, at time.Time) lastFill {
	f := lastFill{At: im.ImplantedAt, Volume: unit.Volume(im.InitialFill), Drug: im.Drug,
		Concentration: unit.Concentration(im.Concentration), First: true}
	for _, r := range refills {
		if r.ImplantID == im.ID && r.At.Before(at) && !r.At.Before(f.At) {
			f = lastFill{At: r.At, Volume: unit.Volume(r.Added), Drug: r.Drug,
				Concentration: unit.Concentration(r.Concentration), Diluted: r.Diluted}
		}
	}
	return f
}

// programmedSince returns the average basal rate the pump's prescriptions ran
// between from and to: the prescription in force at each moment, weighted by
// how long it ran. With one prescription over the interval, it is its rate.
func programmedSince(im *Implant, rxs []*Prescription, from, to time.Time) unit.Rate {
	type seg struct {
		at   time.Time
		rate unit.Rate
	}
	var segs []seg
	for _, rx := range rxs {
		if rx.ImplantID != im.ID || !rx.StartAt.Before(to) {
			continue
		}
		segs = append(segs, seg{rx.StartAt, basalRate(rx)})
	}
	if len(segs) == 0 {
		return 0
	}
	// Rates in force over [from, to).
	var total unit.Volume
	var single unit.Rate = -1
	for i, sg := range segs {
		start, end := sg.at, to
		if i+1 < len(segs) {
			end = segs[i+1].at
		}
		if start.Before(from) {
			start = from
		}
		if !end.After(start) {
			continue
		}
		if single == -1 {
			single = sg.rate
		} else if single != sg.rate {
			single = -2
		}
		total += sg.rate.Over(unit.Duration(end.Sub(start).Milliseconds()))
	}
	if single >= 0 {
		return single
	}
	return unit.RateOf(total, unit.Duration(to.Sub(from).Milliseconds()))
}

// currentRx returns the prescription in force for the pump at t, or nil.
func currentRx(im *Implant, rxs []*Prescription, t time.Time) *Prescription {
	var cur *Prescription
	for _, rx := range rxs {
		if rx.ImplantID == im.ID && !rx.StartAt.After(t) {
			cur = rx
		}
	}
	return cur
}

// RecordRefill records a refill with its accounting: the expected residual,
// the discrepancy and its flag (therapy.CheckRefill, hazard H3), a drug or
// concentration different from the prescription (H2), and the next refill date.
func (s *Service) RecordRefill(ctx context.Context, patientID int64, rf *Refill) error {
	if err := s.allow(ctx, WriteCare); err != nil {
		return err
	}
	now := s.now()
	if rf.At.IsZero() {
		rf.At = now
	}
	if err := notFuture("at", rf.At, now); err != nil {
		return err
	}
	d, err := s.lookupDrug("drug", rf.Drug)
	if err != nil {
		return err
	}
	rf.Drug = d.Name
	if rf.Concentration <= 0 {
		return Errorf(EINVALID, "concentration", "must be more than 0")
	}
	if strings.TrimSpace(rf.Lot) == "" || len(rf.Lot) > 64 {
		return Errorf(EINVALID, "lot", "the drug lot number is required (at most 64 bytes)")
	}
	if rf.Withdrawn < 0 {
		return Errorf(EINVALID, "withdrawn", "must not be negative")
	}
	if rf.Boluses < 0 {
		return Errorf(EINVALID, "boluses", "must not be negative")
	}
	if err := textField("observation", rf.Observation, 10_000); err != nil {
		return err
	}
	return s.write(ctx, WriteCare, func(o *op) error {
		if _, err := o.mustPatient(patientID); err != nil {
			return err
		}
		im, err := activeImplant(o.tx, patientID)
		if err != nil {
			return err
		}
		if im == nil || rf.ImplantID != 0 && rf.ImplantID != im.ID {
			return Errorf(EINVALID, "implant_id", "the patient has no implanted pump to refill")
		}
		rf.ImplantID = im.ID
		if rf.At.Before(im.ImplantedAt) {
			return Errorf(EINVALID, "at", "before the pump was implanted")
		}
		model, _ := pump.ParseModel(im.Model)
		if rf.Added <= 0 || unit.Volume(rf.Added) > model.Reservoir() {
			return Errorf(EINVALID, "added", "must be more than 0 and at most the %s reservoir (%s)", model, model.Reservoir())
		}
		refills, err := list[Refill](o.tx, RecordFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		rxs, err := list[Prescription](o.tx, RecordFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		s.account(rf, im, model, refills, rxs)
		if rf.Flag == "invalid" {
			return Errorf(EINVALID, rf.NextDueBasis, "%s", rf.FlagReason)
		}
		if rx := currentRx(im, rxs, rf.At); rx != nil && (rx.Drug != rf.Drug || rx.Concentration != rf.Concentration) {
			rf.DrugMismatch = fmt.Sprintf("the reservoir now holds %s at %s but the pump is programmed for %s at %s: reprogram, with a bridge bolus (hazard H2)",
				rf.Drug, unit.Concentration(rf.Concentration), rx.Drug, unit.Concentration(rx.Concentration))
		}
		if next, basis, ok := s.nextRefill(im, model, rf.At, unit.Volume(rf.Added), rf.Drug, rf.Diluted, false, currentRx(im, rxs, rf.At)); ok {
			rf.NextDue, rf.NextDueBasis = &next, basis
		}
		rf.Meta = Meta{PatientID: patientID}
		_, err = o.create(rf)
		return err
	})
}

// account fills the refill's accounting from therapy.CheckRefill. A refused
// input sets Flag "invalid" with the field in NextDueBasis (read by the caller).
func (s *Service) account(rf *Refill, im *Implant, model pump.Model, refills []*Refill, rxs []*Prescription) {
	last := fillBefore(im, refills, rf.At)
	since := unit.Duration(rf.At.Sub(last.At).Milliseconds())
	rate := programmedSince(im, rxs, last.At, rf.At)
	rf.ReviewedAt, rf.ReviewedBy, rf.ReviewNote = nil, "", ""
	if since <= 0 {
		rf.Flag, rf.Flagged, rf.FlagReason = "invalid", false, "at the same time as the last fill"
		rf.NextDueBasis = "at"
		return
	}
	c, err := therapy.CheckRefill(therapy.RefillInput{Model: model, LastFill: last.Volume, Rate: rate, Since: since,
		Boluses: unit.Volume(rf.Boluses), Withdrawn: unit.Volume(rf.Withdrawn)})
	if err != nil {
		var ie *therapy.InputError
		if errors.As(err, &ie) && (ie.Input == "withdrawn" || ie.Input == "boluses") {
			rf.Flag, rf.FlagReason, rf.NextDueBasis = "invalid", ie.Reason, ie.Input
			return
		}
		// The accounting cannot be done (e.g. an average rate under the pump's
		// minimum after a stop): say so; a person checks the residual.
		rf.Flag, rf.Flagged = "not_checked", true
		rf.FlagReason = "the discrepancy could not be computed (" + err.Error() + "): check the residual by hand"
		return
	}
	rf.Programmed, rf.Expected, rf.Discrepancy, rf.Limit = Volume(c.Programmed), Volume(c.Expected), Volume(c.Discrepancy), Volume(c.Limit)
	switch c.Flag {
	case therapy.WithinLimit:
		rf.Flag, rf.Flagged = "within_limit", false
	case therapy.LessThanExpected:
		rf.Flag, rf.Flagged = "less_than_expected", true
	case therapy.MoreThanExpected:
		rf.Flag, rf.Flagged = "more_than_expected", true
	}
	if rf.Flagged {
		rf.FlagReason = fmt.Sprintf("withdrew %s, expected %s: discrepancy %s beyond ±%s: %s",
			c.Discrepancy+c.Expected, c.Expected, c.Discrepancy, c.Limit, c.Flag)
	}
	if c.RanEmpty {
		rf.FlagReason = strings.TrimPrefix(rf.FlagReason+"; the program would have emptied the reservoir", "; ")
		rf.Flagged = true
	}
}

// nextRefill returns the next refill date after a fill (therapy.NextRefill),
// and a sentence saying how it was reached.
func (s *Service) nextRefill(im *Implant, model pump.Model, filled time.Time, vol unit.Volume, drugName string,
	diluted, first bool, rx *Prescription) (time.Time, string, bool) {
	if rx == nil || rx.Mode == "stopped" {
		return time.Time{}, "", false
	}
	in := therapy.RefillDateInput{Model: model, Filled: ustd(filled), Volume: vol, Rate: basalRate(rx),
		Max24h: unit.Volume(rx.Max24h), LowThreshold: unit.Volume(rx.LowReservoir), Margin: s.Settings.Therapy.RefillMargin}
	if in.LowThreshold == 0 {
		in.LowThreshold = pump.LowReservoirDefault
	}
	if b := rx.PatientBolus; b != nil && b.Volume > 0 {
		in.Bolus = &therapy.PatientBolus{Volume: unit.Volume(b.Volume), Lockout: unit.Duration(b.Lockout), MaxPer24h: int64(b.MaxPer24h)}
	}
	if d, ok := s.Library().Lookup(drugName); ok {
		if lim, _, ok := therapy.StabilityLimit(d, diluted, first); ok {
			in.Stability = lim
		}
	}
	r, err := therapy.NextRefill(in)
	if err != nil {
		// At or under the low-reservoir threshold already: refill now.
		return filled, "the fill is at or under the low-reservoir threshold: " + err.Error(), true
	}
	basis := fmt.Sprintf("low-reservoir alarm expected %s at %s/day worst case (every allowed bolus)", r.LowAt.Format(time.DateOnly), unit.Volume(r.DailyUse))
	if r.ByStability {
		basis = fmt.Sprintf("%s stability limit reached %s", drugName, r.StableUntil.Format(time.DateOnly))
	}
	basis += fmt.Sprintf(", less the %s safety margin", s.Settings.Therapy.RefillMargin)
	return r.Due.Std(), basis, true
}

// ReviewInput marks a flag as reviewed.
type ReviewInput struct {
	Note    string `json:"note"`
	Version int64  `json:"version"`
}

// ReviewRefill records that a flagged refill was looked into.
func (s *Service) ReviewRefill(ctx context.Context, id int64, in ReviewInput) (*Refill, error) {
	if strings.TrimSpace(in.Note) == "" {
		return nil, Errorf(EINVALID, "note", "say what was found")
	}
	var rf *Refill
	err := s.write(ctx, WriteCare, func(o *op) error {
		var err error
		if rf, err = get[Refill](o.tx, id); err != nil {
			return err
		}
		before := *rf
		if rf.Version != in.Version {
			return Errorf(ECONFLICT, "version", "refill %d is at version %d, not %d: reload", id, rf.Version, in.Version)
		}
		rf.ReviewedAt, rf.ReviewedBy, rf.ReviewNote = &o.now, o.p.Name, in.Note
		return o.update(&before, rf)
	})
	return rf, err
}

// ---- follow-ups, complications, side effects ----

// ScheduleFollowUp schedules a follow-up visit.
func (s *Service) ScheduleFollowUp(ctx context.Context, patientID int64, f *FollowUp) error {
	if err := oneOf("type", f.Type, FollowUpTypes); err != nil {
		return err
	}
	if f.Due.IsZero() {
		return Errorf(EINVALID, "due", "is required")
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

// ---- alarms ----

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
		default:
			return Errorf(ENOTFOUND, "id", "no record %d", id)
		}
		out = r
		return decode(rec, r)
	})
	return out, err
}
