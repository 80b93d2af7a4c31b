package sim

import (
	"slices"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// TestScenarioEventsCoverTheCommandTable: every command of the pump's table
// is either sent by exactly one scenario event kind or listed as not
// scenario-driven with a reason; every scenario event kind is a command or a
// fault, never both; the campaign generator draws every kind; and each
// command event builds the command its kind maps to. A command added to the
// table, or an event kind added to the format, that the simulator does not
// place fails here.
func TestScenarioEventsCoverTheCommandTable(t *testing.T) {
	sent := map[pump.CommandKind][]scenario.Kind{}
	for ek, ck := range eventCommands {
		sent[ck] = append(sent[ck], ek)
	}
	for _, s := range pump.Commands() {
		why, notDriven := notFromScenarios[s.Kind]
		switch {
		case len(sent[s.Kind]) > 1:
			t.Errorf("%v is sent by several event kinds %v", s.Kind, sent[s.Kind])
		case len(sent[s.Kind]) == 1 && notDriven:
			t.Errorf("%v is sent by %v and listed as not scenario-driven", s.Kind, sent[s.Kind][0])
		case len(sent[s.Kind]) == 0 && (!notDriven || why == ""):
			t.Errorf("%v is neither sent by a scenario event nor listed as not scenario-driven (with why)", s.Kind)
		}
	}
	for k := range notFromScenarios {
		if _, ok := k.Spec(); !ok {
			t.Errorf("notFromScenarios lists %v, which is not in the command table", k)
		}
	}
	weighted := map[scenario.Kind]bool{}
	for _, w := range eventWeights {
		weighted[w.kind] = w.weight > 0
	}
	for _, k := range scenario.Kinds {
		_, isCommand := eventCommands[k]
		if isCommand == slices.Contains(faultEvents, k) {
			t.Errorf("event kind %q must be a command or a fault, one of them", k)
		}
		if !weighted[k] {
			t.Errorf("the campaign never draws %q", k)
		}
	}
	for ek := range eventCommands {
		if !slices.Contains(scenario.Kinds, ek) {
			t.Errorf("eventCommands maps %q, which is not a scenario event kind", ek)
		}
	}

	// Each event builds its command, of the kind the map says.
	sc := GenerateCase(1, 0)
	r, err := newRun(sc)
	if err != nil {
		t.Fatal(err)
	}
	rx := &scenario.Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: unit.MillilitrePerDay / 2, Max24h: unit.Millilitre}}
	for _, k := range scenario.Kinds {
		e := scenario.Event{Kind: k, At: sc.Start, Prescription: rx, Volume: unit.Microlitre, Duration: unit.Hour, Add: unit.Millilitre,
			Drug: sc.Fill.Drug, Charge: unit.MicroampHour, Alarm: "OCCLUSION"}
		c := r.command(&e)
		switch ck, isCommand := eventCommands[k]; {
		case !isCommand && c != nil:
			t.Errorf("fault %q built the command %v", k, c.Kind())
		case isCommand && (c == nil || c.Kind() != ck):
			t.Errorf("event %q built %#v, want a %v", k, c, ck)
		}
	}
}

// TestSessionRolesFromTheTable: the simulator opens a clinician session for
// exactly the events it always did, a patient session for a patient's press,
// and none for a battery drain — now read from the command table.
func TestSessionRolesFromTheTable(t *testing.T) {
	clinician := []scenario.Kind{scenario.Program, scenario.Stop, scenario.Resume, scenario.ClinicianBolus, scenario.Prime,
		scenario.Bridge, scenario.Refill, scenario.Interrogate, scenario.Acknowledge, scenario.SetClock}
	for _, k := range scenario.Kinds {
		want := pump.ReasonNone
		switch {
		case slices.Contains(clinician, k):
			want = pump.RoleClinician
		case k == scenario.PatientBolusEv:
			want = pump.RolePatient
		}
		got := pump.ReasonNone
		if ck, ok := eventCommands[k]; ok {
			got = sessionRole(ck)
		}
		if got != want {
			t.Errorf("%q opens a session as %v, want %v", k, got, want)
		}
	}
}
