package clinic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Statement rules: what a person writes to say what was done (an alarm's
// acknowledgement) must be a real sentence, not an empty box ticked. The
// figures are the clinic's workflow choice, not clinical ones.
const (
	// StatementMin is the fewest characters a statement has, spaces inside
	// it counted, around it not.
	StatementMin = 10
	// StatementWords is the fewest different words (of two letters or more)
	// it has besides the alarm's name and words that only say it was seen
	// ("acknowledged", "ok", "done").
	StatementWords = 2
)

// CheckStatement refuses, on field, a statement of what was done that says
// nothing: empty, shorter than StatementMin characters, or fewer than
// StatementWords different words besides those it answers (echo: the alarm's
// name) and those that only say it was seen ("acknowledged", "ok", "done"),
// whatever their case and punctuation. It also
// refuses what textField refuses. It is the one rule of a stated action;
// issue 11 item 4's stated reason is the same kind of rule.
func CheckStatement(field, v string, echo ...string) error {
	if err := textField(field, v, 10_000); err != nil {
		return err
	}
	const how = "say what was done in a sentence (at least %d characters and %d words), e.g. \"catheter access port aspirated, no flow; neurosurgery called\""
	s := strings.TrimSpace(v)
	if utf8.RuneCountInString(s) < StatementMin {
		return Errorf(EINVALID, field, how, StatementMin, StatementWords)
	}
	// The words that tell something: not the alarm's own name, nor a word
	// that only says it was seen.
	stop := map[string]bool{}
	for _, e := range append(echo, "acknowledged acknowledge ack alarm alarms seen noted ok okay done fine yes no na n/a") {
		for _, w := range statementWords(e) {
			stop[w] = true
		}
	}
	told := map[string]bool{}
	for _, w := range statementWords(s) {
		if !stop[w] {
			told[w] = true
		}
	}
	if len(told) < StatementWords {
		return Errorf(EINVALID, field, "%q does not say what was done: "+how, s, StatementMin, StatementWords)
	}
	return nil
}

// statementWords are the words of s of two letters or more, folded to lower
// case, with what separates them dropped.
func statementWords(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(f) >= 2 {
			out = append(out, f)
		}
	}
	return out
}
