package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// decode reads one JSON object from the request body into v, strictly: no
// unknown fields, no trailing data, at most limit bytes. A bad body is refused
// with the field at fault.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, reflect.TypeOf(v), err)
	}
	if dec.More() {
		return clinic.Errorf(clinic.EINVALID, "", "one JSON object only")
	}
	return nil
}

func jsonError(body []byte, t reflect.Type, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return clinic.Errorf(clinic.EINVALID, "", "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return clinic.Errorf(clinic.EINVALID, "", "the JSON ends early")
	case errors.As(err, &te):
		return clinic.Errorf(clinic.EINVALID, te.Field, "must be %s, not %s", jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return clinic.Errorf(clinic.EINVALID, name, "unknown field")
	}
	if field, msg := locate(body, t, ""); field != "" {
		return clinic.Errorf(clinic.EINVALID, field, "%s", msg)
	}
	return clinic.Errorf(clinic.EINVALID, "", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint8, reflect.Uint32:
		return "a whole number"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
)

// locate finds the field whose value failed to decode (a quantity without a
// unit, a bad time…) by decoding each field of the object on its own.
func locate(raw []byte, t reflect.Type, path string) (string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return "", ""
		}
		for i, it := range items {
			if f, m := locate(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); f != "" {
				return f, m
			}
		}
		return "", ""
	case t.Kind() == reflect.Struct && t != timeType && !reflect.PointerTo(t).Implements(unmarshalerType) && !reflect.PointerTo(t).Implements(textUnmarshalerType):
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", ""
		}
		return locateFields(obj, t, join)
	}
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		msg := err.Error()
		if errors.Is(err, err) && strings.Contains(msg, "parsing time") {
			msg = "a time in RFC 3339, e.g. 2026-01-05T08:00:00Z"
		}
		return path, strings.TrimPrefix(msg, "unit: ")
	}
	return "", ""
}

func locateFields(obj map[string]json.RawMessage, t reflect.Type, join func(string) string) (string, string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if p, m := locateFields(obj, ft, join); p != "" {
					return p, m
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		raw, ok := obj[name]
		if !ok {
			continue
		}
		if p, m := locate(raw, f.Type, join(name)); p != "" {
			return p, m
		}
	}
	return "", ""
}
