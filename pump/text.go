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

// names is the text of a named type's values: the value v is called
// list[v]; the values below first are not values of the type.
type names[T ~uint8] struct {
	typ   string
	list  []string
	first T
}

func (n names[T]) known(v T) bool { return v >= n.first && int(v) < len(n.list) }

// name returns v's name, or unknown.
func (n names[T]) name(v T, unknown string) string {
	if n.known(v) {
		return n.list[v]
	}
	return unknown
}

// text is MarshalText: v's name, or a *TextError for a value outside the type.
func (n names[T]) text(v T) ([]byte, error) {
	if !n.known(v) {
		return nil, &TextError{Type: n.typ, Text: n.name(v, "#"+strconv.Itoa(int(v))), Allowed: n.list[n.first:]}
	}
	return []byte(n.list[v]), nil
}

// read is UnmarshalText: it sets *v to the value named b, or returns a
// *TextError naming every value.
func (n names[T]) read(b []byte, v *T) error {
	for i := int(n.first); i < len(n.list); i++ {
		if n.list[i] == string(b) {
			*v = T(i)
			return nil
		}
	}
	return &TextError{Type: n.typ, Text: string(b), Allowed: n.list[n.first:]}
}
