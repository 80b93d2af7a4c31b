package therapy

import (
	"fmt"
	"math/big"

	"github.com/thecal/thecal/unit"
)

// Score is a pain score in hundredths of a point (a 0–10 scale score of 6.5 is
// 650), so that scores with a decimal are compared exactly.
type Score int64

// Functional is whether functional improvement was recorded for a trial.
type Functional uint8

const (
	FunctionalNotRecorded Functional = iota
	FunctionalImproved
	FunctionalNotImproved
)

func (f Functional) String() string {
	switch f {
	case FunctionalImproved:
		return "improved"
	case FunctionalNotImproved:
		return "not improved"
	}
	return "not recorded"
}

// MarshalText writes f as yes, no, or nothing when not recorded.
func (f Functional) MarshalText() ([]byte, error) {
	return []byte(map[Functional]string{FunctionalImproved: "yes", FunctionalNotImproved: "no"}[f]), nil
}

// UnmarshalText reads yes (improved), no (not improved) or nothing (not recorded).
func (f *Functional) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*f = FunctionalNotRecorded
	case "yes":
		*f = FunctionalImproved
	case "no":
		*f = FunctionalNotImproved
	default:
		return fmt.Errorf("%q: write yes or no", b)
	}
	return nil
}

// TrialResult is the evaluation of a screening trial.
type TrialResult struct {
	Reduction  unit.Percent // (baseline − trial) ÷ baseline, rounded down to 0.01%
	Threshold  unit.Percent
	MeetsPain  bool // reduction ≥ threshold, exactly
	Functional Functional
	// Success: the pain threshold is met and functional improvement recorded.
	Success bool
}

// EvaluateTrial compares the reduction in pain score against the clinic's
// success threshold (DefaultSettings: 50%). A trial succeeds when the threshold
// is met and functional improvement is recorded as improved.
func EvaluateTrial(baseline, trial, scale Score, threshold unit.Percent, f Functional) (TrialResult, error) {
	switch {
	case scale <= 0:
		return TrialResult{}, inputErr("scale", "must be more than 0")
	case baseline <= 0 || baseline > scale:
		return TrialResult{}, inputErr("baseline", "must be more than 0 and at most the scale's top")
	case trial < 0 || trial > scale:
		return TrialResult{}, inputErr("trial", "must be from 0 to the scale's top")
	case threshold <= 0 || threshold > 100*unit.OnePercent:
		return TrialResult{}, inputErr("threshold", "%v is outside more than 0%% to 100%%", threshold)
	}
	r := TrialResult{Threshold: threshold, Functional: f}
	r.Reduction, _ = unit.PercentOf(int64(baseline-trial), int64(baseline))
	// (baseline − trial) / baseline ≥ threshold / 100%, compared without rounding.
	lhs := new(big.Int).Mul(big.NewInt(int64(baseline-trial)), big.NewInt(int64(100*unit.OnePercent)))
	rhs := new(big.Int).Mul(big.NewInt(int64(threshold)), big.NewInt(int64(baseline)))
	r.MeetsPain = lhs.Cmp(rhs) >= 0
	r.Success = r.MeetsPain && f == FunctionalImproved
	return r, nil
}

// String prints s as a plain number: "8", "6.5".
func (s Score) String() string { return unit.FormatFixed(int64(s), 2) }

// MarshalText writes s as String does.
func (s Score) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a score: a plain number with at most two decimals.
func (s *Score) UnmarshalText(b []byte) error {
	n, err := unit.ParseFixed(string(b), 2)
	if err != nil {
		return fmt.Errorf("%q is not a score: write a number such as 8 or 6.5", b)
	}
	*s = Score(n)
	return nil
}
