package clinic_test

import (
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// TestReconcile: the one comparison of a pump's report with the record,
// field by field.
func TestReconcile(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	im := &clinic.Implant{Meta: clinic.Meta{ID: 1}, Serial: "4001", Model: pump.TP20}
	cont := clinictest.ContinuousRx("baclofen", "2000 mcg/mL", "400 mcg/day", "").Program
	cont.Rate = unit.Rate(200 * unit.Microlitre)
	faster := cont
	faster.Rate = unit.Rate(300 * unit.Microlitre)
	flex := clinictest.FlexProgram()
	order := func(id int64, p pump.Prescription, start time.Time, state clinic.OrderState) *clinic.Prescription {
		return &clinic.Prescription{Meta: clinic.Meta{ID: id}, ImplantID: 1, StartAt: start, Program: p, OrderStatus: clinic.OrderStatus{State: state}}
	}
	fill := clinic.Fill{At: at.Add(-240 * time.Hour), Drug: "baclofen", Concentration: cont.Concentration}
	report := func(p *pump.Prescription, pumpTime time.Time) *clinic.Report {
		r := &clinic.Report{Serial: "4001", InterrogatedAt: at, Status: clinic.ReportStatus{Drug: "baclofen", Concentration: cont.Concentration, PumpTime: pumpTime}}
		if p != nil {
			pp := clinic.Program(*p)
			r.Status.Program = &pp
		}
		return r
	}
	weekly := flex
	weekly.Flex[1].Days = 0b1000000
	for _, c := range []struct {
		name    string
		rep     *clinic.Report
		orders  []*clinic.Prescription
		fill    clinic.Fill
		running int64
		fields  string // the differing fields, in order
	}{
		{"the order", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Programmed)}, fill, 7, ""},
		{"another rate", report(&faster, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 0, "program.rate"},
		{"another mode", report(&flex, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 0,
			"program.drug program.concentration program.mode program.max_24h program.patient_bolus program.low_reservoir"},
		{"another weekly step", report(&weekly, at), []*clinic.Prescription{order(7, flex, at.Add(-time.Hour), clinic.Verified)}, clinic.Fill{}, 0, "program.flex"},
		{"an order not programmed yet", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-48*time.Hour), clinic.Verified),
			order(8, faster, at.Add(-time.Hour), clinic.Ordered)}, fill, 7, ""},
		{"an order not programmed, the pump on neither", report(&flex, at), []*clinic.Prescription{order(7, cont, at.Add(-48*time.Hour), clinic.Verified),
			order(8, faster, at.Add(-time.Hour), clinic.Ordered)}, clinic.Fill{}, 0,
			"program.drug program.concentration program.mode program.max_24h program.patient_bolus program.low_reservoir"},
		{"an order from before orders had states", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-48*time.Hour), ""),
			order(8, faster, at.Add(-time.Hour), clinic.Ordered)}, fill, 7, ""},
		{"an order starting later", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-48*time.Hour), clinic.Verified),
			order(8, faster, at.Add(time.Hour), clinic.Ordered)}, fill, 7, ""},
		{"no order", report(&cont, at), nil, fill, 0, "program"},
		{"no program where one was programmed", report(nil, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 0, "program"},
		{"no program, a new pump", report(nil, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Ordered)}, fill, 0, ""},
		{"an older relay says nothing of the program", report(nil, time.Time{}), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 0, ""},
		{"the pump's clock 6 minutes fast", report(&cont, at.Add(6*time.Minute)), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 7, "pump_clock"},
		{"the pump's clock 4 minutes slow", report(&cont, at.Add(-4*time.Minute)), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)}, fill, 7, ""},
		{"another concentration in the reservoir", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)},
			clinic.Fill{At: fill.At, Drug: "Baclofen", Concentration: 500 * unit.MicrogramPerMillilitre}, 7, "reservoir.concentration"},
		{"another drug in the reservoir", report(&cont, at), []*clinic.Prescription{order(7, cont, at.Add(-time.Hour), clinic.Verified)},
			clinic.Fill{At: fill.At, Drug: "morphine", Concentration: cont.Concentration}, 7, "reservoir.drug"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := clinic.Reconcile(c.rep, im, c.orders, c.fill, 5*time.Minute)
			var fields []string
			for _, d := range append(rc.Program, rc.Reservoir...) {
				fields = append(fields, d.Field)
				if d.Pump == "" || d.Clinic == "" {
					t.Errorf("%s says nothing: %+v", d.Field, d)
				}
			}
			if got := strings.Join(fields, " "); got != c.fields {
				t.Errorf("differences %q, want %q: %+v", got, c.fields, append(rc.Program, rc.Reservoir...))
			}
			var running int64
			if rc.Running != nil {
				running = rc.Running.ID
			}
			if running != c.running {
				t.Errorf("running order %d, want %d", running, c.running)
			}
		})
	}
}
