package pump

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thecal/thecal/unit"
)

// sources parses the core's non-test files.
func sources(t *testing.T) map[string]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ast.File{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0) // reads the file itself
		if err != nil {
			t.Fatal(err)
		}
		out[name] = f
	}
	return out
}

// TestCoreDoesNoIOReadsNoClockStartsNoGoroutine fails if the core imports
// anything that does I/O, reads the clock, draws randomness or synchronises
// goroutines, or if it starts one. fmt is allowed only where validation messages
// are built, never on the delivery path.
func TestCoreDoesNoIOReadsNoClockStartsNoGoroutine(t *testing.T) {
	forbidden := []string{"os", "net", "time", "math/rand", "math/rand/v2", "sync", "syscall", "io", "io/fs",
		"bufio", "log", "log/slog", "runtime", "unsafe", "reflect", "context", "os/exec", "crypto/rand"}
	fmtAllowed := map[string]bool{"prescription.go": true, "pump.go": false}
	for name, f := range sources(t) {
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") && bad != "math/rand" {
					t.Errorf("%s imports %s", name, path)
				}
			}
			if path == "fmt" && !fmtAllowed[name] {
				t.Errorf("%s imports fmt outside validation", name)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s starts a goroutine at %v", name, g.Pos())
			}
			return true
		})
	}
}

// TestCoreHasNoFloatingPoint (rule 1): no float type appears in the core, so no
// floating point can decide a stroke.
func TestCoreHasNoFloatingPoint(t *testing.T) {
	for name, f := range sources(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (id.Name == "float64" || id.Name == "float32") {
				t.Errorf("%s uses %s", name, id.Name)
			}
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.FLOAT {
				t.Errorf("%s has a float literal %s", name, lit.Value)
			}
			return true
		})
	}
}

// TestZeroAllocationsPerTickAndCommand measures heap allocations of Tick and of
// each command in steady state.
func TestZeroAllocationsPerTickAndCommand(t *testing.T) {
	cfg := defaultConfig()
	cfg.PressureSensor, cfg.LevelSensor = true, true
	r := filled(t, cfg, ml(20))
	rx := continuous(halfMLPerDay, ml(2))
	rx.PatientBolus = PatientBolus{Volume: ml(0.02), Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 24}
	r.program(t0, rx)
	now := r.at(unit.Hour)
	r.run(now)
	step := func(d unit.Duration) {
		now = now.Add(d)
		for {
			a := r.p.Tick(now)
			if a.Kind == ActNone {
				break
			}
			if a.Kind == ActStroke {
				r.p.StrokeDone(StrokeResult{Completed: true, Pressure: 20 * unit.Kilopascal})
			} else {
				r.p.LevelRead(r.p.Reservoir())
			}
			r.p.WritesDone()
		}
		r.p.WritesDone()
	}
	other := continuous(400_000, ml(2))
	other.PatientBolus = rx.PatientBolus
	progs := [2]Program{NewProgram(rx, Hash{}), NewProgram(other, Hash{})}
	coasted := 0
	each := func(unit.Time) { coasted++ }
	cmds := map[string]func(){
		"tick": func() { step(unit.Hour) },
		"coast": func() {
			r.p.Coast(now.Add(unit.Hour), nil)
			r.p.WritesDone()
			step(unit.Hour)
		},
		"coast with each": func() {
			r.p.Coast(now.Add(unit.Hour), each)
			step(unit.Hour)
		},
		"patient bolus":   func() { step(2 * unit.Hour); r.p.PatientBolus(now) },
		"clinician bolus": func() { step(unit.Hour); r.p.ClinicianBolus(now, ml(0.01), 10*unit.Minute) },
		"program": func() {
			step(unit.Hour)
			next := progs[0]
			if r.p.rx.Rate == rx.Rate {
				next = progs[1]
			}
			next.Replaces = r.p.rxHash
			if err := r.p.Program(now, next); err != nil {
				t.Fatal(err)
			}
		},
		"refill": func() {
			step(unit.Hour)
			r.p.Refill(now, Refill{Withdrawn: ml(1), Added: ml(20), Drug: "morphine", Concentration: 10 * unit.MilligramPerMillilitre})
		},
		"stop+resume": func() { step(unit.Hour); r.p.Stop(now); r.p.Resume(now) },
		"session":     func() { step(unit.Hour); r.p.OpenSession(now, RoleClinician); r.p.CloseSession(now, unit.Minute) },
		"acknowledge": func() { step(unit.Hour); r.p.Acknowledge(now, AlarmNone) },
		"interrogate": func() { step(unit.Hour); r.p.Interrogate(now) },
		"set clock":   func() { step(unit.Hour); r.p.SetClock(now, unit.Hour) },
		"read status": func() { step(unit.Hour); r.p.Step(now, ReadStatus{}) },
		"minimum rate": func() {
			step(unit.Hour)
			if _, err := r.p.Step(now, SetMinimumRate{}); err != nil {
				t.Fatal(err)
			}
		},
		"prime": func() {
			step(unit.Hour)
			r.p.Step(now, Prime{Volume: cfg.PrimingVolume()})
			r.p.Stop(now) // interrupted at once, so that 51 primings do not empty the reservoir
			r.p.Resume(now)
		},
	}
	for name, f := range cmds {
		f() // warm
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s: %.1f allocations per run", name, n)
		}
	}
	if coasted == 0 {
		t.Error("Coast delivered no stroke: its allocations went unmeasured")
	}
}

// TestCostGrowsWithStrokesNotMilliseconds counts the core's work items over a
// long stopped period: it wakes for checkpoints and tones, never per millisecond.
func TestCostGrowsWithStrokesNotMilliseconds(t *testing.T) {
	r := running(t, defaultConfig(), Prescription{Mode: ModeStopped, Drug: "morphine", Concentration: 1})
	wakes := 0
	for now := t0; now < r.at(365*unit.Day); {
		now = r.p.Next()
		if now > r.at(365*unit.Day) {
			break
		}
		r.run(now)
		wakes++
	}
	// Hourly checkpoints only: 8760 in a year.
	if wakes > 9000 {
		t.Fatalf("%d wakes in a stopped year", wakes)
	}
}
