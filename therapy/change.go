package therapy

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

// ErrLargeChange is wrapped by the refusal of a large change of the daily dose
// made without its second confirmation (a *LargeChangeError).
var ErrLargeChange = errors.New("therapy: a large change of the daily dose needs a second confirmation")

// DoseChange is a change of a prescription's daily dose (DailyDose), measured
// against the threshold beyond which it needs a second, explicit confirmation:
// the drug library's large_change for the drug, or the clinic's default where
// the library is silent. Every path that changes a prescription (the clinic's
// API and pages, the programmer) asks CheckDoseChange and enforces Confirm.
type DoseChange struct {
	Old, New unit.DoseRate
	// Change is New against Old, signed, to 0.01% (rounded towards zero);
	// meaningful only when Comparable.
	Change unit.Percent
	// Threshold is the largest change, up or down, made without a second
	// confirmation; Source says where it comes from.
	Threshold unit.Percent
	Source    string
	// Comparable is false when there is no running dose to compare with (a
	// first prescription, a restart after a stop, another drug): the drug
	// library's starting limits check those instead.
	Comparable bool
	// Large: the change is beyond Threshold, so it needs a second confirmation.
	Large bool
}

// DefaultLargeChangeSource names the source of the clinic's default threshold.
const DefaultLargeChangeSource = "the clinic's default: the drug library gives no threshold for this drug"

// CheckDoseChange measures a change of daily dose from old to next of drug d
// (nil when the library does not know it). sameDrug is false when the new
// prescription is of another drug than the running one: mass per day is then
// not comparable. A change is large when it is strictly beyond the threshold:
// |next − old| > threshold × old, computed exactly.
func CheckDoseChange(d *drug.Drug, sameDrug bool, old, next unit.DoseRate, s Settings) DoseChange {
	c := DoseChange{Old: old, New: next, Threshold: s.LargeChange, Source: DefaultLargeChangeSource}
	if d != nil && d.LargeChange != nil {
		c.Threshold, c.Source = d.LargeChange.Value, d.LargeChange.Source
	}
	if !sameDrug || old <= 0 || next < 0 {
		return c
	}
	c.Comparable = true
	diff := next - old
	if diff < 0 {
		diff = -diff
	}
	// |diff| × 100% against threshold × old, in hundredths of a percent.
	lhs := new(big.Int).Mul(big.NewInt(int64(diff)), big.NewInt(int64(100*unit.OnePercent)))
	rhs := new(big.Int).Mul(big.NewInt(int64(c.Threshold)), big.NewInt(int64(old)))
	c.Large = lhs.Cmp(rhs) > 0
	ch := new(big.Int).Quo(lhs, big.NewInt(int64(old))) // towards zero
	if ch.IsInt64() {
		c.Change = unit.Percent(ch.Int64())
	} else {
		c.Change = unit.Percent(1<<63 - 1)
	}
	if next < old {
		c.Change = -c.Change
	}
	return c
}

// Text says the change with its numbers, in the drug's dose unit u.
func (c DoseChange) Text(u unit.MassUnit) string {
	if !c.Comparable {
		return fmt.Sprintf("daily dose %s (no running dose of the same drug to compare with)", c.New.Format(u))
	}
	sign := "+"
	if c.Change < 0 {
		sign = "−"
	}
	abs := c.Change
	if abs < 0 {
		abs = -abs
	}
	return fmt.Sprintf("daily dose %s → %s (%s%s)", c.Old.Format(u), c.New.Format(u), sign, abs)
}

// LargeChangeError refuses a large change made without its confirmation.
type LargeChangeError struct {
	Change DoseChange
	Unit   unit.MassUnit
}

func (e *LargeChangeError) Error() string {
	c := e.Change
	return fmt.Sprintf("a second confirmation is required: %s is more than %s (%s)", c.Text(e.Unit), c.Threshold, c.Source)
}

func (e *LargeChangeError) Unwrap() error { return ErrLargeChange }

// Confirm applies the rule: a large change goes ahead only when confirmed is
// true (the API's confirm_large_change, the page's second confirmation, the
// programmer's second prompt); otherwise a *LargeChangeError. u is the drug's
// dose unit, for the message.
func (c DoseChange) Confirm(confirmed bool, u unit.MassUnit) error {
	if c.Large && !confirmed {
		return &LargeChangeError{Change: c, Unit: u}
	}
	return nil
}
