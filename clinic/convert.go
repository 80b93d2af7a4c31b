package clinic

import (
	"encoding/json"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Records stored in an older form are converted once, by the store's
// migration of the same name, in its transaction: each through the audit
// chain (an entry "<kind>.convert" by the system, before and after, with the
// new record's digest), never by rewriting rows behind it, so that
// verification still finds every record as its last audit entry says.

// legacyPrescription is a prescription as stored before its pump program
// moved into "program": the pump's fields beside the clinic's, continuous,
// minimum or stopped only.
type legacyPrescription struct {
	rxFields
	Drug          string             `json:"drug"`
	Concentration unit.Concentration `json:"concentration"`
	Mode          string             `json:"mode"`
	Rate          unit.Rate          `json:"rate"`
	PatientBolus  *bolusJSON         `json:"patient_bolus"`
	Max24h        unit.Volume        `json:"max_24h"`
	LowReservoir  unit.Volume        `json:"low_reservoir"`
	Program       json.RawMessage    `json:"program"`
}

// ConvertPrescriptions converts every prescription stored in the old form
// (its pump fields beside the clinic's) into the one form, value for value:
// the pump fields become its Program. It returns how many it converted.
func ConvertPrescriptions(tx Tx, now time.Time) (int, error) {
	// Held first: servers migrating together convert one after the other.
	if _, _, err := tx.AuditHead(); err != nil {
		return 0, err
	}
	o := &op{tx: tx, now: now.UTC().Truncate(time.Millisecond), p: System}
	n := 0
	for after := int64(0); ; {
		page, err := tx.RecordsAfter(after, 1000)
		if err != nil {
			return n, err
		}
		for _, rec := range page {
			after = rec.ID
			if rec.Kind != KindPrescription {
				continue
			}
			var l legacyPrescription
			if err := json.Unmarshal(rec.Data, &l); err != nil {
				return n, Errorf(EINTERNAL, "", "prescription %d does not decode: %v", rec.ID, err)
			}
			if l.Program != nil {
				continue // the one form already
			}
			rx := Prescription(l.rxFields)
			rx.Meta.ID, rx.Meta.PatientID, rx.Meta.Version = rec.ID, rec.PatientID, rec.Version
			rx.Meta.CreatedAt, rx.Meta.UpdatedAt = rec.CreatedAt, rec.UpdatedAt
			if err := rx.Program.Mode.UnmarshalText([]byte(l.Mode)); err != nil {
				return n, Errorf(EINTERNAL, "", "prescription %d: %v", rec.ID, err)
			}
			p := &rx.Program
			p.Drug, p.Concentration, p.Rate, p.Max24h, p.LowReservoir = l.Drug, l.Concentration, l.Rate, l.Max24h, l.LowReservoir
			if b := l.PatientBolus; b != nil {
				p.PatientBolus = pump.PatientBolus{Volume: b.Volume, Duration: b.Duration, Lockout: b.Lockout, MaxPer24h: b.MaxPer24h}
			}
			at, key, open := stored(&rx)
			next, err := envelope(&rx, at, key, open)
			if err != nil {
				return n, err
			}
			next.UpdatedAt = o.now
			if err := tx.UpdateRecord(next); err != nil {
				return n, err
			}
			o.audit("prescription.convert", string(KindPrescription), rec.ID, rec.PatientID, json.RawMessage(rec.Data), &rx)
			o.entries[len(o.entries)-1].RecordHash = RecordDigest(next)
			n++
		}
		if len(page) < 1000 {
			break
		}
	}
	return n, o.appendAudit()
}
