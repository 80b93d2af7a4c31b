package web

// The lists — patients, the worklist, the audit trail — over the API and as
// pages: one reading of the query string into the clinic's filter for both,
// paging with the total ("1–50 of 1,284"), and CSV exports of the worklist
// and the audit. The filtering, sorting and search are the clinic service's.

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// queryTime reads a time parameter: RFC 3339, or a date (YYYY-MM-DD, the
// start of that day UTC); "" is no time.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, clinic.Errorf(clinic.EINVALID, name, "must be a date (YYYY-MM-DD) or a time (RFC 3339), not %q", v)
}

// queryID reads an id parameter; "" is 0.
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, clinic.Errorf(clinic.EINVALID, name, "must be an id (a whole number above 0), not %q", v)
	}
	return n, nil
}

// paging reads limit and offset.
func paging(r *http.Request) (limit, offset int, err error) {
	if limit, err = queryInt(r, "limit"); err != nil {
		return 0, 0, err
	}
	offset, err = queryInt(r, "offset")
	return limit, offset, err
}

// patientFilter reads a patient list's query: q, status, drug, pump_model,
// sort, limit, offset.
func patientFilter(r *http.Request) (clinic.PatientFilter, error) {
	q := r.URL.Query()
	f := clinic.PatientFilter{Query: q.Get("q"), Status: clinic.PatientStatus(q.Get("status")), Drug: q.Get("drug"),
		Model: q.Get("pump_model"), Sort: q.Get("sort")}
	var err error
	f.Limit, f.Offset, err = paging(r)
	return f, err
}

// workQuery reads a worklist query: kind, priority, drug, due_from, due_to,
// patient_id, sort, limit, offset.
func workQuery(r *http.Request) (clinic.WorkQuery, error) {
	q := r.URL.Query()
	w := clinic.WorkQuery{Kind: clinic.WorkKind(q.Get("kind")), Drug: q.Get("drug"), Sort: q.Get("sort")}
	var err error
	if w.Limit, w.Offset, err = paging(r); err != nil {
		return w, err
	}
	if w.Priority, err = queryInt(r, "priority"); err != nil {
		return w, err
	}
	if w.PatientID, err = queryID(r, "patient_id"); err != nil {
		return w, err
	}
	if w.DueFrom, err = queryTime(r, "due_from"); err != nil {
		return w, err
	}
	w.DueTo, err = queryTime(r, "due_to")
	return w, err
}

// auditFilter reads an audit query: actor, patient_id, action, from, to,
// order (newest, oldest), after, limit, offset.
func auditFilter(r *http.Request) (clinic.AuditFilter, error) {
	q := r.URL.Query()
	f := clinic.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action")}
	var err error
	if f.Limit, f.Offset, err = paging(r); err != nil {
		return f, err
	}
	if f.PatientID, err = queryID(r, "patient_id"); err != nil {
		return f, err
	}
	if f.From, err = queryTime(r, "from"); err != nil {
		return f, err
	}
	if f.To, err = queryTime(r, "to"); err != nil {
		return f, err
	}
	after, err := queryInt(r, "after")
	if err != nil {
		return f, err
	}
	f.After = int64(after)
	switch q.Get("order") {
	case "":
		f.Oldest = after > 0 // walking the chain on from an entry
	case "oldest":
		f.Oldest = true
	case "newest":
	default:
		return f, clinic.Errorf(clinic.EINVALID, "order", "must be newest or oldest")
	}
	return f, nil
}

// ---- API ----

// listOf answers a list route: the query read into the clinic's filter, one
// page of the list with its total.
func listOf[F, P any](parse func(*http.Request) (F, error), list func(context.Context, F) (P, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := parse(r)
		if err != nil {
			return err
		}
		pg, err := list(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pg)
		return nil
	}
}

// ---- pages ----

// pager is the paging line of a list page: "1–50 of 1,284" with links to
// the previous and next pages (the same query, another offset).
type pager struct {
	From, To, Total int
	Prev, Next      string
}

func newPager(r *http.Request, limit, offset, shown, total int) pager {
	pg := pager{Total: total}
	if shown > 0 {
		pg.From, pg.To = offset+1, offset+shown
	}
	link := func(off int) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(off))
		return r.URL.Path + "?" + q.Encode()
	}
	if offset > 0 {
		pg.Prev = link(max(0, offset-limit))
	}
	if offset+shown < total {
		pg.Next = link(offset + limit)
	}
	return pg
}

// Text is the paging line.
func (p pager) Text() string {
	if p.Total == 0 {
		return "none"
	}
	return thousands(p.From) + "–" + thousands(p.To) + " of " + thousands(p.Total)
}

// thousands writes n with thousands separators: 1,284.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// sortLink is the list's query with another sort (and the first page).
func sortLink(r *http.Request, sort string) string {
	q := r.URL.Query()
	q.Set("sort", sort)
	q.Del("offset")
	return r.URL.Path + "?" + q.Encode()
}

// formOf keeps a list's query in the page's form (the filters as typed).
func formOf(r *http.Request) url.Values {
	f := url.Values{}
	for k, v := range r.URL.Query() {
		f[k] = v
	}
	return f
}

func (s *Server) pageWorklist(w http.ResponseWriter, r *http.Request, p *page) error {
	q, err := workQuery(r)
	if err != nil {
		return err
	}
	pg, err := s.Svc.WorklistPage(r.Context(), q)
	if err != nil {
		return err
	}
	p.Title, p.Nav, p.Form = "Worklist", "worklist", formOf(r)
	export := "/worklist.csv"
	if r.URL.RawQuery != "" {
		export += "?" + r.URL.RawQuery
	}
	p.Data = map[string]any{"Items": pg.Items, "Pager": newPager(r, pg.Limit, pg.Offset, len(pg.Items), pg.Total),
		"Kinds": clinic.WorkKinds(), "Export": export, "Prepare": s.prepareText(pg.Items),
		"Sort": map[string]string{"urgency": sortLink(r, "urgency"), "due": sortLink(r, "due"), "patient": sortLink(r, "patient")}}
	s.render(w, http.StatusOK, "worklist", p)
	return nil
}

// prepareText is, per refill item, what to prepare: "baclofen 2000 mcg/mL,
// 20 mL" (the concentration in the drug's own unit).
func (s *Server) prepareText(items []clinic.WorkItem) map[int]string {
	out := map[int]string{}
	for i, it := range items {
		if it.Kind == clinic.WorkRefill && it.Volume > 0 {
			out[i] = it.Drug + " " + s.concText(it.Drug, it.Concentration) + ", " + it.Volume.String()
		}
	}
	return out
}

func (s *Server) pagePatients(w http.ResponseWriter, r *http.Request, p *page) error {
	f, err := patientFilter(r)
	if err != nil {
		return err
	}
	pg, err := s.Svc.PatientList(r.Context(), f)
	if err != nil {
		return err
	}
	p.Title, p.Nav, p.Form = "Patients", "patients", formOf(r)
	p.Data = map[string]any{"Patients": pg.Patients, "Pager": newPager(r, pg.Limit, pg.Offset, len(pg.Patients), pg.Total),
		"Statuses": clinic.PatientStatuses(),
		"Sort":     map[string]string{"name": sortLink(r, "name"), "mrn": sortLink(r, "mrn"), "newest": sortLink(r, "newest")}}
	s.render(w, http.StatusOK, "patients", p)
	return nil
}

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, p *page) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	pg, err := s.Svc.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	data := map[string]any{"Entries": pg.Entries, "Pager": newPager(r, pg.Limit, pg.Offset, len(pg.Entries), pg.Total)}
	// Verifying reads the whole trail and every record: on demand only.
	if r.URL.Query().Get("verify") == "1" {
		rep, err := s.Svc.VerifyAudit(r.Context())
		if err != nil {
			return err
		}
		data["Verify"] = rep
	}
	users, err := s.Svc.Users(r.Context())
	if err != nil {
		return err
	}
	data["Users"] = users
	export := "/audit.csv"
	if r.URL.RawQuery != "" {
		export += "?" + r.URL.RawQuery
	}
	data["Export"] = export
	p.Title, p.Nav, p.Form, p.Data = "Audit trail", "audit", formOf(r), data
	s.render(w, http.StatusOK, "audit", p)
	return nil
}

// ---- CSV exports ----

// csvCell keeps a cell from being read as a formula by a spreadsheet
// (OWASP's CSV injection advice): a leading =, +, -, @, tab or carriage
// return gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvStart(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return csv.NewWriter(w)
}

func csvRow(cw *csv.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = csvCell(c)
	}
	_ = cw.Write(cells)
}

// exportPages calls page with each offset until a page comes back short:
// an export holds every row the filter selects, a page at a time.
func exportPages(limit int, page func(offset int) (int, error)) error {
	for off := 0; ; off += limit {
		n, err := page(off)
		if err != nil || n < limit {
			return err
		}
	}
}

func (s *Server) exportWorklist(w http.ResponseWriter, r *http.Request, p *page) error {
	q, err := workQuery(r)
	if err != nil {
		return err
	}
	q.Limit, q.Offset = clinic.MaxPage, 0
	// The first page is read before anything is written: a refused query
	// is an error page, not half a file.
	first, err := s.Svc.WorklistPage(r.Context(), q)
	if err != nil {
		return err
	}
	cw := csvStart(w, "worklist.csv")
	csvRow(cw, "priority", "high_risk", "patient", "mrn", "patient_id", "kind", "status", "due", "drug", "concentration", "volume", "reason")
	write := func(items []clinic.WorkItem) {
		for _, it := range items {
			conc, vol := "", ""
			if it.Concentration > 0 {
				conc = s.concText(it.Drug, it.Concentration)
			}
			if it.Volume > 0 {
				vol = it.Volume.String()
			}
			csvRow(cw, strconv.Itoa(it.Priority), strconv.FormatBool(it.HighRisk), it.Patient, it.MRN, strconv.FormatInt(it.PatientID, 10),
				string(it.Kind), it.Status, it.Due.UTC().Format(time.RFC3339), it.Drug, conc, vol, it.Reason)
		}
	}
	write(first.Items)
	err = exportPages(q.Limit, func(off int) (int, error) {
		if off == 0 {
			return len(first.Items), nil
		}
		q.Offset = off
		pg, err := s.Svc.WorklistPage(r.Context(), q)
		if err != nil {
			return 0, err
		}
		write(pg.Items)
		return len(pg.Items), nil
	})
	cw.Flush()
	if err != nil {
		s.Logger.Error("worklist export cut short", "err", err)
	}
	return nil
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, p *page) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.Limit, f.Offset = clinic.MaxPage, 0
	first, err := s.Svc.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	cw := csvStart(w, "audit.csv")
	csvRow(cw, "seq", "at", "actor", "actor_name", "action", "entity", "entity_id", "patient_id", "patient_name", "changes", "hash")
	write := func(rows []*clinic.AuditRow) {
		for _, e := range rows {
			var ch []string
			for _, c := range e.Changes {
				ch = append(ch, c.Field+": "+c.Old+" → "+c.New)
			}
			pid := ""
			if e.PatientID != 0 {
				pid = strconv.FormatInt(e.PatientID, 10)
			}
			csvRow(cw, strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.ActorName, e.Action, e.Entity,
				strconv.FormatInt(e.EntityID, 10), pid, e.PatientName, strings.Join(ch, "; "), e.Hash)
		}
	}
	write(first.Entries)
	// Later pages by sequence number, not offset: entries appended during
	// the export do not shift the pages.
	for rows := first.Entries; len(rows) == f.Limit; {
		g := f
		if f.Oldest {
			g.After = rows[len(rows)-1].Seq
		} else {
			g.Before = rows[len(rows)-1].Seq
		}
		pg, e := s.Svc.AuditLog(r.Context(), g)
		if err = e; err != nil {
			break
		}
		rows = pg.Entries
		write(rows)
	}
	cw.Flush()
	if err != nil {
		s.Logger.Error("audit export cut short", "err", err)
	}
	return nil
}
