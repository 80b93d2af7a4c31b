package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// PopulationOptions choose a virtual clinic: Patients implanted at Start,
// followed with the referrals that arrive for Years, over Seeds independent
// replicates (seeds Seed, Seed+1, …).
type PopulationOptions struct {
	Patients int
	Years    int
	Seed     int64
	Seeds    int // replicates; 0 means 1
	// Shard and Shards run one slice of every replicate: the patients whose
	// number is Shard modulo Shards (Shards 0 means 1). MergePopulation adds
	// the slices up to exactly what one run gives.
	Shard, Shards int
	Params        []string  // NAME=VALUE, over the lifecycle model's defaults
	Start         unit.Time // 0: 2026-01-01T00:00:00Z
	Workers       int       // 0: every CPU
	Progress      func(done, total int)
}

// PopulationStart is the default first day of a population run.
const PopulationStart = unit.Time(1767225600000) // 2026-01-01T00:00:00Z

// Limits of a run.
const (
	MaxPopulationPatients = 10_000_000
	MaxPopulationYears    = 50
	MaxPopulationSeeds    = 1000
	MaxPopulationShards   = 1_000_000
)

// The counts kept per month. Those ending in _ml are volumes (counted in nL,
// shown in mL); patients is a stock (at the month's end), pump_ms the time
// pumps were implanted in the month; every other column counts events.
const (
	cReferrals = iota
	cTrials
	cTrialFailures
	cImplants
	cReplacements
	cRevisions
	cExplants
	cDeaths
	cInfections
	cRefills
	cMissedRefills
	cFlaggedRefills
	cPatientBoluses
	cMRIs
	cInterruptions
	cPatients
	cPumpMs
	cRevision                              // + cause
	cExplant  = cRevision + int(numFaults) // + reason
	cFault    = cExplant + numExplants     // catheter faults put on the hardware, + cause
	cAlarm    = cFault + int(numFaults)    // alarm raises, + pump.Alarm - 1
	cDispense = cAlarm + numAlarmCols      // drug put into pumps, nL, + product
	cDeliver  = cDispense + numProducts    // drug the pumps delivered, nL, + product
	numCols   = cDeliver + numProducts
)

// numAlarmCols is how many alarms the pump has (LOW_RESERVOIR … DAILY_CAP).
const numAlarmCols = 11

// fault is a catheter problem and what the pump can tell of it.
type fault int

const (
	faultOcclusion fault = iota
	faultKink
	faultLeak
	faultDisconnection
	faultMigration
	faultMass // inflammatory mass at the catheter tip (opioids)
	numFaults
)

var faultNames = [numFaults]string{"occlusion", "kink", "leak", "disconnection", "migration", "inflammatory_mass"}

const (
	explantInfection = iota
	explantEfficacy
	explantChoice
	numExplants
)

var explantNames = [numExplants]string{"infection", "efficacy", "choice"}

// numPumpAlarms is how many alarms the pump has (pump.Alarm 1 …).
var numPumpAlarms = func() pump.Alarm {
	a := pump.Alarm(1)
	for a.String() != "UNKNOWN_ALARM" {
		a++
	}
	if a-1 != numAlarmCols {
		panic("sim: the pump's alarms changed: update numAlarmCols")
	}
	return a - 1
}()

// product is a drug and concentration the clinic stocks.
type product struct {
	drug, conc string
	mgPerML    float64       // for the inflammatory mass hazard (opioids), 0 otherwise
	stability  unit.Duration // the longest time between refills
}

var products = []product{
	{"baclofen", "2000 mcg/mL", 0, 180 * unit.Day},
	{"morphine", "10 mg/mL", 10, 90 * unit.Day},
	{"morphine", "25 mg/mL", 25, 90 * unit.Day},
}

const numProducts = 3

// PopulationColumns names the monthly counts, in order.
var PopulationColumns = func() []string {
	c := make([]string, numCols)
	for i, n := range []string{"referrals", "trials", "trial_failures", "implants", "replacements", "revisions", "explants",
		"deaths", "infections", "refills", "missed_refills", "flagged_refills", "patient_boluses", "mris", "interruptions",
		"patients", "pump_ms"} {
		c[i] = n
	}
	for f := range numFaults {
		c[cRevision+int(f)] = "revisions:" + faultNames[f]
		c[cFault+int(f)] = "catheter_faults:" + faultNames[f]
	}
	for i := range numExplants {
		c[cExplant+i] = "explants:" + explantNames[i]
	}
	for a := pump.Alarm(1); a <= numPumpAlarms; a++ {
		c[cAlarm+int(a)-1] = "alarms:" + a.String()
	}
	for i, p := range products {
		c[cDispense+i] = "dispensed_ml:" + p.drug + " " + p.conc
		c[cDeliver+i] = "delivered_ml:" + p.drug + " " + p.conc
	}
	return c
}()

// PopulationRaw is a run's exact counts: for every replicate, every month
// and column, an integer. Shards of one run add up to the run
// (MergePopulation); Summarize turns it into the clinic's planning view.
type PopulationRaw struct {
	Version int                     `json:"version"`
	Options PopulationOptionsRecord `json:"options"`
	Shard   string                  `json:"shard"` // "i/N"; "0/1" for a whole run
	Columns []string                `json:"columns"`
	Months  []string                `json:"months"` // YYYY-MM
	Seeds   []SeedCounts            `json:"seeds"`
}

// PopulationOptionsRecord is what a raw result was run with: shards of one
// run must agree on all of it.
type PopulationOptionsRecord struct {
	Patients          int                `json:"patients"`
	Years             int                `json:"years"`
	Seed              int64              `json:"seed"`
	Seeds             int                `json:"seeds"`
	Start             string             `json:"start"`
	ReferralsPerMonth float64            `json:"referrals_per_month"`
	Params            map[string]float64 `json:"params"`
}

// SeedCounts are one replicate's counts, month by month, column by column.
type SeedCounts struct {
	Seed   int64     `json:"seed"`
	Counts [][]int64 `json:"counts"`
}

// popRun is one population run in progress.
type popRun struct {
	o        PopulationOptions
	par      *params
	start    unit.Time
	end      unit.Time
	months   []unit.Time // month starts, and the end
	refRate  float64     // referrals a month
	referral [][]int     // per replicate: referrals per month
}

// RunPopulation simulates the clinic (or one shard of it) and returns its
// exact counts. Every patient draws from its own generator, seeded from the
// replicate's seed and the patient's number, and counts are integers added up
// per worker, so the result depends neither on the workers nor on the order
// they finish in. Memory does not grow with the number of patients: each
// worker follows one patient at a time and keeps only the counts.
func RunPopulation(o PopulationOptions) (*PopulationRaw, error) {
	pr, err := newPopRun(o)
	if err != nil {
		return nil, err
	}
	return pr.run()
}

func newPopRun(o PopulationOptions) (*popRun, error) {
	if o.Seeds == 0 {
		o.Seeds = 1
	}
	if o.Shards == 0 {
		o.Shards = 1
	}
	switch {
	case o.Patients < 1 || o.Patients > MaxPopulationPatients:
		return nil, &OptionError{Option: "--patients", Reason: fmt.Sprintf("%d is outside 1 to %d", o.Patients, MaxPopulationPatients)}
	case o.Years < 1 || o.Years > MaxPopulationYears:
		return nil, &OptionError{Option: "--years", Reason: fmt.Sprintf("%d is outside 1 to %d", o.Years, MaxPopulationYears)}
	case o.Seeds < 1 || o.Seeds > MaxPopulationSeeds:
		return nil, &OptionError{Option: "--seeds", Reason: fmt.Sprintf("%d is outside 1 to %d", o.Seeds, MaxPopulationSeeds)}
	case o.Shards < 1 || o.Shards > MaxPopulationShards:
		return nil, &OptionError{Option: "--shard", Reason: fmt.Sprintf("%d shards is outside 1 to %d", o.Shards, MaxPopulationShards)}
	case o.Shard < 0 || o.Shard >= o.Shards:
		return nil, &OptionError{Option: "--shard", Reason: fmt.Sprintf("shard %d is outside 0 to %d", o.Shard, o.Shards-1)}
	case o.Seed > math.MaxInt64-int64(o.Seeds):
		return nil, &OptionError{Option: "--seed", Reason: "too large for the number of seeds"}
	}
	par, err := newParams(o.Params)
	if err != nil {
		return nil, err
	}
	if o.Start == 0 {
		o.Start = PopulationStart
	}
	pr := &popRun{o: o, par: par, start: o.Start}
	pr.end = unit.FromStd(o.Start.Std().AddDate(o.Years, 0, 0))
	for m := 0; ; m++ {
		t := unit.FromStd(o.Start.Std().AddDate(0, m, 0))
		pr.months = append(pr.months, t)
		if t >= pr.end {
			break
		}
	}
	pr.refRate = par.get("referrals_per_month")
	if pr.refRate < 0 {
		pr.refRate = 0.011 * float64(o.Patients)
	}
	if pr.refRate*float64(len(pr.months)-1)+float64(o.Patients) > 2*MaxPopulationPatients {
		return nil, &OptionError{Option: "--param", Reason: "referrals_per_month: too many patients in all"}
	}
	// Referrals per month, per replicate: a Poisson process drawn from the
	// replicate's own generator, month by month.
	for s := range o.Seeds {
		g := newGen(mix(o.Seed+int64(s), 0x72656665727261), 0)
		counts := make([]int, len(pr.months)-1)
		for m := range counts {
			for t := g.rng.ExpFloat64(); t < pr.refRate; t += g.rng.ExpFloat64() {
				counts[m]++
			}
		}
		pr.referral = append(pr.referral, counts)
	}
	return pr, nil
}

// finishedOrNil waits on c unless it is nil (already received from).
func finishedOrNil(c chan struct{}) chan struct{} {
	if c == nil {
		c = make(chan struct{})
		close(c)
	}
	return c
}

// mix is a splitmix64 hash of a seed and a stream: independent generators
// for independent purposes.
func mix(seed int64, stream uint64) uint64 { return caseSeed(seed^int64(stream), 0) }

// newGen returns the generator of patient k of a stream.
func newGen(s uint64, k int) *gen {
	z := caseSeed(int64(s), k)
	return &gen{rng: rand.New(rand.NewPCG(z, z^0x51ed2701a3b4c5d7))}
}

// record is the options as recorded in a raw result.
func (pr *popRun) record() PopulationOptionsRecord {
	ps := map[string]float64{}
	for _, p := range pr.par.list {
		ps[p.Name] = p.Value
	}
	return PopulationOptionsRecord{Patients: pr.o.Patients, Years: pr.o.Years, Seed: pr.o.Seed, Seeds: pr.o.Seeds,
		Start: rfc(pr.start)[:10], ReferralsPerMonth: pr.refRate, Params: ps}
}

// patients is how many patients replicate s has: the starting cohort, then
// its referrals in order of arrival.
func (pr *popRun) patients(s int) int {
	n := pr.o.Patients
	for _, c := range pr.referral[s] {
		n += c
	}
	return n
}

func (pr *popRun) run() (*PopulationRaw, error) {
	o := pr.o
	// The shard's patients of every replicate, one after the other.
	first := make([]int, o.Seeds+1) // first[s]: the shard's first item of replicate s
	for s := range o.Seeds {
		n := pr.patients(s)
		mine := 0
		if n > o.Shard {
			mine = (n - o.Shard + o.Shards - 1) / o.Shards
		}
		first[s+1] = first[s] + mine
	}
	total := first[o.Seeds]
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, total))
	accs := make([][][][]int64, workers)
	var next, done atomic.Int64
	var mu sync.Mutex
	errItem, firstErr := total, error(nil)
	var wg sync.WaitGroup
	for w := range workers {
		accs[w] = pr.newCounts()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps := &patientSim{pr: pr}
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				s := sort.SearchInts(first, i+1) - 1
				k := o.Shard + (i-first[s])*o.Shards
				if err := ps.simulate(s, k, accs[w][s]); err != nil {
					mu.Lock()
					if i < errItem {
						errItem, firstErr = i, fmt.Errorf("seed %d, patient %d: %w", o.Seed+int64(s), k, err)
					}
					mu.Unlock()
				}
				done.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for o.Progress != nil {
		select {
		case <-finished:
			o.Progress(total, total)
			finished = nil
		case <-time.After(100 * time.Millisecond):
			o.Progress(int(done.Load()), total)
			continue
		}
		break
	}
	<-finishedOrNil(finished)
	if firstErr != nil {
		return nil, firstErr
	}
	raw := &PopulationRaw{Version: 1, Options: pr.record(), Shard: fmt.Sprintf("%d/%d", o.Shard, o.Shards),
		Columns: PopulationColumns}
	for m := range len(pr.months) - 1 {
		raw.Months = append(raw.Months, pr.months[m].Std().Format("2006-01"))
	}
	sum := pr.newCounts()
	for _, acc := range accs {
		addCounts(sum, acc)
	}
	for s := range o.Seeds {
		raw.Seeds = append(raw.Seeds, SeedCounts{Seed: o.Seed + int64(s), Counts: sum[s]})
	}
	return raw, nil
}

func (pr *popRun) newCounts() [][][]int64 {
	acc := make([][][]int64, pr.o.Seeds)
	for s := range acc {
		acc[s] = make([][]int64, len(pr.months)-1)
		for m := range acc[s] {
			acc[s][m] = make([]int64, numCols)
		}
	}
	return acc
}

func addCounts(dst, src [][][]int64) {
	for s := range src {
		for m := range src[s] {
			for c, v := range src[s][m] {
				dst[s][m][c] += v
			}
		}
	}
}

// month returns the month holding t (the last month for the end itself).
func (pr *popRun) month(t unit.Time) int {
	m := sort.Search(len(pr.months), func(i int) bool { return pr.months[i] > t }) - 1
	return max(0, min(m, len(pr.months)-2))
}

// ErrMerge is returned for shard results that do not make up one run.
var ErrMerge = errors.New("sim: the shards do not make up one run")

// MergePopulation adds up the raw results of the shards of one run: every
// shard of the same options exactly once. The sum is exactly the raw result
// of the whole run.
func MergePopulation(parts []*PopulationRaw) (*PopulationRaw, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no shard given", ErrMerge)
	}
	var n int
	seen := map[int]bool{}
	for i, p := range parts {
		var k, of int
		if _, err := fmt.Sscanf(p.Shard, "%d/%d", &k, &of); err != nil || of < 1 || k < 0 || k >= of || fmt.Sprintf("%d/%d", k, of) != p.Shard {
			return nil, fmt.Errorf("%w: part %d: shard %q is not i/N", ErrMerge, i+1, p.Shard)
		}
		if i == 0 {
			n = of
		}
		switch {
		case p.Version != 1:
			return nil, fmt.Errorf("%w: part %d: version %d, want 1", ErrMerge, i+1, p.Version)
		case of != n:
			return nil, fmt.Errorf("%w: part %d is shard %s, part 1 of %d shards", ErrMerge, i+1, p.Shard, n)
		case seen[k]:
			return nil, fmt.Errorf("%w: shard %s is given twice", ErrMerge, p.Shard)
		case !sameRecord(&p.Options, &parts[0].Options):
			return nil, fmt.Errorf("%w: part %d was run with other options than part 1", ErrMerge, i+1)
		case !equalStrings(p.Columns, parts[0].Columns) || !equalStrings(p.Months, parts[0].Months):
			return nil, fmt.Errorf("%w: part %d has other columns or months than part 1", ErrMerge, i+1)
		case len(p.Seeds) != p.Options.Seeds:
			return nil, fmt.Errorf("%w: part %d has %d replicates, its options say %d", ErrMerge, i+1, len(p.Seeds), p.Options.Seeds)
		}
		for s, sc := range p.Seeds {
			if sc.Seed != p.Options.Seed+int64(s) || len(sc.Counts) != len(p.Months) {
				return nil, fmt.Errorf("%w: part %d: replicate %d is malformed", ErrMerge, i+1, s+1)
			}
			for _, row := range sc.Counts {
				if len(row) != len(p.Columns) {
					return nil, fmt.Errorf("%w: part %d: replicate %d is malformed", ErrMerge, i+1, s+1)
				}
			}
		}
		seen[k] = true
	}
	if len(seen) != n {
		var missing []int
		for k := range n {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		return nil, fmt.Errorf("%w: %d of %d shards given; missing %v", ErrMerge, len(seen), n, missing[:min(len(missing), 10)])
	}
	out := &PopulationRaw{Version: 1, Options: parts[0].Options, Shard: "0/1", Columns: parts[0].Columns, Months: parts[0].Months}
	for s, sc := range parts[0].Seeds {
		sum := SeedCounts{Seed: sc.Seed, Counts: make([][]int64, len(sc.Counts))}
		for m := range sc.Counts {
			sum.Counts[m] = make([]int64, len(sc.Counts[m]))
			for _, p := range parts {
				for c, v := range p.Seeds[s].Counts[m] {
					sum.Counts[m][c] += v
				}
			}
		}
		out.Seeds = append(out.Seeds, sum)
	}
	return out, nil
}

func sameRecord(a, b *PopulationOptionsRecord) bool {
	if a.Patients != b.Patients || a.Years != b.Years || a.Seed != b.Seed || a.Seeds != b.Seeds || a.Start != b.Start ||
		a.ReferralsPerMonth != b.ReferralsPerMonth || len(a.Params) != len(b.Params) {
		return false
	}
	for k, v := range a.Params {
		if w, ok := b.Params[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
