package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/thecal/thecal/unit"
)

// PopulationResult is the clinic's planning view of a run: for every month
// and column, the mean over the replicates and the 90% interval (the 5th and
// 95th percentiles, interpolated between the ranked replicates). Volumes are
// in mL; pump_years is the time pumps were implanted.
type PopulationResult struct {
	Patients          int               `json:"patients"`
	Years             int               `json:"years"`
	Seed              int64             `json:"seed"`
	Seeds             int               `json:"seeds"`
	Start             string            `json:"start"`
	ReferralsPerMonth float64           `json:"referrals_per_month"`
	PumpYears         Stat              `json:"pump_years"`
	Columns           []string          `json:"columns"`
	Months            []PopulationMonth `json:"months"`
	Total             PopulationMonth   `json:"total"`
	Params            []Param           `json:"params"`
}

// PopulationMonth is one month (or the whole run): each column's mean and 90%
// interval over the replicates, in the order of PopulationResult.Columns.
type PopulationMonth struct {
	Month string    `json:"month"`
	Mean  []float64 `json:"mean"`
	P5    []float64 `json:"p5"`
	P95   []float64 `json:"p95"`
}

// Stat is a mean and 90% interval over the replicates.
type Stat struct {
	Mean float64 `json:"mean"`
	P5   float64 `json:"p5"`
	P95  float64 `json:"p95"`
}

// Value returns the column's mean in the month, or 0 for an unknown column.
func (m *PopulationMonth) Value(res *PopulationResult, column string) float64 {
	if i := slices.Index(res.Columns, column); i >= 0 {
		return m.Mean[i]
	}
	return 0
}

// stock columns are levels at the month's end, not counts of events.
func stock(col string) bool { return col == "patients" }

// scale converts a raw count to its shown unit.
func scale(col string) (name string, factor float64) {
	switch {
	case col == "pump_ms":
		return "pump_years", 1 / float64(365*unit.Day+unit.Day/4)
	case strings.HasSuffix(strings.SplitN(col, ":", 2)[0], "_ml"):
		return col, 1 / float64(unit.Millilitre)
	}
	return col, 1
}

// Summarize turns a whole run's exact counts into the planning view. It
// refuses a shard: merge the shards first.
func Summarize(raw *PopulationRaw) (*PopulationResult, error) {
	if raw.Shard != "0/1" {
		return nil, fmt.Errorf("%w: %s is one shard; merge all the shards first (thecal sim merge)", ErrMerge, raw.Shard)
	}
	o := raw.Options
	res := &PopulationResult{Patients: o.Patients, Years: o.Years, Seed: o.Seed, Seeds: o.Seeds, Start: o.Start,
		ReferralsPerMonth: o.ReferralsPerMonth}
	factors := make([]float64, len(raw.Columns))
	for i, c := range raw.Columns {
		var name string
		name, factors[i] = scale(c)
		res.Columns = append(res.Columns, name)
	}
	ns := len(raw.Seeds)
	vals := make([]float64, ns)
	stats := func(get func(s int) float64) Stat {
		for s := range ns {
			vals[s] = get(s)
		}
		return statOf(vals)
	}
	month := func(label string, get func(s, c int) float64) PopulationMonth {
		pm := PopulationMonth{Month: label}
		for c := range raw.Columns {
			st := stats(func(s int) float64 { return get(s, c) * factors[c] })
			pm.Mean, pm.P5, pm.P95 = append(pm.Mean, st.Mean), append(pm.P5, st.P5), append(pm.P95, st.P95)
		}
		return pm
	}
	for m, label := range raw.Months {
		res.Months = append(res.Months, month(label, func(s, c int) float64 { return float64(raw.Seeds[s].Counts[m][c]) }))
	}
	last := len(raw.Months) - 1
	res.Total = month("total", func(s, c int) float64 {
		if stock(raw.Columns[c]) {
			return float64(raw.Seeds[s].Counts[last][c])
		}
		var sum int64
		for m := range raw.Months {
			sum += raw.Seeds[s].Counts[m][c]
		}
		return float64(sum)
	})
	if i := slices.Index(res.Columns, "pump_years"); i >= 0 {
		res.PumpYears = Stat{res.Total.Mean[i], res.Total.P5[i], res.Total.P95[i]}
	}
	for _, p := range defaultParams() {
		if v, ok := o.Params[p.Name]; ok && v != p.Value {
			p.Value, p.Source = v, "set by --param (default: "+strconv.FormatFloat(p.Value, 'g', -1, 64)+")"
		}
		res.Params = append(res.Params, p)
	}
	return res, nil
}

// statOf is the mean and the 5th and 95th percentiles of vs (sorted in place).
func statOf(vs []float64) Stat {
	var sum float64
	for _, v := range vs {
		sum += v
	}
	slices.Sort(vs)
	q := func(p float64) float64 {
		h := float64(len(vs)-1) * p
		lo := int(math.Floor(h))
		if lo+1 >= len(vs) {
			return vs[len(vs)-1]
		}
		return vs[lo] + (h-float64(lo))*(vs[lo+1]-vs[lo])
	}
	return Stat{Mean: sum / float64(len(vs)), P5: q(0.05), P95: q(0.95)}
}

// textColumns are the columns of the text table: heading, then column.
var textColumns = []struct{ head, col string }{
	{"patients", "patients"}, {"referrals", "referrals"}, {"trials", "trials"}, {"implants", "implants"},
	{"replaced", "replacements"}, {"revisions", "revisions"}, {"explants", "explants"}, {"deaths", "deaths"},
	{"infections", "infections"}, {"refills", "refills"}, {"flagged", "flagged_refills"}, {"boluses", "patient_boluses"},
	{"alarms", "alarms"}, {"interr.", "interruptions"}, {"drug mL", "dispensed_ml"},
}

// WriteText writes the planning table: one line a month, then the run's totals.
func (res *PopulationResult) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	seeds := "1 replicate"
	if res.Seeds > 1 {
		seeds = fmt.Sprintf("%d replicates (seeds %d to %d)", res.Seeds, res.Seed, res.Seed+int64(res.Seeds)-1)
	}
	p("Virtual clinic: %d patients with pumps at the start, %s referrals a month, %d years from %s; seed %d, %s",
		res.Patients, strconv.FormatFloat(res.ReferralsPerMonth, 'f', -1, 64), res.Years, res.Start, res.Seed, seeds)
	p("%.0f pump-years simulated%s", res.PumpYears.Mean, interval(res.Seeds, res.PumpYears, 0))
	p("")
	head := fmt.Sprintf("%-8s", "month")
	for _, c := range textColumns {
		head += fmt.Sprintf(" %*s", max(len(c.head), 7), c.head)
	}
	p("%s", head)
	row := func(m *PopulationMonth) {
		line := fmt.Sprintf("%-8s", m.Month)
		for _, c := range textColumns {
			line += fmt.Sprintf(" %*.*f", max(len(c.head), 7), decimals(res.Seeds, c.col), res.sum(m, c.col))
		}
		p("%s", line)
	}
	for i := range res.Months {
		row(&res.Months[i])
	}
	row(&res.Total)
	p("")
	if res.Seeds > 1 {
		p("Means over the replicates; --json and --csv give every column with its 90%% interval.")
	}
	p("patients: with a pump at the month's end; replaced: pump replacements (ERI); revisions: catheter")
	p("revisions; flagged: refills whose discrepancy therapy.Classify flags; alarms: raises of every kind,")
	p("interr. the ones that stop delivery; drug mL: put into pumps at refills and implants. Every column,")
	p("by cause and kind (revisions, explants, catheter faults, alarms, drug by concentration): --json, --csv.")
	p("Lifecycle model: thecal sim population --params (each number with its source, or 'assumed').")
}

// sum is the column named col, or if there is none the sum of the columns
// of group col (those named col + ":…", such as the alarms by kind).
func (res *PopulationResult) sum(m *PopulationMonth, col string) float64 {
	if i := slices.Index(res.Columns, col); i >= 0 {
		return m.Mean[i]
	}
	var v float64
	for i, c := range res.Columns {
		if strings.HasPrefix(c, col+":") {
			v += m.Mean[i]
		}
	}
	return v
}

func decimals(seeds int, col string) int {
	switch {
	case col == "dispensed_ml":
		return 1
	case seeds > 1:
		return 1
	}
	return 0
}

func interval(seeds int, s Stat, prec int) string {
	if seeds < 2 {
		return ""
	}
	return fmt.Sprintf(" (90%% interval %.*f to %.*f)", prec, s.P5, prec, s.P95)
}

// WriteCSV writes every column of every month (and the totals) with its 90%
// interval: month, then NAME, NAME_p5, NAME_p95 for each column.
func (res *PopulationResult) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"month"}
	for _, c := range res.Columns {
		head = append(head, c, c+"_p5", c+"_p95")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, m := range append(slices.Clone(res.Months), res.Total) {
		rec := []string{m.Month}
		for i := range res.Columns {
			rec = append(rec, f(m.Mean[i]), f(m.P5[i]), f(m.P95[i]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteParams lists the lifecycle model's parameters: name, value, unit, source.
func WriteParams(w io.Writer, ps []Param) {
	for _, p := range ps {
		fmt.Fprintf(w, "%-32s %10s %-16s %s\n", p.Name, strconv.FormatFloat(p.Value, 'g', 6, 64), p.Unit, p.Source)
	}
}
