package clinic

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one change: who made it, when, to what, and the record before
// and after (JSON, null when there was none). Each entry's Hash covers its
// content and the previous entry's hash, so changing, removing or reordering
// any entry breaks the chain from there on.
type AuditEntry struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	ActorID   int64           `json:"actor_id,omitempty"` // the user, or the token for a monitor
	Action    string          `json:"action"`             // e.g. "refill.create"
	Entity    string          `json:"entity"`             // e.g. "refill"
	EntityID  int64           `json:"entity_id"`
	PatientID int64           `json:"patient_id,omitempty"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	// RecordHash is the digest of the record as stored after the change
	// (RecordDigest, PatientDigest, UserDigest), "" for an entry that
	// changed no stored record (a sign-in, a read). It puts every record's
	// content under the chain: VerifyAudit recomputes each stored record's
	// digest and compares it with the last entry that wrote it.
	RecordHash string `json:"record_hash,omitempty"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

// ComputeHash returns the hash of e: SHA-256 over the previous hash and every
// field, each length-prefixed so that no two entries encode alike.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	// Entries from before record digests keep their first encoding; an entry
	// with a digest is encoded apart ("thecal-audit/2"), so no digest can be
	// stripped or added without changing the hash.
	if e.RecordHash == "" {
		put([]byte("thecal-audit/1"))
	} else {
		put([]byte("thecal-audit/2"))
		put([]byte(e.RecordHash))
	}
	put([]byte(e.PrevHash))
	num(e.Seq)
	num(e.At.UnixMilli())
	put([]byte(e.Actor))
	num(e.ActorID)
	put([]byte(e.Action))
	put([]byte(e.Entity))
	num(e.EntityID)
	num(e.PatientID)
	put(e.Before)
	put(e.After)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditReport is the result of checking the audit chain.
type AuditReport struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"`
	Head    string `json:"head"`              // the last entry's hash
	BadSeq  int64  `json:"bad_seq,omitempty"` // the first entry that does not verify
	Problem string `json:"problem,omitempty"` // what is wrong with it
	// Records is how many stored records (patients, users, clinical
	// records) were checked against the digests the chain holds.
	Records int64 `json:"records_checked"`
	// Checkpoint is the sequence number of the signed checkpoint the chain
	// was checked against (0: none).
	Checkpoint int64 `json:"checkpoint,omitempty"`
}

// Verifier checks a chain entry by entry, in order.
type Verifier struct {
	r    AuditReport
	prev string
	seq  int64
	// cp, when set, is a signed checkpoint the chain must pass through.
	cp *Checkpoint
}

// Add checks the next entry; it returns false once the chain is broken.
func (v *Verifier) Add(e *AuditEntry) bool {
	if v.r.Problem != "" {
		return false
	}
	fail := func(p string) bool {
		v.r.BadSeq, v.r.Problem = e.Seq, p
		return false
	}
	switch {
	case e.Seq != v.seq+1:
		return fail("sequence gap: expected " + itoa(v.seq+1))
	case e.PrevHash != v.prev:
		return fail("previous hash does not match the entry before")
	case e.ComputeHash() != e.Hash:
		return fail("content does not match its hash: the entry was changed")
	case v.cp != nil && e.Seq == v.cp.Seq && e.Hash != v.cp.Hash:
		return fail("the chain does not pass through the signed checkpoint of " + v.cp.At.Format(time.RFC3339) +
			": the trail was rewritten up to here and its hashes recomputed")
	}
	v.seq, v.prev = e.Seq, e.Hash
	v.r.Entries++
	v.r.Head = e.Hash
	return true
}

// Report returns the result so far.
func (v *Verifier) Report() AuditReport {
	r := v.r
	r.OK = r.Problem == ""
	return r
}

// VerifyChain checks a whole chain, oldest first.
func VerifyChain(entries []*AuditEntry) AuditReport {
	var v Verifier
	for _, e := range entries {
		if !v.Add(e) {
			break
		}
	}
	return v.Report()
}

// VerifyAudit checks the whole stored audit trail, that the store's head is
// its last entry (so that entries cut off the end are found too), and that
// every stored patient, user and clinical record is as the last audit entry
// that wrote it says (so that a record edited in the database is found).
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	return s.VerifyAuditAt(ctx, nil)
}

// VerifyAuditAt is VerifyAudit that also checks the chain passes through a
// signed checkpoint (whose signature the caller has checked): the anchor
// outside the database that a chain recomputed after a change, or cut short,
// cannot match.
func (s *Service) VerifyAuditAt(ctx context.Context, cp *Checkpoint) (AuditReport, error) {
	if err := s.allow(ctx, ReadAudit); err != nil {
		return AuditReport{}, err
	}
	v := Verifier{cp: cp}
	err := s.Store.View(ctx, func(tx Tx) error {
		headSeq, headHash, err := tx.AuditHead()
		if err != nil {
			return err
		}
		digests := map[digestKey]digestAt{}
		var after int64
		for {
			page, err := tx.Audit(after, 1000)
			if err != nil {
				return err
			}
			for _, e := range page {
				if !v.Add(e) {
					return nil
				}
				if e.RecordHash != "" {
					digests[digestKey{e.Entity, e.EntityID}] = digestAt{e.RecordHash, e.Seq}
				}
				after = e.Seq
			}
			if len(page) < 1000 {
				break
			}
		}
		if r := v.Report(); r.Entries != headSeq || r.Head != headHash {
			v.r.BadSeq, v.r.Problem = r.Entries+1, "the trail ends at "+itoa(r.Entries)+" but its head says "+itoa(headSeq)+": entries were removed"
			return nil
		}
		if cp != nil {
			v.r.Checkpoint = cp.Seq
			if v.r.Entries < cp.Seq {
				v.r.BadSeq, v.r.Problem = v.r.Entries+1, "the trail ends at "+itoa(v.r.Entries)+", before the signed checkpoint at "+
					itoa(cp.Seq)+": entries were removed"
				return nil
			}
		}
		return verifyContent(tx, &v.r, digests)
	})
	return v.Report(), err
}

type digestKey struct {
	entity string
	id     int64
}

type digestAt struct {
	hash string
	seq  int64
}

// verifyContent compares every stored patient, user and record with the
// digest of the last audit entry that wrote it.
func verifyContent(tx Tx, r *AuditReport, digests map[digestKey]digestAt) error {
	check := func(entity string, id int64, got string) bool {
		k := digestKey{entity, id}
		d, ok := digests[k]
		switch {
		case !ok:
			r.Problem = entity + " " + itoa(id) + " is not covered by the audit trail: it was written outside the service"
		case d.hash != got:
			r.BadSeq = d.seq
			r.Problem = entity + " " + itoa(id) + " was changed outside the service: it does not match audit entry " + itoa(d.seq)
		default:
			delete(digests, k)
			r.Records++
			return true
		}
		return false
	}
	users, err := tx.Users()
	if err != nil {
		return err
	}
	for _, u := range users {
		if !check("user", u.ID, UserDigest(u)) {
			return nil
		}
	}
	for after := int64(0); ; {
		page, err := tx.PatientsAfter(after, 1000)
		if err != nil {
			return err
		}
		for _, p := range page {
			if !check("patient", p.ID, PatientDigest(p)) {
				return nil
			}
			after = p.ID
		}
		if len(page) < 1000 {
			break
		}
	}
	for after := int64(0); ; {
		page, err := tx.RecordsAfter(after, 1000)
		if err != nil {
			return err
		}
		for _, rec := range page {
			if !check(string(rec.Kind), rec.ID, RecordDigest(rec)) {
				return nil
			}
			after = rec.ID
		}
		if len(page) < 1000 {
			break
		}
	}
	for k, d := range digests {
		r.BadSeq = d.seq
		r.Problem = k.entity + " " + itoa(k.id) + " written by audit entry " + itoa(d.seq) + " is missing: it was removed outside the service"
		return nil
	}
	return nil
}

func digest(kind string, parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, b := range append([][]byte{[]byte(kind)}, parts...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RecordDigest is the digest of a clinical record as stored: its kind, id,
// patient, version and the JSON bytes kept.
func RecordDigest(r *Record) string {
	return digest("thecal-record/1", []byte(r.Kind), []byte(itoa(r.ID)), []byte(itoa(r.PatientID)),
		[]byte(itoa(r.Version)), r.Data)
}

// PatientDigest is the digest of a patient as the service reads it.
func PatientDigest(p *Patient) string {
	return digest("thecal-patient/1", rawJSON(p))
}

// UserDigest is the digest of a user's account: what the API shows, and the
// credentials it does not (the password hash, the second factor's secret),
// so that a role, a flag or a password hash changed in the database is found.
func UserDigest(u *User) string {
	return digest("thecal-user/1", rawJSON(u), []byte(u.PasswordHash), []byte(u.TOTPSecret))
}

// auditUser records a change to a user with the account's digest.
func (o *op) auditUser(action string, before, after *User) {
	o.audit(action, "user", after.ID, 0, before, after)
	o.entries[len(o.entries)-1].RecordHash = UserDigest(after)
}

// auditPatient records a change to a patient with its digest.
func (o *op) auditPatient(action string, before, after *Patient) {
	o.audit(action, "patient", after.ID, after.ID, before, after)
	o.entries[len(o.entries)-1].RecordHash = PatientDigest(after)
}

// auditRead records that someone read a patient's record (or exported it).
// Reads by the server itself (the demonstration's pumps) are not audited.
func (s *Service) auditRead(ctx context.Context, action string, patientID int64) error {
	p := FromContext(ctx)
	if p == nil || p == System {
		return nil
	}
	now := s.now()
	return s.Store.Update(ctx, func(tx Tx) error {
		o := &op{s: s, tx: tx, now: now, p: p}
		o.audit(action, "patient", patientID, patientID, nil, nil)
		return o.appendAudit()
	})
}

// Audit returns up to limit entries after sequence number after.
func (s *Service) Audit(ctx context.Context, after int64, limit int) ([]*AuditEntry, error) {
	if err := s.allow(ctx, ReadAudit); err != nil {
		return nil, err
	}
	limit = clampLimit(limit)
	var out []*AuditEntry
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		out, err = tx.Audit(after, limit)
		return err
	})
	return out, err
}

// AuditFilter selects audit entries for the audit view.
type AuditFilter struct {
	Actor     string    // the username (or "token:NAME") who acted, "" for all
	PatientID int64     // 0 for all
	Action    string    // an action ("refill.create") or an entity ("refill"), "" for all
	From, To  time.Time // bounds on the time (inclusive, exclusive); zero for none
	Oldest    bool      // oldest first (default newest first)
	// After and Before bound the sequence number (exclusive; 0 for none):
	// walking the chain on from an entry, or an export page after page.
	After, Before int64
	Limit         int
	Offset        int
}

// AuditRow is an entry as the audit view shows it: the person and the
// patient by name, and every change as old → new.
type AuditRow struct {
	*AuditEntry
	ActorName   string   `json:"actor_name,omitempty"`
	PatientName string   `json:"patient_name,omitempty"`
	Changes     []Change `json:"changes,omitempty"`
}

// AuditPage is one page of the audit view and how many entries match.
type AuditPage struct {
	Entries []*AuditRow `json:"entries"`
	Total   int         `json:"total"`
	Limit   int         `json:"limit"`
	Offset  int         `json:"offset"`
}

func (f *AuditFilter) check() error {
	var err error
	if f.Limit, err = pageLimit(f.Limit, f.Offset); err != nil {
		return err
	}
	switch {
	case len(f.Actor) > 200:
		return Errorf(EINVALID, "actor", "is at most 200 bytes")
	case len(f.Action) > 64:
		return Errorf(EINVALID, "action", "is at most 64 bytes")
	case f.PatientID < 0:
		return Errorf(EINVALID, "patient_id", "must be a patient id")
	case f.After < 0 || f.Before < 0:
		return Errorf(EINVALID, "after", "must not be negative")
	case !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From):
		return Errorf(EINVALID, "to", "must be after from")
	}
	return nil
}

// AuditLog returns a page of the audit trail as people read it: filtered,
// with names for users and patients and each change as old → new.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) (*AuditPage, error) {
	if err := s.allow(ctx, ReadAudit); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	pg := &AuditPage{Limit: f.Limit, Offset: f.Offset, Entries: []*AuditRow{}}
	err := s.Store.View(ctx, func(tx Tx) error {
		es, err := tx.AuditLog(f)
		if err != nil {
			return err
		}
		if pg.Total, err = tx.CountAudit(f); err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, u := range users {
			names[u.Username] = u.Name
		}
		patients := map[int64]string{}
		for _, e := range es {
			row := &AuditRow{AuditEntry: e, ActorName: names[e.Actor], Changes: AuditChanges(e.Before, e.After)}
			if e.Actor == System.Name {
				row.ActorName = "Thecal (the server)"
			}
			if e.PatientID != 0 {
				name, ok := patients[e.PatientID]
				if !ok {
					if p, err := tx.Patient(e.PatientID); err == nil {
						name = p.FamilyName + ", " + p.GivenName
					} else if ErrorCode(err) != ENOTFOUND {
						return err
					}
					patients[e.PatientID] = name
				}
				row.PatientName = name
			}
			pg.Entries = append(pg.Entries, row)
		}
		return nil
	})
	return pg, err
}

// Change is one field an audit entry changed, as text: "" for a value that
// was not there.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// AuditChanges lists the fields that differ between an entry's before and
// after (nested fields by dotted path: "program.rate", "flex[1].at"), in the
// order of the paths. The id, version, creation and update times and
// creator, which the entry shows in its own columns or every change moves,
// are left out.
func AuditChanges(before, after json.RawMessage) []Change {
	old, cur := map[string]string{}, map[string]string{}
	flatten("", decodeAny(before), old)
	flatten("", decodeAny(after), cur)
	var out []Change
	for k, v := range cur {
		if o := old[k]; o != v {
			out = append(out, Change{Field: k, Old: o, New: v})
		}
	}
	for k, o := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, Change{Field: k, Old: o})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	return out
}

func decodeAny(b json.RawMessage) any {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}

// auditNoise are the top-level fields every change or creation sets, which
// the entry shows in its own columns (who, when, which record).
var auditNoise = map[string]bool{"id": true, "version": true, "created_at": true, "updated_at": true, "created_by": true}

// flatten writes every leaf of v under its dotted path.
func flatten(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case nil:
		if path != "" {
			out[path] = ""
		}
	case map[string]any:
		for k, e := range x {
			if path == "" && auditNoise[k] {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(x) == 0 && path != "" {
			out[path] = ""
		}
		for i, e := range x {
			flatten(path+"["+strconv.Itoa(i)+"]", e, out)
		}
	case string:
		out[path] = x
	case bool:
		out[path] = strconv.FormatBool(x)
	case float64:
		out[path] = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		out[path] = string(b)
	}
}

// AuditActions lists the actions the audit trail records, for the audit
// view's filter ("KIND.create" and "KIND.update" for every record kind).
func AuditActions() []string {
	out := []string{"patient.create", "patient.update", "patient.read", "patient.export", "prescription.convert",
		"user.create", "user.update", "user.end_access", "user.two_factor", "token.create", "token.revoke",
		"session.create", "session.fail", "signin.lock", "security.resolve", "library.publish"}
	for _, k := range []Kind{KindTrial, KindImplant, KindPrescription, KindRefill, KindFollowUp, KindComplication, KindSideEffect, KindAlarm, KindReport} {
		out = append(out, string(k)+".create", string(k)+".update")
	}
	return out
}
