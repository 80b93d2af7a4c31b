package therapy

import (
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

// OpioidSuggestion is a suggested intrathecal dose converted from another route,
// with the range the published ratios give. It is a suggestion to start from,
// never a limit: the drug library's limits and the clinician decide.
type OpioidSuggestion struct {
	From      unit.DoseRate // the daily dose by the other route
	Typical   unit.DoseRate // From ÷ the typical ratio
	Low, High unit.DoseRate // From ÷ the largest ratio, From ÷ the smallest
	Ratio     drug.Conversion
}

// ConvertToIntrathecal divides a daily dose by the conversion's ratios, to the
// nearest femtogram.
func ConvertToIntrathecal(from unit.DoseRate, c *drug.Conversion) (OpioidSuggestion, error) {
	if from <= 0 {
		return OpioidSuggestion{}, inputErr("oral", "must be more than 0, e.g. \"60 mg/day\"")
	}
	// from ÷ n to the nearest femtogram, rounding half up without forming
	// from + n/2, which may not fit.
	div := func(n int64) unit.DoseRate {
		q, r := int64(from)/n, int64(from)%n
		if r >= n-n/2 {
			q++
		}
		return unit.DoseRate(q)
	}
	return OpioidSuggestion{From: from, Typical: div(c.Typical), Low: div(c.Max), High: div(c.Min), Ratio: *c}, nil
}
