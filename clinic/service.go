package clinic

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thecal/thecal/drug"
)

// Service applies the clinic's rules over a Store. Every method takes the
// acting principal from the context (NewContext), checks the role may do what
// is asked (deny by default), validates the input naming the field at fault,
// and writes the change, its audit entry and the patient's new worklist in one
// transaction.
type Service struct {
	Store    Store
	Settings Settings
	// Now is the clock; each operation reads it once.
	Now            func() time.Time
	PasswordParams PasswordParams
	Logger         *slog.Logger

	// lib is the drug library in force (Library); builtin the one the service
	// was started with, in force while no version is published in the store.
	lib     atomic.Pointer[drug.Library]
	builtin *drug.Library
	// publishing serialises this server's publications.
	publishing sync.Mutex

	// Sign-in (auth.go): the throttle policies, the most password hashes
	// computed at once (each takes PasswordParams.Memory), and how long a
	// sign-in waits for a turn before it is refused as busy.
	AccountThrottle, AddressThrottle ThrottlePolicy
	MaxHashes                        int
	HashWait                         time.Duration
	throttle                         throttle
	hashes                           hashSlots
}

// NewService returns a Service with the default settings, the wall clock and
// argon2id's recommended cost.
func NewService(store Store, lib *drug.Library, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{Store: store, builtin: lib, Settings: DefaultSettings(), Now: time.Now,
		PasswordParams: DefaultPasswordParams, Logger: logger,
		AccountThrottle: DefaultAccountThrottle, AddressThrottle: DefaultAddressThrottle,
		MaxHashes: DefaultMaxHashes, HashWait: DefaultHashWait}
	s.lib.Store(lib)
	return s
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

type principalKey struct{}

// NewContext returns a context carrying who is acting.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns who is acting, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// System is the principal of the server itself (bootstrap, generators).
var System = &Principal{Name: "system", Role: "system"}

// allow checks the context's principal may do a.
func (s *Service) allow(ctx context.Context, a Action) error {
	p := FromContext(ctx)
	switch {
	case p == nil:
		return Errorf(EUNAUTHORIZED, "", "sign in first")
	case p == System:
		return nil
	case !p.Role.Can(a):
		return Errorf(EFORBIDDEN, "", "the %s role may not %s", p.Role, actionText(a))
	}
	return nil
}

func actionText(a Action) string {
	switch a {
	case ReadRecords:
		return "read patient records"
	case WritePatients:
		return "create or change patients"
	case WriteCare:
		return "record refills, follow-ups, side effects or complications"
	case Prescribe:
		return "prescribe"
	case WriteImplants:
		return "record implants"
	case WriteTrials:
		return "record screening trials or decide on them"
	case AckAlarms:
		return "acknowledge alarms"
	case IngestReports:
		return "post pump reports"
	case ExportRecords:
		return "export records"
	case ManageUsers:
		return "manage users and tokens"
	case ReadAudit:
		return "read the audit trail"
	case ReadLibrary:
		return "read the drug library"
	case PublishLibrary:
		return "publish a drug library version"
	case ProgramPumps:
		return "program pumps"
	}
	return string(a)
}

// op is one write in progress: its transaction, its time, who is acting, the
// audit entries to append, the patients whose worklist to recompute, and the
// idempotency key whose answer it stores, if any.
type op struct {
	s       *Service
	tx      Tx
	now     time.Time
	p       *Principal
	entries []*AuditEntry
	touched map[int64]bool
	idem    *Idempotency
}

// write runs fn as one audited, all-or-nothing change by a principal allowed
// a. Made under an idempotency key (WithIdempotency), it first makes sure the
// key is not taken (IsKeyUsed otherwise: nothing is written) and stores the
// answer with the change.
func (s *Service) write(ctx context.Context, a Action, fn func(o *op) error) error {
	if err := s.allow(ctx, a); err != nil {
		return err
	}
	p := FromContext(ctx)
	now := s.now()
	idem := idempotencyOf(ctx)
	err := s.Store.Update(ctx, func(tx Tx) error {
		o := &op{s: s, tx: tx, now: now, p: p, touched: map[int64]bool{}, idem: idem}
		if idem != nil {
			idem.result = nil
			if prev, err := tx.Idempotent(idem.Scope, idem.Key, now.Add(-IdempotencyTTL)); err != nil {
				return err
			} else if prev != nil {
				return keyUsed(IdempotencyField)
			}
		}
		if err := fn(o); err != nil {
			return err
		}
		for id := range o.touched {
			if err := s.refreshWork(tx, id, now); err != nil {
				return err
			}
		}
		if err := o.appendAudit(); err != nil {
			return err
		}
		if idem != nil {
			return o.storeAnswer()
		}
		return nil
	})
	if err == nil && idem != nil {
		idem.done = true
	}
	return err
}

// audit records a change; before or after is nil for a creation or deletion.
func (o *op) audit(action, entity string, id, patientID int64, before, after any) {
	e := &AuditEntry{At: o.now, Actor: o.p.Name, Action: action, Entity: entity, EntityID: id,
		PatientID: patientID, Before: rawJSON(before), After: rawJSON(after)}
	if o.p.TokenID != 0 {
		e.ActorID = o.p.TokenID
	} else {
		e.ActorID = o.p.UserID
	}
	o.entries = append(o.entries, e)
	if patientID != 0 && o.touched != nil {
		o.touched[patientID] = true
	}
}

func (o *op) appendAudit() error {
	if len(o.entries) == 0 {
		return nil
	}
	seq, prev, err := o.tx.AuditHead()
	if err != nil {
		return err
	}
	for _, e := range o.entries {
		seq++
		e.Seq, e.PrevHash = seq, prev
		e.Hash = e.ComputeHash()
		if err := o.tx.AppendAudit(e); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("clinic: audit value does not encode: " + err.Error())
	}
	return b
}

// view runs a read by a principal allowed a.
func (s *Service) view(ctx context.Context, a Action, fn func(tx Tx) error) error {
	if err := s.allow(ctx, a); err != nil {
		return err
	}
	return s.Store.View(ctx, fn)
}

// record is a patient record kind with its Meta.
type record interface {
	meta() *Meta
}

// kindOf returns the Kind of a record value.
func kindOf(r record) Kind {
	switch r.(type) {
	case *Trial:
		return KindTrial
	case *Implant:
		return KindImplant
	case *Prescription:
		return KindPrescription
	case *Refill:
		return KindRefill
	case *FollowUp:
		return KindFollowUp
	case *Complication:
		return KindComplication
	case *SideEffect:
		return KindSideEffect
	case *Alarm:
		return KindAlarm
	case *StoredReport:
		return KindReport
	case *ProgrammingSession:
		return KindSession
	}
	panic("clinic: unknown record type")
}

// envelope turns a record into its stored form.
func envelope(r record, at time.Time, key string, open bool) (*Record, error) {
	m := r.meta()
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return &Record{ID: m.ID, PatientID: m.PatientID, Kind: kindOf(r), At: at, Key: key, Open: open,
		Version: m.Version, Data: data, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}, nil
}

// decode fills r from its stored form; the columns win over the JSON.
func decode(rec *Record, r record) error {
	if err := json.Unmarshal(rec.Data, r); err != nil {
		return Errorf(EINTERNAL, "", "record %d does not decode: %v", rec.ID, err)
	}
	m := r.meta()
	m.ID, m.PatientID, m.Version, m.CreatedAt, m.UpdatedAt = rec.ID, rec.PatientID, rec.Version, rec.CreatedAt, rec.UpdatedAt
	return nil
}

// stored describes how a record kind is indexed.
func stored(r record) (at time.Time, key string, open bool) {
	switch v := r.(type) {
	case *Trial:
		return v.StartedAt, "", v.Decision == ""
	case *Implant:
		return v.ImplantedAt, v.Serial, v.ExplantedAt == nil
	case *Prescription:
		return v.StartAt, "", false
	case *Refill:
		return v.At, "", (v.Flagged || v.DrugMismatch != "") && v.ReviewedAt == nil
	case *FollowUp:
		return v.Due, "", v.DoneAt == nil
	case *Complication:
		return v.Onset, "", v.ResolvedAt == nil
	case *SideEffect:
		return v.ReportedAt, "", v.ResolvedAt == nil
	case *Alarm:
		return v.RaisedAt, v.Serial + "|" + v.Code + "|" + strconv.FormatInt(v.RaisedAt.UnixMilli(), 10), v.Open()
	case *StoredReport:
		return v.InterrogatedAt, v.Key, false
	case *ProgrammingSession:
		return v.StartedAt, v.Serial + "@" + strconv.FormatInt(v.StartedAt.UnixMilli(), 10), false
	}
	panic("clinic: unknown record type")
}

// create saves a new record and audits it. It returns false (and fills r from
// the store) when a record with the same key exists.
func (o *op) create(r record) (bool, error) {
	m := r.meta()
	m.CreatedAt, m.UpdatedAt, m.CreatedBy = o.now, o.now, o.p.Name
	at, key, open := stored(r)
	rec, err := envelope(r, at, key, open)
	if err != nil {
		return false, err
	}
	created, err := o.tx.CreateRecord(rec)
	if err != nil {
		return false, err
	}
	if !created {
		return false, decode(rec, r)
	}
	m.ID, m.Version = rec.ID, rec.Version
	o.audit(string(kindOf(r))+".create", string(kindOf(r)), m.ID, m.PatientID, nil, auditView(r))
	o.entries[len(o.entries)-1].RecordHash = RecordDigest(rec)
	return true, nil
}

// update saves a changed record if its version is still the one read, and
// audits the change from before.
func (o *op) update(before, r record) error {
	m := r.meta()
	m.UpdatedAt = o.now
	at, key, open := stored(r)
	rec, err := envelope(r, at, key, open)
	if err != nil {
		return err
	}
	if err := o.tx.UpdateRecord(rec); err != nil {
		return err
	}
	m.Version = rec.Version
	o.audit(string(kindOf(r))+".update", string(kindOf(r)), m.ID, m.PatientID, auditView(before), auditView(r))
	o.entries[len(o.entries)-1].RecordHash = RecordDigest(rec)
	return nil
}

// auditView is what the audit keeps of a record: the record itself, except
// for an interrogation report, of which it keeps the digest and the key (the
// report is stored once, in the records; issue 14, finding 6).
func auditView(r record) any {
	if sr, ok := r.(*StoredReport); ok {
		return map[string]any{"id": sr.ID, "patient_id": sr.PatientID, "implant_id": sr.ImplantID, "key": sr.Key,
			"serial": sr.Serial, "interrogated_at": sr.InterrogatedAt, "hash": sr.Hash, "received_by": sr.ReceivedBy,
			"log_entries": len(sr.Log), "alarms": len(sr.Alarms)}
	}
	return r
}

// get loads record id as a T, ENOTFOUND if there is none of that kind.
func get[T any, P interface {
	*T
	record
}](tx Tx, id int64) (P, error) {
	rec, err := tx.Record(id)
	if err != nil {
		return nil, err
	}
	var v P = new(T)
	if rec.Kind != kindOf(v) {
		return nil, Errorf(ENOTFOUND, "id", "no %s %d", kindOf(v), id)
	}
	return v, decode(rec, v)
}

// list loads a patient's records of one kind.
func list[T any, P interface {
	*T
	record
}](tx Tx, f RecordFilter) ([]P, error) {
	f.Kind = kindOf(P(new(T)))
	recs, err := tx.Records(f)
	if err != nil {
		return nil, err
	}
	out := make([]P, len(recs))
	for i, rec := range recs {
		out[i] = new(T)
		if err := decode(rec, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func clampLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}
