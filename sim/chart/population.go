package chart

import (
	"fmt"
	"image/color"
	"os"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/thecal/thecal/sim"
)

// populationPlots are the clinic's pictures: the file, the title, the y
// label and the columns drawn (a column ending in ":" draws every column of
// that group with a nonzero total).
var populationPlots = []struct {
	file, title, ylabel string
	columns             []string
}{
	{"procedures", "Trials and surgery a month", "procedures",
		[]string{"trials", "implants", "replacements", "revisions", "explants", "deaths"}},
	{"refills", "Refill visits a month", "visits", []string{"refills", "missed_refills", "flagged_refills"}},
	{"revisions", "Catheter revisions a month, by cause", "revisions", []string{"revisions:"}},
	{"alarms", "Pump alarms raised a month, by kind", "alarms", []string{"alarms:"}},
	{"drug", "Drug put into pumps a month, by drug and concentration", "mL", []string{"dispensed_ml:"}},
	{"patients", "Patients with a pump (month's end) and referrals", "patients", []string{"patients", "referrals"}},
}

// WritePopulation draws the clinic's monthly counts into dir (created if
// missing), each as SVG and PNG: the mean over the replicates as a line, and
// with more than one replicate the 90% interval as a band around it. It
// returns the files written.
func WritePopulation(dir string, res *sim.PopulationResult) ([]string, error) {
	if len(res.Months) == 0 {
		return nil, ErrNoData
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	x := make([]float64, len(res.Months)) // mid-month, Unix seconds
	for i, m := range res.Months {
		t, err := time.Parse("2006-01", m.Month)
		if err != nil {
			return nil, fmt.Errorf("chart: month %q: %w", m.Month, err)
		}
		x[i] = float64(t.AddDate(0, 0, 14).Unix())
	}
	var files []string
	for _, pp := range populationPlots {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s — %d patients at the start, %d years", pp.title, res.Patients, res.Years)
		if res.Seeds > 1 {
			p.Title.Text += fmt.Sprintf(", %d replicates (mean, 90%% band)", res.Seeds)
		}
		p.X.Label.Text = "month"
		p.Y.Label.Text = pp.ylabel
		p.X.Tick.Marker = plot.TimeTicks{Format: "2006-01"}
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		n := 0
		for _, want := range pp.columns {
			for c, name := range res.Columns {
				group := strings.HasSuffix(want, ":") && strings.HasPrefix(name, want)
				if name != want && !group {
					continue
				}
				if group && res.Total.Mean[c] == 0 {
					continue // a kind that never happened
				}
				if err := addSeries(p, x, res, c, strings.TrimPrefix(name, want), n); err != nil {
					return files, err
				}
				n++
			}
		}
		if n == 0 {
			p.Title.Text += " (none)"
		}
		fs, err := save(p, dir, "population-"+pp.file)
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// addSeries draws column c: its 90% band (with more than one replicate) and
// its mean.
func addSeries(p *plot.Plot, x []float64, res *sim.PopulationResult, c int, label string, i int) error {
	col := plotutil.Color(i)
	if res.Seeds > 1 {
		band := make(plotter.XYs, 0, 2*len(x))
		for m := range x {
			band = append(band, plotter.XY{X: x[m], Y: res.Months[m].P95[c]})
		}
		for m := len(x) - 1; m >= 0; m-- {
			band = append(band, plotter.XY{X: x[m], Y: res.Months[m].P5[c]})
		}
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return err
		}
		r, g, b, _ := col.RGBA()
		poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 60}
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	mean := make(plotter.XYs, len(x))
	for m := range x {
		mean[m] = plotter.XY{X: x[m], Y: res.Months[m].Mean[c]}
	}
	l, err := plotter.NewLine(mean)
	if err != nil {
		return err
	}
	l.Color = col
	l.Dashes = plotutil.Dashes(i / 7)
	l.Width = 1.5
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}
