-- A prescription holds the pump's program (a pump.Prescription) as "program";
-- the clinic's own facts (dose_per_day, diluted, population, reason, findings,
-- library version, supersedes) stay beside it. Existing rows move their pump
-- fields into "program", unchanged in value and text; json_patch leaves out
-- the members a row did not have (omitted when empty). Rows already in the new
-- form are left as they are.
UPDATE records
SET data = json_set(
	json_remove(data, '$.drug', '$.concentration', '$.mode', '$.rate', '$.patient_bolus', '$.max_24h', '$.low_reservoir'),
	'$.program',
	json_patch('{}', json_object(
		'drug', data -> '$.drug',
		'concentration', data -> '$.concentration',
		'mode', data -> '$.mode',
		'rate', data -> '$.rate',
		'patient_bolus', data -> '$.patient_bolus',
		'max_24h', data -> '$.max_24h',
		'low_reservoir', data -> '$.low_reservoir')))
WHERE kind = 'prescription' AND json_type(data, '$.program') IS NULL;
