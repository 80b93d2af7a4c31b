// Package telemetry owns Thecal's radio link between the implanted pump and
// its peers (clinician programmer, patient therapy manager, home monitor,
// emergency programmer): the versioned frame format, the Noise XX handshake
// with credentials signed by a clinic authority, the encrypted and
// counter-bound data channel, the role checks (deny by default, the rights
// taken from the pump's command table), the pump-side admission and
// scheduling rules (wake before radio and whose a contact wake is,
// failed-handshake lock-out, handshake deadlines, one session holding the
// radio at a time by priority, daily radio budget, radio time charged to the
// battery), the error codes, the audit events, the key and credential files,
// and two transports (an in-memory link with fault injection and TCP).
//
// It trusts no byte it has not authenticated: before the handshake completes
// the only thing the pump does with a frame is check its header and feed it to
// the Noise handshake; after it, every frame is opened with the session's
// receive key and the next counter value, or the session ends.
//
// The messages it carries are package pumpwire's, which owns every byte above
// the channel; this package does no dosing. Commands reach the device through
// the Handler interface as complete, decoded, authorised pump commands
// (pump.Command), and the device answers with pumpwire responses. Time comes
// from an injected clock.
//
// The protocol is described in docs/telemetry.md.
package telemetry
