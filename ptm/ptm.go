// Package ptm is the patient therapy manager: the patient's own device, paired
// with one pump. It asks for a patient bolus and says plainly whether it was
// given, or why not and when the next one is possible; and it reads the
// pump's status (delivery, reservoir, alarms, lockout) in words a patient
// understands. The pump decides; the PTM only asks and explains.
package ptm

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Result is the pump's answer to a bolus request, with the status read in the
// same round trip.
type Result struct {
	Given  bool
	Volume unit.Volume
	Next   unit.Time   // earliest next bolus as far as lockout and count allow
	Reason pump.Reason // why not, if not given
	Status pumpwire.Status
}

// Bolus asks the pump for one patient bolus.
func Bolus(ctx context.Context, cfg peer.Config) (Result, error) {
	c, err := peer.Dial(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	rs, err := c.DoAll(ctx, pump.PatientActivation{}, pump.ReadStatus{})
	if err != nil {
		return Result{}, err
	}
	if err := telemetry.AnswerErr(rs[0]); err != nil {
		return Result{}, err
	}
	b, ok := rs[0].(*pumpwire.BolusResult)
	if !ok {
		return Result{}, fmt.Errorf("%w: %v instead of a bolus result", telemetry.ErrUnexpected, rs[0].Kind())
	}
	st, err := peer.Status(rs[1])
	if err != nil {
		return Result{}, err
	}
	return Result{Given: b.Given(), Volume: b.Volume, Next: b.Next, Reason: b.Reason, Status: st}, nil
}

// Status reads the pump's status.
func Status(ctx context.Context, cfg peer.Config) (pumpwire.Status, error) {
	c, err := peer.Dial(ctx, cfg)
	if err != nil {
		return pumpwire.Status{}, err
	}
	defer c.Close()
	r, err := c.Do(ctx, pump.ReadStatus{})
	if err != nil {
		return pumpwire.Status{}, err
	}
	return peer.Status(r)
}

// reasons says why a bolus was not given, for the patient.
var reasons = map[pump.Reason]string{
	pump.ReasonLockout:       "your last bolus was less than %s ago (the lockout your clinic set)",
	pump.ReasonMaxCount:      "you have had the %d boluses allowed in 24 hours",
	pump.ReasonMax24h:        "it would go over the most your pump may give in 24 hours",
	pump.ReasonBolusActive:   "a bolus is still running",
	pump.ReasonStopped:       "your pump is stopped and delivers no medicine. Call your clinic now",
	pump.ReasonAlarm:         "your pump has an alarm that stops delivery. Call your clinic now",
	pump.ReasonPriming:       "your pump is priming (after an operation or a refill); try again when it has finished",
	pump.ReasonBridge:        "your pump is changing over to the new medicine after a refill; try again later",
	pump.ReasonNotPrescribed: "your prescription has no patient bolus",
}

// Message says what happened, in plain words, with times in the pump's local
// time (the patient's day) and the drug's mass when the library knows it.
func (r Result) Message(lib *drug.Library) string {
	st := &r.Status
	loc := local(st)
	var b strings.Builder
	if r.Given {
		pb := st.Rx.PatientBolus
		fmt.Fprintf(&b, "Bolus given: %s, over %s.", amount(lib, st, r.Volume), minutes(pb.Duration))
	} else {
		why := reasons[r.Reason]
		switch r.Reason {
		case pump.ReasonLockout:
			why = fmt.Sprintf(why, minutes(st.Rx.PatientBolus.Lockout))
		case pump.ReasonMaxCount:
			why = fmt.Sprintf(why, st.Rx.PatientBolus.MaxPer24h)
		case pump.ReasonNone:
			why = "the pump did not say why"
		}
		if why == "" {
			why = "the pump said: " + r.Reason.String()
		}
		fmt.Fprintf(&b, "No bolus given: %s.", why)
	}
	switch r.Reason {
	case pump.ReasonNone, pump.ReasonLockout, pump.ReasonMaxCount, pump.ReasonBolusActive:
		if st.Rx.PatientBolus.Volume > 0 && r.Next > 0 {
			fmt.Fprintf(&b, " Your next bolus is possible %s.", when(r.Next, st.At, loc))
		}
	case pump.ReasonMax24h:
		b.WriteString(" Try again later; if your pain is not controlled, call your clinic.")
	}
	return b.String()
}

// WriteStatus prints the pump's status for the patient.
func WriteStatus(w io.Writer, lib *drug.Library, st pumpwire.Status) {
	loc := local(&st)
	switch {
	case st.Delivering:
		fmt.Fprintln(w, "Your pump is delivering your medicine.")
	case !st.HasRx || st.Rx.Mode == pump.ModeStopped || !st.Running:
		fmt.Fprintln(w, "Your pump is STOPPED: it delivers no medicine. Call your clinic now.")
	default:
		fmt.Fprintln(w, "Your pump is NOT delivering because of an alarm. Call your clinic now.")
	}
	fmt.Fprintf(w, "Medicine left: about %s.\n", amount(lib, &st, st.Reservoir))
	if pb := st.Rx.PatientBolus; pb.Volume > 0 {
		next := "Next possible " + when(st.NextPatientBolus, st.At, loc)
		if !st.Delivering {
			next = "None possible while the pump is not delivering"
		}
		fmt.Fprintf(w, "Patient bolus: %s each, at least %s apart, at most %d a day. %s.\n",
			amount(lib, &st, pb.Volume), minutes(pb.Lockout), pb.MaxPer24h, next)
	}
	if st.Alarms == 0 {
		fmt.Fprintln(w, "Alarms: none.")
		return
	}
	fmt.Fprintln(w, "Alarms:")
	st.Alarms.Each(func(a pump.Alarm) { fmt.Fprintf(w, "  %s\n", alarmAdvice[a]) })
}

var alarmAdvice = map[pump.Alarm]string{
	pump.LowReservoir:      "LOW RESERVOIR: your pump needs a refill soon. Call your clinic to book it.",
	pump.EmptyReservoir:    "EMPTY RESERVOIR: your pump has stopped. Call your clinic now.",
	pump.ERI:               "BATTERY: the pump's battery is running low; it will need replacing within 3 months. Tell your clinic.",
	pump.EOS:               "BATTERY EMPTY: your pump has stopped. Call your clinic now.",
	pump.MotorStall:        "MOTOR STALL: the pump's motor stopped (for example in an MRI scanner). Call your clinic.",
	pump.Occlusion:         "BLOCKED CATHETER: your pump has stopped. Call your clinic now.",
	pump.CatheterIntegrity: "CATHETER: the catheter may be damaged. Call your clinic today.",
	pump.VolumeDiscrepancy: "RESERVOIR CHECK: the pump's reservoir reading disagrees with its count. Call your clinic.",
	pump.MemoryError:       "MEMORY ERROR: your pump has stopped. Call your clinic now.",
	pump.PumpStopped:       "PUMP STOPPED: your pump was left stopped. Call your clinic now.",
	pump.DailyCap:          "DAILY LIMIT: the pump reached the most it may give in 24 hours. Call your clinic.",
}

func local(st *pumpwire.Status) *time.Location {
	return time.FixedZone("UTC"+unit.FormatUTCOffset(st.UTCOffset), int(st.UTCOffset/unit.Second))
}

// amount is a volume with the mass of medicine it holds, when known.
func amount(lib *drug.Library, st *pumpwire.Status, v unit.Volume) string {
	conc, name := st.Rx.Concentration, st.Rx.Drug
	if conc == 0 {
		conc, name = st.FillConc, st.FillDrug
	}
	// To the microlitre: what a patient can read.
	s := unit.FormatFixed(int64((v+unit.Microlitre/2)/unit.Microlitre), 3) + " mL"
	if d, ok := lib.Lookup(name); ok && conc > 0 {
		s += " (" + conc.Of(v).Format(d.DoseUnit) + " of " + d.Name + ")"
	}
	return s
}

// minutes prints a duration as people say it: "10 minutes", "2 hours", "1 h 30 min".
func minutes(d unit.Duration) string {
	h, m := d/unit.Hour, d%unit.Hour/unit.Minute
	switch {
	case h == 0 && m == 1:
		return "1 minute"
	case h == 0:
		return fmt.Sprintf("%d minutes", m)
	case m == 0 && h == 1:
		return "1 hour"
	case m == 0:
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// when says when t is, seen from now: "now", or "at 14:32 (in 1 h 50 min)",
// with the date when it is not today.
func when(t, now unit.Time, loc *time.Location) string {
	if t <= now {
		return "now"
	}
	lt, ln := t.Std().In(loc), now.Std().In(loc)
	clock := lt.Format("15:04")
	if lt.YearDay() != ln.YearDay() || lt.Year() != ln.Year() {
		clock = lt.Format("Mon 2 Jan 15:04")
	}
	in := t.Sub(now)
	in = (in + unit.Minute - 1) / unit.Minute * unit.Minute // round up: never "now" too early
	return fmt.Sprintf("at %s (in %s)", clock, minutes(in))
}
