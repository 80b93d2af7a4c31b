package clinic

import "time"

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

// Trial is a screening trial: a single bolus or a continuous infusion, the pain
// scores and function before and during it, and the decision it leads to.
type Trial struct {
	Meta
	Method           string     `json:"method"` // single_bolus or continuous
	Drug             string     `json:"drug"`
	Doses            []Mass     `json:"doses,omitempty"`        // boluses given
	DosePerDay       DoseRate   `json:"dose_per_day,omitempty"` // a continuous trial
	StartedAt        time.Time  `json:"started_at"`
	BaselinePain     *Score     `json:"baseline_pain,omitempty"`
	TrialPain        *Score     `json:"trial_pain,omitempty"`
	BaselineFunction string     `json:"baseline_function,omitempty"`
	TrialFunction    string     `json:"trial_function,omitempty"`
	Functional       string     `json:"functional,omitempty"` // improved, not_improved, or not recorded
	SideEffects      []string   `json:"side_effects,omitempty"`
	Decision         string     `json:"decision,omitempty"` // implant or no_implant; empty while pending
	DecisionNote     string     `json:"decision_note,omitempty"`
	DecidedBy        string     `json:"decided_by,omitempty"`
	DecidedAt        *time.Time `json:"decided_at,omitempty"`
	// Computed by therapy.EvaluateTrial against the clinic's threshold.
	Reduction string `json:"reduction,omitempty"` // e.g. "62.5%"
	Threshold string `json:"threshold,omitempty"`
	Outcome   string `json:"outcome"` // pending, success or failure
}

// Implant is a pump in a patient, from implant to explant.
type Implant struct {
	Meta
	Model          string        `json:"model"`  // TP-20 or TP-40
	Serial         string        `json:"serial"` // unique
	ImplantedAt    time.Time     `json:"implanted_at"`
	Surgeon        string        `json:"surgeon"`
	CatheterLength Length        `json:"catheter_length"`
	CatheterPerCm  Volume        `json:"catheter_volume_per_cm,omitempty"` // default pump.DefaultCatheterPerCm
	TipLevel       string        `json:"tip_level"`                        // e.g. T10
	Site           string        `json:"site,omitempty"`
	Drug           string        `json:"drug"`          // the first fill
	Concentration  Concentration `json:"concentration"` // the first fill
	InitialFill    Volume        `json:"initial_fill"`  // in the reservoir after the first fill
	Replaces       int64         `json:"replaces,omitempty"`
	ExplantedAt    *time.Time    `json:"explanted_at,omitempty"`
	ExplantReason  string        `json:"explant_reason,omitempty"`
	// Computed by therapy.Priming: pump tubing + catheter.
	PrimingVolume Volume `json:"priming_volume"`
}

// Active reports whether the pump is still implanted.
func (i *Implant) Active() bool { return i.ExplantedAt == nil }

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

// Refill is a reservoir refill: what came out, what went in, and the accounting.
type Refill struct {
	Meta
	ImplantID     int64         `json:"implant_id"`
	At            time.Time     `json:"at"`
	Drug          string        `json:"drug"`
	Concentration Concentration `json:"concentration"`
	Diluted       bool          `json:"diluted,omitempty"`
	Lot           string        `json:"lot"`
	Withdrawn     Volume        `json:"withdrawn"`
	Added         Volume        `json:"added"`
	Boluses       Volume        `json:"boluses,omitempty"` // bolus volume the pump reports given since the last refill
	Observation   string        `json:"observation,omitempty"`
	ObservedFor   Duration      `json:"observed_for,omitempty"`
	// Computed by therapy.CheckRefill and therapy.NextRefill.
	Programmed   Volume     `json:"programmed"`
	Expected     Volume     `json:"expected"`
	Discrepancy  Volume     `json:"discrepancy"`
	Limit        Volume     `json:"limit"`
	Flag         string     `json:"flag"` // within_limit, less_than_expected, more_than_expected, not_checked
	Flagged      bool       `json:"flagged"`
	FlagReason   string     `json:"flag_reason,omitempty"`
	DrugMismatch string     `json:"drug_mismatch,omitempty"` // set when drug or concentration differ from the prescription (hazard H2)
	NextDue      *time.Time `json:"next_due,omitempty"`
	NextDueBasis string     `json:"next_due_basis,omitempty"`
	ReviewedBy   string     `json:"reviewed_by,omitempty"`
	ReviewedAt   *time.Time `json:"reviewed_at,omitempty"`
	ReviewNote   string     `json:"review_note,omitempty"`
}

// FollowUp is a scheduled visit: a wound check, a dose review, a refill visit.
type FollowUp struct {
	Meta
	ImplantID int64      `json:"implant_id,omitempty"`
	Type      string     `json:"type"` // wound_check, dose_review, refill_visit, other
	Due       time.Time  `json:"due"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
	PainScore *Score     `json:"pain_score,omitempty"`
	Notes     string     `json:"notes,omitempty"`
}

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

// ComplicationTypes are the complications the clinic tracks.
var ComplicationTypes = []string{"infection", "csf_leak", "catheter_problem", "granuloma",
	"device_malfunction", "withdrawal", "overdose", "other"}

// SideEffectTypes are the side effects the clinic records.
var SideEffectTypes = []string{"headache", "dizziness", "nausea", "pruritus", "urinary_retention",
	"oedema", "sedation", "other"}

// FollowUpTypes are the kinds of follow-up visit.
var FollowUpTypes = []string{"wound_check", "dose_review", "refill_visit", "other"}

// PatientRecord is everything the clinic holds about one patient.
type PatientRecord struct {
	Patient       *Patient        `json:"patient"`
	Trials        []*Trial        `json:"trials"`
	Implants      []*Implant      `json:"implants"`
	Prescriptions []*Prescription `json:"prescriptions"`
	Refills       []*Refill       `json:"refills"`
	FollowUps     []*FollowUp     `json:"follow_ups"`
	Complications []*Complication `json:"complications"`
	SideEffects   []*SideEffect   `json:"side_effects"`
	Alarms        []*Alarm        `json:"alarms"`
	Reports       []*StoredReport `json:"reports"`
	Worklist      []WorkItem      `json:"worklist"`
}
