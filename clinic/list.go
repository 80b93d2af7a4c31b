package clinic

// Lists: paging with totals, filters and sorting of the patient list, and the
// search over names, MRNs, pump serials and drugs (issue 13, item 2). The
// search words and the patient's list columns are computed here, once, from
// the patient's records; the stores index what they are given (SQLite FTS5,
// PostgreSQL full text) and never fold or match text themselves.

import (
	"context"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/thecal/thecal/drug"
)

// MaxPage is the most rows one page of a list holds.
const MaxPage = 1000

// pageLimit returns the page size asked for, 50 when none is, and refuses one
// beyond MaxPage or a negative offset, naming the field: a list never stops
// short silently.
func pageLimit(limit, offset int) (int, error) {
	switch {
	case limit < 0 || limit > MaxPage:
		return 0, Errorf(EINVALID, "limit", "must be 1 to %d (0 for the default, 50)", MaxPage)
	case offset < 0:
		return 0, Errorf(EINVALID, "offset", "must not be negative")
	case limit == 0:
		return 50, nil
	}
	return limit, nil
}

// PatientStatus is where a patient stands in the therapy, for the list.
type PatientStatus string

const (
	StatusReferred  PatientStatus = "referred"  // no implant, no trial under way
	StatusInTrial   PatientStatus = "in_trial"  // a screening trial awaits its decision
	StatusImplanted PatientStatus = "implanted" // a pump is implanted
	StatusExplanted PatientStatus = "explanted" // every pump was explanted
	statusAny       PatientStatus = ""          // no filter
)

var patientStatuses = []PatientStatus{StatusReferred, StatusInTrial, StatusImplanted, StatusExplanted}

// PatientStatuses lists the statuses a patient list can be filtered by.
func PatientStatuses() []PatientStatus { return patientStatuses }

// PatientIndex is what the patient list shows and filters on beside the
// patient: computed by IndexOf from the patient's records in the transaction
// of every change, like the worklist.
type PatientIndex struct {
	PatientID int64
	// SortName is the folded "family given" the list sorts by; Name the
	// "Family, Given" the worklist shows.
	SortName, Name string
	Status         PatientStatus
	Drug           string // the drug in the pump (the prescription in force, else the fill), or of the trial
	Model          string // the implanted pump's model ("TP-40"), "" without one
	Serial         string // the implanted pump's serial
	// Search is the folded words a search matches: the names, the MRN, every
	// pump serial and every drug the patient had.
	Search string
}

// IndexOf computes a patient's list columns and search words from a snapshot.
func IndexOf(snap *Snapshot, now time.Time) *PatientIndex {
	p := snap.Patient
	ix := &PatientIndex{PatientID: p.ID, SortName: Fold(p.FamilyName + " " + p.GivenName), Name: p.FamilyName + ", " + p.GivenName,
		Status: StatusReferred}
	words := []string{p.FamilyName, p.GivenName, p.MRN}
	var active *Implant
	for _, im := range snap.Implants {
		words = append(words, im.Serial, im.Drug)
		if im.Active() {
			active = im
		}
	}
	for _, rx := range snap.Prescriptions {
		words = append(words, rx.Program.Drug)
	}
	for _, t := range snap.OpenTrials {
		words = append(words, t.Drug)
	}
	switch {
	case active != nil:
		ix.Status, ix.Model, ix.Serial, ix.Drug = StatusImplanted, active.Model.String(), active.Serial, active.Drug
		if rx := currentRx(active, snap.Prescriptions, now); rx != nil {
			ix.Drug = rx.Program.Drug
		}
	case len(snap.OpenTrials) > 0:
		ix.Status, ix.Drug = StatusInTrial, snap.OpenTrials[len(snap.OpenTrials)-1].Drug
	case len(snap.Implants) > 0:
		ix.Status = StatusExplanted
	}
	ix.Search = strings.Join(SearchWords(strings.Join(words, " ")), " ")
	return ix
}

// Fold lower-cases s and strips its accents ("Novák" → "novak"), for
// sorting and searching names as a person types them.
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// SearchWords splits text into the folded words a search matches: runs of
// letters and digits. An identifier written with separators ("GEN-0000123",
// "TP40-000123") is also kept whole without them, so that it is found as
// typed with or without its dashes. The words are distinct, in order.
func SearchWords(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	for _, field := range strings.Fields(Fold(text)) {
		parts := strings.FieldsFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, w := range parts {
			add(w)
		}
		if len(parts) > 1 {
			add(strings.Join(parts, ""))
		}
	}
	return out
}

// queryWords are the words of a search as typed, at most 8 (each must start
// a word of the patient's).
func queryWords(q string) ([]string, error) {
	if len(q) > 200 {
		return nil, Errorf(EINVALID, "q", "a search is at most 200 bytes")
	}
	if err := checkText("q", q, false); err != nil {
		return nil, err
	}
	var words []string
	for _, field := range strings.Fields(Fold(q)) {
		parts := strings.FieldsFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(parts) > 1 {
			// "GEN-00001": the identifier joined, as indexed.
			words = append(words, strings.Join(parts, ""))
		} else {
			words = append(words, parts...)
		}
	}
	if len(words) > 8 {
		return nil, Errorf(EINVALID, "q", "a search has at most 8 words")
	}
	return words, nil
}

// PatientFilter selects and orders patients for a list.
type PatientFilter struct {
	// Query is a search: every word must begin a word of the patient's
	// names, MRN, a pump serial or a drug, in any order, accents and case
	// ignored ("maria novak", "Novák", "GEN-00001", "baclofen").
	Query  string
	Status PatientStatus // "" for all
	Drug   string        // the drug in the pump or of the trial, "" for all
	Model  string        // the implanted pump's model, "" for all
	Sort   string        // "name" (default), "mrn", "newest"
	Limit  int
	Offset int

	// Words is Query split into search words (set by the service).
	Words []string
}

// PatientRow is a patient as the list shows it.
type PatientRow struct {
	*Patient
	Status PatientStatus `json:"status"`
	Drug   string        `json:"drug,omitempty"`
	Model  string        `json:"pump_model,omitempty"`
	Serial string        `json:"pump_serial,omitempty"`
}

// PatientPage is one page of a patient list and how many match in all.
type PatientPage struct {
	Patients []*PatientRow `json:"patients"`
	Total    int           `json:"total"`
	Limit    int           `json:"limit"`
	Offset   int           `json:"offset"`
}

var patientSorts = []string{"name", "mrn", "newest"}

func (f *PatientFilter) check() error {
	var err error
	if f.Limit, err = pageLimit(f.Limit, f.Offset); err != nil {
		return err
	}
	if f.Words, err = queryWords(f.Query); err != nil {
		return err
	}
	if f.Status != statusAny && !contains(patientStatuses, f.Status) {
		return Errorf(EINVALID, "status", "must be one of referred, in_trial, implanted, explanted")
	}
	if f.Sort == "" {
		f.Sort = "name"
	}
	if !contains(patientSorts, f.Sort) {
		return Errorf(EINVALID, "sort", "must be name, mrn or newest")
	}
	for field, v := range map[string]string{"drug": f.Drug, "pump_model": f.Model} {
		if len(v) > 64 {
			return Errorf(EINVALID, field, "is at most 64 bytes")
		}
	}
	return nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// PatientList returns one page of the patients matching f, with the total.
func (s *Service) PatientList(ctx context.Context, f PatientFilter) (*PatientPage, error) {
	if err := s.allow(ctx, ReadRecords); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	pg := &PatientPage{Limit: f.Limit, Offset: f.Offset}
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		pg.Patients, pg.Total, err = tx.Patients(f)
		return err
	})
	return pg, err
}

// Patients lists the patients matching f (one page, without the total).
func (s *Service) Patients(ctx context.Context, f PatientFilter) ([]*Patient, error) {
	pg, err := s.PatientList(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*Patient, len(pg.Patients))
	for i, r := range pg.Patients {
		out[i] = r.Patient
	}
	return out, nil
}

// IndexPatients is the Go step of the migration that adds the worklist's
// drug columns and the patient list's index (store/migrate.go: conversions):
// it recomputes every patient's worklist and list columns with the clinic's
// rules, the default settings and the drug library in force, in the
// migration's transaction. Nothing it writes is a record: no audit entry.
func IndexPatients(tx Tx, now time.Time) (int, error) {
	s := &Service{Settings: DefaultSettings(), builtin: drug.Default()}
	s.lib.Store(s.builtin)
	if _, err := s.currentLibrary(tx); err != nil {
		return 0, err
	}
	now = now.UTC().Truncate(time.Millisecond)
	n := 0
	for after := int64(0); ; {
		page, err := tx.PatientsAfter(after, 1000)
		if err != nil {
			return n, err
		}
		for _, p := range page {
			if err := s.refreshWork(tx, p.ID, now); err != nil {
				return n, err
			}
			after = p.ID
		}
		n += len(page)
		if len(page) < 1000 {
			return n, nil
		}
	}
}
