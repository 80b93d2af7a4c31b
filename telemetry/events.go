package telemetry

import (
	"fmt"

	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// EventKind says what an Event records.
type EventKind uint8

const (
	// EventWake: the radio was woken and listens for ListenWindow.
	EventWake EventKind = iota + 1
	// EventRefused: a connection was refused before any handshake (locked
	// out, budget spent, busy). Repeats from a locked-out peer, or after the
	// budget is spent, are reported once per lock-out or day. A connection
	// while the radio is not listening is not logged: a real pump never
	// hears it.
	EventRefused
	// EventHandshakeFailed: a handshake failed or a credential was refused.
	EventHandshakeFailed
	// EventSessionOpened: a peer authenticated; the event carries who.
	EventSessionOpened
	// EventCommand: an authorised command was handed to the device; Err is
	// the device's refusal, if any.
	EventCommand
	// EventCommandRefused: a command was refused before reaching the device
	// (forbidden, unknown, malformed).
	EventCommandRefused
	// EventIntegrity: a frame in an open session failed authentication or
	// broke the protocol; the session is closed.
	EventIntegrity
	// EventLockout: a peer reached MaxFailures and is ignored for Lockout.
	EventLockout
	// EventSessionClosed: a connection ended. Every admitted connection,
	// authenticated or not, ends with one; it carries the radio-on time and
	// the battery charge it cost.
	EventSessionClosed
)

var eventNames = map[EventKind]string{EventWake: "wake", EventRefused: "refused", EventHandshakeFailed: "handshake-failed",
	EventSessionOpened: "session-opened", EventCommand: "command", EventCommandRefused: "command-refused",
	EventIntegrity: "integrity", EventLockout: "lockout", EventSessionClosed: "session-closed"}

func (k EventKind) String() string { return nameOf(eventNames, k, "event-%d") }

// nameOf returns v's name in names, or v's number in format.
func nameOf[T ~uint8](names map[T]string, v T, format string) string {
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprintf(format, uint8(v))
}

// Severity grades an event for the device's log and alerts.
type Severity uint8

const (
	SeverityInfo Severity = iota
	// SeverityWarning marks security-relevant events: failed handshakes,
	// refused commands, integrity failures.
	SeverityWarning
	// SeverityCritical marks events the device must log loudly: emergency
	// access, lock-outs, integrity failures in an authenticated session.
	SeverityCritical
)

var severityNames = map[Severity]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityCritical: "critical"}

func (s Severity) String() string { return nameOf(severityNames, s, "severity-%d") }

// SessionInfo is what the pump knows about a session's peer. Before
// authentication only Session, Addr, Wake and Opened are set.
type SessionInfo struct {
	Session   uint64 // session number, counting from 1 per Server
	Addr      string // transport address, as the Conn reports it
	Name      string
	Serial    uint64
	Role      Role
	Authority KeyID
	StaticKey [32]byte
	Wake      WakeKind
	Opened    unit.Time
}

// Authenticated reports whether the peer has been authenticated.
func (s SessionInfo) Authenticated() bool { return s.Role != 0 }

// Event is one entry for the pump's event log. Err, when set, is the reason
// and wraps one of this package's sentinel errors; it never holds a secret.
type Event struct {
	Time     unit.Time
	Kind     EventKind
	Severity Severity
	Peer     SessionInfo
	Command  pumpwire.Kind // for command events: the request's kind
	Err      error         // reason for a refusal or failure; nil if none
	Radio    unit.Duration // radio-on time, for EventSessionClosed
	Charge   unit.Charge   // battery charge of that radio time
}

func (e Event) String() string {
	s := fmt.Sprintf("%v %v %v", e.Time, e.Severity, e.Kind)
	if e.Peer.Addr != "" {
		s += " addr=" + e.Peer.Addr
	}
	if e.Peer.Authenticated() {
		s += fmt.Sprintf(" peer=%q serial=%d role=%v", e.Peer.Name, e.Peer.Serial, e.Peer.Role)
	}
	if e.Peer.Wake != 0 {
		s += " wake=" + e.Peer.Wake.String()
	}
	if e.Command != 0 {
		s += " command=" + e.Command.String()
	}
	if e.Kind == EventSessionClosed {
		s += fmt.Sprintf(" radio=%v charge=%v", e.Radio, e.Charge)
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}
