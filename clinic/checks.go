package clinic

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/thecal/thecal/therapy"
)

// Field checks shared by the records' rules.

// clockSkew is how far in the future a time that has already happened may lie:
// a device clock slightly ahead of the server's.
const clockSkew = 5 * time.Minute

func notFuture(field string, t, now time.Time) error {
	if t.IsZero() {
		return Errorf(EINVALID, field, "is required (RFC 3339, e.g. 2026-01-05T08:00:00Z)")
	}
	if t.After(now.Add(clockSkew)) {
		return Errorf(EINVALID, field, "%s is in the future", t.Format(time.RFC3339))
	}
	if t.Year() < 1990 {
		return Errorf(EINVALID, field, "%s is before any implanted pump", t.Format(time.RFC3339))
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return Errorf(EINVALID, field, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

// textField checks free text (notes, reasons): at most max bytes of valid
// UTF-8, line breaks allowed, no other control or bidirectional character.
func textField(field, v string, max int) error {
	if len(v) > max {
		return Errorf(EINVALID, field, "at most %d bytes", max)
	}
	return checkText(field, v, true)
}

// therapyField maps a therapy input name to the API field it comes from.
func therapyErr(err error, fields map[string]string) error {
	var ie *therapy.InputError
	if errors.As(err, &ie) {
		f, ok := fields[ie.Input]
		if !ok {
			f = strings.ReplaceAll(ie.Input, "-", "_")
		}
		return Errorf(EINVALID, f, "%s", ie.Reason)
	}
	return err
}

// The range of calendar years a clinical date may fall in. A year outside it
// is a typing or parsing error (year 1 is Go's zero time, year 9999 a
// placeholder), never a clinical fact.
const (
	MinYear = 1900
	MaxYear = 2200
)

// dateInRange refuses a time outside MinYear–MaxYear.
func dateInRange(field string, t time.Time) error {
	if y := t.Year(); y < MinYear || y > MaxYear {
		return Errorf(EINVALID, field, "%s is outside the years %d to %d", t.Format(time.DateOnly), MinYear, MaxYear)
	}
	return nil
}

// badRune says why r may not appear in a name or a text field ("" when it
// may). Bidirectional overrides and isolates reorder what a reader sees (a
// name displayed differently from what is stored: CVE-2021-42574, "Trojan
// Source"); control characters (NUL, escape sequences) corrupt displays,
// logs and exports.
func badRune(r rune, multiline bool) string {
	switch {
	case r == utf8.RuneError:
		return "is not valid UTF-8"
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return "contains a bidirectional control character (U+" + strings.ToUpper(strconv.FormatInt(int64(r), 16)) + ")"
	case multiline && (r == '\n' || r == '\r' || r == '\t'):
		return ""
	case unicode.IsControl(r), r == 0x2028, r == 0x2029, r == 0xFEFF:
		return "contains a control character (U+" + strings.ToUpper(strconv.FormatInt(int64(r), 16)) + ")"
	}
	return ""
}

// checkText refuses invalid UTF-8, bidirectional controls and control
// characters; multiline text may hold line breaks and tabs.
func checkText(field, v string, multiline bool) error {
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, field, "is not valid UTF-8")
	}
	for _, r := range v {
		if why := badRune(r, multiline); why != "" {
			return Errorf(EINVALID, field, "%s", why)
		}
	}
	return nil
}

// nameField checks a person's name (a patient, a user, a surgeon): required
// when required is set, at most max bytes, one line of printable text.
func nameField(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return Errorf(EINVALID, field, "is required")
	}
	if len(v) > max {
		return Errorf(EINVALID, field, "at most %d bytes", max)
	}
	return checkText(field, v, false)
}
