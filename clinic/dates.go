package clinic

import (
	"fmt"
	"slices"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Dates are the dates of a patient's pump therapy: the next refill, the
// low-reservoir and empty dates, ERI, end of service and the replacement
// window (issue 11 item 9). Each is computed in one place — the reservoir's by
// reservoirDates (therapy.Project), the battery's by batteryDates
// (therapy.Battery) — and the chart, the worklist, the patient document, the
// .ics and the API all read them from here, so they cannot disagree. A nil
// date is one there is none of (no pump, a stopped program, no battery
// reading the model takes).
type Dates struct {
	ImplantID int64  `json:"implant_id,omitempty"`
	Drug      string `json:"drug,omitempty"` // the drug in the reservoir
	// NextRefill is the earliest of the low-reservoir date (every allowed
	// bolus used) and the drug's stability limit, less the clinic's margin;
	// brought forward by a newer reading of the reservoir, and to the reading
	// itself when the pump reports a low or empty reservoir.
	NextRefill   *DateFact `json:"next_refill,omitempty"`
	LowReservoir *DateFact `json:"low_reservoir,omitempty"`
	Empty        *DateFact `json:"empty,omitempty"`
	ERI          *DateFact `json:"eri,omitempty"`
	EOS          *DateFact `json:"eos,omitempty"`
	// Replacement is when to replace the pump: the planning window of the
	// therapy settings (6 to 3 months before end of service), or, at the
	// elective replacement indicator, before end of service.
	Replacement *Window `json:"replacement,omitempty"`
	// BatteryProblem says why the battery dates could not be computed (the
	// pump is then to be replaced).
	BatteryProblem string `json:"battery_problem,omitempty"`
}

// DateFact is one date with how it was reached.
type DateFact struct {
	Date  time.Time `json:"date"`
	Basis string    `json:"basis"`
	// Act: a date by which someone must act (a refill): once past it reads
	// "overdue: call the clinic". Other dates once past are "reached".
	Act  bool `json:"-"`
	Past bool `json:"past"`
	// Urgent: the pump itself reported it (a low or empty reservoir).
	Urgent bool `json:"urgent,omitempty"`
	// AfterEOS: a refill due after the pump's end of service: the
	// replacement comes first (the new pump is filled then).
	AfterEOS bool `json:"after_eos,omitempty"`
}

// Window is when to replace the pump.
type Window struct {
	From  time.Time `json:"from"`
	By    time.Time `json:"by"`
	AtERI bool      `json:"at_eri"`
	Past  bool      `json:"past"` // By has passed
	Basis string    `json:"basis"`
}

// Overdue is how every page, document and calendar says a date to act on that
// has passed.
const Overdue = "overdue: call the clinic"

// DateText writes a date as the pages and documents show it.
func DateText(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// Say writes the fact as every page, document and calendar shows it: the
// date; a date to act on that has passed reads "overdue: call the clinic",
// another that has passed "reached".
func (f *DateFact) Say() string {
	switch {
	case f == nil:
		return "—"
	case f.Past && f.Act:
		return Overdue + " (due " + DateText(f.Date) + ")"
	case f.Past:
		return DateText(f.Date) + " (reached)"
	}
	return DateText(f.Date)
}

// RefillSay writes the next refill as the pages and the worklist show it: a
// refill that falls after the pump's end of service shows the replacement
// first.
func (d *Dates) RefillSay() string {
	f := d.NextRefill
	if f != nil && f.AfterEOS && d.Replacement != nil {
		return "replace the pump first, " + d.Replacement.Say() + " (the refill, due " + DateText(f.Date) +
			", falls after its end of service " + DateText(d.EOS.Date) + ")"
	}
	return f.Say()
}

// Say writes the replacement window as the pages show it.
func (w *Window) Say() string {
	switch {
	case w == nil:
		return "—"
	case w.Past:
		return Overdue + " (replace by " + DateText(w.By) + ")"
	case w.AtERI:
		return "before " + DateText(w.By)
	}
	return DateText(w.From) + " to " + DateText(w.By)
}

// PatientDates computes a patient's dates at now from a snapshot of the
// records: a pure function of the records, the settings and the drug library.
func (s *Service) PatientDates(snap *Snapshot, now time.Time) Dates {
	im := activeOf(snap.Implants)
	if im == nil {
		return Dates{}
	}
	d := Dates{ImplantID: im.ID}
	rep := snap.LastReport
	if rep != nil && rep.ImplantID != im.ID {
		rep = nil
	}
	s.batteryDates(&d, im, currentRx(im, snap.Prescriptions, now), rep, now)
	s.reservoirDates(&d, im, snap.Prescriptions, snap.LastRefill, rep, now)
	if d.NextRefill != nil && d.EOS != nil && d.NextRefill.Date.After(d.EOS.Date) {
		d.NextRefill.AfterEOS = true
		d.NextRefill.Basis += fmt.Sprintf("; after the pump's end of service (%s): the replacement comes first, and the new pump is filled then", DateText(d.EOS.Date))
	}
	return d
}

// activeOf returns the implanted pump among a patient's implants, or nil.
func activeOf(ims []*Implant) *Implant {
	var im *Implant
	for _, i := range ims {
		if i.Active() {
			im = i
		}
	}
	return im
}

// reservoirDates sets the next refill, low-reservoir and empty dates: the
// reservoir projected (therapy.Project) from the last fill over every
// program in force since, and from the pump's newer reading of its
// reservoir; the earlier refill date wins.
func (s *Service) reservoirDates(d *Dates, im *Implant, rxs []*Prescription, last *Refill, rep *StoredReport, now time.Time) {
	var refills []*Refill
	if last != nil {
		refills = []*Refill{last}
	}
	fill := fillBefore(im, refills, now.Add(time.Millisecond))
	d.Drug = fill.Drug
	rx := currentRx(im, rxs, now)
	if rx == nil || rx.stopped() {
		return
	}
	next, low, empty, ok := s.project(im, rxs, fill, fill, now)
	if !ok {
		return
	}
	if rep != nil && rep.InterrogatedAt.After(fill.At) {
		reading := lastFill{At: rep.InterrogatedAt, Volume: min(rep.Status.Reservoir, im.Model.Reservoir())}
		reported := slices.Contains(rep.Status.ActiveAlarms, pump.LowReservoir.String()) ||
			slices.Contains(rep.Status.ActiveAlarms, pump.EmptyReservoir.String())
		if rn, rl, re, ok := s.project(im, rxs, fill, reading, now); ok {
			if rn.Date.Before(next.Date) {
				next, low, empty = rn, rl, re
				next.Basis = fmt.Sprintf("reservoir read %s on %s: %s", rep.Status.Reservoir, DateText(rep.InterrogatedAt), next.Basis)
			}
			if reported {
				low, empty = rl, re
				next.Urgent = true
				if rep.InterrogatedAt.Before(next.Date) {
					next.Date = rep.InterrogatedAt
					next.Basis = fmt.Sprintf("pump %s reported a low reservoir (%s) on %s", im.Serial, rep.Status.Reservoir, DateText(rep.InterrogatedAt))
				} else {
					next.Basis += fmt.Sprintf("; pump %s reported a low reservoir (%s) on %s", im.Serial, rep.Status.Reservoir, DateText(rep.InterrogatedAt))
				}
			}
		}
	}
	next.Past = next.Date.Before(now)
	if low != nil {
		low.Past = !low.Date.After(now)
	}
	if empty != nil {
		empty.Past = !empty.Date.After(now)
	}
	d.NextRefill, d.LowReservoir, d.Empty = next, low, empty
}

// project projects the reservoir from a known volume (the fill itself, or a
// pump's later reading of its reservoir) over every program of the pump, the
// stability limit counted from the fill: the next refill date and the
// low-reservoir and empty dates. ok is false when no date follows (nothing
// runs and the library gives the drug no stability limit). RecordRefill takes
// a new refill's next due date from here too.
func (s *Service) project(im *Implant, rxs []*Prescription, fill, from lastFill, now time.Time) (next, low, empty *DateFact, ok bool) {
	in := therapy.ProjectionInput{Model: im.Model, At: ustd(from.At), Volume: from.Volume, Filled: ustd(fill.At),
		LowThreshold: pump.LowReservoirDefault, Margin: s.Settings.Therapy.RefillMargin}
	var cur *Prescription
	for _, rx := range rxs {
		if rx.ImplantID != im.ID {
			continue
		}
		in.Uses = append(in.Uses, therapy.UseFrom{From: ustd(rx.StartAt), Use: worstUse(rx)})
		if !rx.StartAt.After(now) {
			cur = rx
		}
	}
	if cur != nil && cur.Program.LowReservoir > 0 {
		in.LowThreshold = cur.Program.LowReservoir
	}
	if dr, known := s.Library().Lookup(fill.Drug); known {
		if lim, _, ok := therapy.StabilityLimit(dr, fill.Diluted, fill.First); ok {
			in.Stability = lim
		}
	}
	p, err := therapy.Project(in)
	if err != nil || !p.HasDue {
		return nil, nil, nil, false
	}
	var use unit.Rate // what the program in force takes a day, for the text
	if cur != nil {
		use = worstUse(cur)
	}
	next = &DateFact{Date: p.Due.Std(), Act: true}
	if p.HasLow {
		low = &DateFact{Date: p.LowAt.Std(), Basis: fmt.Sprintf("at %s worst case (every allowed bolus) to the %s threshold", use, in.LowThreshold)}
	}
	if p.HasEmpty {
		empty = &DateFact{Date: p.EmptyAt.Std(), Basis: fmt.Sprintf("at %s worst case to %s, where delivery stops", use, pump.EmptyVolume)}
	}
	switch {
	case p.ByStability:
		next.Basis = fmt.Sprintf("%s stability limit reached %s", fill.Drug, DateText(p.StableUntil.Std()))
	case p.AtOrUnderLow:
		next.Basis = fmt.Sprintf("the reservoir (%s) is at or under the low-reservoir threshold %s: refill now", from.Volume, in.LowThreshold)
	default:
		next.Basis = fmt.Sprintf("low-reservoir alarm expected %s at %s worst case (every allowed bolus)", DateText(p.LowAt.Std()), use)
	}
	next.Basis += fmt.Sprintf(", less the %s safety margin", s.Settings.Therapy.RefillMargin)
	return next, low, empty, true
}

// worstUse is the most a prescription takes from the reservoir in a day
// (therapy.WorstDailyUse): nothing when stopped.
func worstUse(rx *Prescription) unit.Rate {
	if rx.stopped() {
		return 0
	}
	var b *therapy.PatientBolus
	if pb := rx.Program.PatientBolus; pb.Volume > 0 {
		b = &therapy.PatientBolus{Volume: pb.Volume, Lockout: pb.Lockout, MaxPer24h: int64(pb.MaxPer24h)}
	}
	use, _, err := therapy.WorstDailyUse(peakRate(rx), b, rx.Program.Max24h)
	if err != nil {
		// The pump refuses such a program (Validate); its basal is still a floor.
		return peakRate(rx)
	}
	return use
}

// batteryDates sets ERI, end of service and the replacement window from the
// battery model (therapy.Battery): from the pump's last battery reading, or a
// new battery at the implant, at the program in force.
func (s *Service) batteryDates(d *Dates, im *Implant, rx *Prescription, rep *StoredReport, now time.Time) {
	in := therapy.BatteryInput{At: ustd(im.ImplantedAt), Remaining: pump.BatteryCapacity}
	source := "a new battery at the implant on " + DateText(im.ImplantedAt)
	if rep != nil && rep.Status.Battery > 0 {
		in.At, in.Remaining = ustd(rep.InterrogatedAt), rep.Status.Battery
		source = fmt.Sprintf("battery read %s on %s", rep.Status.Battery, DateText(rep.InterrogatedAt))
	}
	if rx != nil {
		in.Rate = basalRate(rx)
	}
	reported := func(a pump.Alarm) bool { return rep != nil && slices.Contains(rep.Status.ActiveAlarms, a.String()) }
	b, err := therapy.Battery(in, s.Settings.Therapy)
	if err != nil {
		d.BatteryProblem = fmt.Sprintf("the battery dates cannot be computed from %s (%v)", source, err)
		if reported(pump.EOS) {
			d.EOS = &DateFact{Date: rep.InterrogatedAt, Basis: fmt.Sprintf("pump %s reported end of service", im.Serial), Past: true}
		}
		d.Replacement = &Window{From: now, By: now, AtERI: true, Basis: "replace the pump: " + d.BatteryProblem}
		return
	}
	eri, eos := b.ERI.Std(), b.EOS.Std()
	d.ERI = &DateFact{Date: eri, Basis: source, Past: !eri.After(now)}
	d.EOS = &DateFact{Date: eos, Basis: source, Past: !eos.After(now)}
	if reported(pump.EOS) {
		d.EOS = &DateFact{Date: rep.InterrogatedAt, Basis: fmt.Sprintf("pump %s reported end of service", im.Serial), Past: true}
	}
	if b.AlreadyERI || reported(pump.ERI) || reported(pump.EOS) {
		if reported(pump.ERI) && rep.InterrogatedAt.Before(eri) {
			d.ERI = &DateFact{Date: rep.InterrogatedAt, Basis: fmt.Sprintf("pump %s reported its elective replacement indicator", im.Serial), Past: true}
		}
		d.Replacement = &Window{From: now, By: d.EOS.Date, AtERI: true, Past: !d.EOS.Date.After(now),
			Basis: fmt.Sprintf("pump %s is at its elective replacement indicator: end of service about %s (%s)", im.Serial, DateText(d.EOS.Date), source)}
		return
	}
	from, by := b.PlanFrom.Std(), b.PlanBy.Std()
	d.Replacement = &Window{From: from, By: by, Past: by.Before(now),
		Basis: fmt.Sprintf("ERI expected %s, end of service %s (%s)", DateText(eri), DateText(eos), source)}
}
