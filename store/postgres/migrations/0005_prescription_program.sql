-- A prescription holds the pump's program (a pump.Prescription) as "program";
-- the clinic's own facts (dose_per_day, diluted, population, reason, findings,
-- library version, supersedes) stay beside it. Existing rows move their pump
-- fields into "program", unchanged in value and text; jsonb_strip_nulls leaves
-- out the members a row did not have (omitted when empty). Rows already in the
-- new form are left as they are.
UPDATE records
SET data = (
	(data::jsonb - 'drug' - 'concentration' - 'mode' - 'rate' - 'patient_bolus' - 'max_24h' - 'low_reservoir')
	|| jsonb_build_object('program', jsonb_strip_nulls(jsonb_build_object(
		'drug', data::jsonb -> 'drug',
		'concentration', data::jsonb -> 'concentration',
		'mode', data::jsonb -> 'mode',
		'rate', data::jsonb -> 'rate',
		'patient_bolus', data::jsonb -> 'patient_bolus',
		'max_24h', data::jsonb -> 'max_24h',
		'low_reservoir', data::jsonb -> 'low_reservoir')))
)::text
WHERE kind = 'prescription' AND NOT (data::jsonb ? 'program');
