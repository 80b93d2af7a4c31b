package clinic_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/unit"
)

func TestRolesDenyByDefault(t *testing.T) {
	if clinic.Role("surgeon").Can(clinic.ReadRecords) || clinic.Role("").Can(clinic.ReadRecords) {
		t.Fatal("an unknown role was allowed")
	}
	if clinic.Nurse.Can(clinic.Prescribe) || clinic.ReadOnly.Can(clinic.WriteCare) || clinic.Monitor.Can(clinic.ReadRecords) ||
		clinic.Administrator.Can(clinic.ReadRecords) {
		t.Fatal("a role may do more than the matrix says")
	}
	if !clinic.Physician.Can(clinic.Prescribe) || !clinic.Monitor.Can(clinic.IngestReports) {
		t.Fatal("a role may do less than the matrix says")
	}
}

func TestPasswordHash(t *testing.T) {
	p := clinic.PasswordParams{Time: 1, Memory: 1024, Threads: 1}
	h, err := clinic.HashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	if !clinic.CheckPassword(h, "correct horse battery") || clinic.CheckPassword(h, "correct horse batterz") || clinic.CheckPassword("junk", "x") {
		t.Fatal("argon2id check")
	}
}

func TestAuditChain(t *testing.T) {
	var es []*clinic.AuditEntry
	prev := ""
	for i := range 3 {
		e := &clinic.AuditEntry{Seq: int64(i + 1), At: time.UnixMilli(int64(i)), Actor: "a", Action: "x.create", Entity: "x", EntityID: 1,
			Before: json.RawMessage("null"), After: json.RawMessage(`{"n":1}`), PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		es = append(es, e)
	}
	if r := clinic.VerifyChain(es); !r.OK || r.Entries != 3 {
		t.Fatal(r)
	}
	es[1].Actor = "b"
	if r := clinic.VerifyChain(es); r.OK || r.BadSeq != 2 {
		t.Fatal(r)
	}
	es[1].Actor = "a"
	es[0], es[1] = es[1], es[0]
	if r := clinic.VerifyChain(es); r.OK {
		t.Fatal("reordered chain verified")
	}
}

func TestQuantitiesRoundTrip(t *testing.T) {
	var v struct {
		V unit.Volume        `json:"v"`
		C unit.Concentration `json:"c"`
		D unit.DoseRate      `json:"d"`
		S clinic.Score       `json:"s"`
		B clinic.Date        `json:"b"`
	}
	in := `{"v":"18.5 mL","c":"2000 mcg/mL","d":"150 mcg/day","s":6.5,"b":"1970-03-01"}`
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"v":"18.5 mL","c":"2 mg/mL","d":"150 mcg/day","s":6.5,"b":"1970-03-01"}` {
		t.Fatalf("round trip: %s", out)
	}
	for _, bad := range []string{`{"v":"18.5"}`, `{"c":"2 mL"}`, `{"s":6.555}`, `{"b":"01/03/1970"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
