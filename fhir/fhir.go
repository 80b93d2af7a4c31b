// Package fhir owns the FHIR R4 export of the clinic's records: a patient's
// record as a collection Bundle of Patient, Device, Procedure,
// MedicationRequest, MedicationAdministration, Observation (pain scores) and
// Condition (complications) resources, with every reference resolving inside
// the bundle. It writes JSON by hand from the clinic types; the tests parse it
// back with an independent FHIR implementation (github.com/google/fhir/go).
package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// System URIs used in identifiers and codings.
const (
	MRNSystem    = "urn:thecal:mrn"
	SerialSystem = "urn:thecal:pump-serial"
	UCUM         = "http://unitsofmeasure.org"
	LOINC        = "http://loinc.org"
	// PainLOINC is LOINC 72514-3, Pain severity - 0-10 verbal numeric rating [Score] - Reported.
	PainLOINC = "72514-3"
)

type obj = map[string]any

// ref returns the bundle-local URL of a resource.
func ref(kind string, id int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("thecal/%s/%d", kind, id)))
	x := hex.EncodeToString(h[:16])
	// A version-4-shaped UUID made from the hash: stable across exports.
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
}

func reference(kind string, id int64) obj { return obj{"reference": ref(kind, id)} }

func dt(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// num is an exact decimal for FHIR's decimal type.
func num(n int64, decimals int) json.Number { return json.Number(unit.FormatFixed(n, decimals)) }

func text(s string) obj { return obj{"text": s} }

func qty(value json.Number, u, code string) obj {
	return obj{"value": value, "unit": u, "system": UCUM, "code": code}
}

// massQty writes a mass in the drug's usual unit.
func massQty(m unit.Mass) obj {
	if m < unit.MassIn(1, unit.Milligram) {
		return qty(num(int64(m), 9), "mcg", "ug")
	}
	return qty(num(int64(m), 12), "mg", "mg")
}

func doseRatio(d unit.DoseRate) obj {
	return obj{"numerator": massQty(unit.Mass(d)), "denominator": qty("1", "d", "d")}
}

// Bundle returns a patient's record as a FHIR R4 collection Bundle, as JSON.
func Bundle(rec *clinic.PatientRecord, now time.Time) ([]byte, error) {
	p := rec.Patient
	var entries []obj
	add := func(kind string, id int64, res obj) {
		res["resourceType"] = kind
		res["id"] = fmt.Sprintf("%s-%d", lower(kind), id)
		entries = append(entries, obj{"fullUrl": ref(kind, id), "resource": res})
	}
	subject := reference("Patient", p.ID)
	gender := p.Sex
	add("Patient", p.ID, obj{
		"identifier": []obj{{"system": MRNSystem, "value": p.MRN}},
		"name":       []obj{{"family": p.FamilyName, "given": nonEmpty(p.GivenName)}},
		"gender":     gender,
		"birthDate":  p.BirthDate.Format(time.DateOnly),
	})
	for _, im := range rec.Implants {
		status := "active"
		if !im.Active() {
			status = "inactive"
		}
		add("Device", im.ID, obj{
			"identifier":   []obj{{"system": SerialSystem, "value": im.Serial}},
			"status":       status,
			"serialNumber": im.Serial,
			"deviceName":   []obj{{"name": "Thecal " + im.Model.String() + " implantable intrathecal drug pump", "type": "model-name"}},
			"modelNumber":  im.Model.String(),
			"patient":      subject,
			"note": []obj{{"text": fmt.Sprintf("catheter %s, tip at %s, %s per cm; priming volume %s",
				im.CatheterLength, im.TipLevel, im.CatheterPerCm, im.PrimingVolume)}},
		})
		add("Procedure", im.ID, obj{
			"status":            "completed",
			"code":              text("Implantation of intrathecal drug delivery pump"),
			"subject":           subject,
			"performedDateTime": dt(im.ImplantedAt),
			"performer":         []obj{{"actor": obj{"display": im.Surgeon}}},
			"bodySite":          []obj{text("catheter tip at " + im.TipLevel)},
			"focalDevice":       []obj{{"action": text("implanted"), "manipulated": reference("Device", im.ID)}},
		})
		if im.ExplantedAt != nil {
			add("Procedure", -im.ID, obj{
				"status":            "completed",
				"code":              text("Removal of intrathecal drug delivery pump"),
				"subject":           subject,
				"performedDateTime": dt(*im.ExplantedAt),
				"reasonCode":        []obj{text(im.ExplantReason)},
				"focalDevice":       []obj{{"action": text("removed"), "manipulated": reference("Device", im.ID)}},
			})
		}
	}
	for _, t := range rec.Trials {
		add("Procedure", 1_000_000_000+t.ID, obj{
			"status":            "completed",
			"code":              text("Intrathecal screening trial (" + typeText(t.Method) + ") of " + t.Drug),
			"subject":           subject,
			"performedDateTime": dt(t.StartedAt),
			"outcome":           text(t.Outcome),
		})
		for i, d := range t.Doses {
			add("MedicationAdministration", 2_000_000_000+t.ID*100+int64(i), obj{
				"status":                    "completed",
				"medicationCodeableConcept": text(t.Drug),
				"subject":                   subject,
				"effectiveDateTime":         dt(t.StartedAt),
				"dosage":                    obj{"route": text("Intrathecal"), "dose": massQty(d), "text": "screening bolus"},
			})
		}
		for _, sc := range []struct {
			s    *clinic.Score
			what string
			off  int64
		}{{t.BaselinePain, "baseline", 1}, {t.TrialPain, "during the trial", 2}} {
			if sc.s != nil {
				add("Observation", 3_000_000_000+t.ID*10+sc.off, painObs(subject, *sc.s, t.StartedAt, "screening trial, "+sc.what))
			}
		}
	}
	var last int64
	for i, rx := range rec.Prescriptions {
		status := "stopped"
		if i == len(rec.Prescriptions)-1 {
			status = "active"
		}
		mr := obj{
			"status":                    status,
			"intent":                    "order",
			"medicationCodeableConcept": text(rx.Program.Drug),
			"subject":                   subject,
			"authoredOn":                dt(rx.CreatedAt),
			"requester":                 obj{"display": rx.CreatedBy},
			"dosageInstruction":         dosages(rx),
			"note":                      []obj{{"text": "checked against drug library " + rx.LibraryVersion + orEmpty("; reason: ", rx.Reason)}},
		}
		if last != 0 {
			mr["priorPrescription"] = reference("MedicationRequest", last)
		}
		add("MedicationRequest", rx.ID, mr)
		last = rx.ID
	}
	for _, rf := range rec.Refills {
		ma := obj{
			"status":                    "completed",
			"medicationCodeableConcept": text(fmt.Sprintf("%s %s (lot %s)", rf.Drug, rf.Concentration, rf.Lot)),
			"subject":                   subject,
			"effectiveDateTime":         dt(rf.At),
			"device":                    []obj{reference("Device", rf.ImplantID)},
			"dosage": obj{"text": fmt.Sprintf("pump reservoir refill: withdrew %s, added %s; discrepancy %s (%s)",
				rf.Withdrawn, rf.Added, rf.Discrepancy, rf.Flag),
				"route": text("Intrathecal (via implanted pump)"), "dose": qty(num(int64(rf.Added), 6), "mL", "mL")},
		}
		if rx := inForce(rec.Prescriptions, rf.At); rx != nil {
			ma["request"] = reference("MedicationRequest", rx.ID)
		}
		add("MedicationAdministration", rf.ID, ma)
	}
	for _, f := range rec.FollowUps {
		if f.PainScore != nil && f.DoneAt != nil {
			add("Observation", f.ID, painObs(subject, *f.PainScore, *f.DoneAt, typeText(f.Type)))
		}
	}
	for _, c := range rec.Complications {
		clin := "active"
		cond := obj{
			"verificationStatus": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}}},
			"code":               text(typeText(c.Type)),
			"subject":            subject,
			"onsetDateTime":      dt(c.Onset),
		}
		if c.ResolvedAt != nil {
			clin = "resolved"
			cond["abatementDateTime"] = dt(*c.ResolvedAt)
		}
		cond["clinicalStatus"] = obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clin}}}
		if n := c.Description + orEmpty("; outcome: ", c.Outcome); n != "" {
			cond["note"] = []obj{{"text": n}}
		}
		add("Condition", c.ID, cond)
	}
	return json.Marshal(obj{"resourceType": "Bundle", "type": "collection", "timestamp": dt(now), "entry": entries})
}

func painObs(subject obj, s clinic.Score, at time.Time, context string) obj {
	return obj{
		"status":   "final",
		"category": []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}}}},
		"code": obj{"coding": []obj{{"system": LOINC, "code": PainLOINC,
			"display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}}, "text": "pain score"},
		"subject":           subject,
		"effectiveDateTime": dt(at),
		"valueQuantity":     qty(num(int64(s), 2), "{score}", "{score}"),
		"note":              []obj{{"text": context}},
	}
}

// dosages writes a prescription's pump program as FHIR Dosage instructions:
// the basal program (one per flex step, with its time of day and days), each
// with its daily dose as a rate and max_24h as the most per day; then the
// patient bolus as an as-needed dose with its most per day.
func dosages(rx *clinic.Prescription) []obj {
	p := &rx.Program
	c := p.Concentration
	route := text("Intrathecal")
	perDay := func(v unit.Volume) obj { return obj{"numerator": massQty(c.Of(v)), "denominator": qty("1", "d", "d")} }
	basal := func(txt string, r unit.Rate) obj {
		d := obj{"text": txt, "route": route, "doseAndRate": []obj{{"rateRatio": doseRatio(c.Dose(r))}}}
		if p.Max24h > 0 {
			d["maxDosePerPeriod"] = perDay(p.Max24h)
		}
		return d
	}
	head := fmt.Sprintf("%s %s at %s", p.Mode, p.Drug, c)
	var out []obj
	switch p.Mode {
	case pump.ModeContinuous:
		out = append(out, basal(fmt.Sprintf("%s: %s (%s)", head, rx.DosePerDay, p.Rate), p.Rate))
	case pump.ModeMinimum:
		out = append(out, basal(fmt.Sprintf("%s: the minimum rate %s (%s)", head, pump.MinRate, c.Dose(pump.MinRate)), pump.MinRate))
	case pump.ModeFlex:
		for i, s := range p.Flex[:p.FlexSteps] {
			at := fmt.Sprintf("%02d:%02d", s.At/unit.Hour, s.At%unit.Hour/unit.Minute)
			d := basal(fmt.Sprintf("%s, step %d: from %s, %s (%s)", head, i+1, at, c.Dose(s.Rate), s.Rate), s.Rate)
			rep := obj{"timeOfDay": []string{at + ":00"}}
			if p.Weekly {
				var days []string
				for j, n := range clinic.DayNames {
					if s.Days&(1<<j) != 0 {
						days = append(days, n)
					}
				}
				rep["dayOfWeek"] = days
			}
			d["timing"] = obj{"repeat": rep}
			out = append(out, d)
		}
	default:
		out = append(out, obj{"text": head + ": stopped, nothing delivered", "route": route})
	}
	if b := p.PatientBolus; b.Volume > 0 {
		out = append(out, obj{
			"text":             fmt.Sprintf("patient bolus %s (%s) over %s, lockout %s, at most %d in 24 h", b.Volume, c.Of(b.Volume), b.Duration, b.Lockout, b.MaxPer24h),
			"asNeededBoolean":  true,
			"route":            route,
			"doseAndRate":      []obj{{"doseQuantity": massQty(c.Of(b.Volume))}},
			"maxDosePerPeriod": perDay(unit.Volume(b.MaxPer24h) * b.Volume),
		})
	}
	return out
}

func inForce(rxs []*clinic.Prescription, t time.Time) *clinic.Prescription {
	var cur *clinic.Prescription
	for _, rx := range rxs {
		if !rx.StartAt.After(t) {
			cur = rx
		}
	}
	return cur
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func typeText(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}
