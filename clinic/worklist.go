package clinic

import (
	"context"
	"fmt"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// WorkKind is why a patient is on the worklist.
type WorkKind string

const (
	WorkRefill        WorkKind = "refill"             // refill due or overdue (therapy's next refill date)
	WorkReplacement   WorkKind = "replacement"        // ERI and replacement planning
	WorkCriticalAlarm WorkKind = "critical_alarm"     // a critical alarm not acknowledged
	WorkAlarm         WorkKind = "alarm"              // another alarm not acknowledged
	WorkFollowUp      WorkKind = "follow_up"          // a follow-up due
	WorkTrial         WorkKind = "trial_decision"     // a screening trial awaiting a decision
	WorkDoseTrend     WorkKind = "dose_trend"         // rising dose (granuloma or catheter warning sign)
	WorkDiscrepancy   WorkKind = "volume_discrepancy" // refill discrepancy beyond the limit
	WorkDrugMismatch  WorkKind = "drug_mismatch"      // reservoir drug differs from the program
	// The closed loop (order.go, reconcile.go).
	WorkOrderNotProgrammed   WorkKind = "order_not_programmed"  // an order not programmed within the window
	WorkPrescriptionMismatch WorkKind = "prescription_mismatch" // the pump runs another program than the order
	WorkReservoirMismatch    WorkKind = "reservoir_mismatch"    // the pump's last fill is not the clinic's
)

// Priorities: lower is more urgent.
const (
	Urgent = 1
	High   = 2
	Normal = 3
)

// WorkItem is one reason a patient needs attention. Each says why it is there.
type WorkItem struct {
	PatientID int64    `json:"patient_id"`
	Patient   string   `json:"patient,omitempty"` // family, given name (filled on reading)
	MRN       string   `json:"mrn,omitempty"`
	Kind      WorkKind `json:"kind"`
	RecordID  int64    `json:"record_id,omitempty"`
	Priority  int      `json:"priority"`
	HighRisk  bool     `json:"high_risk"`
	// Acknowledged: a critical alarm acknowledged whose condition the pump
	// still reports.
	Acknowledged bool      `json:"acknowledged,omitempty"`
	ShowFrom     time.Time `json:"show_from"`
	Due          time.Time `json:"due"`
	Reason       string    `json:"reason"`
	Status       string    `json:"status,omitempty"` // upcoming, due, overdue (at the time of reading)
	// Drug is the patient's drug (the prescription in force, else the
	// pump's fill); a refill item also says what to prepare: the drug's
	// concentration and the volume (the pump's reservoir, filled to its
	// capacity).
	Drug          string             `json:"drug,omitempty"`
	Concentration unit.Concentration `json:"concentration,omitempty"`
	Volume        unit.Volume        `json:"volume,omitempty"`
}

func (w *WorkItem) setStatus(now time.Time) {
	switch {
	case w.ShowFrom.After(now):
		w.Status = "upcoming"
	case w.Due.Before(now) && (w.Kind == WorkRefill || w.Kind == WorkFollowUp || w.Kind == WorkReplacement):
		w.Status = "overdue"
	default:
		w.Status = "due"
	}
}

// Snapshot is what a patient's worklist is computed from.
type Snapshot struct {
	Patient       *Patient
	Implants      []*Implant      // all, oldest first
	Prescriptions []*Prescription // all, oldest first
	LastRefill    *Refill         // the newest refill, if any
	OpenTrials    []*Trial
	OpenFollowUps []*FollowUp
	OpenAlarms    []*Alarm
	LastReport    *StoredReport
}

func (s *Service) refreshWork(tx Tx, patientID int64, now time.Time) error {
	snap, err := loadSnapshot(tx, patientID)
	if err != nil {
		return err
	}
	if err := tx.ReplaceWork(patientID, s.PatientWork(snap, now)); err != nil {
		return err
	}
	return tx.IndexPatient(IndexOf(snap, now))
}

func loadSnapshot(tx Tx, id int64) (*Snapshot, error) {
	snap := &Snapshot{}
	var err error
	if snap.Patient, err = tx.Patient(id); err != nil {
		return nil, err
	}
	all := RecordFilter{PatientID: id}
	open := RecordFilter{PatientID: id, OpenOnly: true}
	last := RecordFilter{PatientID: id, Newest: true, Limit: 1}
	if snap.Implants, err = list[Implant](tx, all); err != nil {
		return nil, err
	}
	if snap.Prescriptions, err = list[Prescription](tx, all); err != nil {
		return nil, err
	}
	rf, err := list[Refill](tx, last)
	if err != nil {
		return nil, err
	}
	if len(rf) > 0 {
		snap.LastRefill = rf[0]
	}
	if snap.OpenTrials, err = list[Trial](tx, open); err != nil {
		return nil, err
	}
	if snap.OpenFollowUps, err = list[FollowUp](tx, open); err != nil {
		return nil, err
	}
	if snap.OpenAlarms, err = list[Alarm](tx, open); err != nil {
		return nil, err
	}
	rep, err := list[StoredReport](tx, last)
	if err != nil {
		return nil, err
	}
	if len(rep) > 0 {
		snap.LastReport = rep[0]
	}
	return snap, nil
}

// PatientWork computes a patient's worklist items from a snapshot: a pure
// function of the records, the settings and the drug library.
func (s *Service) PatientWork(snap *Snapshot, now time.Time) []WorkItem {
	var items []WorkItem
	add := func(w WorkItem) {
		w.PatientID = snap.Patient.ID
		items = append(items, w)
	}
	im := activeOf(snap.Implants)
	if im != nil {
		dates := s.PatientDates(snap, now)
		s.refillItem(add, im, snap.Prescriptions, &dates, now)
		s.replacementItem(add, im, &dates, now)
		var rep *StoredReport
		if snap.LastReport != nil && snap.LastReport.ImplantID == im.ID {
			rep = snap.LastReport
		}
		s.orderItems(add, im, snap, rep)
		trendItem(add, s.Settings, im, snap.Prescriptions)
		if rf := snap.LastRefill; rf != nil && rf.ImplantID == im.ID && rf.ReviewedAt == nil {
			if rf.Flagged {
				add(WorkItem{Kind: WorkDiscrepancy, RecordID: rf.ID, Priority: High, ShowFrom: rf.At, Due: rf.At,
					Reason: "refill on " + rf.At.Format(time.DateOnly) + ": " + rf.FlagReason +
						" (pocket fill, catheter or pump problem: hazards H3, H9)"})
			}
		}
		s.mismatchItem(add, im, snap.Prescriptions, snap.LastRefill, now)
	}
	patientDrug := IndexOf(snap, now).Drug
	defer func() {
		for i := range items {
			if items[i].Drug == "" {
				items[i].Drug = patientDrug
			}
		}
	}()
	for _, a := range snap.OpenAlarms {
		switch {
		case a.Critical:
			if a.AckedAt != nil && (im == nil || a.ImplantID != im.ID) {
				continue // acknowledged, and its pump is out: no report will clear it
			}
			add(criticalItem(a, snap.OpenFollowUps))
		case a.Code == pump.LowReservoir.String() || a.Code == pump.ERI.String():
			// Shown through the refill and replacement items.
		default:
			pr := Normal
			why := ""
			if a.Code == pump.VolumeDiscrepancy.String() || a.Code == pump.CatheterIntegrity.String() {
				pr, why = High, ": a catheter or pump problem is possible (hazard H9)"
			}
			add(WorkItem{Kind: WorkAlarm, RecordID: a.ID, Priority: pr, ShowFrom: a.RaisedAt, Due: a.RaisedAt,
				Reason: fmt.Sprintf("alarm %s from pump %s at %s, not acknowledged%s", a.Code, a.Serial, a.RaisedAt.Format(time.RFC3339), why)})
		}
	}
	for _, f := range snap.OpenFollowUps {
		pr, why := Normal, ""
		switch {
		case f.Type == "wound_check":
			pr, why = High, " (watch for infection: hazard H18)"
		case f.AlarmID != 0:
			pr, why = High, " (after alarm "+f.AlarmCode+")"
		}
		add(WorkItem{Kind: WorkFollowUp, RecordID: f.ID, Priority: pr, ShowFrom: f.Due.Add(-s.Settings.FollowUpLead), Due: f.Due,
			Reason: fmt.Sprintf("%s due %s%s", typeText(f.Type), f.Due.Format(time.DateOnly), why)})
	}
	for _, t := range snap.OpenTrials {
		why := "no pain scores recorded yet"
		if t.Outcome != "pending" || t.Reduction != "" {
			why = fmt.Sprintf("pain %s → %s (−%s, threshold %s), functional improvement %s: %s",
				fmtScore(t.BaselinePain), fmtScore(t.TrialPain), t.Reduction, t.Threshold, orText(t.Functional, "not recorded"), t.Outcome)
		}
		add(WorkItem{Kind: WorkTrial, RecordID: t.ID, Priority: Normal, ShowFrom: t.StartedAt, Due: t.StartedAt,
			Reason: fmt.Sprintf("%s screening trial of %s on %s awaits a decision: %s", typeText(t.Method), t.Drug, t.StartedAt.Format(time.DateOnly), why)})
	}
	return items
}

// criticalItem lists a critical alarm until it is both acknowledged and
// cleared by a report (issue 11 item 6): not acknowledged; acknowledged and
// still active, marked so, with who, what was done and the follow-up; or
// cleared by a report but not acknowledged.
func criticalItem(a *Alarm, followUps []*FollowUp) WorkItem {
	w := WorkItem{Kind: WorkCriticalAlarm, RecordID: a.ID, Priority: Urgent, ShowFrom: a.RaisedAt, Due: a.RaisedAt}
	head := fmt.Sprintf("critical alarm %s from pump %s at %s", a.Code, a.Serial, a.RaisedAt.Format(time.RFC3339))
	switch {
	case a.AckedAt == nil && a.ClearedAt == nil:
		w.Reason = head + ", not acknowledged: delivery may have stopped"
	case a.AckedAt == nil:
		w.Reason = fmt.Sprintf("%s, cleared by the pump's report of %s, not acknowledged: say what was done", head, a.ClearedAt.Format(time.RFC3339))
	default:
		w.Acknowledged = true
		w.Reason = fmt.Sprintf("%s, still active: acknowledged by %s at %s (what was done: %s)", head, a.AckedBy, a.AckedAt.Format(time.RFC3339), a.AckNote)
		for _, f := range followUps {
			if f.ID == a.FollowUpID {
				w.Reason += fmt.Sprintf("; follow-up: %s due %s", typeText(f.Type), DateText(f.Due))
			}
		}
		w.Reason += "; it leaves the worklist when a report of the pump no longer shows it"
	}
	return w
}

// mismatchItem lists a reservoir whose drug or concentration — its last fill,
// a refill or the implant's first fill — differs from the prescription in
// force (hazard H2): urgent until a refill or a prescription makes them
// agree, whatever path recorded either. Reviewing the refill does not clear
// it, nor does a prescription that still differs (issue 11: the property that
// no sequence of calls leaves them apart without this item).
func (s *Service) mismatchItem(add func(WorkItem), im *Implant, rxs []*Prescription, last *Refill, now time.Time) {
	rx := currentRx(im, rxs, now)
	if rx == nil {
		return
	}
	var refills []*Refill
	if last != nil {
		refills = []*Refill{last}
	}
	fill := fillBefore(im, refills, now.Add(time.Millisecond))
	if rx.Program.Drug == fill.Drug && rx.Program.Concentration == fill.Concentration {
		return
	}
	since, id, what := fill.At, rx.ID, "the first fill"
	if !fill.First {
		id, what = last.ID, "the refill"
	}
	if rx.StartAt.After(since) {
		since = rx.StartAt
	}
	add(WorkItem{Kind: WorkDrugMismatch, RecordID: id, Priority: Urgent, ShowFrom: since, Due: since,
		Reason: fmt.Sprintf("the reservoir holds %s at %s (%s on %s) but the prescription in force is %s at %s (since %s): "+
			"reprogram, with a bridge bolus, or refill with the prescribed drug (hazard H2)",
			fill.Drug, s.concText(fill.Drug, fill.Concentration), what, DateText(fill.At), rx.Program.Drug,
			s.concText(rx.Program.Drug, rx.Program.Concentration), DateText(rx.StartAt))})
}

// concText writes a concentration in the drug's own dose unit.
func (s *Service) concText(drugName string, c unit.Concentration) string {
	if d, ok := s.Library().Lookup(drugName); ok {
		return c.Format(d.DoseUnit)
	}
	return c.String()
}

// refillItem lists the next refill (Dates.NextRefill): urgent when the pump
// reported a low or empty reservoir; high risk for a drug whose withdrawal is
// dangerous (hazard H4).
func (s *Service) refillItem(add func(WorkItem), im *Implant, rxs []*Prescription, d *Dates, now time.Time) {
	next := d.NextRefill
	if next == nil {
		return
	}
	pr := Normal
	if next.Urgent {
		pr = Urgent
	}
	high := false
	reason := fmt.Sprintf("refill of %s due %s: %s", d.Drug, DateText(next.Date), next.Basis)
	if dr, ok := s.Library().Lookup(d.Drug); ok && dr.HasRisk(drug.Withdrawal) {
		high = true
		pr = min(pr, High)
		reason += fmt.Sprintf("; HIGH RISK: stopping %s abruptly can cause life-threatening withdrawal (hazard H4)", dr.Name)
	}
	w := WorkItem{Kind: WorkRefill, Priority: pr, HighRisk: high, ShowFrom: next.Date.Add(-s.Settings.RefillLead), Due: next.Date,
		Reason: reason, Drug: d.Drug, Volume: im.Model.Reservoir()}
	if rx := currentRx(im, rxs, now); rx != nil { // prepare what the program is for
		w.Drug, w.Concentration = rx.Program.Drug, rx.Program.Concentration
	}
	add(w)
}

// replacementItem lists the pump's replacement (Dates.Replacement): urgent at
// the elective replacement indicator, or when the battery dates cannot be
// computed (hazard H10).
func (s *Service) replacementItem(add func(WorkItem), im *Implant, d *Dates, now time.Time) {
	w := d.Replacement
	switch {
	case w == nil:
		return
	case d.BatteryProblem != "":
		add(WorkItem{Kind: WorkReplacement, Priority: Urgent, ShowFrom: now, Due: now,
			Reason: fmt.Sprintf("pump %s: %s: replace the pump", im.Serial, d.BatteryProblem)})
	case w.AtERI:
		add(WorkItem{Kind: WorkReplacement, Priority: Urgent, ShowFrom: now, Due: w.By, Reason: w.Basis + ": replace it"})
	default:
		add(WorkItem{Kind: WorkReplacement, Priority: Normal, ShowFrom: w.From, Due: w.By,
			Reason: fmt.Sprintf("pump %s: %s: plan the replacement between %s and %s", im.Serial, w.Basis,
				DateText(w.From), DateText(w.By))})
	}
}

// trendItem flags a rising dose: TrendIncreases increases of the same drug
// within TrendWindow up to the newest prescription (hazard H9).
func trendItem(add func(WorkItem), st Settings, im *Implant, rxs []*Prescription) {
	var run []*Prescription
	for _, rx := range rxs {
		if rx.ImplantID != im.ID {
			continue
		}
		if len(run) > 0 && run[len(run)-1].Program.Drug != rx.Program.Drug {
			run = run[:0]
		}
		run = append(run, rx)
	}
	if len(run) < 2 || st.TrendIncreases <= 0 {
		return
	}
	last := run[len(run)-1]
	from := last.StartAt.Add(-st.TrendWindow)
	n := 0
	var first *Prescription
	for i := 1; i < len(run); i++ {
		if run[i].StartAt.Before(from) {
			continue
		}
		if first == nil {
			first = run[i-1]
		}
		if run[i].DosePerDay > run[i-1].DosePerDay && run[i-1].DosePerDay > 0 {
			n++
		}
	}
	if n < st.TrendIncreases || first == nil || last.DosePerDay <= first.DosePerDay {
		return
	}
	pct := ""
	if p, ok := unit.PercentOf(int64(last.DosePerDay-first.DosePerDay), int64(first.DosePerDay)); ok && first.DosePerDay > 0 {
		pct = " (+" + p.String() + ")"
	}
	add(WorkItem{Kind: WorkDoseTrend, RecordID: last.ID, Priority: High, ShowFrom: last.StartAt, Due: last.StartAt,
		Reason: fmt.Sprintf("%s dose raised %d times in %s: %s on %s → %s on %s%s: a rising need can signal a catheter-tip granuloma or a catheter problem (hazard H9)",
			last.Program.Drug, n, unit.Duration(st.TrendWindow.Milliseconds()), first.DosePerDay, first.StartAt.Format(time.DateOnly),
			last.DosePerDay, last.StartAt.Format(time.DateOnly), pct)})
}

func typeText(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

func fmtScore(s *Score) string {
	if s == nil {
		return "?"
	}
	return unit.FormatFixed(int64(*s), 2)
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return typeText(s)
}

// WorkPage is one page of the worklist and how many items match in all.
type WorkPage struct {
	Items  []WorkItem `json:"items"`
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

var workKinds = []WorkKind{WorkRefill, WorkReplacement, WorkCriticalAlarm, WorkAlarm, WorkFollowUp, WorkTrial, WorkDoseTrend,
	WorkDiscrepancy, WorkDrugMismatch, WorkOrderNotProgrammed, WorkPrescriptionMismatch, WorkReservoirMismatch}

// WorkKinds lists the kinds of worklist item.
func WorkKinds() []WorkKind { return workKinds }

var workSorts = []string{"urgency", "due", "patient"}

func (q *WorkQuery) check() error {
	var err error
	if q.Limit, err = pageLimit(q.Limit, q.Offset); err != nil {
		return err
	}
	switch {
	case q.Kind != "" && !contains(workKinds, q.Kind):
		return Errorf(EINVALID, "kind", "%q is not a kind of worklist item", q.Kind)
	case q.Priority < 0 || q.Priority > Normal:
		return Errorf(EINVALID, "priority", "must be 1 (urgent), 2 (high) or 3 (normal)")
	case len(q.Drug) > 64:
		return Errorf(EINVALID, "drug", "is at most 64 bytes")
	case !q.DueFrom.IsZero() && !q.DueTo.IsZero() && !q.DueTo.After(q.DueFrom):
		return Errorf(EINVALID, "due_to", "must be after due_from")
	}
	if q.Sort == "" {
		q.Sort = "urgency"
	}
	if !contains(workSorts, q.Sort) {
		return Errorf(EINVALID, "sort", "must be urgency, due or patient")
	}
	return nil
}

// WorklistPage returns one page of the clinic's worklist at the current
// time, with the number of items matching q.
func (s *Service) WorklistPage(ctx context.Context, q WorkQuery) (*WorkPage, error) {
	if err := s.allow(ctx, ReadRecords); err != nil {
		return nil, err
	}
	q.Now = s.now()
	if err := q.check(); err != nil {
		return nil, err
	}
	pg := &WorkPage{Limit: q.Limit, Offset: q.Offset}
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		if pg.Items, err = tx.Work(q); err != nil {
			return err
		}
		pg.Total, err = tx.CountWork(q)
		return err
	})
	for i := range pg.Items {
		pg.Items[i].setStatus(q.Now)
	}
	return pg, err
}

// Worklist returns one page of the clinic's worklist at the current time,
// most urgent first.
func (s *Service) Worklist(ctx context.Context, q WorkQuery) ([]WorkItem, error) {
	pg, err := s.WorklistPage(ctx, q)
	if err != nil {
		return nil, err
	}
	return pg.Items, nil
}
