package clinic

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
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
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
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
	put([]byte("thecal-audit/1"))
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
}

// Verifier checks a chain entry by entry, in order.
type Verifier struct {
	r    AuditReport
	prev string
	seq  int64
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

// VerifyAudit checks the whole stored audit trail, and that the store's head
// is its last entry (so that entries cut off the end are found too).
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	if err := s.allow(ctx, ReadAudit); err != nil {
		return AuditReport{}, err
	}
	var v Verifier
	err := s.Store.View(ctx, func(tx Tx) error {
		headSeq, headHash, err := tx.AuditHead()
		if err != nil {
			return err
		}
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
				after = e.Seq
			}
			if len(page) < 1000 {
				break
			}
		}
		if r := v.Report(); r.Entries != headSeq || r.Head != headHash {
			v.r.BadSeq, v.r.Problem = r.Entries+1, "the trail ends at "+itoa(r.Entries)+" but its head says "+itoa(headSeq)+": entries were removed"
		}
		return nil
	})
	return v.Report(), err
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
