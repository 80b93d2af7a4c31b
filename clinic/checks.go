package clinic

import (
	"errors"
	"slices"
	"strings"
	"time"

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

func textField(field, v string, max int) error {
	if len(v) > max {
		return Errorf(EINVALID, field, "at most %d bytes", max)
	}
	return nil
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
