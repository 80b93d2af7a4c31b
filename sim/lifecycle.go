package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Param is one number of the population's lifecycle model: its name (what
// --param NAME=VALUE sets), value, unit, and where it comes from — a
// published source, or "assumed" when no source gives it (docs/simulator.md
// gives each in full).
type Param struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
	min    float64
	max    float64
}

// Sources of the published numbers (full references in docs/simulator.md).
const (
	srcYoon     = "Yoon et al. 2017, Medicine 96(34):e7472: 32 of 37 positive responses to an intrathecal baclofen test bolus"
	srcAnderson = "Anderson & Burchiel 1999, Neurosurgery 44(2):289-300: 30 of 40 patients trialled with intrathecal morphine were implanted"
	srcCoffey   = "Coffey et al. 2009, Anesthesiology 111(4):881-891: 1-year mortality 3.89% after implant for noncancer pain; hazard -ln(1-0.0389)"
	srcSmith    = "Smith et al. 2002, J Clin Oncol 20(19):4040-4049: 53.9% of IDDS patients alive at 6 months; hazard -ln(0.539)/0.5 y"
	srcMotta    = "Motta & Antonello 2014, J Neurosurg Pediatr 13(3):301-306: infection in 6% after first implant, 10.6% after pump replacement"
	srcFeller   = "Feller et al. 2021, Neuromodulation 24(7):1176-1180: 126 patients, mean 43 months (451.5 patient-years): "
	srcDuarte   = "Duarte et al., 'Intrathecal inflammatory masses: is the yearly opioid dose increase an early indicator?' (research.birmingham.ac.uk): 0.009 events per patient-year"
)

// defaultParams is the model as shipped. Rates are per year unless the unit
// says otherwise; probabilities are fractions.
func defaultParams() []Param {
	a := "assumed"
	return []Param{
		// The clinic.
		{"referrals_per_month", -1, "referrals/month", a + " (-1: 1.1% of --patients a month, about what keeps the clinic its size)", -1, 1e6},
		{"cohort_spasticity", 0.60, "fraction", a + ": indication of the patients implanted at the start", 0, 1},
		{"cohort_cancer_pain", 0.05, "fraction", a + " (the rest: noncancer pain)", 0, 1},
		{"referral_spasticity", 0.45, "fraction", a + ": indication of referrals", 0, 1},
		{"referral_cancer_pain", 0.20, "fraction", a + " (the rest: noncancer pain)", 0, 1},
		{"trial_wait_days_min", 14, "days", a + ": referral to screening trial", 0, 3650},
		{"trial_wait_days_max", 60, "days", a, 0, 3650},
		{"implant_wait_days_min", 14, "days", a + ": successful trial to implant", 0, 3650},
		{"implant_wait_days_max", 60, "days", a, 0, 3650},
		{"trial_success_spasticity", 32.0 / 37, "probability", srcYoon, 0, 1},
		{"trial_success_noncancer_pain", 30.0 / 40, "probability", srcAnderson, 0, 1},
		{"trial_success_cancer_pain", 0.75, "probability", a + " (as noncancer pain)", 0, 1},
		// The patients.
		{"mortality_spasticity", 0.02, "/year", a, 0, 100},
		{"mortality_noncancer_pain", -math.Log(1 - 0.0389), "/year", srcCoffey, 0, 100},
		{"mortality_cancer_pain", -math.Log(0.539) / 0.5, "/year", srcSmith, 0, 100},
		{"explant_efficacy", 0.02, "/year", a + ": explant for loss of efficacy", 0, 100},
		{"explant_choice", 0.01, "/year", a + ": explant at the patient's choice", 0, 100},
		{"ptm_fraction", 0.20, "fraction", a + ": patients with a patient therapy manager (0.02 mL over 10 min, lockout 3 h, 4 a day)", 0, 1},
		{"ptm_presses_min", 0.2, "presses/day", a, 0, 48},
		{"ptm_presses_max", 2, "presses/day", a, 0, 48},
		{"morphine_25_fraction", 0.5, "fraction", a + ": morphine patients on 25 mg/mL (the rest 10 mg/mL)", 0, 1},
		{"rate_median", 0.25, "mL/day", a + ": basal rate, log-normal, clipped to 0.048-1 mL/day", 0.048, 24},
		{"rate_sigma", 0.6, "log", a, 0, 5},
		{"tp40_fraction", 0.30, "fraction", a + ": TP-40 pumps (the rest TP-20)", 0, 1},
		{"pressure_sensor", 1, "fraction", a + ": pumps with the outlet pressure sensor (Thecal's own design)", 0, 1},
		{"catheter_length_cm", 50, "cm", a + ": every catheter's length (0.0022 mL/cm, the pump's default)", 1, 200},
		{"battery_age_years_max", 6, "years", a + ": the starting cohort's pumps have run 0 to this many years at their rate", 0, 20},
		{"battery_spread", 0.03, "fraction", a + ": their charge then varies by this (1 SD)", 0, 1},
		{"battery_min_uah", 20000, "µAh", a + ": and is at least this", 1, 1e6},
		{"shelf_charge", 0.98, "fraction", a + ": a new pump's charge, of full (shelf loss)", 0.01, 1},
		{"shelf_charge_sd", 0.01, "fraction", a + ": varying by this (1 SD; never above full)", 0, 1},
		{"refill_on_time", 0.90, "probability", a + ": refill within refill_window_days of due", 0, 1},
		{"refill_window_days", 3, "days", a, 0, 60},
		{"refill_missed", 0.03, "probability", a + ": refill visit missed (the rest are late)", 0, 1},
		{"refill_late_days_min", 4, "days", a + ": a late refill comes this many days after due, or more", 0, 365},
		{"refill_late_days_max", 21, "days", a + ": up to this many", 0, 365},
		{"missed_retry_days_min", 7, "days", a + ": after a missed visit the next attempt comes this many days later, or more", 0, 365},
		{"missed_retry_days_max", 28, "days", a + ": up to this many", 0, 365},
		{"mri_rate", 0.08, "/year", a + ": MRI scans (each stalls the motor)", 0, 100},
		{"mri_minutes_min", 20, "min", a + ": a scan's length, from", 1, 600},
		{"mri_minutes_max", 60, "min", a + ": to", 1, 600},
		{"mri_check_hours_max", 48, "h", a + ": interrogation and acknowledgement 1 to this many hours after a scan", 1, 720},
		// Surgery.
		{"infection_implant", 0.06, "probability", srcMotta, 0, 1},
		{"infection_replacement", 0.106, "probability", srcMotta, 0, 1},
		{"infection_revision", 0.06, "probability", a + " (as a first implant)", 0, 1},
		{"infection_days_min", 7, "days", a + ": a wound infection shows this many days after surgery, or more", 0, 365},
		{"infection_days_max", 90, "days", a + ": up to this many (early infection: within 90 days)", 0, 365},
		{"infection_explant", 0.7, "probability", a + ": an infection that ends in explant (the rest are treated)", 0, 1},
		{"reimplant_after_infection", 0.5, "probability", a + ": an infected system removed is implanted again", 0, 1},
		{"reimplant_days_min", 90, "days", a + ": this many days later, or more", 0, 3650},
		{"reimplant_days_max", 180, "days", a + ": up to this many", 0, 3650},
		{"eri_notice_days_min", 1, "days", a + ": ERI is noticed this many days after it is raised, or more", 0, 365},
		{"eri_notice_days_max", 14, "days", a + ": up to this many", 0, 365},
		{"replacement_schedule_days_min", 14, "days", a + ": then surgery this many days later, or more", 0, 365},
		{"replacement_schedule_days_max", 45, "days", a + ": up to this many", 0, 365},
		{"replacement_slip", 0.05, "probability", a + ": a replacement slips further", 0, 1},
		{"replacement_slip_days_min", 60, "days", a + ": by this many days, or more", 0, 3650},
		{"replacement_slip_days_max", 120, "days", a + ": up to this many", 0, 3650},
		// The catheter.
		{"catheter_occlusion", 5 / 451.5, "/year", srcFeller + "5 occlusions", 0, 100},
		{"catheter_leak", 2 / 451.5, "/year", srcFeller + "2 fractures", 0, 100},
		{"catheter_disconnection", 1 / 451.5, "/year", srcFeller + "1 disconnection", 0, 100},
		{"catheter_kink", 1 / 451.5, "/year", srcFeller + "1 kink", 0, 100},
		{"catheter_migration", 0.003, "/year", a + " (Feller et al. saw none in 451.5 patient-years)", 0, 100},
		{"kink_passes_pct", 50, "%", a + ": share of each stroke a kinked catheter passes", 1, 99},
		{"mass_rate", 0.009, "/year", srcDuarte + ", at the reference dose and concentration", 0, 100},
		{"mass_ref_dose_mg", 10, "mg/day", a + ": the inflammatory mass hazard scales with daily dose / this", 0.001, 1e6},
		{"mass_ref_conc_mg_ml", 20, "mg/mL", a + ": and with concentration / this", 0.001, 1e6},
		{"occlusion_to_revision_days_min", 1, "days", a + ": OCCLUSION raised to revision, this many days or more", 0, 365},
		{"occlusion_to_revision_days_max", 7, "days", a + ": up to this many", 0, 365},
		{"integrity_to_revision_days_min", 3, "days", a + ": CATHETER_INTEGRITY raised to revision, this many days or more", 0, 365},
		{"integrity_to_revision_days_max", 21, "days", a + ": up to this many", 0, 365},
		{"discrepancy_to_revision_days_min", 7, "days", a + ": a refill flagged 'more than expected' to revision, this many days or more", 0, 365},
		{"discrepancy_to_revision_days_max", 30, "days", a + ": up to this many", 0, 365},
		{"efficacy_loss_days_min", 14, "days", a + ": a catheter fault the pump cannot sense, noticed as lost efficacy this many days later, or more", 0, 3650},
		{"efficacy_loss_days_max", 60, "days", a + ": up to this many", 0, 3650},
	}
}

// params is a parameter set by name.
type params struct {
	list  []Param
	index map[string]int
}

func newParams(overrides []string) (*params, error) {
	p := &params{list: defaultParams(), index: map[string]int{}}
	for i, q := range p.list {
		p.index[q.Name] = i
	}
	for _, o := range overrides {
		name, val, ok := strings.Cut(o, "=")
		if !ok {
			return nil, &OptionError{Option: "--param", Reason: fmt.Sprintf("%q: write NAME=VALUE", o)}
		}
		i, known := p.index[name]
		if !known {
			return nil, &OptionError{Option: "--param", Reason: fmt.Sprintf("unknown parameter %q (thecal sim population --params lists them)", name)}
		}
		v, err := strconv.ParseFloat(val, 64)
		q := &p.list[i]
		if err != nil || math.IsNaN(v) || v < q.min || v > q.max {
			return nil, &OptionError{Option: "--param", Reason: fmt.Sprintf("%s=%s: want a number from %g to %g (%s)", name, val, q.min, q.max, q.Unit)}
		}
		q.Value = v
		q.Source = "set by --param (default: " + strconv.FormatFloat(defaultParams()[i].Value, 'g', -1, 64) + ")"
	}
	for _, pair := range [][2]string{{"cohort_spasticity", "cohort_cancer_pain"}, {"referral_spasticity", "referral_cancer_pain"}} {
		if p.get(pair[0])+p.get(pair[1]) > 1 {
			return nil, &OptionError{Option: "--param", Reason: fmt.Sprintf("%s + %s is more than 1", pair[0], pair[1])}
		}
	}
	for _, q := range p.list { // every NAME_min at most its NAME_max
		if base, ok := strings.CutSuffix(q.Name, "_min"); ok {
			if hi, ok := p.index[base+"_max"]; ok && q.Value > p.list[hi].Value {
				return nil, &OptionError{Option: "--param", Reason: fmt.Sprintf("%s is more than %s_max", q.Name, base)}
			}
		}
	}
	if p.get("refill_on_time")+p.get("refill_missed") > 1 {
		return nil, &OptionError{Option: "--param", Reason: "refill_on_time + refill_missed is more than 1"}
	}
	return p, nil
}

func (p *params) get(name string) float64 {
	i, ok := p.index[name]
	if !ok {
		panic("sim: no parameter " + name) // a typo in this package
	}
	return p.list[i].Value
}

// DefaultParams lists the lifecycle model's parameters with their defaults and sources.
func DefaultParams() []Param { return defaultParams() }
