package telemetry

import "github.com/thecal/thecal/pumpwire"

// The link's refusals as pumpwire messages, and back: what an Error answer
// carries is an ErrorCode of this package and a detail for people.

// Refuse returns the Error message that answers a request refused for err:
// err's code, and err's text as the detail. The device uses it to answer a
// command it refuses (wrap ErrRejected or ErrConflict).
func Refuse(err error) *pumpwire.Error {
	return &pumpwire.Error{Code: uint16(CodeOf(err)), Detail: truncateString(err.Error(), pumpwire.MaxDetail)}
}

// AnswerErr returns the error an answer stands for: an *ErrorResponse for an
// Error message, nil for any other answer.
func AnswerErr(r pumpwire.Response) error {
	if e, ok := r.(*pumpwire.Error); ok && e != nil {
		return &ErrorResponse{Code: ErrorCode(e.Code), Detail: e.Detail}
	}
	return nil
}

// CodeText says what an error code number means: the text of the error it
// stands for. The event log's link records carry these numbers
// (pumpwire.Record.Describe).
func CodeText(c uint16) string { return ErrorCode(c).String() }

// Describe says what an event-log record means, with its error codes in
// words.
func Describe(r *pumpwire.Record) string { return r.Describe(CodeText) }
