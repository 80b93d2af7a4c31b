package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/therapy"
)

// The clinical safety rules' flags of thecal program (issue 11): the
// explicit confirmations --yes never gives, and the clinic's record of the
// patient (the whole prescription history and the physician's order).
// Wiring only: the rules are therapy.ReviewChange and drug.CheckFill, which
// package programmer calls.

type rulesFlags struct {
	confirmLarge, confirmChange *bool
	record                      *string
}

func addRulesFlags(f *devFlags) rulesFlags {
	return rulesFlags{
		confirmLarge:  f.Bool("confirm-large-change", false, "the second, explicit confirmation of a change of the daily dose beyond the drug's threshold (--yes does not give it)"),
		confirmChange: f.Bool("confirm-change", false, "the explicit confirmation of a refill with the drug or concentration a physician ordered instead of what the pump runs (--yes does not give it)"),
		record:        f.String("record", "", "the clinic's record of the patient, as GET /api/v1/patients/{id}/record gives it: the whole prescription history for the titration rules, and the physician's order a refill must match"),
	}
}

// maxRecord bounds the record file read.
const maxRecord = 64 << 20

// apply sets the programmer's confirmations and the record's facts; on a
// terminal the confirmations --yes does not give are asked.
func (r rulesFlags) apply(pr *programmer.Programmer, interactive bool, ask func(string) bool) error {
	pr.ConfirmLargeChange, pr.ConfirmConcentrationChange = *r.confirmLarge, *r.confirmChange
	if interactive {
		pr.SecondConfirm = ask
	}
	if *r.record == "" {
		return nil
	}
	f, err := os.Open(*r.record)
	if err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	if len(data) > maxRecord {
		return fmt.Errorf("--record: %s is larger than %d MiB", *r.record, maxRecord>>20)
	}
	var rec clinic.PatientRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("--record: %s is not a patient record as the clinic's API gives it: %v", *r.record, err)
	}
	pr.History, pr.Order = rec.ProgrammerFacts()
	return nil
}

// fillFlags names the flag of each input drug.CheckFill refuses.
var fillFlags = map[string]string{"drug": "--drug", "concentration": "--concentration", "confirm_drug": "--confirm-drug",
	"confirm_concentration": "--confirm-concentration", "label": "--label"}

// ruleError explains a refusal by the safety rules, or says it is none.
func ruleError(stderr io.Writer, prog string, err error) (int, bool) {
	var le *therapy.LargeChangeError
	var fc *therapy.FillChangeError
	var re *drug.ReasonError
	var fe *drug.FillError
	switch {
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "%s: %s: %s\n", prog, fillFlags[fe.Field], fe.Reason)
		return exitUsage, true
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "%s: %v: repeat with --confirm-large-change (or answer on a terminal); nothing was sent\n", prog, le)
	case errors.As(err, &fc):
		fmt.Fprintf(stderr, "%s: %v: repeat with --confirm-change (or answer on a terminal); nothing was sent\n", prog, fc)
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "%s: the stated reason %q %s: give a specific --reason; nothing was sent\n", prog, re.Reason, re.Why)
	case errors.Is(err, drug.ErrRefused) && err != drug.ErrRefused:
		fmt.Fprintf(stderr, "%s: refused: %s; nothing was sent\n", prog, strings.TrimPrefix(err.Error(), drug.ErrRefused.Error()+": "))
	default:
		return 0, false
	}
	return 1, true
}
