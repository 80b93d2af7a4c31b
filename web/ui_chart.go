package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// svgPlot draws a small line chart in SVG: time across, a quantity up.
type svgPlot struct {
	title, desc  string
	from, to     time.Time
	ymax         float64
	ylabel       string
	b            strings.Builder
	w, h, l, bot float64
}

func newPlot(title, desc string, from, to time.Time, ymax float64, ylabel string) *svgPlot {
	p := &svgPlot{title: title, desc: desc, from: from, to: to, ymax: ymax, ylabel: ylabel, w: 720, h: 220, l: 70, bot: 30}
	if p.ymax <= 0 {
		p.ymax = 1
	}
	return p
}

func (p *svgPlot) x(t time.Time) float64 {
	span := p.to.Sub(p.from).Seconds()
	if span <= 0 {
		return p.l
	}
	return p.l + (p.w-p.l-10)*t.Sub(p.from).Seconds()/span
}

func (p *svgPlot) y(v float64) float64 { return 10 + (p.h-p.bot-10)*(1-v/(p.ymax*1.1)) }

func (p *svgPlot) path(cls string, pts [][2]float64) {
	if len(pts) == 0 {
		return
	}
	fmt.Fprintf(&p.b, `<path class="%s" d="`, cls)
	for i, q := range pts {
		c := "L"
		if i == 0 {
			c = "M"
		}
		fmt.Fprintf(&p.b, "%s%.1f %.1f ", c, q[0], q[1])
	}
	p.b.WriteString(`"/>`)
}

func (p *svgPlot) marker(t time.Time, cls, label string) {
	if t.Before(p.from) || t.After(p.to) {
		return
	}
	x := p.x(t)
	// Labels right of the line, or left of it near the right edge; each
	// kind of marker on its own row so that they do not overlap.
	anchor, tx := "start", x+3
	if x > p.w-160 {
		anchor, tx = "end", x-3
	}
	y := map[string]float64{"now": 22, "due": 38, "low": 54}[cls]
	fmt.Fprintf(&p.b, `<line class="%s" x1="%.1f" x2="%.1f" y1="10" y2="%.1f"/><text class="%s" x="%.1f" y="%.0f" text-anchor="%s">%s</text>`,
		cls, x, x, p.h-p.bot, cls, tx, y, anchor, html.EscapeString(label))
}

func (p *svgPlot) svg() template.HTML {
	var o strings.Builder
	fmt.Fprintf(&o, `<svg class="plot" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="t-%s d-%s" xmlns="http://www.w3.org/2000/svg">`,
		p.w, p.h, slug(p.title), slug(p.title))
	fmt.Fprintf(&o, `<title id="t-%s">%s</title><desc id="d-%s">%s</desc>`, slug(p.title), html.EscapeString(p.title), slug(p.title), html.EscapeString(p.desc))
	fmt.Fprintf(&o, `<line class="axis" x1="%.0f" y1="10" x2="%.0f" y2="%.0f"/><line class="axis" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>`,
		p.l, p.l, p.h-p.bot, p.l, p.h-p.bot, p.w-10, p.h-p.bot)
	fmt.Fprintf(&o, `<text class="tick" x="4" y="%.1f">%s</text><text class="tick" x="4" y="%.1f">0</text>`, p.y(p.ymax)+4, html.EscapeString(p.ylabel), p.h-p.bot)
	for i := 0; i <= 4; i++ {
		t := p.from.Add(time.Duration(float64(p.to.Sub(p.from)) * float64(i) / 4))
		fmt.Fprintf(&o, `<text class="tick" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, min(max(p.x(t), p.l+30), p.w-40), p.h-8, t.Format("Jan 2006"))
	}
	o.WriteString(p.b.String())
	o.WriteString(`</svg>`)
	return template.HTML(o.String())
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, s)
}

// charts draws the daily dose and the reservoir volume over time, marking the
// next refill, low-reservoir and end-of-service dates (clinic.Dates: the same
// the worklist and the documents show).
func (s *Server) charts(rec *clinic.PatientRecord, c *chart, now time.Time) (dose, res template.HTML) {
	if c.Implant == nil || len(rec.Prescriptions) == 0 {
		return "", ""
	}
	d := &rec.Dates
	u := s.drugUnit(c.Rx.Program.Drug)
	from := c.Implant.ImplantedAt
	if now.Sub(from) > 400*24*time.Hour {
		from = now.Add(-400 * 24 * time.Hour)
	}
	to := now.Add(90 * 24 * time.Hour)
	// Reservoir: fills, withdrawals, reports and the projection.
	fillAt, fill := c.Implant.ImplantedAt, c.Implant.InitialFill
	if c.Refill != nil {
		fillAt, fill = c.Refill.At, c.Refill.Added
	}
	low := pump.LowReservoirDefault
	if c.Rx.Program.LowReservoir > 0 {
		low = c.Rx.Program.LowReservoir
	}
	for _, f := range []*clinic.DateFact{d.LowReservoir, d.NextRefill} {
		if f != nil && f.Date.After(to) {
			to = f.Date.Add(10 * 24 * time.Hour)
		}
	}
	if to.Sub(from) > 800*24*time.Hour {
		to = from.Add(800 * 24 * time.Hour)
	}
	marks := func(p *svgPlot) {
		p.marker(now, "now", "today")
		if f := d.NextRefill; f != nil {
			p.marker(f.Date, "due", "next refill "+f.Date.Format("2 Jan"))
		}
	}
	var maxDose unit.DoseRate
	for _, rx := range rec.Prescriptions {
		maxDose = max(maxDose, rx.DosePerDay)
	}
	dp := newPlot("Daily dose", fmt.Sprintf("Daily dose of %s over time; now %s", c.Rx.Program.Drug, c.RxDose), from, to, float64(maxDose), maxDose.Format(u))
	var pts [][2]float64
	for i, rx := range rec.Prescriptions {
		t := rx.StartAt
		if t.Before(from) {
			if i+1 < len(rec.Prescriptions) && !rec.Prescriptions[i+1].StartAt.After(from) {
				continue
			}
			t = from
		}
		y := dp.y(float64(rx.DosePerDay))
		if len(pts) > 0 {
			pts = append(pts, [2]float64{dp.x(t), pts[len(pts)-1][1]})
		}
		pts = append(pts, [2]float64{dp.x(t), y})
	}
	if len(pts) > 0 {
		pts = append(pts, [2]float64{dp.x(now), pts[len(pts)-1][1]})
	}
	dp.path("line", pts)
	marks(dp)

	model := c.Implant.Model
	rp := newPlot("Reservoir volume", fmt.Sprintf("Reservoir volume of pump %s over time", c.Implant.Serial), from, to, model.Reservoir().Millilitres(), model.Reservoir().String())
	mlOf := func(v unit.Volume) float64 { return v.Millilitres() }
	pts = nil
	prevAt, prev := c.Implant.ImplantedAt, c.Implant.InitialFill
	add := func(t time.Time, v unit.Volume) {
		if !t.Before(from) {
			pts = append(pts, [2]float64{rp.x(t), rp.y(mlOf(v))})
		}
	}
	add(prevAt, prev)
	for _, rf := range rec.Refills {
		if rf.ImplantID != c.Implant.ID {
			continue
		}
		add(rf.At.Add(-time.Minute), rf.Withdrawn)
		add(rf.At, rf.Added)
		prevAt, prev = rf.At, rf.Added
	}
	rp.path("line", pts)
	// The projection (clinic.Dates: the worst case, every allowed bolus) from
	// the fill to the low-reservoir threshold.
	if f := d.LowReservoir; f != nil && f.Date.After(fillAt) {
		rp.path("proj", [][2]float64{{rp.x(maxTime(fillAt, from)), rp.y(mlOf(fill))}, {rp.x(f.Date), rp.y(mlOf(low))}})
		rp.marker(f.Date, "low", "low reservoir "+f.Date.Format("2 Jan"))
	}
	for _, r := range rec.Reports {
		if r.ImplantID == c.Implant.ID && !r.InterrogatedAt.Before(from) {
			fmt.Fprintf(&rp.b, `<circle class="report" cx="%.1f" cy="%.1f" r="2.5"/>`, rp.x(r.InterrogatedAt), rp.y(mlOf(r.Status.Reservoir)))
		}
	}
	fmt.Fprintf(&rp.b, `<line class="threshold" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/>`, rp.l, rp.w-10, rp.y(mlOf(low)), rp.y(mlOf(low)))
	marks(rp)
	return dp.svg(), rp.svg()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
