package drug

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/thecal/thecal/strictjson"
	"github.com/thecal/thecal/unit"
)

// A library file is read in two steps. json/v2 (package strictjson) reads the
// JSON into the file's shape (schema.go): syntax, member names matched
// exactly, a member given twice or unknown, the kind of each value; it stops
// at the first such fault, so each drug entry is read on its own, and a fault
// in one entry does not hide those of the others. The reader then checks the
// meaning of everything read, and goes on after a problem, so that one load
// reports everything wrong with a file. A null member counts as absent.

// maxProblems bounds the problems one load reports.
const maxProblems = 50

type reader struct {
	problems []Problem
}

func (r *reader) fail(path, format string, args ...any) {
	if len(r.problems) < maxProblems {
		r.problems = append(r.problems, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
	}
}

// decode reads data into v, recording a refusal with its path under prefix
// (the path of the entry that data is, "" for the file).
func (r *reader) decode(prefix string, data []byte, v any) bool {
	err := strictjson.Unmarshal(data, v, strictjson.NullAbsent)
	var se *strictjson.Error
	switch {
	case err == nil:
		for _, u := range strictjson.Unknowns(v) {
			r.fail(under(prefix, u.Path), "%s", u.Reason)
		}
		return true
	case errors.As(err, &se):
		r.fail(under(prefix, se.Path), "%s", se.Reason)
	default:
		r.fail(orFile(prefix), "%v", err)
	}
	return false
}

// under is path, a path within the entry at prefix, from the file's root.
func under(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == strictjson.File:
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

func orFile(path string) string {
	if path == "" {
		return fileField
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// str reads a value that holds one of several kinds as a string.
func (r *reader) str(path string, v jsontext.Value) (string, bool) {
	var s string
	if v.Kind() != '"' || json.Unmarshal(v, &s) != nil {
		r.fail(path, "must be a string, not %s", strictjson.Describe(v))
		return "", false
	}
	return s, true
}

// maxText bounds names and sources.
const maxText = 500

// text checks a non-empty string without surrounding spaces or control characters.
func (r *reader) text(path, s string, max int) (string, bool) {
	switch {
	case strings.TrimSpace(s) == "":
		r.fail(path, "must not be empty")
	case strings.TrimSpace(s) != s:
		r.fail(path, "%q begins or ends with spaces", short(s))
	case len(s) > max:
		r.fail(path, "longer than %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		r.fail(path, "contains a control character")
	default:
		return s, true
	}
	return "", false
}

func (r *reader) boolean(path string, v jsontext.Value) (bool, bool) {
	switch v.Kind() {
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	r.fail(path, "must be true or false, not %s", strictjson.Describe(v))
	return false, false
}

// integer reads a whole number written without a point or exponent, within lo..hi.
func (r *reader) integer(path string, v jsontext.Value, lo, hi int64) (int64, bool) {
	if v.Kind() != '0' {
		r.fail(path, "must be a whole number, not %s", strictjson.Describe(v))
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < lo || n > hi {
		r.fail(path, "%s is not a whole number from %d to %d", short(string(v)), lo, hi)
		return 0, false
	}
	return n, true
}

// short cuts s for a message.
func short(s string) string { return strictjson.Truncate(s) }

// reason is a unit package error as a reason, without its "unit: " prefix.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", "")
}
