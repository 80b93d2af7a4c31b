package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The file is read into a small tree of JSON values first, rather than decoded into
// structs, so that every refusal can name its field: members keep their order (the
// first error in the file is the one reported), a key given twice is refused rather
// than silently overwritten, keys match exactly (encoding/json matches struct
// fields case-insensitively), and numbers keep the text they were written with so
// that "0.0022" mL is exactly 2200 nL, never a float64 near it.

// fileField is the Field of a refusal that concerns the file as a whole.
const fileField = "(file)"

// maxDepth bounds nesting; the deepest scenario field
// (events[i].prescription.flex[j].days[k]) is at depth 7.
const maxDepth = 16

type jkind uint8

const (
	jObject jkind = iota + 1
	jArray
	jString
	jNumber
	jBool
	jNull
)

// jvalue is one JSON value.
type jvalue struct {
	kind    jkind
	text    string // a string's value, or a number as written
	b       bool
	members []jmember // object, in file order
	elems   []*jvalue // array
}

type jmember struct {
	key string
	val *jvalue
}

func (v *jvalue) describe() string {
	switch v.kind {
	case jObject:
		return "an object"
	case jArray:
		return "an array"
	case jString:
		return "the string " + quote(v.text)
	case jNumber:
		return "the number " + truncate(v.text)
	case jBool:
		return strconv.FormatBool(v.b)
	}
	return "null"
}

// jsonReader builds the tree with json.Decoder's tokenizer, which checks the syntax.
type jsonReader struct {
	dec  *json.Decoder
	data []byte
}

func decodeJSON(data []byte) *jvalue {
	if !utf8.Valid(data) {
		fail(fileField, "not valid UTF-8 text")
	}
	r := &jsonReader{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	r.dec.UseNumber()
	tok, err := r.dec.Token()
	if err == io.EOF {
		fail(fileField, "empty: a scenario is a JSON object {…}")
	}
	if err != nil {
		r.syntax(fileField, err)
	}
	if tok != json.Delim('{') {
		fail(fileField, "a scenario is a JSON object {…}")
	}
	root := r.object("", 1)
	if _, err := r.dec.Token(); err != io.EOF {
		line, col := r.position(r.dec.InputOffset())
		fail(fileField, "unexpected data after the scenario object (line %d, column %d): a file holds one scenario", line, col)
	}
	return root
}

// value reads the value whose first token is next; path names it.
func (r *jsonReader) value(path string, depth int) *jvalue {
	tok, err := r.dec.Token()
	if err != nil {
		r.syntax(path, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth > maxDepth {
			fail(path, "nested more than %d levels deep", maxDepth)
		}
		if t == '{' {
			return r.object(path, depth)
		}
		if t == '[' {
			return r.array(path, depth)
		}
		// A closing delimiter here is a syntax error the tokenizer already refused.
		fail(path, "invalid JSON: unexpected %q", rune(t))
	case string:
		return &jvalue{kind: jString, text: t}
	case json.Number:
		return &jvalue{kind: jNumber, text: string(t)}
	case bool:
		return &jvalue{kind: jBool, b: t}
	case nil:
		return &jvalue{kind: jNull}
	}
	fail(path, "invalid JSON: unexpected token %v", tok)
	return nil
}

// object reads the members of an object whose '{' has been read.
func (r *jsonReader) object(path string, depth int) *jvalue {
	v := &jvalue{kind: jObject}
	seen := map[string]bool{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			r.syntax(orFile(path), err)
		}
		key, ok := tok.(string)
		if !ok {
			fail(orFile(path), "invalid JSON: expected a field name, got %v", tok)
		}
		field := join(path, key)
		if seen[key] {
			fail(field, "given twice; give each field once")
		}
		seen[key] = true
		v.members = append(v.members, jmember{key, r.value(field, depth+1)})
	}
	r.closing(path)
	return v
}

// array reads the elements of an array whose '[' has been read.
func (r *jsonReader) array(path string, depth int) *jvalue {
	v := &jvalue{kind: jArray}
	for r.dec.More() {
		v.elems = append(v.elems, r.value(index(path, len(v.elems)), depth+1))
	}
	r.closing(path)
	return v
}

func (r *jsonReader) closing(path string) {
	if _, err := r.dec.Token(); err != nil {
		r.syntax(orFile(path), err)
	}
}

func (r *jsonReader) syntax(path string, err error) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := r.position(se.Offset)
		fail(path, "invalid JSON at line %d, column %d: %s", line, col, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		fail(path, "invalid JSON: the file ends before the JSON is complete")
	}
	fail(path, "invalid JSON: %s", err.Error())
}

// position returns the 1-based line and column (in bytes) of offset.
func (r *jsonReader) position(offset int64) (line, col int) {
	if offset > int64(len(r.data)) {
		offset = int64(len(r.data))
	}
	before := r.data[:offset]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func orFile(path string) string {
	if path == "" {
		return fileField
	}
	return path
}

// join names member key of the object at path: "pump.model". A key that is not a
// plain name is quoted, so that the path stays unambiguous and printable.
func join(path, key string) string {
	if !plainName(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

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

// maxEcho bounds how much of a value from the file a message repeats.
const maxEcho = 64

// quote quotes s for a message, escaping control characters and cutting it short.
func quote(s string) string { return strconv.Quote(truncate(s)) }

func truncate(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// fail refuses the file: it panics with a *FieldError, which Parse recovers.
func fail(field, format string, args ...any) {
	panic(&FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}
