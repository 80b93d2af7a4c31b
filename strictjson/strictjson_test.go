package strictjson

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/thecal/thecal/unit"
)

// doc is a small document shape with each kind of member the readers use.
type doc struct {
	Name   *string        `json:"name"`
	Amount jsontext.Value `json:"amount_ml"`
	On     *bool          `json:"on"`
	Tags   []string       `json:"tags"`
	Inner  *inner         `json:"inner"`
	Items  []inner        `json:"items"`
}

type inner struct {
	At    *string        `json:"at"`
	Value jsontext.Value `json:"value"`
}

func TestUnmarshal(t *testing.T) {
	var d doc
	in := `{"name": "a\u0041", "amount_ml": 0.0022, "on": false, "tags": [], "inner": {"at": "x"}, "items": [{"value": "2 mg"}, {}]}`
	if err := Unmarshal([]byte(in), &d, NullRefused); err != nil {
		t.Fatal(err)
	}
	if *d.Name != "aA" || string(d.Amount) != "0.0022" || *d.On || d.Tags == nil || len(d.Tags) != 0 ||
		*d.Inner.At != "x" || len(d.Items) != 2 || string(d.Items[0].Value) != `"2 mg"` || d.Items[1].Value != nil {
		t.Errorf("got %+v", d)
	}
	if got, want := Present(&d), []string{"name", "amount_ml", "on", "tags", "inner", "items"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Present = %v, want %v", got, want)
	}
	if got := Present(&d.Items[1]); len(got) != 0 {
		t.Errorf("Present of an empty object = %v", got)
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		nulls      Nulls
		path, want string // want: the reason, or its start when it ends with "…"
	}{
		{"not UTF-8", "{\"name\": \"\xff\"}", NullRefused, File, "not valid UTF-8 text"},
		{"empty", " \n", NullRefused, File, "invalid JSON: the file is empty"},
		{"truncated", `{"name": "a`, NullRefused, "name", "invalid JSON: the file ends before the JSON is complete"},
		{"syntax", "{\n \"inner\": {\"at\" 1}}", NullRefused, "inner.at", "invalid JSON at line 2, column 17: invalid character '1' after object name (expecting ':')"},
		{"second value", `{} {}`, NullRefused, File, "invalid JSON at line 1, column 4: …"},
		{"unknown", `{"inner": {"at": "x", "At": "y"}}`, NullRefused, "inner.At", "unknown field (allowed here: at, value)"},
		{"unknown, digits", `{"items": [{}, {"0": 1}]}`, NullRefused, "items[1].0", "unknown field (allowed here: at, value)"},
		{"unknown, odd name", `{"a.b": 1}`, NullRefused, `["a.b"]`, "unknown field (allowed here: name, amount_ml, on, tags, inner, items)"},
		{"twice", `{"name": "x", "name": "x"}`, NullRefused, "name", "given twice; give each field once"},
		{"twice inside a raw value", `{"amount_ml": {"a": 1, "a": 1}}`, NullRefused, "amount_ml.a", "given twice; give each field once"},
		{"string", `{"name": 1.5}`, NullRefused, "name", "must be a string, not the number 1.5"},
		{"bool", `{"on": "yes"}`, NullRefused, "on", `must be true or false, not the string "yes"`},
		{"object", `{"inner": [1]}`, NullRefused, "inner", "must be an object {…}, not a list"},
		{"list", `{"tags": {}}`, NullRefused, "tags", "must be a list […], not an object"},
		{"list element", `{"tags": ["a", true]}`, NullRefused, "tags[1]", "must be a string, not true"},
		{"root", `"x"`, NullRefused, File, `must be an object {…}, not the string "x"`},
		{"long value", `{"on": "` + strings.Repeat("é", 100) + `"}`, NullAbsent, "on", `must be true or false, not the string "` + strings.Repeat("é", 32) + `…"`},
		{"null member", `{"name": null}`, NullRefused, "name", "must be a string, not null"},
		{"null object", `{"inner": null}`, NullRefused, "inner", "must be an object {…}, not null"},
		{"null root", `null`, NullAbsent, File, "must be an object {…}, not null"},
		{"null element", `{"items": [null]}`, NullAbsent, "items[0]", "must be an object {…}, not null"},
		{"null string element", `{"tags": [null]}`, NullAbsent, "tags[0]", "must be a string, not null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d, tc.nulls)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want an *Error", err, err)
			}
			if e.Path != tc.path {
				t.Errorf("path %q, want %q (%s)", e.Path, tc.path, e.Reason)
			}
			if want, prefix := strings.CutSuffix(tc.want, "…"); prefix && !strings.HasPrefix(e.Reason, want) || !prefix && e.Reason != want {
				t.Errorf("reason %q, want %q", e.Reason, tc.want)
			}
			if len(e.Reason) > 200 {
				t.Errorf("reason of %d bytes", len(e.Reason))
			}
		})
	}
}

// TestTextValues: a value that reads itself from text (a quantity, a time)
// is refused as a string when given as another kind, and a time's refusal
// says the form it takes.
func TestTextValues(t *testing.T) {
	var d struct {
		Volume unit.Volume `json:"volume"`
		At     time.Time   `json:"at"`
	}
	for in, want := range map[string][2]string{
		`{"volume": 5}`:          {"volume", "must be a string, not the number 5"},
		`{"volume": [1]}`:        {"volume", "must be a string, not a list"},
		`{"volume": "5"}`:        {"volume", `unit: volume "5" has no unit (allowed: mL, ml, nL, uL, ul, µL)`},
		`{"at": "yesterday"}`:    {"at", `"yesterday" is not a time in RFC 3339, e.g. 2026-01-05T08:00:00Z`},
		`{"at": 1767600000}`:     {"at", "must be a string, not the number 1767600000"},
		`{"volume": "2.5 mL"} x`: {File, "invalid JSON at line 1, column 22: invalid character 'x' after top-level value"},
	} {
		var e *Error
		if err := Unmarshal([]byte(in), &d, NullRefused); !errors.As(err, &e) || e.Path != want[0] || e.Reason != want[1] {
			t.Errorf("%s: %v, want %s: %s", in, err, want[0], want[1])
		}
	}
}

// TestNullAbsent: with NullAbsent, a null member is as if left out, whatever
// its type.
func TestNullAbsent(t *testing.T) {
	var d doc
	if err := Unmarshal([]byte(`{"name": null, "amount_ml": null, "on": null, "tags": null, "inner": null, "items": [{"value": null}]}`), &d, NullAbsent); err != nil {
		t.Fatal(err)
	}
	if got := Present(&d); !reflect.DeepEqual(got, []string{"items"}) {
		t.Errorf("present: %v", got)
	}
	if d.Items[0].Value != nil {
		t.Errorf("value %q", d.Items[0].Value)
	}
	// With NullRefused, a null in a raw value is for its reader to refuse.
	if err := Unmarshal([]byte(`{"amount_ml": null}`), &d, NullRefused); err != nil || string(d.Amount) != "null" {
		t.Errorf("raw null: %v, %q", err, d.Amount)
	}
}

// lenient is a shape that keeps unknown members, for Unknowns.
type lenient struct {
	Name    *string        `json:"name"`
	Inner   *lenientInner  `json:"inner"`
	Items   []lenientInner `json:"items"`
	Unknown jsontext.Value `json:",embed"`
}

type lenientInner struct {
	At      *string        `json:"at"`
	Unknown jsontext.Value `json:",embed"`
}

// TestUnknowns: every member a lenient shape does not name is kept, reading
// goes on, and Unknowns refuses each with its path.
func TestUnknowns(t *testing.T) {
	var l lenient
	in := `{"name": "x", "Unknown": 1, "inner": {"at": "y", "a.b": [1]}, "items": [{"at": "z"}, {"0": null, "At": 2}], "Name": {}}`
	if err := Unmarshal([]byte(in), &l, NullAbsent); err != nil {
		t.Fatal(err)
	}
	if *l.Name != "x" || *l.Inner.At != "y" || *l.Items[0].At != "z" {
		t.Errorf("known members not read: %+v", l)
	}
	var got []string
	for _, e := range Unknowns(&l) {
		got = append(got, e.Path+": "+e.Reason)
	}
	want := []string{
		`inner["a.b"]: unknown field (allowed here: at)`,
		`items[1].0: unknown field (allowed here: at)`,
		`items[1].At: unknown field (allowed here: at)`,
		`Unknown: unknown field (allowed here: name, inner, items)`,
		`Name: unknown field (allowed here: name, inner, items)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Unknowns:\n got %q\nwant %q", got, want)
	}
	// A member given twice is still refused, kept or not.
	err := Unmarshal([]byte(`{"x": 1, "x": 2}`), &l, NullAbsent)
	if e := (*Error)(nil); !errors.As(err, &e) || e.Path != "x" {
		t.Errorf("twice: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1}`: "an object", `[]`: "a list", `"x\n"`: `the string "x\n"`, `-1.5e3`: "the number -1.5e3",
		`true`: "true", `false`: "false", `null`: "null", ``: "a value",
		`"` + strings.Repeat("a", 100) + `"`: `the string "` + strings.Repeat("a", 64) + `…"`,
	} {
		if got := Describe(jsontext.Value(in)); got != want {
			t.Errorf("Describe(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzUnmarshal: no input makes Unmarshal panic, and every refusal is an
// *Error with a path and a reason.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"name": "x", "amount_ml": 1e-3, "on": true, "tags": ["a"], "inner": {"at": "b", "value": {"c": [1]}}, "items": [{}, {"at": "d"}]}`,
		`{"items": [null, 1, "x", [], {"0": 1}]}`, `{"a.b": 1, "": 2}`, `{"name": "a", "name": "b"}`, "{\"name\": \"\xff\"}",
		`{"inner": {"value": [[[[[[[[[[]]]]]]]]]]}}`, `{"name": "x"} {}`, `[`, ``, `null`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, absent bool) {
		nulls := NullRefused
		if absent {
			nulls = NullAbsent
		}
		var d doc
		err := Unmarshal(data, &d, nulls)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Path == "" || e.Reason == "" {
			t.Fatalf("refusal %T %q without a path or a reason", err, err)
		}
	})
}
