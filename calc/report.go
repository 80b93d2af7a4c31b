package calc

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is one calculation shown in full: the inputs, the working (each
// formula with the numbers put in), the result and notes. It prints as text
// for people (WriteText) and as JSON for machines (WriteJSON).
type Report struct {
	Calc      string // the calculation's name ("refill")
	Title     string
	WorkTitle string // the working's heading: "Working" unless set
	Inputs    []Field
	Working   []string
	Results   []Field
	Notes     []string
	// Refused: the library refuses the prescription, or a finding needs a
	// stated reason that was not given.
	Refused bool
}

// Field is one input or result: Value is what JSON carries (a string with its
// unit, a number, a bool, a list), Text what a person reads (Value when empty).
type Field struct {
	Key, Label string
	Value      any
	Text       string
}

func (r *Report) in(key, label string, value any, text ...string) {
	r.Inputs = append(r.Inputs, field(key, label, value, text))
}

func (r *Report) out(key, label string, value any, text ...string) {
	r.Results = append(r.Results, field(key, label, value, text))
}

func (r *Report) work(format string, args ...any) {
	r.Working = append(r.Working, fmt.Sprintf(format, args...))
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// field makes a Field; a value that is a fmt.Stringer (a quantity) is carried
// as its string, which the unit package reads back.
func field(key, label string, value any, text []string) Field {
	f := Field{Key: key, Label: label, Value: value}
	if len(text) > 0 {
		f.Text = text[0]
	}
	if s, ok := value.(fmt.Stringer); ok {
		f.Value = s.String()
	}
	return f
}

func (f Field) display() string {
	if f.Text != "" {
		return f.Text
	}
	if b, ok := f.Value.(bool); ok {
		return yesNo(b)
	}
	return fmt.Sprint(f.Value)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteText prints the report for a person, and returns the first error
// writing to w.
func (r *Report) WriteText(w io.Writer) error {
	sw := &stickyWriter{w: w}
	fmt.Fprintf(sw, "%s\n", r.Title)
	section := func(name string, fs []Field) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(sw, "\n%s\n", name)
		tw := tabwriter.NewWriter(sw, 0, 0, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintf(tw, "  %s\t%s\n", f.Label, f.display())
		}
		_ = tw.Flush() // its error is sw's, returned below
	}
	section("Inputs", r.Inputs)
	if len(r.Working) > 0 {
		title := r.WorkTitle
		if title == "" {
			title = "Working"
		}
		fmt.Fprintf(sw, "\n%s\n", title)
		for _, l := range r.Working {
			fmt.Fprintf(sw, "  %s\n", l)
		}
	}
	section("Result", r.Results)
	if len(r.Notes) > 0 {
		fmt.Fprintf(sw, "\nNotes\n")
		for _, n := range r.Notes {
			fmt.Fprintf(sw, "  - %s\n", n)
		}
	}
	return sw.err
}

// stickyWriter writes to w until a write fails, and keeps that error.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	var n int
	n, s.err = s.w.Write(p)
	return n, s.err
}

// WriteJSON prints the report as one JSON object: calc, title, inputs and
// result (objects keyed by Field.Key), working and notes.
func (r *Report) WriteJSON(w io.Writer) error {
	obj := func(fs []Field) map[string]any {
		m := make(map[string]any, len(fs))
		for _, f := range fs {
			m[f.Key] = f.Value
		}
		return m
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Calc    string         `json:"calc"`
		Title   string         `json:"title"`
		Inputs  map[string]any `json:"inputs"`
		Working []string       `json:"working"`
		Result  map[string]any `json:"result"`
		Notes   []string       `json:"notes"`
	}{r.Calc, r.Title, obj(r.Inputs), nonNil(r.Working), obj(r.Results), nonNil(r.Notes)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
