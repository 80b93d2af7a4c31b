package store

import (
	"database/sql"
	"encoding/hex"
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
	res, err := t.execRaw(`UPDATE patients SET mrn = ?, family_lower = ?, data = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, p.MRN, strings.ToLower(p.FamilyName), string(data), ms(p.UpdatedAt), p.ID, p.Version)
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
	rows, err := t.query("SELECT id, version, data, created_at, updated_at FROM patients WHERE id > ? ORDER BY id LIMIT ?", after, limit)
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

// patientWhere is the WHERE clause (over patient_index x) of a patient list.
func (t *tx) patientWhere(f clinic.PatientFilter) (string, []any) {
	var conds []string
	var args []any
	if len(f.Words) > 0 {
		conds = append(conds, t.d.Search)
		args = append(args, t.d.SearchQuery(f.Words))
	}
	for _, c := range []struct{ col, v string }{{"x.status", string(f.Status)}, {"x.drug", f.Drug}, {"x.model", f.Model}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

var patientOrder = map[string]string{
	"name":   " ORDER BY x.sort_name, x.patient_id",
	"mrn":    " ORDER BY p.mrn",
	"newest": " ORDER BY x.patient_id DESC",
}

func (t *tx) Patients(f clinic.PatientFilter) ([]*clinic.PatientRow, int, error) {
	where, args := t.patientWhere(f)
	order, ok := patientOrder[f.Sort]
	if !ok {
		order = patientOrder["name"]
	}
	// A search counts its matches in the query that picks the page (one
	// pass over the text index, over the narrow index rows: the patients'
	// JSON is read for the page only); a plain list walks an index for its
	// page and counts apart.
	search := len(f.Words) > 0
	cols := "p.id, p.version, p.data, p.created_at, p.updated_at, x.status, x.drug, x.model, x.serial"
	q := "SELECT " + cols + " FROM patient_index x JOIN patients p ON p.id = x.patient_id" + where + order + " LIMIT ? OFFSET ?"
	if search {
		from := " FROM patient_index x"
		if f.Sort == "mrn" {
			from += " JOIN patients p ON p.id = x.patient_id"
		}
		q = "SELECT " + cols + ", page.total FROM (SELECT x.patient_id AS id, COUNT(*) OVER () AS total" +
			from + where + order + " LIMIT ? OFFSET ?) page" +
			" JOIN patients p ON p.id = page.id JOIN patient_index x ON x.patient_id = page.id" + order
	}
	rows, err := t.query(q, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []*clinic.PatientRow{}
	total := -1
	for rows.Next() {
		var r clinic.PatientRow
		var status string
		tail := []any{&status, &r.Drug, &r.Model, &r.Serial}
		if search {
			tail = append(tail, &total)
		}
		p, err := scanPatient(scanTail(rows, tail...))
		if err != nil {
			return nil, 0, err
		}
		r.Patient, r.Status = p, clinic.PatientStatus(status)
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if total < 0 { // a plain list, or a page past the end
		if err := t.queryRow("SELECT COUNT(*) FROM patient_index x"+where, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: %w", err)
		}
	}
	return out, total, nil
}

// scanTail scans a row whose first columns a scan function reads and whose
// last ones are tail.
func scanTail(row interface{ Scan(...any) error }, tail ...any) interface{ Scan(...any) error } {
	return scanFunc(func(dest ...any) error { return row.Scan(append(dest, tail...)...) })
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func (t *tx) IndexPatient(ix *clinic.PatientIndex) error {
	// Unchanged columns write nothing (and leave the text index alone).
	_, err := t.exec(`INSERT INTO patient_index (patient_id, sort_name, name, status, drug, model, serial, search)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (patient_id) DO UPDATE SET sort_name = excluded.sort_name, name = excluded.name, status = excluded.status,
			drug = excluded.drug, model = excluded.model, serial = excluded.serial, search = excluded.search
		WHERE patient_index.sort_name <> excluded.sort_name OR patient_index.name <> excluded.name
			OR patient_index.status <> excluded.status OR patient_index.drug <> excluded.drug OR patient_index.model <> excluded.model
			OR patient_index.serial <> excluded.serial OR patient_index.search <> excluded.search`,
		ix.PatientID, ix.SortName, ix.Name, string(ix.Status), ix.Drug, ix.Model, ix.Serial, ix.Search)
	return err
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
	res, err := t.execRaw(`UPDATE records SET at = ?, ukey = ?, is_open = ?, data = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, ms(r.At), nullKey(r.Key), r.Open, string(r.Data), ms(r.UpdatedAt), r.ID, r.Version)
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
	rows, err := t.query("SELECT "+recordCols+" FROM records WHERE id > ? ORDER BY id LIMIT ?", after, limit)
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
	rows, err := t.query(q, args...)
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
	b.WriteString("INSERT INTO work_items (patient_id, kind, record_id, priority, high_risk, acknowledged, show_from, due, reason, drug, concentration, volume) VALUES ")
	args := make([]any, 0, 12*len(items))
	for i, w := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, patientID, string(w.Kind), w.RecordID, w.Priority, w.HighRisk, w.Acknowledged, ms(w.ShowFrom), ms(w.Due), w.Reason,
			w.Drug, text(w.Concentration), text(w.Volume))
	}
	_, err := t.exec(b.String(), args...)
	return err
}

// text is a quantity as stored ("2000 mcg/mL"), "" for none.
func text[Q interface {
	~int64
	MarshalText() ([]byte, error)
}](q Q) string {
	if q == 0 {
		return ""
	}
	b, err := q.MarshalText()
	if err != nil {
		return ""
	}
	return string(b)
}

// workWhere is the WHERE clause (over work_items w) of a worklist query.
func workWhere(q clinic.WorkQuery) (string, []any) {
	s := " WHERE w.show_from <= ?"
	args := []any{ms(q.Now)}
	if q.Kind != "" {
		s += " AND w.kind = ?"
		args = append(args, string(q.Kind))
	}
	if q.PatientID != 0 {
		s += " AND w.patient_id = ?"
		args = append(args, q.PatientID)
	}
	if q.Priority != 0 {
		s += " AND w.priority = ?"
		args = append(args, q.Priority)
	}
	if q.Drug != "" {
		s += " AND w.drug = ?"
		args = append(args, q.Drug)
	}
	if !q.DueFrom.IsZero() {
		s += " AND w.due >= ?"
		args = append(args, ms(q.DueFrom))
	}
	if !q.DueTo.IsZero() {
		s += " AND w.due < ?"
		args = append(args, ms(q.DueTo))
	}
	return s, args
}

var workOrder = map[string]string{
	"urgency": " ORDER BY w.priority, w.due, w.patient_id, w.kind",
	"due":     " ORDER BY w.due, w.priority, w.patient_id, w.kind",
	"patient": " ORDER BY x.sort_name, w.patient_id, w.priority, w.due, w.kind",
}

func (t *tx) Work(q clinic.WorkQuery) ([]clinic.WorkItem, error) {
	where, args := workWhere(q)
	order, ok := workOrder[q.Sort]
	if !ok {
		order = workOrder["urgency"]
	}
	s := `SELECT w.patient_id, p.mrn, x.name, w.kind, w.record_id, w.priority, w.high_risk, w.acknowledged, w.show_from, w.due, w.reason, w.drug, w.concentration, w.volume
		FROM work_items w JOIN patients p ON p.id = w.patient_id JOIN patient_index x ON x.patient_id = w.patient_id` + where + order + " LIMIT ? OFFSET ?"
	args = append(args, q.Limit, q.Offset)
	rows, err := t.query(s, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []clinic.WorkItem{}
	for rows.Next() {
		var w clinic.WorkItem
		var kind, conc, vol string
		var show, due int64
		if err := rows.Scan(&w.PatientID, &w.MRN, &w.Patient, &kind, &w.RecordID, &w.Priority, &w.HighRisk, &w.Acknowledged, &show, &due, &w.Reason, &w.Drug, &conc, &vol); err != nil {
			return nil, err
		}
		w.Kind, w.ShowFrom, w.Due = clinic.WorkKind(kind), fromMS(show), fromMS(due)
		if conc != "" {
			if err := w.Concentration.UnmarshalText([]byte(conc)); err != nil {
				return nil, fmt.Errorf("store: work item concentration %q: %w", conc, err)
			}
		}
		if vol != "" {
			if err := w.Volume.UnmarshalText([]byte(vol)); err != nil {
				return nil, fmt.Errorf("store: work item volume %q: %w", vol, err)
			}
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (t *tx) CountWork(q clinic.WorkQuery) (int, error) {
	where, args := workWhere(q)
	var n int
	if err := t.queryRow("SELECT COUNT(*) FROM work_items w"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return n, nil
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

const auditCols = "seq, at, actor, actor_id, action, entity, entity_id, patient_id, before_json, after_json, record_hash, prev_hash, hash"

func (t *tx) Audit(after int64, limit int) ([]*clinic.AuditEntry, error) {
	return t.auditRows("SELECT "+auditCols+" FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
}

// auditWhere is the WHERE clause of an audit view query; "" for none.
func auditWhere(f clinic.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, f.Actor)
	}
	if f.PatientID != 0 {
		conds, args = append(conds, "patient_id = ?"), append(args, f.PatientID)
	}
	if f.Action != "" {
		if strings.Contains(f.Action, ".") {
			conds, args = append(conds, "action = ?"), append(args, f.Action)
		} else {
			conds, args = append(conds, "entity = ?"), append(args, f.Action)
		}
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, ms(f.To))
	}
	if f.After > 0 {
		conds, args = append(conds, "seq > ?"), append(args, f.After)
	}
	if f.Before > 0 {
		conds, args = append(conds, "seq < ?"), append(args, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (t *tx) AuditLog(f clinic.AuditFilter) ([]*clinic.AuditEntry, error) {
	where, args := auditWhere(f)
	order := " ORDER BY seq DESC"
	if f.Oldest {
		order = " ORDER BY seq"
	}
	return t.auditRows("SELECT "+auditCols+" FROM audit"+where+order+" LIMIT ? OFFSET ?", append(args, f.Limit, f.Offset)...)
}

func (t *tx) CountAudit(f clinic.AuditFilter) (int, error) {
	where, args := auditWhere(f)
	q := "SELECT COUNT(*) FROM audit" + where
	if where == "" {
		q = "SELECT seq FROM audit_head WHERE id = 1" // the chain is numbered without gaps
	}
	var n int
	if err := t.queryRow(q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return n, nil
}

func (t *tx) auditRows(q string, args ...any) ([]*clinic.AuditEntry, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
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

// ---- shared secrets ----

func (t *tx) Secret(name string, fresh []byte) ([]byte, error) {
	if _, err := t.exec("INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
		name, hex.EncodeToString(fresh), time.Now().UnixMilli()); err != nil {
		return nil, err
	}
	var v string
	if err := t.queryRow("SELECT value FROM server_secrets WHERE name = ?", name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return hex.DecodeString(v)
}
