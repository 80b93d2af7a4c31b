// Package strictjson owns reading the JSON files that people write by hand (a
// scenario, a drug library) into Go values strictly, and naming each refusal by
// the path of its field, e.g. "events[3].prescription.flex[1].at".
//
// The reading itself is json/v2 (github.com/go-json-experiment/json): member
// names match the struct tags exactly (case included), a name given twice or
// not among the tags is refused, and the first fault ends the reading. This
// package adds what a person needs from the refusal: json/v2's JSON pointer as
// a field path, the reason in words (the allowed names, the kind of value
// expected and the one found, a line and column), and one rule for null.
//
// Numbers that a reader must have exactly (a dose, a volume) are decoded into
// jsontext.Value, which keeps the number as written; the reader parses that
// text with the unit package, so no float ever decides a quantity.
package strictjson

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// File is the Path of a refusal that concerns the document as a whole.
const File = "(file)"

// Error is a refusal of a document: the field by its path and the reason.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string { return e.Path + ": " + e.Reason }

// Nulls is what a JSON null means in a document.
type Nulls uint8

const (
	// NullRefused: null is never a value. It is refused as a value of the wrong
	// kind, except in a jsontext.Value, whose reader checks the kind itself.
	NullRefused Nulls = iota
	// NullAbsent: a member whose value is null counts as absent, and is left at
	// its zero value; a null element of a list is refused.
	NullAbsent
)

// Unmarshal reads data, one JSON value in UTF-8, into v, a pointer to a struct
// whose fields carry json tags. A refusal is an *Error.
func Unmarshal(data []byte, v any, nulls Nulls) error {
	// Both are checked before json/v2 reads a byte, so that they name the file,
	// not the field where json/v2 would first meet them.
	if !utf8.Valid(data) {
		return &Error{File, "not valid UTF-8 text"}
	}
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return &Error{File, "invalid JSON: the file is empty"}
	}
	err := json.Unmarshal(data, v, json.RejectUnknownMembers(true), json.WithUnmarshalers(nullRule(nulls)))
	if err == nil {
		return nil
	}
	return refusal(data, err)
}

var rawType = reflect.TypeFor[jsontext.Value]()

// nullRule applies nulls to every value json/v2 is about to read: json/v2 on
// its own reads null into any Go value as its zero value, so that a null would
// pass for an absent field or an empty name.
func nullRule(nulls Nulls) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v any) error {
		if dec.PeekKind() != 'n' {
			return errors.ErrUnsupported // not null: json/v2 reads it
		}
		t := reflect.TypeOf(v).Elem()
		parent, _ := dec.StackIndex(dec.StackDepth())
		member := parent == '{'
		if t == rawType && !(member && nulls == NullAbsent) {
			return errors.ErrUnsupported // the reader of the raw value decides
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		if member && nulls == NullAbsent {
			return nil // absent: v keeps its zero value
		}
		return &json.SemanticError{JSONKind: 'n', GoType: t}
	})
}

// refusal turns an error of json/v2 into an *Error.
func refusal(data []byte, err error) *Error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return &Error{pathOf(syn.JSONPointer, true), "given twice; give each field once"}
	case errors.As(err, &syn):
		path := pathOf(syn.JSONPointer, false)
		if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
			return &Error{path, "invalid JSON: the file ends before the JSON is complete"}
		}
		line, col := position(data, syn.ByteOffset)
		return &Error{path, fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, syn.Err)}
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return &Error{pathOf(sem.JSONPointer, true), unknownReason(sem.GoType)}
	case errors.As(err, &sem) && sem.GoType != nil && sem.JSONKind != 0 && sem.JSONKind != '"' && readsText(sem.GoType):
		// A value that reads itself from text (a quantity with its unit, a
		// time, a name) given as another kind of JSON value.
		return &Error{pathOf(sem.JSONPointer, false), "must be a string, not " + Describe(valueAt(data, sem.ByteOffset))}
	case errors.As(err, &sem) && sem.Err == nil && sem.GoType != nil:
		// A value of the wrong kind. json/v2 gives the value only for some
		// kinds; the offset always points at its start.
		found := "null"
		if sem.JSONKind != 'n' {
			found = Describe(valueAt(data, sem.ByteOffset))
		}
		return &Error{pathOf(sem.JSONPointer, false), "must be " + expected(sem.GoType) + ", not " + found}
	case errors.As(err, &sem) && sem.Err != nil:
		var te *time.ParseError
		if errors.As(sem.Err, &te) {
			return &Error{pathOf(sem.JSONPointer, false), fmt.Sprintf("%s is not a time in RFC 3339, e.g. 2026-01-05T08:00:00Z", Quote(te.Value))}
		}
		return &Error{pathOf(sem.JSONPointer, false), sem.Err.Error()}
	}
	return &Error{File, err.Error()}
}

// pathOf renders a JSON pointer as a field path: "/events/3/at" is
// "events[3].at". A token of digits is an array index unless name says that
// the last token names a member (an unknown or repeated field): no member a
// reader knows is named with digits, so an earlier token of digits is an index.
func pathOf(ptr jsontext.Pointer, name bool) string {
	var b strings.Builder
	n := strings.Count(string(ptr), "/")
	i := 0
	for tok := range ptr.Tokens() {
		i++
		switch {
		case isIndex(tok) && !(name && i == n):
			b.WriteString("[" + tok + "]")
		case !plainName(tok):
			b.WriteString("[" + Quote(tok) + "]")
		case b.Len() == 0:
			b.WriteString(tok)
		default:
			b.WriteString("." + tok)
		}
	}
	if b.Len() == 0 {
		return File
	}
	return b.String()
}

func isIndex(tok string) bool {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

// plainName reports whether a member name can stand in a path unquoted.
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// names lists the JSON member names of struct type t (or a pointer to one), in
// the order the fields are declared.
func names(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// Present lists the JSON member names of the fields of *v, a struct, that are
// set (not their zero value), in the order the fields are declared. With every
// optional member a pointer, slice or jsontext.Value, these are the members
// the document gave.
func Present(v any) []string {
	rv := reflect.ValueOf(v).Elem()
	var names []string
	for i := range rv.NumField() {
		if name := tagName(rv.Type().Field(i)); name != "" && !rv.Field(i).IsZero() {
			names = append(names, name)
		}
	}
	return names
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// Unknowns refuses, one by one, the members that json/v2 kept instead of
// refusing the first: a struct with a jsontext.Value field tagged
// `json:",embed"` (json/v2's embedded fallback) keeps there the members it
// does not name, for a reader that reports every problem of a document and
// reads on. Unknowns walks *v (a
// struct, through its pointers and lists) and names each kept member by its
// path from v.
func Unknowns(v any) []*Error {
	var errs []*Error
	var walk func(ptr jsontext.Pointer, rv reflect.Value)
	walk = func(ptr jsontext.Pointer, rv reflect.Value) {
		switch {
		case rv.Kind() == reflect.Pointer && !rv.IsNil():
			walk(ptr, rv.Elem())
		case rv.Kind() == reflect.Slice && rv.Type() != rawType:
			for i := range rv.Len() {
				walk(ptr.AppendToken(strconv.Itoa(i)), rv.Index(i))
			}
		case rv.Kind() == reflect.Struct:
			for i := range rv.NumField() {
				f := rv.Type().Field(i)
				if name := tagName(f); name != "" {
					walk(ptr.AppendToken(name), rv.Field(i))
					continue
				}
				if _, opts, _ := strings.Cut(f.Tag.Get("json"), ","); opts != "embed" || f.Type != rawType {
					continue
				}
				dec := jsontext.NewDecoder(bytes.NewReader(rv.Field(i).Bytes()))
				if _, err := dec.ReadToken(); err != nil { // '{', or nothing kept
					continue
				}
				for dec.PeekKind() == '"' {
					name, _ := dec.ReadToken()
					errs = append(errs, &Error{pathOf(ptr.AppendToken(name.String()), true), unknownReason(rv.Type())})
					if dec.SkipValue() != nil {
						break
					}
				}
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return errs
}

func unknownReason(t reflect.Type) string {
	return "unknown field (allowed here: " + strings.Join(names(t), ", ") + ")"
}

// readsText reports whether a Go value of type t reads itself from a JSON
// string (encoding.TextUnmarshaler).
func readsText(t reflect.Type) bool {
	text := reflect.TypeFor[encoding.TextUnmarshaler]()
	return t.Implements(text) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(text)
}

// expected says what kind of JSON value a Go value of type t is read from.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object {…}"
	case reflect.Slice, reflect.Array:
		return "a list […]"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a value of another kind"
}

// valueAt returns the JSON value that starts at offset in data.
func valueAt(data []byte, offset int64) jsontext.Value {
	if offset < 0 || offset >= int64(len(data)) {
		return nil
	}
	v, err := jsontext.NewDecoder(bytes.NewReader(data[offset:])).ReadValue()
	if err != nil {
		return nil
	}
	return v
}

// Describe names a JSON value for a message: the string "x", the number 1, an
// object, a list, true, null. A long value is cut short.
func Describe(v jsontext.Value) string {
	switch v.Kind() {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "a string"
		}
		return "the string " + Quote(s)
	case '0':
		return "the number " + Truncate(string(v))
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return "null"
	}
	return "a value"
}

// maxEcho bounds how much of a value from the file a message repeats.
const maxEcho = 64

// Quote quotes s for a message, escaping control characters and cutting it short.
func Quote(s string) string { return strconv.Quote(Truncate(s)) }

// Truncate cuts s to at most maxEcho bytes, on a character boundary, marking the cut.
func Truncate(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// position returns the 1-based line and byte column of offset in data.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	return 1 + bytes.Count(before, []byte{'\n'}), int(offset) - bytes.LastIndexByte(before, '\n')
}
