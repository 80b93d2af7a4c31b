package drug

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/thecal/thecal/unit"
)

// A library file is read field by field from json.RawMessage values rather than
// decoded into structs: encoding/json would match keys case-insensitively, keep
// the last of two equal keys, read numbers as float64 and name no field path in
// its errors. Here every problem is collected with its path, and reading goes on
// after a problem so that one load reports everything wrong with a file.

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

// member is one field of an object, in file order.
type member struct {
	key string
	raw json.RawMessage
}

// object is a JSON object being read: the fields not yet taken are unknown.
type object struct {
	r       *reader
	path    string
	members []member
}

// join names field key of the object at path: "drugs[0].name". A key that is
// not a plain name is quoted, so that every path is printable and unambiguous.
func join(path, key string) string {
	plain := key != "" && len(key) <= 64 && strings.IndexFunc(key, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_')
	}) < 0
	switch {
	case !plain:
		return path + "[" + strconv.Quote(short(key)) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func orFile(path string) string {
	if path == "" {
		return fileField
	}
	return path
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// describe names the JSON type of raw for a message.
func describe(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true/false"
	case 'n':
		return "null"
	}
	return "a number"
}

// object reads raw as an object whose fields must be among allowed.
func (r *reader) object(path string, raw json.RawMessage, allowed ...string) (*object, bool) {
	if raw[0] != '{' {
		r.fail(orFile(path), "must be an object {…}, not %s", describe(raw))
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_, _ = dec.Token() // '{', checked above
	o := &object{r: r, path: path}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			r.fail(orFile(path), "invalid JSON: %v", err)
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			r.fail(join(path, key), "invalid JSON: %v", err)
			return nil, false
		}
		switch {
		case seen[key]:
			r.fail(join(path, key), "given twice; give each field once")
		case !slices.Contains(allowed, key):
			r.fail(join(path, key), "unknown field (allowed here: %s)", strings.Join(allowed, ", "))
		default:
			o.members = append(o.members, member{key, bytes.TrimSpace(v)})
		}
		seen[key] = true
	}
	return o, true
}

func (o *object) at(key string) string { return join(o.path, key) }

// get returns the value of key, or nil when absent. A null counts as absent.
func (o *object) get(key string) json.RawMessage {
	for _, m := range o.members {
		if m.key == key && string(m.raw) != "null" {
			return m.raw
		}
	}
	return nil
}

// require returns the value of key, or records that it is missing.
func (o *object) require(key, what string) json.RawMessage {
	v := o.get(key)
	if v == nil {
		o.r.fail(o.at(key), "required: %s", what)
	}
	return v
}

func (r *reader) list(path string, raw json.RawMessage) []json.RawMessage {
	var elems []json.RawMessage
	if raw[0] != '[' {
		r.fail(path, "must be a list […], not %s", describe(raw))
		return nil
	}
	if err := json.Unmarshal(raw, &elems); err != nil {
		r.fail(path, "invalid JSON: %v", err)
		return nil
	}
	for i := range elems {
		elems[i] = bytes.TrimSpace(elems[i])
	}
	return elems
}

func (r *reader) str(path string, raw json.RawMessage) (string, bool) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		r.fail(path, "must be a string, not %s", describe(raw))
		return "", false
	}
	return s, true
}

// maxText bounds names and sources.
const maxText = 500

// text reads a non-empty string without surrounding spaces or control characters.
func (r *reader) text(path string, raw json.RawMessage, max int) (string, bool) {
	s, ok := r.str(path, raw)
	if !ok {
		return "", false
	}
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

func (r *reader) boolean(path string, raw json.RawMessage) (bool, bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	r.fail(path, "must be true or false, not %s", describe(raw))
	return false, false
}

// integer reads a whole number written without a point or exponent, within lo..hi.
func (r *reader) integer(path string, raw json.RawMessage, lo, hi int64) (int64, bool) {
	if describe(raw) != "a number" {
		r.fail(path, "must be a whole number, not %s", describe(raw))
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < lo || n > hi {
		r.fail(path, "%s is not a whole number from %d to %d", short(string(raw)), lo, hi)
		return 0, false
	}
	return n, true
}

// short cuts s for a message.
func short(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// reason is a unit package error as a reason, without its "unit: " prefix.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", "")
}

// document checks that data is one JSON value in UTF-8 and returns it.
func (r *reader) document(data []byte) (json.RawMessage, bool) {
	if !utf8.Valid(data) {
		r.fail(fileField, "not valid UTF-8 text")
		return nil, false
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			r.fail(fileField, "invalid JSON at line %d, column %d: %v", line, col, se)
		} else {
			r.fail(fileField, "invalid JSON: %v", err)
		}
		return nil, false
	}
	return bytes.TrimSpace(raw), true
}

// position returns the 1-based line and byte column of offset in data.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	return 1 + bytes.Count(before, []byte{'\n'}), int(offset) - bytes.LastIndexByte(before, '\n')
}
