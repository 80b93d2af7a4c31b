package programmer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The safety matrix of issue 11 on the programmer's path (the clinic's API
// and pages are web.TestSafetyMatrix): each rule, asked of a real pump over
// the telemetry link, is refused before anything is sent, saying the rule's
// words; the pump's program and its event log are unchanged.

func mgPerML(n int64) unit.Concentration  { return unit.Concentration(n) * unit.MilligramPerMillilitre }
func mcgPerML(n int64) unit.Concentration { return unit.Concentration(n) * unit.MicrogramPerMillilitre }
func mcgDay(milli int64) unit.DoseRate {
	return unit.DoseRate(unit.MassIn(milli, unit.Microgram) / 1000)
}

// coreLog is the pump core's own event log (the link's records aside): what
// a refused workflow must leave as it was.
func (b *bench) coreLog() string {
	var sb strings.Builder
	for _, r := range b.p.Im.Records(0) {
		if r.Kind < pumpwire.RecLink {
			fmt.Fprintf(&sb, "%d %v %v %d %d; ", r.Seq, pump.EventKind(r.Kind), r.Alarm, r.A, r.B)
		}
	}
	return sb.String()
}

// program fills the pump with drugName at c and programs a continuous dose.
func (b *bench) program(drugName string, c unit.Concentration, d unit.DoseRate, bolus *pump.PatientBolus) {
	b.t.Helper()
	if _, err := b.pr.Refill(ctx(b.t), typed(drugName, c, 0, 20*unit.Millilitre)); err != nil {
		b.t.Fatal(err)
	}
	b.pr.Reason, b.pr.ConfirmLargeChange = "set-up of the safety matrix", true
	if _, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: d, Bolus: bolus}); err != nil {
		b.t.Fatalf("%v\n%s", err, b.out)
	}
	b.pr.Reason, b.pr.ConfirmLargeChange = "", false
	b.out.Reset()
}

func TestSafetyMatrix(t *testing.T) {
	zicoBolus := &pump.PatientBolus{Volume: 40 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 3 * unit.Hour, MaxPer24h: 8}
	for _, c := range []struct {
		rule  string
		setup func(b *bench)
		act   func(b *bench) error
		is    func(error) bool
		words string // in the error or the output
	}{
		{"refill: baclofen 2000 mcg/mL into a morphine pump, no order",
			func(b *bench) { b.program("morphine", mgPerML(10), mcgDay(5_000_000), nil) },
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), typed("baclofen", mcgPerML(2000), 15*unit.Millilitre, 20*unit.Millilitre))
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"no physician's order for baclofen 2000 mcg/mL: the pump runs morphine 10 mg/mL"},
		{"refill: ziconotide 250 mcg/mL",
			func(b *bench) { b.program("ziconotide", mcgPerML(25), mcgDay(1200), nil) },
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), typed("ziconotide", mcgPerML(250), 15*unit.Millilitre, 20*unit.Millilitre))
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"250 mcg/mL is not a strength of ziconotide the library lists 25 mcg/mL, 100 mcg/mL"},
		{"refill: no concentration typed (never the programmed one)",
			func(b *bench) { b.program("morphine", mgPerML(25), mcgDay(5_000_000), nil) },
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), RefillInput{Withdrawn: 15 * unit.Millilitre, Added: 20 * unit.Millilitre, Drug: "morphine", ConfirmDrug: "morphine"})
				return err
			},
			func(err error) bool {
				var fe *drug.FillError
				return errors.Is(err, ErrRx) && errors.As(err, &fe) && fe.Field == "concentration"
			},
			"required: the concentration as the vial states it"},
		{"refill: not confirmed",
			func(b *bench) { b.program("morphine", mgPerML(25), mcgDay(5_000_000), nil) },
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), RefillInput{Withdrawn: 15 * unit.Millilitre, Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: mgPerML(25)})
				return err
			},
			func(err error) bool {
				var fe *drug.FillError
				return errors.As(err, &fe) && fe.Field == "confirm_drug"
			},
			"type the drug and the concentration a second time"},
		{"refill: the other strength, 10 instead of 25 mg/mL, no order",
			func(b *bench) { b.program("morphine", mgPerML(25), mcgDay(5_000_000), nil) },
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), typed("morphine", mgPerML(10), 15*unit.Millilitre, 20*unit.Millilitre))
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"no physician's order for morphine 10 mg/mL: the pump runs morphine 25 mg/mL"},
		{"refill: the other strength as ordered, the change not confirmed (--yes does not confirm it)",
			func(b *bench) {
				b.program("morphine", mgPerML(25), mcgDay(5_000_000), nil)
				b.pr.Order = drug.Product{Drug: "morphine", Concentration: mgPerML(10)}
			},
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), typed("morphine", mgPerML(10), b.status().Reservoir, 20*unit.Millilitre))
				return err
			},
			func(err error) bool { return errors.Is(err, therapy.ErrFillChange) },
			"morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker)"},
		{"refill: the pump ran empty; resuming the dose needs a reason",
			func(b *bench) {
				b.program("morphine", mgPerML(10), mcgDay(10_000_000), nil) // 1 mL/day: empty after 19.5 days
				b.close()
				b.p.Clock.Advance(25 * unit.Day)
				b.open()
			},
			func(b *bench) error {
				_, err := b.pr.Refill(ctx(b.t), typed("morphine", mgPerML(10), 500*unit.Microlitre, 20*unit.Millilitre))
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrReasonRequired) },
			"tolerance may be lost; resuming 10 mg/day is a physician's decision"},
		{"set: a hard limit",
			func(b *bench) { b.program("ziconotide", mcgPerML(25), mcgDay(1200), nil) },
			func(b *bench) error {
				b.pr.Reason = "the patient insists on more"
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(25_000)})
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"is above the hard maximum 21.6 mcg/day"},
		{"set: morphine 4 → 200 mg/day, not confirmed",
			func(b *bench) { b.program("morphine", mgPerML(25), mcgDay(4_000_000), nil) },
			func(b *bench) error {
				b.pr.Reason = "typo"
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(200_000_000), Max24h: 9 * unit.Millilitre})
				return err
			},
			func(err error) bool { return errors.Is(err, therapy.ErrLargeChange) },
			"4 mg/day → 200 mg/day (+4900%)"},
		{"set: morphine 4 → 200 mg/day, confirmed, with the reason \"typo\"",
			func(b *bench) { b.program("morphine", mgPerML(25), mcgDay(4_000_000), nil) },
			func(b *bench) error {
				b.pr.Reason, b.pr.ConfirmLargeChange = "typo", true
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(200_000_000), Max24h: 9 * unit.Millilitre})
				return err
			},
			func(err error) bool {
				var re *drug.ReasonError
				return errors.As(err, &re)
			},
			`"typo" is 4 characters`},
		{"set: a fourth ziconotide increase in 7 days, against the clinic's whole history",
			func(b *bench) {
				// The clinic's record: started 6 days ago, raised every 2 days.
				now := b.status().At
				b.pr.History = []drug.Prescribed{{At: now.Add(-6 * unit.Day), Drug: "ziconotide", Dose: mcgDay(2400)},
					{At: now.Add(-4 * unit.Day), Drug: "ziconotide", Dose: mcgDay(4800)}, {At: now.Add(-2 * unit.Day), Drug: "ziconotide", Dose: mcgDay(7200)}}
				b.program("ziconotide", mcgPerML(25), mcgDay(9600), nil)
				history := append(b.pr.History, drug.Prescribed{At: b.status().RxSince, Drug: "ziconotide", Dose: mcgDay(9600)})
				b.close()
				b.p.Clock.Advance(2 * unit.Day)
				b.open()
				b.pr.History = history
			},
			func(b *bench) error {
				b.pr.Reason = "titration for pain 7/10"
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(12_000)})
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"this would be increase 4 in the 7 days"},
		{"set: ziconotide 2.4 mcg/day + 8 boluses of 1 mcg = 10.4 mcg/day, a first dose",
			func(b *bench) {
				if _, err := b.pr.Refill(ctx(b.t), typed("ziconotide", mcgPerML(25), 0, 20*unit.Millilitre)); err != nil {
					b.t.Fatal(err)
				}
			},
			func(b *bench) error {
				b.pr.Reason = "severe neuropathic pain, agreed plan"
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(2400), Bolus: zicoBolus})
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrRefused) },
			"starting dose with every allowed patient bolus (basal 2.4 mcg/day + boluses 8 mcg/day) 10.4 mcg/day"},
		{"set: a 90% baclofen decrease without a reason",
			func(b *bench) { b.program("baclofen", mcgPerML(500), mcgDay(400_000), nil) },
			func(b *bench) error {
				b.pr.ConfirmLargeChange = true
				_, err := b.pr.ChangePrescription(ctx(b.t), Edit{Dose: mcgDay(40_000)})
				return err
			},
			func(err error) bool { return errors.Is(err, drug.ErrReasonRequired) },
			"(−90%) is more than 50% (the clinic's default: the drug library gives no threshold for this drug): abrupt discontinuation"},
		{"stop: baclofen without a reason",
			func(b *bench) { b.program("baclofen", mcgPerML(2000), mcgDay(400_000), nil) },
			func(b *bench) error { return b.pr.Stop(ctx(b.t)) },
			func(err error) bool { return errors.Is(err, drug.ErrReasonRequired) },
			"stopping baclofen: abrupt discontinuation, whatever the cause, has resulted in high fever"},
		{"minimum: baclofen without a reason",
			func(b *bench) { b.program("baclofen", mcgPerML(2000), mcgDay(400_000), nil) },
			func(b *bench) error {
				b.pr.ConfirmLargeChange = true
				return b.pr.MinimumRate(ctx(b.t))
			},
			func(err error) bool { return errors.Is(err, drug.ErrReasonRequired) },
			"the minimum rate (96 mcg/day (4 mcg/h) of baclofen) keeps the catheter open but is no therapeutic dose"},
	} {
		t.Run(c.rule, func(t *testing.T) {
			b := newBench(t)
			c.setup(b)
			rx, hash, log := b.status().Rx, b.status().RxHash, b.coreLog()
			b.out.Reset()
			err := c.act(b)
			if !c.is(err) {
				t.Fatalf("error %v\n%s", err, b.out)
			}
			if !strings.Contains(err.Error(), c.words) && !strings.Contains(b.out.String(), c.words) {
				t.Errorf("neither the error %q nor the output says %q:\n%s", err, c.words, b.out)
			}
			st := b.status()
			if st.Rx != rx || st.RxHash != hash {
				t.Errorf("the pump's program changed: %+v", st.Rx)
			}
			if got := b.coreLog(); got != log {
				t.Errorf("the pump's event log changed:\n%s\n%s", log, got)
			}
		})
	}
}
