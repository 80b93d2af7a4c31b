// Package peer owns what every client of the pump shares: its credential and
// trust files, dialing the pump over the telemetry protocol, reading the
// pump's answers (package pumpwire), and saying in plain words why the pump
// refused. The clinician programmer (package programmer) and the patient's
// therapy manager (package ptm) are built on it; none of them imports the
// device (package implant).
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Config says which pump to reach and as whom.
type Config struct {
	// Addr is the pump's TCP address (the stand-in for the radio).
	Addr string
	// Identity is this device's static key and credential.
	Identity telemetry.Identity
	// Trust lists the authorities whose pump credentials this device
	// accepts, and revoked pump serials.
	Trust telemetry.Trust
	// PumpSerial, if not zero, is the pump this device must reach (a PTM is
	// paired with one pump).
	PumpSerial uint64
	// Clock checks the pump's credential; nil means the wall clock.
	Clock func() unit.Time
	// Conn, if set, replaces the TCP dial (tests use an in-memory link).
	Conn func(ctx context.Context) (telemetry.Conn, error)
}

// Load reads an identity file (0600: static private key and credential) and a
// trust file.
func Load(identityPath, trustPath string) (telemetry.Identity, telemetry.Trust, error) {
	id, err := telemetry.ReadIdentity(identityPath)
	if err != nil {
		return telemetry.Identity{}, telemetry.Trust{}, fmt.Errorf("credential %s: %w", identityPath, err)
	}
	tr, err := telemetry.ReadTrust(trustPath)
	if err != nil {
		return telemetry.Identity{}, telemetry.Trust{}, fmt.Errorf("trust %s: %w", trustPath, err)
	}
	if len(tr.Authorities) == 0 {
		return telemetry.Identity{}, telemetry.Trust{}, fmt.Errorf("trust %s names no authority", trustPath)
	}
	return id, tr, nil
}

// WallClock is the wall clock as a unit.Time.
func WallClock() unit.Time { return unit.FromStd(time.Now()) }

// ErrNoPump means nothing answers at the pump's address.
var ErrNoPump = errors.New("peer: no pump answers at this address")

// Dial opens an authenticated session with the pump.
func Dial(ctx context.Context, cfg Config) (*telemetry.Client, error) {
	clock := cfg.Clock
	if clock == nil {
		clock = WallClock
	}
	var conn telemetry.Conn
	var err error
	if cfg.Conn != nil {
		conn, err = cfg.Conn(ctx)
	} else {
		conn, err = telemetry.DialTCP(ctx, cfg.Addr)
	}
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || isDialError(err) {
			return nil, fmt.Errorf("%w (%s): %w", ErrNoPump, cfg.Addr, err)
		}
		return nil, err
	}
	return telemetry.Dial(ctx, conn, telemetry.ClientConfig{Identity: cfg.Identity, Trust: cfg.Trust,
		PumpSerial: cfg.PumpSerial, Clock: clock})
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Status reads the pump's answer to Interrogate or ReadStatus.
func Status(r pumpwire.Response) (pumpwire.Status, error) {
	if err := telemetry.AnswerErr(r); err != nil {
		return pumpwire.Status{}, err
	}
	s, ok := r.(*pumpwire.Status)
	if !ok || s == nil {
		return pumpwire.Status{}, fmt.Errorf("%w: %v instead of a status", telemetry.ErrUnexpected, r.Kind())
	}
	return *s, nil
}

// Explain says in plain words why the pump (or the link) refused, and what to
// do about it. It knows every refusal of the protocol and the device.
func Explain(err error) string {
	var detail string
	var er *telemetry.ErrorResponse
	if errors.As(err, &er) {
		detail = er.Detail
	}
	for _, e := range explanations {
		if errors.Is(err, e.err) {
			s := e.text
			if d := strings.TrimPrefix(detail, e.err.Error()+": "); e.detail && d != "" && d != e.err.Error() {
				s += ": " + d
			}
			return s
		}
	}
	return err.Error()
}

var explanations = []struct {
	err    error
	text   string
	detail bool
}{
	{ErrNoPump, "no pump answers at this address: is 'thecal pump run' running, and is --pump right?", false},
	{telemetry.ErrNotListening, "the pump's radio is asleep: it listens only for 60 s after a wake. Wake it (the stand-in: 'thecal pump wake --state DIR') and connect within a minute", false},
	{telemetry.ErrLockedOut, "the pump is ignoring this device for 10 minutes: 5 connections from it failed in a row (the defence against handshake floods)", false},
	{telemetry.ErrBudget, "the pump's radio has used its time budget for today (30 minutes; a contact wake allows 10 more)", false},
	{telemetry.ErrBusy, "the pump's radio is busy with another device; try again when it has finished", false},
	{telemetry.ErrYielded, "the pump ended this session for a device with priority (an emergency or clinician programmer before a monitor or patient device); nothing more was done; try again when it has finished", false},
	{telemetry.ErrNoContactWake, "emergency access needs a contact wake: the programmer must be held on the skin over the pump ('thecal pump wake --contact')", false},
	{telemetry.ErrUntrusted, "the pump does not trust the authority that issued this credential (or this device does not trust the pump's)", false},
	{telemetry.ErrRevoked, "this credential has been revoked (or the pump's, as this device sees it)", false},
	{telemetry.ErrExpired, "this credential is outside its validity period", false},
	{telemetry.ErrKeyMismatch, "the credential does not belong to this device's key", false},
	{telemetry.ErrWrongPump, "this is not the pump this device is paired with", false},
	{telemetry.ErrRole, "this credential's role may not open a session with the pump", false},
	{telemetry.ErrSignature, "the credential's signature is not valid", false},
	{telemetry.ErrCredential, "the credential was refused", false},
	{telemetry.ErrForbidden, "this credential's role may not do that (deny by default)", true},
	{telemetry.ErrConflict, "the pump's prescription is not the one this programmer read: someone changed it since; interrogate again and review", true},
	{telemetry.ErrRejected, "the pump refused", true},
	{telemetry.ErrUnknownCommand, "the pump does not know this command (an older pump?)", false},
	{telemetry.ErrUnauthenticated, "a command was sent before the secure handshake: refused, and logged by the pump", false},
	{telemetry.ErrIntegrity, "a frame failed authentication (corrupted, replayed or out of order): the session was closed and the pump logged it", false},
	{telemetry.ErrHandshake, "the secure handshake failed", false},
	{telemetry.ErrVersion, "the pump speaks another version of the protocol", false},
	{telemetry.ErrFrameType, "the pump does not know this kind of frame (another protocol version?)", false},
	{telemetry.ErrTooLarge, "a frame or message was larger than the protocol allows", false},
	{telemetry.ErrTruncated, "a frame or message was cut short (the link dropped?)", false},
	{telemetry.ErrMalformed, "the pump could not read what was sent (malformed)", true},
	{telemetry.ErrUnexpected, "a frame came that did not fit the conversation", false},
	{telemetry.ErrInternal, "the pump reported an internal error", true},
	{telemetry.ErrTimeout, "the pump closed the session after a timeout", false},
	{telemetry.ErrClosed, "the session with the pump was closed", false},
}
