package pump

import (
	"strconv"
	"strings"
)

// TextError is text that names no value of one of the core's named types
// (model, mode, alarm, reason): what was read, and what is allowed.
type TextError struct {
	Type    string   // "model", "mode", "alarm", "reason"
	Text    string   // what was read
	Allowed []string // every name the type accepts
}

func (e *TextError) Error() string {
	allowed := make([]string, len(e.Allowed))
	for i, a := range e.Allowed {
		allowed[i] = strconv.Quote(a)
	}
	return "pump: unknown " + e.Type + " " + strconv.Quote(e.Text) + " (allowed: " + strings.Join(allowed, ", ") + ")"
}

// unmarshalName sets *v to the value whose name in names is b, searching from
// index first; the names before first are not values of the type.
func unmarshalName[T ~uint8](b []byte, typ string, names []string, first int, v *T) error {
	for i := first; i < len(names); i++ {
		if names[i] == string(b) {
			*v = T(i)
			return nil
		}
	}
	return &TextError{Type: typ, Text: string(b), Allowed: names[first:]}
}
