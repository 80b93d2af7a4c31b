package telemetry

import (
	"errors"
	"fmt"
)

// ErrorCode is an error's number on the wire, in alerts and ErrorResponse.
// Codes are never reused; an unknown code is read as ErrRemote.
type ErrorCode uint16

const (
	CodeInternal        ErrorCode = 1
	CodeVersion         ErrorCode = 2
	CodeFrameType       ErrorCode = 3
	CodeTooLarge        ErrorCode = 4
	CodeTruncated       ErrorCode = 5
	CodeMalformed       ErrorCode = 6
	CodeUnauthenticated ErrorCode = 7
	CodeHandshake       ErrorCode = 8
	CodeIntegrity       ErrorCode = 9
	CodeUnexpected      ErrorCode = 10
	CodeCredential      ErrorCode = 11
	CodeUntrusted       ErrorCode = 12
	CodeSignature       ErrorCode = 13
	CodeExpired         ErrorCode = 14
	CodeRevoked         ErrorCode = 15
	CodeKeyMismatch     ErrorCode = 16
	CodeForbidden       ErrorCode = 17
	CodeNoContactWake   ErrorCode = 18
	CodeUnknownCommand  ErrorCode = 19
	CodeNotListening    ErrorCode = 20
	CodeLockedOut       ErrorCode = 21
	CodeBudget          ErrorCode = 22
	CodeBusy            ErrorCode = 23
	CodeTimeout         ErrorCode = 24
	CodeClosed          ErrorCode = 25
	CodeRejected        ErrorCode = 26
	CodeConflict        ErrorCode = 27
	CodeRole            ErrorCode = 28
	CodeWrongPump       ErrorCode = 29
	CodeYielded         ErrorCode = 30
)

// Errors. Every refusal in this package wraps exactly one of these, so callers
// (and tests) read it with errors.Is; the wire carries it as an ErrorCode.
var (
	// Frame decoding.
	ErrVersion   = errors.New("telemetry: unknown frame version")
	ErrFrameType = errors.New("telemetry: unknown frame type")
	ErrTooLarge  = errors.New("telemetry: frame or message too large")
	ErrTruncated = errors.New("telemetry: truncated frame or message")
	ErrMalformed = errors.New("telemetry: malformed frame or message")

	// Handshake and channel.
	ErrUnauthenticated = errors.New("telemetry: frame before authentication")
	ErrHandshake       = errors.New("telemetry: handshake failed")
	ErrIntegrity       = errors.New("telemetry: frame failed authentication (corrupt, replayed, reordered or duplicated)")
	ErrUnexpected      = errors.New("telemetry: frame type unexpected in this state")

	// Credentials.
	ErrCredential  = errors.New("telemetry: invalid credential")
	ErrUntrusted   = fmt.Errorf("%w: untrusted authority", ErrCredential)
	ErrSignature   = fmt.Errorf("%w: bad signature", ErrCredential)
	ErrExpired     = fmt.Errorf("%w: outside its validity period", ErrCredential)
	ErrRevoked     = fmt.Errorf("%w: revoked", ErrCredential)
	ErrKeyMismatch = fmt.Errorf("%w: does not bind the authenticated static key", ErrCredential)
	ErrRole        = fmt.Errorf("%w: role not accepted here", ErrCredential)
	ErrWrongPump   = fmt.Errorf("%w: not the expected pump", ErrCredential)

	// Authorisation.
	ErrForbidden      = errors.New("telemetry: forbidden for this role")
	ErrNoContactWake  = fmt.Errorf("%w: emergency access needs a contact wake", ErrForbidden)
	ErrUnknownCommand = errors.New("telemetry: unknown command")

	// Admission (pump side).
	ErrNotListening = errors.New("telemetry: radio not listening (no wake in the last listen window)")
	ErrLockedOut    = errors.New("telemetry: peer locked out after repeated failed handshakes")
	ErrBudget       = errors.New("telemetry: daily radio budget exhausted")
	ErrBusy         = errors.New("telemetry: the radio is busy with other peers")
	ErrTimeout      = errors.New("telemetry: timed out")

	// Session end.
	ErrClosed  = errors.New("telemetry: session closed")
	ErrYielded = errors.New("telemetry: session ended for a peer of higher priority")

	// Device answers, carried in ErrorResponse.
	ErrRejected = errors.New("telemetry: command rejected by the device")
	ErrConflict = errors.New("telemetry: prescription to replace is not the one running")
	ErrInternal = errors.New("telemetry: internal error")
	ErrRemote   = errors.New("telemetry: error from the remote side")
)

// codes maps every code to its sentinel, in one place. More specific errors
// come before the errors they wrap, so CodeOf finds the most specific code.
var codes = []struct {
	code ErrorCode
	err  error
}{
	{CodeNoContactWake, ErrNoContactWake},
	{CodeVersion, ErrVersion},
	{CodeFrameType, ErrFrameType},
	{CodeTooLarge, ErrTooLarge},
	{CodeTruncated, ErrTruncated},
	{CodeMalformed, ErrMalformed},
	{CodeUnauthenticated, ErrUnauthenticated},
	{CodeIntegrity, ErrIntegrity},
	{CodeUnexpected, ErrUnexpected},
	{CodeUntrusted, ErrUntrusted},
	{CodeSignature, ErrSignature},
	{CodeExpired, ErrExpired},
	{CodeRevoked, ErrRevoked},
	{CodeKeyMismatch, ErrKeyMismatch},
	{CodeRole, ErrRole},
	{CodeWrongPump, ErrWrongPump},
	{CodeCredential, ErrCredential},
	{CodeHandshake, ErrHandshake},
	{CodeForbidden, ErrForbidden},
	{CodeUnknownCommand, ErrUnknownCommand},
	{CodeNotListening, ErrNotListening},
	{CodeLockedOut, ErrLockedOut},
	{CodeBudget, ErrBudget},
	{CodeBusy, ErrBusy},
	{CodeTimeout, ErrTimeout},
	{CodeClosed, ErrClosed},
	{CodeYielded, ErrYielded},
	{CodeRejected, ErrRejected},
	{CodeConflict, ErrConflict},
	{CodeInternal, ErrInternal},
}

// CodeOf returns the wire code for err: the code of the most specific sentinel
// it wraps, or CodeInternal.
func CodeOf(err error) ErrorCode {
	var r *ErrorResponse
	if errors.As(err, &r) {
		return r.Code
	}
	var a *AlertError
	if errors.As(err, &a) {
		return a.Code
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return CodeInternal
}

// Err returns the sentinel error for c, or ErrRemote for a code this version
// does not know.
func (c ErrorCode) Err() error {
	for _, e := range codes {
		if e.code == c {
			return e.err
		}
	}
	return ErrRemote
}

func (c ErrorCode) String() string {
	if err := c.Err(); err != ErrRemote {
		return err.Error()
	}
	return fmt.Sprintf("telemetry: error code %d", uint16(c))
}

// ErrorResponse is the error an authenticated Error answer (pumpwire.Error)
// stands for: errors.Is(err, ErrForbidden) and the like work on it. Detail is
// for people; it never carries a secret.
type ErrorResponse struct {
	Code   ErrorCode
	Detail string
}

func (e *ErrorResponse) Error() string {
	if e.Detail == "" {
		return e.Code.String()
	}
	return e.Code.String() + ": " + e.Detail
}

// Is makes errors.Is(resp, sentinel) follow the code.
func (e *ErrorResponse) Is(target error) bool { return matchCode(e.Code, target) }

// AlertError is a cleartext alert received before the other side closed the
// connection. It is not authenticated: anyone on the radio path can forge one,
// so it explains a failure but proves nothing.
type AlertError struct{ Code ErrorCode }

func (e *AlertError) Error() string { return "telemetry: alert (unauthenticated): " + e.Code.String() }

// Is makes errors.Is(alert, sentinel) follow the code.
func (e *AlertError) Is(target error) bool { return matchCode(e.Code, target) }

func matchCode(c ErrorCode, target error) bool {
	err := c.Err()
	return err == target || (err != ErrRemote && errors.Is(err, target))
}

// truncateString cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
