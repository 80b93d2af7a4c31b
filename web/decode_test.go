package web

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/thecal/thecal/clinic"
)

// FuzzDecode: no body makes the API's decoder panic, and every refusal is a
// clinic error (invalid or too large) with a message; bodies are read into
// the prescription, the largest of the API's inputs, and the report.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"400 mcg/day"}`,
		`{"program":{"mode":"flex","weekly":true,"flex":[{"at":"07:00","rate":"0.6 mL/day","days":["mon"]}]}}`,
		`{"program":{"drug":"a","drug":"b"}}`, `{"Program":{}}`, `{"program":{"flex":[{"at":7}]}}`, `{} {}`, `{"a"`, `[]`, ``, `null`,
		`{"format":"thecal-report/1","serial":"S1","model":"TP-20","status":{"reservoir":"eighteen","active_alarms":["OCCLUSION",1]}}`,
		`{"format":"thecal-report/1","serial":"S1","model":"TP-20","status":{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"flex","flex":[{"at":"25:00","rate":"1 mL/day"}]},"pump_time":"2026-03-01T07:30:00Z","log_next":12}}`,
		`{"session":{"serial":"S1","programmer":"P","started_at":"2026-03-01T07:30:00Z","steps":[{"action":"program","seq":-1}],"before":{"mode":"continuous","rate":"x"}},"report":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{new(clinic.Prescription), new(clinic.Report), new(clinic.SessionUpload)} {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			err := decode(httptest.NewRecorder(), r, v, 1<<20)
			if err == nil {
				continue
			}
			var ce *clinic.Error
			if !errors.As(err, &ce) || ce.Code != clinic.EINVALID && ce.Code != clinic.ETOOLARGE || ce.Message == "" {
				t.Fatalf("%q: %v is not an invalid-input error with a message", body, err)
			}
		}
	})
}
