package chart

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/thecal/thecal/sim"
)

// populationPlots are the clinic's pictures: the file, the title and the
// columns drawn, one panel each (a column ending in ":" draws every column of
// that group that is not zero throughout).
var populationPlots = []struct {
	file, title string
	columns     []string
}{
	{"procedures", "Trials and surgery a month", []string{"trials", "implants", "replacements", "revisions", "explants", "deaths"}},
	{"refills", "Refill visits and patient boluses a month", []string{"refills", "missed_refills", "flagged_refills", "patient_boluses"}},
	{"revisions", "Catheter revisions a month, by cause", []string{"revisions:"}},
	{"alarms", "Pump alarms raised a month, by kind", []string{"alarms:"}},
	{"drug", "Drug a month (mL): put into pumps, and delivered", []string{"dispensed_ml:", "delivered_ml:"}},
	{"patients", "Patients, referrals and infections a month", []string{"patients", "referrals", "infections", "interruptions"}},
}

// panel sizes.
const (
	panelW    = 3.3 * vg.Inch
	panelH    = 2.2 * vg.Inch
	panelCols = 3
)

// WritePopulation draws the clinic's monthly counts into dir (created if
// missing) as pictures of panels, one per column, each as SVG and PNG: the
// mean over the replicates as a line and, with more than one replicate, the
// 90% interval as a band around it. It returns the files written.
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
		var cols []int
		for _, want := range pp.columns {
			for c, name := range res.Columns {
				group := strings.HasSuffix(want, ":") && strings.HasPrefix(name, want)
				if name == want || group && res.Total.Mean[c] != 0 {
					cols = append(cols, c)
				}
			}
		}
		title := fmt.Sprintf("%s — %d patients, %d years", pp.title, res.Patients, res.Years)
		if res.Seeds > 1 {
			title += fmt.Sprintf(", %d replicates (mean, 90%% band)", res.Seeds)
		}
		fs, err := savePanels(dir, "population-"+pp.file, title, x, res, cols)
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// savePanels draws one panel per column under a title, as SVG and PNG.
func savePanels(dir, name, title string, x []float64, res *sim.PopulationResult, cols []int) ([]string, error) {
	if len(cols) == 0 {
		p := plot.New()
		p.Title.Text = title + " (none)"
		return save(p, dir, name)
	}
	rows := (len(cols) + panelCols - 1) / panelCols
	ncol := min(len(cols), panelCols)
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, ncol)
	}
	for i, c := range cols {
		p, err := panel(x, res, c, i)
		if err != nil {
			return nil, err
		}
		grid[i/ncol][i%ncol] = p
	}
	w, h := panelW*vg.Length(ncol), panelH*vg.Length(rows)+0.4*vg.Inch
	var out []string
	for _, f := range Formats {
		cw, err := draw.NewFormattedCanvas(w, h, f)
		if err != nil {
			return out, fmt.Errorf("chart: %w", err)
		}
		dc := draw.New(cw)
		head := plot.New()
		head.Title.Text = title
		head.HideAxes()
		head.Draw(draw.Crop(dc, 0, 0, h-0.4*vg.Inch, 0))
		body := draw.Crop(dc, 0, 0, 0, -0.4*vg.Inch)
		tiles := draw.Tiles{Rows: rows, Cols: ncol, PadX: 0.15 * vg.Inch, PadY: 0.15 * vg.Inch,
			PadTop: 0.05 * vg.Inch, PadBottom: 0.05 * vg.Inch, PadLeft: 0.05 * vg.Inch, PadRight: 0.15 * vg.Inch}
		canvases := plot.Align(grid, tiles, body)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
		path := filepath.Join(dir, name+"."+f)
		file, err := os.Create(path)
		if err != nil {
			return out, fmt.Errorf("chart: %w", err)
		}
		_, err = cw.WriteTo(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return out, fmt.Errorf("chart: %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// panel draws column c: its 90% band (with more than one replicate) and its mean.
func panel(x []float64, res *sim.PopulationResult, c, i int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = res.Columns[c]
	p.Title.TextStyle.Font.Size = 10
	p.X.Tick.Marker = yearTicks{}
	p.Add(plotter.NewGrid())
	col := color.RGBA{R: 31, G: 119, B: 180, A: 255}
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
			return nil, err
		}
		poly.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 60}
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	mean := make(plotter.XYs, len(x))
	for m := range x {
		mean[m] = plotter.XY{X: x[m], Y: res.Months[m].Mean[c]}
	}
	l, err := plotter.NewLine(mean)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = 1.2
	p.Add(l)
	p.Y.Min = 0
	return p, nil
}

// yearTicks marks every 1 January on a time axis in Unix seconds, labelled
// with the year (every second year when there are more than eight).
type yearTicks struct{}

func (yearTicks) Ticks(min, max float64) []plot.Tick {
	lo := time.Unix(int64(min), 0).UTC().Year()
	hi := time.Unix(int64(max), 0).UTC().Year()
	step := 1
	if hi-lo > 8 {
		step = 2
	}
	var ts []plot.Tick
	for y := lo; y <= hi+1; y++ {
		v := float64(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
		if v < min || v > max {
			continue
		}
		t := plot.Tick{Value: v}
		if (y-lo)%step == 0 {
			t.Label = fmt.Sprint(y)
		}
		ts = append(ts, t)
	}
	return ts
}
