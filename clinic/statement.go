package clinic

import (
	"errors"

	"github.com/thecal/thecal/drug"
)

// What a person writes to say what was done (an alarm's acknowledgement) must
// be a real sentence, not an empty box ticked. It is judged by the one rule
// of a stated text, drug.CheckReason, which a prescription's stated reason
// meets too (issue 11 items 4 and 6); the figures are the clinic's workflow
// choice, not clinical ones.
const (
	// StatementMin is the fewest characters a statement has, spaces inside
	// it counted, around it not (drug.MinReason).
	StatementMin = drug.MinReason
	// StatementWords is the fewest different words (of two letters or more)
	// it has besides the alarm's name and words that only say it was seen
	// (drug.ReasonWords).
	StatementWords = drug.ReasonWords
)

// CheckStatement refuses, on field, a statement of what was done that says
// nothing (drug.CheckReason: empty, shorter than StatementMin characters, a
// piece of what it answers — echo: the alarm's name — or fewer than
// StatementWords words of its own besides those that only say it was seen,
// "acknowledged", "ok", "done"), and what textField refuses. It only puts the
// rule's verdict on the field, in the words of an acknowledgement.
func CheckStatement(field, v string, echo ...string) error {
	if err := textField(field, v, 10_000); err != nil {
		return err
	}
	const how = "say what was done in a sentence (at least %d characters and %d words), e.g. \"catheter access port aspirated, no flow; neurosurgery called\""
	var re *drug.ReasonError
	switch err := drug.CheckReason(v, echo...); {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return Errorf(EINVALID, field, "%q does not say what was done: "+how, re.Reason, StatementMin, StatementWords)
	case errors.Is(err, drug.ErrReasonRequired):
		return Errorf(EINVALID, field, how, StatementMin, StatementWords)
	default:
		return err
	}
}
