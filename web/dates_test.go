package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/demo"
)

// byID returns the text of the element with an id in a page.
func byID(t *testing.T, page, id string) (string, bool) {
	t.Helper()
	m := regexp.MustCompile(`(?s)id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(?:dd|p|td)>`).FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "")
	return strings.Join(strings.Fields(html.UnescapeString(text)), " "), true
}

// icsEvents reads the events of a calendar: UID → DTSTART and SUMMARY.
func icsEvents(s string) map[string][2]string {
	s = strings.ReplaceAll(s, "\r\n ", "") // unfold
	out := map[string][2]string{}
	for _, ev := range strings.Split(s, "BEGIN:VEVENT")[1:] {
		var uid, start, summary string
		for _, l := range strings.Split(ev, "\r\n") {
			switch {
			case strings.HasPrefix(l, "UID:"):
				uid = strings.TrimPrefix(l, "UID:")
			case strings.HasPrefix(l, "DTSTART;VALUE=DATE:"):
				start = strings.TrimPrefix(l, "DTSTART;VALUE=DATE:")
			case strings.HasPrefix(l, "SUMMARY:") && summary == "":
				summary = strings.TrimPrefix(l, "SUMMARY:")
			}
		}
		out[uid] = [2]string{start, summary}
	}
	return out
}

// TestDatesAgreeEverywhere: for each patient of the demonstration — the ERI
// patient (whose refill falls after end of service) and the patient whose
// refill is past due among them — the next refill, low-reservoir, empty,
// ERI, end-of-service and replacement dates of the API are the chart's, the
// worklist's, the patient document's and the calendar's (issue 11 item 9: a
// chart once said next refill 7 Jun 2027 and low reservoir 20 Dec 2026; the
// ERI patient's refill fell after end of service; a chart said "—" where the
// worklist said 29 May; a document said "on or before" a date already past).
func TestDatesAgreeEverywhere(t *testing.T) {
	c, ts := demoServer(t)
	get, _ := uiClient(t, c, clinic.Nurse)
	sys := clinic.NewContext(context.Background(), clinic.System)
	_, worklist := get(ts.URL + "/")
	today := c.Clock.Now().UTC().Format("20060102")
	checked := map[string]bool{}
	for _, pt := range c.Patients {
		t.Run(pt.Stage, func(t *testing.T) {
			rec, err := c.Svc.PatientRecord(sys, pt.ID)
			if err != nil {
				t.Fatal(err)
			}
			d := rec.Dates
			// The API's dates are the service's.
			code, body := get(fmt.Sprintf("%s/api/v1/patients/%d/record", ts.URL, pt.ID))
			var api struct {
				Dates clinic.Dates `json:"dates"`
			}
			if err := json.Unmarshal([]byte(body), &api); code != 200 || err != nil {
				t.Fatalf("API: %d %v", code, err)
			}
			same := func(what string, a, b *clinic.DateFact) {
				if (a == nil) != (b == nil) || a != nil && (!a.Date.Equal(b.Date) || a.Past != b.Past || a.AfterEOS != b.AfterEOS) {
					t.Errorf("API %s %+v, service %+v", what, a, b)
				}
			}
			same("next refill", api.Dates.NextRefill, d.NextRefill)
			same("low reservoir", api.Dates.LowReservoir, d.LowReservoir)
			same("empty", api.Dates.Empty, d.Empty)
			same("ERI", api.Dates.ERI, d.ERI)
			same("EOS", api.Dates.EOS, d.EOS)
			if (api.Dates.Replacement == nil) != (d.Replacement == nil) || d.Replacement != nil && !api.Dates.Replacement.By.Equal(d.Replacement.By) {
				t.Errorf("API replacement %+v, service %+v", api.Dates.Replacement, d.Replacement)
			}
			if d.ImplantID == 0 {
				return // in trial: no pump, no dates
			}

			// The chart.
			_, chart := get(fmt.Sprintf("%s/patients/%d", ts.URL, pt.ID))
			for id, want := range map[string]string{"next-due": d.RefillSay(), "low-at": d.LowReservoir.Say(), "empty-at": d.Empty.Say(),
				"eri": d.ERI.Say(), "eos": d.EOS.Say(), "replacement": d.Replacement.Say()} {
				if got, ok := byID(t, chart, id); !ok || got != want {
					t.Errorf("chart #%s %q, want %q", id, got, want)
				}
			}
			if d.NextRefill == nil {
				t.Fatalf("no next refill date")
			}
			if next, _ := byID(t, chart, "next-due"); strings.Contains(next, "—") {
				t.Errorf("the chart says %q", next)
			}

			// The worklist: the refill's and the replacement's due dates.
			rows := regexp.MustCompile(`(?s)<tr class="work ([a-z-]+)">(.*?)</tr>`).FindAllStringSubmatch(worklist, -1)
			for _, row := range rows {
				if !strings.Contains(row[2], fmt.Sprintf(`href="/patients/%d"`, pt.ID)) {
					continue
				}
				cells := regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(row[2], -1)
				due := strings.TrimSpace(cells[3][1])
				switch row[1] {
				case "refill":
					if due != clinic.DateText(d.NextRefill.Date) {
						t.Errorf("worklist refill due %q, chart %q", due, clinic.DateText(d.NextRefill.Date))
					}
					if d.NextRefill.Past && !strings.Contains(cells[2][1], "overdue") {
						t.Errorf("a past refill is not overdue on the worklist: %q", cells[2][1])
					}
					checked["worklist refill"] = true
				case "replacement":
					if due != clinic.DateText(d.Replacement.By) {
						t.Errorf("worklist replacement due %q, chart %q", due, clinic.DateText(d.Replacement.By))
					}
					checked["worklist replacement"] = true
				}
			}

			// The patient document.
			_, doc := get(fmt.Sprintf("%s/patients/%d/document", ts.URL, pt.ID))
			refill, _ := byID(t, doc, "doc-refill")
			switch f := d.NextRefill; {
			case f.AfterEOS:
				if !strings.Contains(refill, "replaced before it needs another refill") {
					t.Errorf("document, a refill after end of service: %q", refill)
				}
				if rep, ok := byID(t, doc, "doc-replacement"); !ok || !strings.Contains(rep, clinic.DateText(d.Replacement.By)) {
					t.Errorf("document, the replacement first: %q", rep)
				}
				if strings.Index(doc, `id="doc-replacement"`) > strings.Index(doc, `id="doc-refill"`) {
					t.Errorf("document: the refill before the replacement")
				}
				checked["after EOS"] = true
			case f.Past:
				if !strings.Contains(refill, "overdue: call the clinic") || strings.Contains(refill, "on or before") {
					t.Errorf("document, a past refill: %q", refill)
				}
				checked["past due"] = true
			default:
				if !strings.Contains(refill, "on or before "+clinic.DateText(f.Date)) {
					t.Errorf("document refill %q, want %s", refill, clinic.DateText(f.Date))
				}
			}

			// The calendar.
			_, ics := get(fmt.Sprintf("%s/patients/%d/appointments.ics", ts.URL, pt.ID))
			checkICS(t, ics)
			var refillEv, replEv [2]string
			for uid, ev := range icsEvents(ics) {
				switch {
				case strings.HasPrefix(uid, "refill-"):
					refillEv = ev
				case strings.HasPrefix(uid, "replacement-"):
					replEv = ev
				}
			}
			switch f := d.NextRefill; {
			case f.AfterEOS:
				if refillEv[0] != "" || replEv[0] != d.Replacement.By.UTC().Format("20060102") {
					t.Errorf("calendar, a refill after end of service: refill %v, replacement %v", refillEv, replEv)
				}
			case f.Past:
				if refillEv[0] != today || !strings.Contains(refillEv[1], "overdue: call the clinic") {
					t.Errorf("calendar, a past refill: %v (today %s)", refillEv, today)
				}
			default:
				if refillEv[0] != f.Date.UTC().Format("20060102") {
					t.Errorf("calendar refill %v, want %s", refillEv, f.Date.UTC().Format("20060102"))
				}
			}
		})
	}
	for _, want := range []string{"after EOS", "past due", "worklist refill", "worklist replacement"} {
		if !checked[want] {
			t.Errorf("no demonstration patient showed %q", want)
		}
	}
	// The stages that show them.
	if d := datesOf(t, c, demo.StageERI); d.NextRefill == nil || !d.NextRefill.AfterEOS {
		t.Errorf("the ERI patient's refill: %+v", d.NextRefill)
	}
	if d := datesOf(t, c, demo.StageOverdue); d.NextRefill == nil || !d.NextRefill.Past {
		t.Errorf("the overdue patient's refill: %+v", d.NextRefill)
	}
}

func datesOf(t *testing.T, c *demo.Clinic, stage string) clinic.Dates {
	t.Helper()
	rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), c.PatientByStage(stage).ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Dates
}
