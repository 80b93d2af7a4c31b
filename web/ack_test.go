package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
)

// changesWritten is what a refusal must leave as it was: every record,
// patient, user, token and library version, and the audit entries of changes
// (a page shown again audits the read of the chart it shows).
func changesWritten(t *testing.T, svc *clinic.Service) string {
	t.Helper()
	sys := clinic.NewContext(context.Background(), clinic.System)
	changes := 0
	for after := int64(0); ; {
		es, err := svc.Audit(sys, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Action != "patient.read" {
				changes++
			}
			after = e.Seq
		}
	}
	w := storeWritten(t, svc)
	return fmt.Sprintf("changes %d; %s", changes, w[strings.Index(w, "records"):])
}

// TestAckNeedsWhatWasDoneEveryPath: on the API and on the chart's form, an
// acknowledgement that does not say what was done is refused naming the
// note, and writes nothing; one that does acknowledges the alarm and makes
// its follow-up, and the critical alarm stays on the worklist, marked
// acknowledged (issue 11 item 6).
func TestAckNeedsWhatWasDoneEveryPath(t *testing.T) {
	for _, path := range []string{"API", "page"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, nil)
			f := newIdemFixture(t, e.svc)
			nurse := e.clients["nurse"]
			ack := func(note string) (int, string, string) {
				if path == "API" {
					code, b := nurse.do("POST", fmt.Sprintf("/api/v1/alarms/%d/ack", f.alarm.ID), map[string]any{"note": note, "version": f.alarm.Version})
					_, field := errField(b)
					raw, _ := json.Marshal(b)
					return code, field, string(raw)
				}
				v := url.Values{"csrf_token": {nurse.csrf}, "form_key": {testFormKey()}, "version": {fmt.Sprint(f.alarm.Version)}, "note": {note}}
				code, _, body := nurse.page("POST", fmt.Sprintf("/alarms/%d/ack", f.alarm.ID), "application/x-www-form-urlencoded", []byte(v.Encode()))
				field := ""
				if strings.Contains(body, fmt.Sprintf(`id="ack-err-%d">say what was done`, f.alarm.ID)) ||
					strings.Contains(body, fmt.Sprintf(`id="ack-err-%d">&#34;`, f.alarm.ID)) {
					field = "note"
				}
				return code, field, body
			}
			for _, note := range []string{"", "   ", "ok", "seen", "OCCLUSION acknowledged", "Alarm ACK.", "done, ok"} {
				before := changesWritten(t, e.svc)
				code, field, body := ack(note)
				if code != http.StatusBadRequest || field != "note" {
					t.Errorf("note %q: %d on %q\n%.400s", note, code, field, body)
				}
				if after := changesWritten(t, e.svc); after != before {
					t.Errorf("note %q refused but written: %s → %s", note, before, after)
				}
			}
			before := changesWritten(t, e.svc)
			code, _, body := ack("catheter access port aspirated, no flow; neurosurgery called")
			if want := map[string]int{"API": 200, "page": 303}[path]; code != want {
				t.Fatalf("acknowledged: %d\n%.400s", code, body)
			}
			if changesWritten(t, e.svc) == before {
				t.Fatal("nothing written")
			}
			rec, err := e.svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), f.withPump)
			if err != nil {
				t.Fatal(err)
			}
			a := rec.Alarms[0]
			var follow *clinic.FollowUp
			for _, fu := range rec.FollowUps {
				if fu.ID == a.FollowUpID {
					follow = fu
				}
			}
			if a.AckedAt == nil || follow == nil || follow.Type != "catheter_investigation" {
				t.Fatalf("acknowledged alarm %+v, follow-up %+v", a, follow)
			}
			listed := false
			for _, w := range rec.Worklist {
				listed = listed || w.Kind == clinic.WorkCriticalAlarm && w.Acknowledged && w.RecordID == a.ID
			}
			if !listed {
				t.Fatalf("the acknowledged, still active alarm left the worklist: %+v", rec.Worklist)
			}
		})
	}
}
