package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/thecal/thecal/clinic"
)

// decode reads one JSON object from the request body into v, strictly, with
// json/v2 (github.com/go-json-experiment/json): field names match exactly,
// a field given twice or unknown is refused, no trailing data, at most limit
// bytes. A bad body is refused naming the field at fault, read from the
// error's JSON pointer (/status/active_alarms/0 → status.active_alarms[0]).
func decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return clinic.Errorf(clinic.ETOOLARGE, "", "the body is larger than %d bytes", limit)
	} else if err != nil {
		return clinic.Errorf(clinic.EINVALID, "", "the body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return clinic.Errorf(clinic.EINVALID, "", "a JSON object is required")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := json.UnmarshalDecode(dec, v, json.RejectUnknownMembers(true)); err != nil {
		return jsonError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return clinic.Errorf(clinic.EINVALID, "", "one JSON object only")
	}
	return nil
}

// jsonError turns a json/v2 error into a clinic error naming the field, by
// the error's type and JSON pointer.
func jsonError(err error) error {
	var ce *clinic.Error
	var se *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &ce):
		// A rule of the value itself (a prescription's program), with its field.
		return ce
	case errors.Is(err, io.ErrUnexpectedEOF):
		return clinic.Errorf(clinic.EINVALID, "", "the JSON ends early")
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return clinic.Errorf(clinic.EINVALID, fieldOf(syn.JSONPointer), "given twice: each field once")
	case errors.As(err, &syn):
		return clinic.Errorf(clinic.EINVALID, fieldOf(syn.JSONPointer), "malformed JSON at byte %d", syn.ByteOffset)
	case errors.As(err, &se):
		field := fieldOf(se.JSONPointer)
		var te *time.ParseError
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return clinic.Errorf(clinic.EINVALID, field, "unknown field")
		case errors.As(se.Err, &te):
			return clinic.Errorf(clinic.EINVALID, field, "a time in RFC 3339, e.g. 2026-01-05T08:00:00Z")
		case se.GoType != nil && se.JSONKind != 0 && se.JSONKind != '"' && jsonKind(se.GoType) == "a string":
			// A quantity, a time or a name written as something else than text.
			return clinic.Errorf(clinic.EINVALID, field, "must be a string, not %s", kindText(se.JSONKind))
		case se.Err != nil:
			// The value's own reader refused it (a quantity without its unit,
			// an unknown model or mode…): its message says what is allowed.
			return clinic.Errorf(clinic.EINVALID, field, "%v", se.Err)
		case se.GoType != nil:
			return clinic.Errorf(clinic.EINVALID, field, "must be %s, not %s", jsonKind(se.GoType), kindText(se.JSONKind))
		}
		return clinic.Errorf(clinic.EINVALID, field, "cannot be read")
	}
	return clinic.Errorf(clinic.EINVALID, "", "the body is not a JSON object this route takes")
}

// fieldOf writes a JSON pointer as the API names fields: "status.reservoir",
// "doses[1]".
func fieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint8, reflect.Uint32:
		return "a whole number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// kindText names a JSON kind as a person would.
func kindText(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "something else"
}
