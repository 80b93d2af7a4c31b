package telemetry

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Key and credential files are PEM: one block per key, credential or list, so
// they can be read by eye and checked with standard tools. Every file is
// written with mode 0600. Files holding a private key are created exclusively
// (never overwritten: losing an authority key strands every pump that trusts
// it) and refused on reading if group or others can access them.

const (
	pemAuthorityPrivate = "THECAL AUTHORITY PRIVATE KEY"
	pemAuthorityPublic  = "THECAL AUTHORITY PUBLIC KEY"
	pemStaticPrivate    = "THECAL STATIC PRIVATE KEY"
	pemCredential       = "THECAL CREDENTIAL"
	pemRevoked          = "THECAL REVOKED SERIALS"
)

// ErrKeyFile is wrapped by every key-file error that is not an I/O error.
var ErrKeyFile = errors.New("telemetry: bad key file")

// maxKeyFile bounds what a key-file reader will read.
const maxKeyFile = 1 << 20

// EncodeAuthority encodes an authority's private key (and so its public key).
func EncodeAuthority(a Authority) ([]byte, error) {
	if !a.hasPrivate() {
		return nil, fmt.Errorf("%w: authority has no private key", ErrKeyFile)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemAuthorityPrivate, Bytes: a.private.Seed()}), nil
}

// DecodeAuthority decodes what EncodeAuthority wrote.
func DecodeAuthority(data []byte) (Authority, error) {
	var a Authority
	err := eachBlock(data, func(b *pem.Block) error {
		if b.Type != pemAuthorityPrivate || a.hasPrivate() {
			return fmt.Errorf("%w: unexpected %q block", ErrKeyFile, b.Type)
		}
		var err error
		a, err = authorityFromSeed(b.Bytes)
		return err
	})
	if err == nil && !a.hasPrivate() {
		err = fmt.Errorf("%w: no authority key", ErrKeyFile)
	}
	return a, err
}

// WriteAuthority writes a new authority key file; it never overwrites.
func WriteAuthority(path string, a Authority) error {
	return writeAs(path, a, EncodeAuthority, writeSecret)
}

// ReadAuthority reads an authority key file written by WriteAuthority.
func ReadAuthority(path string) (Authority, error) { return readAs(path, true, DecodeAuthority) }

// EncodeCredential encodes a credential.
func EncodeCredential(c Credential) ([]byte, error) {
	b, err := AppendCredential(nil, c)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCredential, Bytes: b}), nil
}

// DecodeCredential decodes what EncodeCredential wrote.
func DecodeCredential(data []byte) (Credential, error) {
	var c Credential
	n := 0
	err := eachBlock(data, func(b *pem.Block) error {
		if b.Type != pemCredential || n > 0 {
			return fmt.Errorf("%w: unexpected %q block", ErrKeyFile, b.Type)
		}
		n++
		return decodeCredentialBlock(b, &c)
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: no credential", ErrKeyFile)
	}
	return c, err
}

// WriteCredential writes (or atomically replaces) a credential file.
func WriteCredential(path string, c Credential) error {
	return writeAs(path, c, EncodeCredential, writeReplace)
}

// ReadCredential reads a credential file.
func ReadCredential(path string) (Credential, error) { return readAs(path, false, DecodeCredential) }

func decodeCredentialBlock(b *pem.Block, c *Credential) error {
	cr, n, err := ConsumeCredential(b.Bytes)
	if err != nil {
		return err
	}
	if n != len(b.Bytes) {
		return fmt.Errorf("%w: bytes after credential", ErrKeyFile)
	}
	*c = cr
	return nil
}

// EncodeIdentity encodes a static private key and its credential.
func EncodeIdentity(id Identity) ([]byte, error) {
	if err := id.check(); err != nil {
		return nil, err
	}
	cred, err := EncodeCredential(id.Credential)
	if err != nil {
		return nil, err
	}
	priv := id.Static.private
	out := pem.EncodeToMemory(&pem.Block{Type: pemStaticPrivate, Bytes: priv[:]})
	return append(out, cred...), nil
}

// DecodeIdentity decodes what EncodeIdentity wrote, and checks that the
// credential binds the key.
func DecodeIdentity(data []byte) (Identity, error) {
	var e Enrolment
	if err := decodeEnrolment(data, &e, false); err != nil {
		return Identity{}, err
	}
	return e.Identity, nil
}

// WriteIdentity writes a new identity file (static private key and
// credential); it never overwrites.
func WriteIdentity(path string, id Identity) error {
	return writeAs(path, id, EncodeIdentity, writeSecret)
}

// ReadIdentity reads an identity file written by WriteIdentity.
func ReadIdentity(path string) (Identity, error) { return readAs(path, true, DecodeIdentity) }

// EncodeTrust encodes authority public keys and the revocation list.
func EncodeTrust(t Trust) ([]byte, error) {
	var out []byte
	for _, pub := range t.Authorities {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: authority public key of %d bytes", ErrKeyFile, len(pub))
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemAuthorityPublic, Bytes: pub})...)
	}
	if len(t.Revoked) > 0 {
		var b []byte
		for _, s := range t.Revoked {
			b = binary.BigEndian.AppendUint64(b, s)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemRevoked, Bytes: b})...)
	}
	return out, nil
}

// DecodeTrust decodes what EncodeTrust wrote.
func DecodeTrust(data []byte) (Trust, error) {
	var t Trust
	err := eachBlock(data, func(b *pem.Block) error { return decodeTrustBlock(b, &t) })
	return t, err
}

// WriteTrust writes (or atomically replaces) a trust file: authority public
// keys and the revocation list.
func WriteTrust(path string, t Trust) error { return writeAs(path, t, EncodeTrust, writeReplace) }

// ReadTrust reads a trust file.
func ReadTrust(path string) (Trust, error) { return readAs(path, false, DecodeTrust) }

func decodeTrustBlock(b *pem.Block, t *Trust) error {
	switch b.Type {
	case pemAuthorityPublic:
		if len(b.Bytes) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: authority public key of %d bytes", ErrKeyFile, len(b.Bytes))
		}
		t.Authorities = append(t.Authorities, ed25519.PublicKey(append([]byte(nil), b.Bytes...)))
	case pemRevoked:
		if len(b.Bytes)%8 != 0 {
			return fmt.Errorf("%w: revocation list of %d bytes", ErrKeyFile, len(b.Bytes))
		}
		for p := b.Bytes; len(p) > 0; p = p[8:] {
			t.Revoke(binary.BigEndian.Uint64(p))
		}
	default:
		return fmt.Errorf("%w: unexpected %q block", ErrKeyFile, b.Type)
	}
	return nil
}

// EncodeEnrolment encodes a pump's identity and trust in one file.
func EncodeEnrolment(e Enrolment) ([]byte, error) {
	id, err := EncodeIdentity(e.Identity)
	if err != nil {
		return nil, err
	}
	t, err := EncodeTrust(e.Trust)
	if err != nil {
		return nil, err
	}
	return append(id, t...), nil
}

// DecodeEnrolment decodes what EncodeEnrolment wrote.
func DecodeEnrolment(data []byte) (Enrolment, error) {
	var e Enrolment
	err := decodeEnrolment(data, &e, true)
	if err == nil && len(e.Trust.Authorities) == 0 {
		err = fmt.Errorf("%w: enrolment trusts no authority", ErrKeyFile)
	}
	return e, err
}

// WriteEnrolment writes a new pump enrolment file; it never overwrites.
func WriteEnrolment(path string, e Enrolment) error {
	return writeAs(path, e, EncodeEnrolment, writeSecret)
}

// ReadEnrolment reads a file written by WriteEnrolment.
func ReadEnrolment(path string) (Enrolment, error) { return readAs(path, true, DecodeEnrolment) }

func decodeEnrolment(data []byte, e *Enrolment, trust bool) error {
	var haveKey, haveCred bool
	err := eachBlock(data, func(b *pem.Block) error {
		switch {
		case b.Type == pemStaticPrivate && !haveKey:
			k, err := staticFromPrivate(b.Bytes)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrKeyFile, err)
			}
			e.Identity.Static, haveKey = k, true
			return nil
		case b.Type == pemCredential && !haveCred:
			haveCred = true
			return decodeCredentialBlock(b, &e.Identity.Credential)
		case trust:
			return decodeTrustBlock(b, &e.Trust)
		}
		return fmt.Errorf("%w: unexpected %q block", ErrKeyFile, b.Type)
	})
	if err != nil {
		return err
	}
	if !haveKey || !haveCred {
		return fmt.Errorf("%w: identity needs a static key and a credential", ErrKeyFile)
	}
	return e.Identity.check()
}

// eachBlock calls f for every PEM block in data; anything else in the file
// but whitespace is an error, and so are PEM headers.
func eachBlock(data []byte, f func(*pem.Block) error) error {
	for {
		b, rest := pem.Decode(data)
		if b == nil {
			for _, c := range rest {
				if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					return fmt.Errorf("%w: text outside PEM blocks", ErrKeyFile)
				}
			}
			return nil
		}
		if len(b.Headers) != 0 {
			return fmt.Errorf("%w: PEM headers not allowed", ErrKeyFile)
		}
		if err := f(b); err != nil {
			return err
		}
		data = rest
	}
}

// A key file is written by one of two writers (writeSecret: created once,
// never overwritten, for private keys; writeReplace: replaced atomically, for
// public files) and read back by readFile, which for a secret also refuses a
// file others can read.

// writeAs encodes v and writes it with write.
func writeAs[T any](path string, v T, encode func(T) ([]byte, error), write func(string, []byte) error) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return write(path, data)
}

// readAs reads a file and decodes it.
func readAs[T any](path string, secret bool, decode func([]byte) (T, error)) (T, error) {
	data, err := readFile(path, secret)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(data)
}

func writeSecret(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The umask can only clear bits, but make the mode explicit anyway.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func writeReplace(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func readFile(path string, secret bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if secret {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s is accessible by others (mode %v); chmod 600 it", ErrKeyFile, path, st.Mode().Perm())
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeyFile, path, maxKeyFile)
	}
	return data, nil
}
