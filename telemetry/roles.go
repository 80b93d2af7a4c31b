package telemetry

import (
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
)

// The authorisation policy is the pump's command table (pump.Commands): each
// command names the roles that may send it. Anything it does not grant is
// refused (deny by default), including every command for RolePump and for
// unknown roles, every device command (sent by no role), and every command of
// a kind this version does not know. Emergency rights also need a contact
// wake: that rule is this package's (see Allowed).

// Sender returns the pump's name for a credential role: the role the command
// table grants commands to. RolePump and unknown roles are no sender
// (pump.ReasonNone) and may send nothing.
func (r Role) Sender() pump.Role {
	switch r {
	case RoleClinician:
		return pump.RoleClinician
	case RolePatient:
		return pump.RolePatient
	case RoleMonitor:
		return pump.RoleMonitor
	case RoleEmergency:
		return pump.RoleEmergency
	}
	return pump.ReasonNone
}

// Rights returns the commands role may send, in the table's order.
func Rights(role Role) []pump.CommandKind {
	var out []pump.CommandKind
	for _, s := range pump.Commands() {
		if s.Roles.Has(role.Sender()) {
			out = append(out, s.Kind)
		}
	}
	return out
}

// WakeKind is what woke the pump's radio (the event log records it, so the
// type is pumpwire's).
type WakeKind = pumpwire.WakeKind

// The wake kinds.
const (
	WakeContact   = pumpwire.WakeContact
	WakeRadio     = pumpwire.WakeRadio
	WakeScheduled = pumpwire.WakeScheduled
)

// Allowed says whether a peer of role may send command k in a session opened
// under wake. It returns nil, ErrForbidden (wrapped), or ErrNoContactWake.
func Allowed(role Role, wake WakeKind, k pump.CommandKind) error {
	if s, ok := k.Spec(); !ok || !s.Roles.Has(role.Sender()) {
		return fmt.Errorf("%w: %v may not %v", ErrForbidden, role, pumpwire.Kind(k))
	}
	if role == RoleEmergency && wake != WakeContact {
		return ErrNoContactWake
	}
	return nil
}

// mayOpen reports whether a session of role under wake could send anything at
// all; a session that could not is refused at the handshake.
func mayOpen(role Role, wake WakeKind) error {
	rs := Rights(role)
	if len(rs) == 0 {
		return fmt.Errorf("%w: role %v", ErrRole, role)
	}
	return Allowed(role, wake, rs[0])
}
