package scenario

import "github.com/go-json-experiment/json/jsontext"

// The file's shape, read by Parse and written by Format, member by member in
// the order of spec/scenario.md. json/v2 (package strictjson) reads it: the
// members are exactly these, each given once. Every member is a pointer, a
// slice or a jsontext.Value, so that one left out is nil, and so that Format
// writes just the members it sets (omitzero). A number is a jsontext.Value:
// its text as written, which Parse reads exactly (never through a float).
type (
	file struct {
		Name         *string           `json:"name,omitzero"`
		Start        *string           `json:"start,omitzero"`
		Duration     *string           `json:"duration,omitzero"`
		Seed         jsontext.Value    `json:"seed,omitzero"`
		Pump         *filePump         `json:"pump,omitzero"`
		Fill         *fileFill         `json:"fill,omitzero"`
		Prescription *filePrescription `json:"prescription,omitzero"`
		Events       []fileEvent       `json:"events,omitzero"`
	}
	filePump struct {
		Model                 *string        `json:"model,omitzero"`
		CatheterLengthCm      jsontext.Value `json:"catheter_length_cm,omitzero"`
		CatheterMlPerCm       jsontext.Value `json:"catheter_ml_per_cm,omitzero"`
		UTCOffset             *string        `json:"utc_offset,omitzero"`
		Sensors               []string       `json:"sensors,omitzero"`
		BatteryUAh            jsontext.Value `json:"battery_uah,omitzero"`
		Primed                *bool          `json:"primed,omitzero"`
		StrokeSpreadPct       jsontext.Value `json:"stroke_spread_pct,omitzero"`
		StrokeDriftPctPerYear jsontext.Value `json:"stroke_drift_pct_per_year,omitzero"`
	}
	fileFill struct {
		Drug          *string        `json:"drug,omitzero"`
		Concentration *string        `json:"concentration,omitzero"`
		VolumeML      jsontext.Value `json:"volume_ml,omitzero"`
	}
	filePrescription struct {
		Mode           *string           `json:"mode,omitzero"`
		RateMlPerDay   jsontext.Value    `json:"rate_ml_per_day,omitzero"`
		DosePerDay     *string           `json:"dose_per_day,omitzero"`
		Max24hML       jsontext.Value    `json:"max_24h_ml,omitzero"`
		LowReservoirML jsontext.Value    `json:"low_reservoir_ml,omitzero"`
		PatientBolus   *filePatientBolus `json:"patient_bolus,omitzero"`
		Flex           []fileFlexStep    `json:"flex,omitzero"`
		Repeat         *string           `json:"repeat,omitzero"`
	}
	fileFlexStep struct {
		At           *string        `json:"at,omitzero"`
		RateMlPerDay jsontext.Value `json:"rate_ml_per_day,omitzero"`
		DosePerDay   *string        `json:"dose_per_day,omitzero"`
		Days         []string       `json:"days,omitzero"`
	}
	filePatientBolus struct {
		VolumeML  jsontext.Value `json:"volume_ml,omitzero"`
		Duration  *string        `json:"duration,omitzero"`
		Lockout   *string        `json:"lockout,omitzero"`
		MaxPer24h jsontext.Value `json:"max_per_24h,omitzero"`
	}
	fileEvent struct {
		At            *string           `json:"at,omitzero"`
		Kind          *string           `json:"kind,omitzero"`
		Duration      *string           `json:"duration,omitzero"`
		VolumeML      jsontext.Value    `json:"volume_ml,omitzero"`
		Prescription  *filePrescription `json:"prescription,omitzero"`
		WithdrawML    jsontext.Value    `json:"withdraw_ml,omitzero"`
		AddML         jsontext.Value    `json:"add_ml,omitzero"`
		Drug          *string           `json:"drug,omitzero"`
		Concentration *string           `json:"concentration,omitzero"`
		PocketFillML  jsontext.Value    `json:"pocket_fill_ml,omitzero"`
		UAh           jsontext.Value    `json:"uah,omitzero"`
		UTCOffset     *string           `json:"utc_offset,omitzero"`
		Alarm         *string           `json:"alarm,omitzero"`
	}
)
