// Package telemetry owns Thecal's radio link protocol between the implanted pump
// and its peers (clinician programmer, patient therapy manager, home monitor,
// emergency programmer): the versioned frame format, the Noise XX handshake with
// credentials signed by a clinic authority, the encrypted and counter-bound data
// channel, the role table (deny by default), the pump-side admission rules (wake
// before radio, failed-handshake lock-out, daily radio budget, radio time charged
// to the battery), the command and response messages, the key and credential
// files, and two transports (an in-memory link with fault injection and TCP).
//
// It trusts no byte it has not authenticated: before the handshake completes the
// only thing the pump does with a frame is check its header and feed it to the
// Noise handshake; after it, every frame is opened with the session's
// receive key and the next counter value, or the session ends.
//
// The package does no dosing and decodes no prescription: commands reach the
// device through the Handler interface as typed, complete, authorised values,
// and the device answers with plain data. Time comes from an injected clock.
//
// The protocol is described in docs/telemetry.md.
package telemetry
