package telemetry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// Role is what a credential lets its holder do; see Allowed.
type Role uint8

const (
	RoleClinician Role = iota + 1 // 1 on the wire, and so on: the numbers are the credential format's
	RolePatient
	RoleMonitor
	RoleEmergency
	// RolePump is the pump's own credential; no command is allowed to it.
	RolePump
)

var roleNames = map[Role]string{RoleClinician: "clinician", RolePatient: "patient", RoleMonitor: "monitor",
	RoleEmergency: "emergency", RolePump: "pump"}

func (r Role) String() string { return nameOf(roleNames, r, "role-%d") }

// ParseRole reads a role name as String writes it.
func ParseRole(s string) (Role, bool) {
	for r := RoleClinician; r <= RolePump; r++ {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r >= RoleClinician && r <= RolePump }

// KeyID names an authority's public key: the first 8 bytes of its SHA-256.
type KeyID [8]byte

// KeyIDOf returns the KeyID of an authority public key.
func KeyIDOf(pub ed25519.PublicKey) KeyID {
	sum := sha256.Sum256(pub)
	var id KeyID
	copy(id[:], sum[:])
	return id
}

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// CredentialVersion is the only credential layout this package reads.
const CredentialVersion uint8 = 1

// MaxNameLen bounds a credential's holder name.
const MaxNameLen = 64

// credentialContext separates credential signatures from any other use of an
// authority key.
const credentialContext = "thecal telemetry credential v1\x00"

// Credential binds a holder's Noise static public key to a role and name for a
// period, signed by a clinic authority. It is public: it proves nothing without
// the private static key, which the handshake demands.
type Credential struct {
	Version   uint8
	Role      Role
	Serial    uint64
	NotBefore unit.Time // first instant of validity
	NotAfter  unit.Time // first instant after validity
	Authority KeyID
	StaticKey [32]byte
	Name      string
	Signature [ed25519.SignatureSize]byte
}

// AppendCredential appends c's encoding, signature included, to b.
func AppendCredential(b []byte, c Credential) ([]byte, error) {
	b, err := appendCredentialBody(b, c)
	if err != nil {
		return b, err
	}
	return append(b, c.Signature[:]...), nil
}

func appendCredentialBody(b []byte, c Credential) ([]byte, error) {
	if c.Version != CredentialVersion {
		return b, fmt.Errorf("%w: version %d", ErrCredential, c.Version)
	}
	if !c.Role.Valid() {
		return b, fmt.Errorf("%w: role %d", ErrCredential, c.Role)
	}
	if len(c.Name) == 0 {
		return b, fmt.Errorf("%w: name must be 1 to %d printable bytes", ErrCredential, MaxNameLen)
	}
	b = append(b, c.Version, byte(c.Role))
	b = binary.BigEndian.AppendUint64(b, c.Serial)
	b = binary.BigEndian.AppendUint64(b, uint64(c.NotBefore))
	b = binary.BigEndian.AppendUint64(b, uint64(c.NotAfter))
	b = append(b, c.Authority[:]...)
	b = append(b, c.StaticKey[:]...)
	b, err := pumpwire.AppendString8(b, c.Name, MaxNameLen)
	if err != nil {
		return b, fmt.Errorf("%w: name must be 1 to %d printable bytes", ErrCredential, MaxNameLen)
	}
	return b, nil
}

// ConsumeCredential decodes a credential at the start of b and returns it and
// the number of bytes it took. It checks the layout only; Trust.Verify checks
// the signature.
func ConsumeCredential(b []byte) (Credential, int, error) {
	c := pumpwire.NewCursor(b)
	var cr Credential
	cr.Version = c.U8()
	if c.Err() == nil && cr.Version != CredentialVersion {
		return Credential{}, 0, fmt.Errorf("%w: version %d", ErrCredential, cr.Version)
	}
	cr.Role = Role(c.U8())
	cr.Serial = c.U64()
	cr.NotBefore = unit.Time(c.I64())
	cr.NotAfter = unit.Time(c.I64())
	copy(cr.Authority[:], c.Take(len(cr.Authority)))
	copy(cr.StaticKey[:], c.Take(len(cr.StaticKey)))
	cr.Name = c.String8(255)
	copy(cr.Signature[:], c.Take(len(cr.Signature)))
	if err := c.Err(); err != nil {
		return Credential{}, 0, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	if !cr.Role.Valid() || len(cr.Name) == 0 || len(cr.Name) > MaxNameLen {
		return Credential{}, 0, fmt.Errorf("%w: bad role or name", ErrCredential)
	}
	return cr, len(b) - c.Len(), nil
}

// signedBytes is what the authority signs: a context string and the body.
func (c Credential) signedBytes() ([]byte, error) {
	return appendCredentialBody([]byte(credentialContext), c)
}

// Trust is what one side believes: the authorities whose credentials it
// accepts and the serial numbers it has revoked. Revocation is by serial alone,
// across all authorities, so a serial reused by two authorities is revoked for
// both (the safe direction).
type Trust struct {
	Authorities []ed25519.PublicKey
	Revoked     []uint64
}

// Revoke adds serial to the revocation list.
func (t *Trust) Revoke(serial uint64) {
	if !slices.Contains(t.Revoked, serial) {
		t.Revoked = append(t.Revoked, serial)
	}
}

// Verify checks that c was signed by one of t's authorities, is valid at now,
// is not revoked, and binds key, the static key the handshake authenticated.
// It does not check the role: the caller knows which roles it accepts.
func (t Trust) Verify(c Credential, now unit.Time, key [32]byte) error {
	msg, err := c.signedBytes()
	if err != nil {
		return err
	}
	trusted, signed := false, false
	for _, pub := range t.Authorities {
		if len(pub) != ed25519.PublicKeySize || KeyIDOf(pub) != c.Authority {
			continue
		}
		trusted = true
		if ed25519.Verify(pub, msg, c.Signature[:]) {
			signed = true
			break
		}
	}
	if !trusted {
		return fmt.Errorf("%w: authority %v", ErrUntrusted, c.Authority)
	}
	if !signed {
		return ErrSignature
	}
	if now < c.NotBefore || now >= c.NotAfter {
		return fmt.Errorf("%w: valid %v to %v, now %v", ErrExpired, c.NotBefore, c.NotAfter, now)
	}
	if slices.Contains(t.Revoked, c.Serial) {
		return fmt.Errorf("%w: serial %d", ErrRevoked, c.Serial)
	}
	if !bytes.Equal(c.StaticKey[:], key[:]) {
		return ErrKeyMismatch
	}
	return nil
}
