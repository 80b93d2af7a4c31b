// Package clinic owns the clinic's records and the rules over them: patients,
// users and their roles, screening trials, implants, prescriptions with their
// full history, refills, follow-ups, complications, side effects, the alarms and
// interrogation reports pumps send, the worklist and the hash-chained audit trail.
//
// It is the centre of the clinic server (the benbjohnson/wtf layout): the
// domain types, the Service that applies every business rule, and the Store
// interface that the storage packages (store/sqlite, store/postgres) implement
// without holding any rule. Clinical arithmetic comes from package therapy and
// drug limits from package drug; nothing here does network or database I/O
// itself, and time comes from the Service's clock.
package clinic

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// Error codes: what went wrong, for a caller to act on. The HTTP layer maps
// each to one status in one place.
const (
	ECONFLICT     = "conflict"          // a version check failed, or a duplicate
	EINTERNAL     = "internal"          // a fault of the server
	EINVALID      = "invalid"           // a field is wrong; nothing was written
	ENOTFOUND     = "not_found"         // no such record
	EUNAUTHORIZED = "unauthorized"      // not signed in, or bad credentials
	EFORBIDDEN    = "forbidden"         // signed in, but the role may not
	ETOOLARGE     = "too_large"         // a request or report too large to take
	EUNAVAILABLE  = "unavailable"       // the store is not reachable, or the server is busy
	ETHROTTLED    = "too_many_requests" // too many attempts: wait RetryAfter
)

// Error is a domain error: a code, the field it concerns ("" when none) and a
// message for a person.
type Error struct {
	Code    string
	Field   string
	Message string
	// Problems lists every problem when a whole input is refused at once (a
	// drug library file), each with its own field path.
	Problems []Problem
	// RetryAfter, for ETHROTTLED, is how long to wait before trying again.
	RetryAfter time.Duration
}

// Problem is one thing wrong with an input refused as a whole: the field by its
// path and the reason.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return "clinic: " + e.Code + ": " + e.Field + ": " + e.Message
	}
	return "clinic: " + e.Code + ": " + e.Message
}

// Errorf returns an *Error with code, field and a formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: EINTERNAL for an error that is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the field of an *Error, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorProblems returns the problems of an *Error refusing an input as a
// whole, or nil.
func ErrorProblems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

// ErrorRetryAfter returns how long a throttled caller should wait, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorMessage returns the message of an *Error, or a generic one: the text of
// an internal error is logged, never shown.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Settings are the clinic's own settings. The therapy settings (refill margin,
// trial success threshold, replacement planning window) come from
// spec/drugs.md; the rest are clinic workflow defaults, not clinical figures,
// which a clinic reviews.
type Settings struct {
	Therapy therapy.Settings
	// RefillLead: a refill appears on the worklist this long before it is due.
	RefillLead time.Duration
	// FollowUpLead: a follow-up appears this long before it is due.
	FollowUpLead time.Duration
	// WoundChecks are the wound checks scheduled after an implant (hazard H18),
	// as times after the implant.
	WoundChecks []time.Duration
	// TrendIncreases dose increases within TrendWindow make a rising dose trend
	// (hazard H9: a catheter-tip granuloma or catheter problem shows as a need
	// for ever more drug).
	TrendIncreases int
	TrendWindow    time.Duration
	// SessionTTL is how long a session lasts from sign-in.
	SessionTTL time.Duration
	// PainScale is the top of the pain scale (0 to PainScale), in hundredths.
	PainScale therapy.Score
	// AlarmFollowUps is what each alarm calls for when acknowledged, by the
	// alarm's name (DefaultAlarmFollowUps).
	AlarmFollowUps map[string]AlarmFollowUp
	// ProgramWindow: an order not programmed this long after its start is a
	// worklist item (issue 12: 24 h by default).
	ProgramWindow time.Duration
	// PumpClockTolerance: a pump whose clock differs from the relay's by
	// more than this when it reports is a prescription_mismatch on its
	// clock (flex steps run at the wrong time of day).
	PumpClockTolerance time.Duration
}

// DefaultSettings are the settings a new clinic starts with.
func DefaultSettings() Settings {
	return Settings{
		Therapy:            therapy.DefaultSettings,
		RefillLead:         14 * 24 * time.Hour,
		FollowUpLead:       7 * 24 * time.Hour,
		WoundChecks:        []time.Duration{7 * 24 * time.Hour, 30 * 24 * time.Hour},
		TrendIncreases:     3,
		TrendWindow:        90 * 24 * time.Hour,
		SessionTTL:         12 * time.Hour,
		PainScale:          1000,
		AlarmFollowUps:     DefaultAlarmFollowUps,
		ProgramWindow:      24 * time.Hour,
		PumpClockTolerance: 5 * time.Minute,
	}
}

// Quantities cross the API and the store as text with their unit ("18.5 mL",
// "2000 mcg/mL", "150 mcg/day"): the unit types write and read themselves
// (encoding.TextMarshaler), exactly.

// Score is a pain score on the clinic's scale, a JSON number with at most two
// decimals (6.5), held exactly in hundredths.
type Score therapy.Score

func (s Score) MarshalJSON() ([]byte, error) { return []byte(unit.FormatFixed(int64(s), 2)), nil }
func (s *Score) UnmarshalJSON(b []byte) error {
	n, err := unit.ParseDecimal(string(b), 2)
	if err != nil {
		return fmt.Errorf("pain score %s: a number with at most two decimals, e.g. 6.5", b)
	}
	*s = Score(n)
	return nil
}

// Date is a calendar date, written "2006-01-02".
type Date struct{ time.Time }

// MarshalJSON and UnmarshalJSON override the embedded time.Time's.
func (d Date) MarshalJSON() ([]byte, error) {
	b, _ := d.MarshalText()
	return json.Marshal(string(b))
}
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: write \"YYYY-MM-DD\"")
	}
	return d.UnmarshalText([]byte(s))
}

func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte(""), nil
	}
	return []byte(d.Format(time.DateOnly)), nil
}
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("date %q: write YYYY-MM-DD", b)
	}
	*d = Date{t}
	return nil
}

// ustd converts a wall-clock time to the unit time therapy takes.
func ustd(t time.Time) unit.Time { return unit.FromStd(t) }

// stdDur converts a unit.Duration to a time.Duration.
func stdDur(d unit.Duration) time.Duration { return d.Std() }
