// Package chart owns the simulator's pictures: SVG and PNG plots of a scenario
// run (delivery, reservoir, battery, alarms, dose to the patient) and of trumpet
// curves, drawn with gonum.org/v1/plot from the plain data package sim returns.
// It keeps the plotting library out of every package that only simulates.
package chart

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/thecal/thecal/sim"
	"github.com/thecal/thecal/unit"
)

// Formats are the file formats written, by extension.
var Formats = []string{"svg", "png"}

// Size of every picture.
const (
	Width  = 8 * vg.Inch
	Height = 4 * vg.Inch
)

// ErrNoData is returned for a trace without samples.
var ErrNoData = errors.New("chart: nothing to plot")

// save writes p as dir/name.<format> for each format and returns the paths.
func save(p *plot.Plot, dir, name string) ([]string, error) {
	var out []string
	for _, f := range Formats {
		path := filepath.Join(dir, name+"."+f)
		if err := p.Save(Width, Height, path); err != nil {
			return out, fmt.Errorf("chart: %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}

func timePlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (UTC)"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TimeTicks{Format: "2006-01-02\n15:04"}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// short cuts a scenario's name (often a whole sentence) to fit a title.
func short(name string) string {
	r := []rune(name)
	if len(r) <= 60 {
		return name
	}
	return string(r[:57]) + "…"
}

// secs is a time as the x value of a time axis (Unix seconds).
func secs(t unit.Time) float64 { return float64(t) / 1000 }

func series(tr *sim.Trace, y func(s *sim.TraceSample) float64) plotter.XYs {
	xy := make(plotter.XYs, len(tr.Samples))
	for i := range tr.Samples {
		xy[i].X, xy[i].Y = secs(tr.Samples[i].At), y(&tr.Samples[i])
	}
	return xy
}

// WriteRun draws the plots of a traced scenario run into dir (created if
// missing): delivery, reservoir, battery, alarms and dose, each as SVG and PNG.
// It returns the files written.
func WriteRun(dir string, tr *sim.Trace) ([]string, error) {
	if len(tr.Samples) < 2 {
		return nil, ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	name := short(tr.Report.Name)
	var files []string
	add := func(p *plot.Plot, file string) error {
		fs, err := save(p, dir, file)
		files = append(files, fs...)
		return err
	}

	p := timePlot("Delivered from the reservoir — "+name, "mL (cumulative)")
	if err := plotutil.AddLines(p, "delivered", series(tr, func(s *sim.TraceSample) float64 { return s.DeliveredML })); err != nil {
		return files, err
	}
	if err := add(p, "delivery"); err != nil {
		return files, err
	}

	p = timePlot("Reservoir — "+name, "mL")
	if err := plotutil.AddLines(p,
		"pump's estimate", series(tr, func(s *sim.TraceSample) float64 { return s.ReservoirEstimateML }),
		"actual (simulated)", series(tr, func(s *sim.TraceSample) float64 { return s.ReservoirActualML })); err != nil {
		return files, err
	}
	if err := add(p, "reservoir"); err != nil {
		return files, err
	}

	p = timePlot("Battery — "+name, "µAh remaining")
	if err := plotutil.AddLines(p, "battery", series(tr, func(s *sim.TraceSample) float64 { return s.BatteryUAh })); err != nil {
		return files, err
	}
	if err := add(p, "battery"); err != nil {
		return files, err
	}

	p = timePlot("Dose reaching the patient — "+name, "cumulative amount")
	var drugs []string
	for d := range tr.Units {
		drugs = append(drugs, d)
	}
	sort.Strings(drugs)
	var lines []any
	for _, d := range drugs {
		lines = append(lines, d+" ("+tr.Units[d]+")", series(tr, func(s *sim.TraceSample) float64 { return s.ToPatient[d] }))
	}
	if len(lines) > 0 {
		if err := plotutil.AddLines(p, lines...); err != nil {
			return files, err
		}
	}
	if err := add(p, "dose"); err != nil {
		return files, err
	}

	p, err := alarmPlot(tr)
	if err != nil {
		return files, err
	}
	if err := add(p, "alarms"); err != nil {
		return files, err
	}
	return files, nil
}

// alarmPlot draws each alarm as a bar on its own row from raise to clear (or to
// the end of the run), with a dot at each raise.
func alarmPlot(tr *sim.Trace) (*plot.Plot, error) {
	p := timePlot("Alarms — "+short(tr.Report.Name), "")
	end := secs(tr.Samples[len(tr.Samples)-1].At)
	start := secs(tr.Samples[0].At)
	row := map[string]int{}
	var names []string
	for _, a := range tr.Report.Alarms {
		if _, ok := row[a.Alarm]; !ok {
			row[a.Alarm] = len(names)
			names = append(names, a.Alarm)
		}
	}
	open := map[string]float64{}
	var raises plotter.XYs
	bar := func(name string, from, to float64) error {
		y := float64(row[name])
		l, err := plotter.NewLine(plotter.XYs{{X: from, Y: y}, {X: to, Y: y}})
		if err != nil {
			return err
		}
		l.Width = vg.Points(6)
		l.Color = plotutil.Color(row[name])
		p.Add(l)
		return nil
	}
	for _, a := range tr.Report.Alarms {
		t, err := unit.ParseTime(a.At)
		if err != nil {
			return nil, err
		}
		x := secs(t)
		switch a.Action {
		case "raise":
			open[a.Alarm] = x
			raises = append(raises, plotter.XY{X: x, Y: float64(row[a.Alarm])})
		case "clear":
			if from, ok := open[a.Alarm]; ok {
				if err := bar(a.Alarm, from, x); err != nil {
					return nil, err
				}
				delete(open, a.Alarm)
			}
		}
	}
	for name, from := range open {
		if err := bar(name, from, end); err != nil {
			return nil, err
		}
	}
	if len(raises) > 0 {
		s, err := plotter.NewScatter(raises)
		if err != nil {
			return nil, err
		}
		s.Color = color.Black
		p.Add(s)
		p.Legend.Add("raised", s)
	}
	labels := make([]plot.Tick, len(names))
	for i, n := range names {
		labels[i] = plot.Tick{Value: float64(i), Label: n}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(labels)
	p.Y.Min, p.Y.Max = -1, float64(max(1, len(names)))
	p.X.Min, p.X.Max = start, end
	if len(names) == 0 {
		p.Title.Text += " (none)"
	}
	return p, nil
}

// WriteTrumpet draws a trumpet curve into dir (created if missing): the
// largest and smallest error for each observation window, the software's curve
// and the mechanism's, between the ± one-stroke bound; and the flow samples.
func WriteTrumpet(dir string, tr *sim.Trumpet) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Trumpet curve at %.4g mL/day — %s", tr.RateMLPerDay, short(tr.Scenario))
	p.X.Label.Text = "observation window (min)"
	p.Y.Label.Text = "flow error (%)"
	p.Add(plotter.NewGrid())
	curve := func(c *sim.TrumpetCurve, hi bool) plotter.XYs {
		var xy plotter.XYs
		for _, w := range c.Windows {
			y := w.MinPct
			if hi {
				y = w.MaxPct
			}
			xy = append(xy, plotter.XY{X: float64(w.Minutes), Y: y})
		}
		return xy
	}
	var bound, nbound plotter.XYs
	for _, b := range tr.QuantisationPct {
		bound = append(bound, plotter.XY{X: float64(b.Minutes), Y: b.BoundPct})
		nbound = append(nbound, plotter.XY{X: float64(b.Minutes), Y: -b.BoundPct})
	}
	lines := []any{"software, max", curve(&tr.Software, true), "software, min", curve(&tr.Software, false)}
	if m := tr.WithMechanism; m != nil {
		lines = append(lines, "with mechanism, max", curve(m, true), "with mechanism, min", curve(m, false))
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	for i, xy := range []plotter.XYs{bound, nbound} {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Color = color.Gray{Y: 120}
		p.Add(l)
		if i == 0 {
			p.Legend.Add("± one stroke", l)
		}
	}
	mean := plotter.NewFunction(func(float64) float64 { return tr.Software.MeanErrorPct })
	mean.Color = color.RGBA{R: 200, A: 255}
	p.Add(mean)
	p.Legend.Add("mean error (software)", mean)
	p.Legend.Top = true
	files, err := save(p, dir, "trumpet")
	if err != nil {
		return files, err
	}

	f := plot.New()
	f.Title.Text = "Flow per 30 s sample — " + short(tr.Scenario)
	f.X.Label.Text = "minutes after stabilisation"
	f.Y.Label.Text = "mL/h"
	f.Add(plotter.NewGrid())
	flow := func(c *sim.TrumpetCurve) plotter.XYs {
		var xy plotter.XYs
		for _, s := range c.Samples[1:] {
			xy = append(xy, plotter.XY{X: s.Minute, Y: s.FlowMLPerHour})
		}
		return xy
	}
	fl := []any{"software", flow(&tr.Software)}
	if m := tr.WithMechanism; m != nil {
		fl = append(fl, "with mechanism", flow(m))
	}
	if err := plotutil.AddLines(f, fl...); err != nil {
		return files, err
	}
	rate := plotter.NewFunction(func(float64) float64 { return tr.RateMLPerHour })
	rate.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	f.Add(rate)
	f.Legend.Add("programmed", rate)
	f.Legend.Top = true
	more, err := save(f, dir, "trumpet-flow")
	return append(files, more...), err
}
