package telemetry

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"

	"github.com/flynn/noise"
	"golang.org/x/crypto/curve25519"

	"github.com/thecal/thecal/unit"
)

// Authority is a clinic authority's signing key. Its private half never leaves
// the authority's file; String, GoString and LogValue print only the public key
// id, so a stray log line or %v cannot leak it.
type Authority struct {
	private ed25519.PrivateKey
	Public  ed25519.PublicKey
	ID      KeyID
}

// NewAuthority generates an authority key from rng (crypto/rand if nil).
func NewAuthority(rng io.Reader) (Authority, error) {
	if rng == nil {
		rng = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(rng)
	if err != nil {
		return Authority{}, err
	}
	return Authority{private: priv, Public: pub, ID: KeyIDOf(pub)}, nil
}

func authorityFromSeed(seed []byte) (Authority, error) {
	if len(seed) != ed25519.SeedSize {
		return Authority{}, fmt.Errorf("%w: authority seed of %d bytes", ErrMalformed, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return Authority{private: priv, Public: pub, ID: KeyIDOf(pub)}, nil
}

func (a Authority) String() string           { return "authority " + a.ID.String() }
func (a Authority) GoString() string         { return "telemetry.Authority{ID: " + a.ID.String() + "}" }
func (a Authority) LogValue() slog.Value     { return slog.StringValue(a.String()) }
func (a Authority) hasPrivate() bool         { return len(a.private) == ed25519.PrivateKeySize }
func (a Authority) sign(msg []byte) [64]byte { return [64]byte(ed25519.Sign(a.private, msg)) }

// Issue signs a credential for holder key static. c's Version, Authority and
// Signature are filled in; Role, Serial, Name and the validity period are the
// caller's.
func (a Authority) Issue(c Credential) (Credential, error) {
	if !a.hasPrivate() {
		return Credential{}, fmt.Errorf("%w: authority has no private key", ErrCredential)
	}
	if c.NotAfter <= c.NotBefore {
		return Credential{}, fmt.Errorf("%w: empty validity period", ErrCredential)
	}
	c.Version = CredentialVersion
	c.Authority = a.ID
	msg, err := c.signedBytes()
	if err != nil {
		return Credential{}, err
	}
	c.Signature = a.sign(msg)
	return c, nil
}

// StaticKey is a long-term X25519 key pair, the identity the Noise handshake
// authenticates. Only the public half is printable.
type StaticKey struct {
	private [32]byte
	Public  [32]byte
}

// NewStaticKey generates a static key from rng (crypto/rand if nil).
func NewStaticKey(rng io.Reader) (StaticKey, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var k StaticKey
	if _, err := io.ReadFull(rng, k.private[:]); err != nil {
		return StaticKey{}, err
	}
	return staticFromPrivate(k.private[:])
}

func staticFromPrivate(priv []byte) (StaticKey, error) {
	if len(priv) != 32 {
		return StaticKey{}, fmt.Errorf("%w: static key of %d bytes", ErrMalformed, len(priv))
	}
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		return StaticKey{}, err
	}
	var k StaticKey
	copy(k.private[:], priv)
	copy(k.Public[:], pub)
	return k, nil
}

func (k StaticKey) String() string       { return "static key " + hex.EncodeToString(k.Public[:8]) }
func (k StaticKey) GoString() string     { return "telemetry.StaticKey{" + k.String() + "}" }
func (k StaticKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

func (k StaticKey) dhKey() noise.DHKey {
	priv, pub := k.private, k.Public
	return noise.DHKey{Private: priv[:], Public: pub[:]}
}

// Identity is one side's long-term identity: its static key and the
// credential that binds it.
type Identity struct {
	Static     StaticKey
	Credential Credential
}

// check verifies that the credential binds the static key.
func (id Identity) check() error {
	if id.Credential.StaticKey != id.Static.Public {
		return fmt.Errorf("identity: %w", ErrKeyMismatch)
	}
	return nil
}

// NewIdentity generates a static key and has authority a issue it a
// credential of role for name, serial and the given validity period.
func NewIdentity(rng io.Reader, a Authority, role Role, serial uint64, name string, notBefore, notAfter unit.Time) (Identity, error) {
	k, err := NewStaticKey(rng)
	if err != nil {
		return Identity{}, err
	}
	c, err := a.Issue(Credential{Role: role, Serial: serial, Name: name, NotBefore: notBefore, NotAfter: notAfter, StaticKey: k.Public})
	if err != nil {
		return Identity{}, err
	}
	return Identity{Static: k, Credential: c}, nil
}

// Enrolment is what a pump is given at implant: its identity (role pump) and
// the authorities it trusts, with their revocation list.
type Enrolment struct {
	Identity Identity
	Trust    Trust
}

// Enrol creates a pump's enrolment: a fresh static key, a pump credential
// issued by a, and trust in a plus any further authorities (for example a
// regional emergency authority).
func Enrol(rng io.Reader, a Authority, serial uint64, name string, notBefore, notAfter unit.Time, also ...ed25519.PublicKey) (Enrolment, error) {
	id, err := NewIdentity(rng, a, RolePump, serial, name, notBefore, notAfter)
	if err != nil {
		return Enrolment{}, err
	}
	t := Trust{Authorities: append([]ed25519.PublicKey{a.Public}, also...)}
	return Enrolment{Identity: id, Trust: t}, nil
}
