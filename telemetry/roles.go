package telemetry

import "fmt"

// rights is the whole authorisation policy: the commands each role may send.
// Anything not listed is refused (deny by default), including every command
// for RolePump and for unknown roles, and every command of a kind this version
// does not know. Emergency rights also need a contact wake (see Allowed).
var rights = map[Role][]Kind{
	RoleClinician: {
		KindInterrogate, KindReadStatus, KindReadLog, KindProgram, KindClinicianBolus,
		KindPrime, KindRefill, KindStop, KindResume, KindSetMinimumRate, KindSetClock,
		KindAcknowledge, KindSilenceTone,
	},
	RolePatient:   {KindPatientBolus, KindReadStatus, KindSilenceTone},
	RoleMonitor:   {KindReadStatus, KindReadLog},
	RoleEmergency: {KindStop, KindSetMinimumRate, KindReadStatus},
}

// Rights returns the commands role may send (a copy of the table's row).
func Rights(role Role) []Kind { return append([]Kind(nil), rights[role]...) }

// WakeKind is what woke the pump's radio.
type WakeKind uint8

const (
	// WakeContact is a wake by physical contact with the patient (the
	// programmer head or a magnet over the pump): proof of proximity.
	WakeContact WakeKind = 1
	// WakeRadio is a wake by a radio wake-up signal from a programmer nearby.
	WakeRadio WakeKind = 2
	// WakeScheduled is the pump's own scheduled window for the home monitor.
	WakeScheduled WakeKind = 3
)

func (w WakeKind) String() string {
	switch w {
	case WakeContact:
		return "contact"
	case WakeRadio:
		return "radio"
	case WakeScheduled:
		return "scheduled"
	}
	return fmt.Sprintf("wake-%d", uint8(w))
}

// Valid reports whether w is a known wake kind.
func (w WakeKind) Valid() bool { return w >= WakeContact && w <= WakeScheduled }

// Allowed says whether a peer of role may send command k in a session opened
// under wake. It returns nil, ErrForbidden (wrapped), or ErrNoContactWake.
func Allowed(role Role, wake WakeKind, k Kind) error {
	for _, r := range rights[role] {
		if r != k {
			continue
		}
		if role == RoleEmergency && wake != WakeContact {
			return ErrNoContactWake
		}
		return nil
	}
	return fmt.Errorf("%w: %v may not %v", ErrForbidden, role, k)
}

// mayOpen reports whether a session of role under wake could send anything at
// all; a session that could not is refused at the handshake.
func mayOpen(role Role, wake WakeKind) error {
	rs := rights[role]
	if len(rs) == 0 {
		return fmt.Errorf("%w: role %v", ErrRole, role)
	}
	return Allowed(role, wake, rs[0])
}
