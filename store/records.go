package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// ---- patients ----

func (t *tx) CreatePatient(p *clinic.Patient) error {
	p.Version = 1
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	err = t.queryRow(`INSERT INTO patients (mrn, family_lower, version, data, created_at, updated_at)
		VALUES (?, ?, 1, ?, ?, ?) RETURNING id`, p.MRN, strings.ToLower(p.FamilyName), string(data), ms(p.CreatedAt), ms(p.UpdatedAt)).Scan(&p.ID)
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, "mrn", "a patient with MRN %q exists already", p.MRN)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (t *tx) UpdatePatient(p *clinic.Patient) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(t.ctx, t.q(`UPDATE patients SET mrn = ?, family_lower = ?, data = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`), p.MRN, strings.ToLower(p.FamilyName), string(data), ms(p.UpdatedAt), p.ID, p.Version)
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, "mrn", "a patient with MRN %q exists already", p.MRN)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := t.checkVersion(res, "patients", "patient", p.ID, p.Version); err != nil {
		return err
	}
	p.Version++
	return nil
}

func scanPatient(row interface{ Scan(...any) error }) (*clinic.Patient, error) {
	var p clinic.Patient
	var data string
	var id, version, c, u int64
	if err := row.Scan(&id, &version, &data, &c, &u); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return nil, fmt.Errorf("store: patient %d does not decode: %w", id, err)
	}
	p.ID, p.Version, p.CreatedAt, p.UpdatedAt = id, version, fromMS(c), fromMS(u)
	return &p, nil
}

func (t *tx) Patient(id int64) (*clinic.Patient, error) {
	p, err := scanPatient(t.queryRow("SELECT id, version, data, created_at, updated_at FROM patients WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("patient", id)
	}
	return p, err
}

func (t *tx) PatientsAfter(after int64, limit int) ([]*clinic.Patient, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.q("SELECT id, version, data, created_at, updated_at FROM patients WHERE id > ? ORDER BY id LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []*clinic.Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

func (t *tx) Patients(f clinic.PatientFilter) ([]*clinic.Patient, error) {
	q := "SELECT id, version, data, created_at, updated_at FROM patients"
	var args []any
	if f.Query != "" {
		q += ` WHERE mrn LIKE ? ESCAPE '\' OR family_lower LIKE ? ESCAPE '\'`
		args = append(args, likePrefix(f.Query), likePrefix(strings.ToLower(f.Query)))
	}
	q += " ORDER BY family_lower, id LIMIT ? OFFSET ?"
	args = append(args, f.Limit, f.Offset)
	rows, err := t.tx.QueryContext(t.ctx, t.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*clinic.Patient{}
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- records ----

const recordCols = "id, patient_id, kind, at, ukey, is_open, version, data, created_at, updated_at"

func scanRecord(row interface{ Scan(...any) error }) (*clinic.Record, error) {
	var r clinic.Record
	var kind, data string
	var key sql.NullString
	var at, c, u int64
	if err := row.Scan(&r.ID, &r.PatientID, &kind, &at, &key, &r.Open, &r.Version, &data, &c, &u); err != nil {
		return nil, err
	}
	r.Kind, r.At, r.Key, r.Data, r.CreatedAt, r.UpdatedAt = clinic.Kind(kind), fromMS(at), key.String, []byte(data), fromMS(c), fromMS(u)
	return &r, nil
}

func nullKey(k string) any {
	if k == "" {
		return nil
	}
	return k
}

func (t *tx) CreateRecord(r *clinic.Record) (bool, error) {
	err := t.queryRow(`INSERT INTO records (patient_id, kind, at, ukey, is_open, version, data, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (kind, ukey) DO NOTHING RETURNING id`,
		r.PatientID, string(r.Kind), ms(r.At), nullKey(r.Key), r.Open, string(r.Data), ms(r.CreatedAt), ms(r.UpdatedAt)).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		old, err := scanRecord(t.queryRow("SELECT "+recordCols+" FROM records WHERE kind = ? AND ukey = ?", string(r.Kind), r.Key))
		if err != nil {
			return false, fmt.Errorf("store: %w", err)
		}
		*r = *old
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	r.Version = 1
	return true, nil
}

func (t *tx) UpdateRecord(r *clinic.Record) error {
	res, err := t.tx.ExecContext(t.ctx, t.q(`UPDATE records SET at = ?, ukey = ?, is_open = ?, data = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`), ms(r.At), nullKey(r.Key), r.Open, string(r.Data), ms(r.UpdatedAt), r.ID, r.Version)
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, "", "another %s has the key %q", r.Kind, r.Key)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := t.checkVersion(res, "records", string(r.Kind), r.ID, r.Version); err != nil {
		return err
	}
	r.Version++
	return nil
}

func (t *tx) Record(id int64) (*clinic.Record, error) {
	r, err := scanRecord(t.queryRow("SELECT "+recordCols+" FROM records WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("record", id)
	}
	return r, err
}

func (t *tx) RecordsAfter(after int64, limit int) ([]*clinic.Record, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.q("SELECT "+recordCols+" FROM records WHERE id > ? ORDER BY id LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []*clinic.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *tx) Records(f clinic.RecordFilter) ([]*clinic.Record, error) {
	var q string
	var args []any
	if f.Key != "" {
		q = "SELECT " + recordCols + " FROM records WHERE kind = ? AND ukey = ?"
		args = []any{string(f.Kind), f.Key}
	} else {
		q = "SELECT " + recordCols + " FROM records WHERE patient_id = ? AND kind = ?"
		args = []any{f.PatientID, string(f.Kind)}
		if f.OpenOnly {
			q += " AND is_open"
		}
		if f.Newest {
			q += " ORDER BY at DESC, id DESC"
		} else {
			q += " ORDER BY at, id"
		}
		if f.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, f.Limit)
		}
	}
	rows, err := t.tx.QueryContext(t.ctx, t.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []*clinic.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- worklist ----

func (t *tx) ReplaceWork(patientID int64, items []clinic.WorkItem) error {
	if _, err := t.exec("DELETE FROM work_items WHERE patient_id = ?", patientID); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO work_items (patient_id, kind, record_id, priority, high_risk, acknowledged, show_from, due, reason) VALUES ")
	args := make([]any, 0, 9*len(items))
	for i, w := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, patientID, string(w.Kind), w.RecordID, w.Priority, w.HighRisk, w.Acknowledged, ms(w.ShowFrom), ms(w.Due), w.Reason)
	}
	_, err := t.exec(b.String(), args...)
	return err
}

func (t *tx) Work(q clinic.WorkQuery) ([]clinic.WorkItem, error) {
	s := `SELECT w.patient_id, p.data, w.kind, w.record_id, w.priority, w.high_risk, w.acknowledged, w.show_from, w.due, w.reason
		FROM work_items w JOIN patients p ON p.id = w.patient_id WHERE w.show_from <= ?`
	args := []any{ms(q.Now)}
	if q.Kind != "" {
		s += " AND w.kind = ?"
		args = append(args, string(q.Kind))
	}
	if q.PatientID != 0 {
		s += " AND w.patient_id = ?"
		args = append(args, q.PatientID)
	}
	s += " ORDER BY w.priority, w.due, w.patient_id, w.kind LIMIT ? OFFSET ?"
	args = append(args, q.Limit, q.Offset)
	rows, err := t.tx.QueryContext(t.ctx, t.q(s), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []clinic.WorkItem{}
	for rows.Next() {
		var w clinic.WorkItem
		var kind, data string
		var show, due int64
		if err := rows.Scan(&w.PatientID, &data, &kind, &w.RecordID, &w.Priority, &w.HighRisk, &w.Acknowledged, &show, &due, &w.Reason); err != nil {
			return nil, err
		}
		var p struct {
			MRN    string `json:"mrn"`
			Family string `json:"family_name"`
			Given  string `json:"given_name"`
		}
		_ = json.Unmarshal([]byte(data), &p)
		w.Kind, w.ShowFrom, w.Due = clinic.WorkKind(kind), fromMS(show), fromMS(due)
		w.Patient, w.MRN = p.Family+", "+p.Given, p.MRN
		out = append(out, w)
	}
	return out, rows.Err()
}

// ---- idempotency keys ----

func (t *tx) Idempotent(scope, key string, since time.Time) (*clinic.Idempotent, error) {
	r := clinic.Idempotent{Scope: scope, Key: key}
	var body string
	var at int64
	err := t.queryRow("SELECT fingerprint, status, location, body, created_at FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND created_at >= ?",
		scope, key, ms(since)).Scan(&r.Fingerprint, &r.Status, &r.Location, &body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	r.Body, r.CreatedAt = []byte(body), fromMS(at)
	return &r, nil
}

func (t *tx) SaveIdempotent(r *clinic.Idempotent, expired time.Time) error {
	if _, err := t.exec("DELETE FROM idempotency_keys WHERE created_at < ?", ms(expired)); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, t.q(`INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, location, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), r.Scope, r.Key, r.Fingerprint, r.Status, r.Location, string(r.Body), ms(r.CreatedAt))
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, clinic.IdempotencyField, "the key %q is stored already", r.Key)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// ---- audit ----

func (t *tx) AuditHead() (int64, string, error) {
	var seq int64
	var hash string
	q := "SELECT seq, hash FROM audit_head WHERE id = 1"
	if t.write {
		// Taking the row lock serialises appenders (PostgreSQL); SQLite's
		// writers are serialised already.
		q = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash"
	}
	err := t.queryRow(q).Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("store: audit head: %w", err)
	}
	return seq, hash, nil
}

func (t *tx) AppendAudit(e *clinic.AuditEntry) error {
	if _, err := t.exec(`INSERT INTO audit (seq, at, actor, actor_id, action, entity, entity_id, patient_id, before_json, after_json, record_hash, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, ms(e.At), e.Actor, e.ActorID, e.Action, e.Entity, e.EntityID, e.PatientID,
		string(e.Before), string(e.After), e.RecordHash, e.PrevHash, e.Hash); err != nil {
		return err
	}
	_, err := t.exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", e.Seq, e.Hash)
	return err
}

func (t *tx) Audit(after int64, limit int) ([]*clinic.AuditEntry, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.q(`SELECT seq, at, actor, actor_id, action, entity, entity_id, patient_id, before_json, after_json, record_hash, prev_hash, hash
		FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*clinic.AuditEntry{}
	for rows.Next() {
		var e clinic.AuditEntry
		var at int64
		var before, afterJ string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.ActorID, &e.Action, &e.Entity, &e.EntityID, &e.PatientID, &before, &afterJ, &e.RecordHash, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At, e.Before, e.After = fromMS(at), json.RawMessage(before), json.RawMessage(afterJ)
		out = append(out, &e)
	}
	return out, rows.Err()
}
