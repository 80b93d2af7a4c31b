package unit

import (
	"encoding"
	"encoding/json"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// textRoundTrip checks that v's text reads back to v.
func textRoundTrip[T any, P interface {
	*T
	encoding.TextUnmarshaler
}](t *rapid.T, v T) {
	m, ok := any(v).(encoding.TextMarshaler)
	if !ok {
		t.Fatalf("%T is no TextMarshaler", v)
	}
	b, err := m.MarshalText()
	if err != nil {
		t.Fatalf("MarshalText(%v): %v", v, err)
	}
	var back T
	if err := P(&back).UnmarshalText(b); err != nil {
		t.Fatalf("UnmarshalText(%q) of %T: %v", b, v, err)
	}
	if any(back) != any(v) {
		t.Fatalf("%T: %q read back as %v, want %v", v, b, back, v)
	}
}

func TestTextRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Int64().Draw(t, "n")
		textRoundTrip(t, Volume(n))
		textRoundTrip(t, Rate(n))
		textRoundTrip(t, Charge(n))
		textRoundTrip(t, Pressure(n))
		textRoundTrip(t, Mass(n))
		textRoundTrip(t, Concentration(n))
		textRoundTrip(t, DoseRate(n))
		textRoundTrip(t, Length(n))
		textRoundTrip(t, VolumePerCm(n))
		textRoundTrip(t, Percent(n))
		textRoundTrip(t, Duration(rapid.Int64Range(-int64(maxTextDays*Day), int64(maxTextDays*Day)).Draw(t, "d")))
		// Years 0001 to 9999.
		textRoundTrip(t, Time(rapid.Int64Range(-62135596800000, 253402300799999).Draw(t, "t")))
	})
}

func TestTextForms(t *testing.T) {
	for _, c := range []struct {
		v    encoding.TextMarshaler
		want string
	}{
		{18_500_000 * Nanolitre, "18.5 mL"},
		{VolumePerCm(2_200), "0.0022 mL/cm"},
		{MillilitrePerDay / 2, "0.5 mL/day"},
		{3*Day + 4*Hour, "3d4h"},
		{-30 * Minute, "-30m"},
		{Time(0), "1970-01-01T00:00:00Z"},
		{812345678 * NanoampHour, "812345.678 µAh"},
		{NanoampHour + 1, "3600001 nA·ms"},
		{2000 * MicrogramPerMillilitre, "2 mg/mL"},
		{25 * MicrogramPerMillilitre, "25 mcg/mL"},
		{DoseRate(MassIn(150, Microgram)), "150 mcg/day"},
		{50 * Centimetre, "50 cm"},
		{35 * Kilopascal, "35 kPa"},
		{Percent(1250), "12.5%"},
		{Microgram, "mcg"},
	} {
		b, err := c.v.MarshalText()
		if err != nil || string(b) != c.want {
			t.Errorf("%T %v: got %q, %v; want %q", c.v, c.v, b, err, c.want)
		}
	}
}

// TestTextJSON: the quantities are JSON strings with their unit, and a wrong
// unit is refused with this package's error.
func TestTextJSON(t *testing.T) {
	var v struct {
		Volume Volume        `json:"volume"`
		Conc   Concentration `json:"conc"`
		Offset Duration      `json:"offset"`
	}
	if err := json.Unmarshal([]byte(`{"volume":"20 mL","conc":"10 mg/mL","offset":"-5h"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Volume != 20*Millilitre || v.Conc != 10*MilligramPerMillilitre || v.Offset != -5*Hour {
		t.Fatalf("read %+v", v)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"volume":"20 mL","conc":"10 mg/mL","offset":"-5h"}` {
		t.Fatalf("wrote %s", b)
	}
	err := json.Unmarshal([]byte(`{"volume":"20 mL/day"}`), &v)
	if !errors.Is(err, ErrUnit) {
		t.Fatalf("a rate as a volume: %v, want ErrUnit", err)
	}
	if v.Volume != 20*Millilitre {
		t.Fatalf("a refused value changed the field to %v", v.Volume)
	}
	var u MassUnit
	if err := u.UnmarshalText([]byte("g")); !errors.Is(err, ErrUnit) {
		t.Fatalf("mass unit g: %v", err)
	}
	if _, err := (Duration((maxTextDays + 1) * Day)).MarshalText(); !errors.Is(err, ErrUnit) {
		t.Fatalf("huge duration: %v", err)
	}
}
