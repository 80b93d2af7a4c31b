package telemetry

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// ShowFile says what a key, credential, identity, enrolment or trust file
// holds, a line each, naming keys by their public key ids: never anything
// secret. A private key file others may read is refused, as ReadIdentity
// and ReadAuthority refuse it.
func ShowFile(path string) ([]string, error) {
	data, err := readFile(path, false)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.Contains(data, []byte("AUTHORITY PRIVATE KEY")):
		a, err := ReadAuthority(path)
		if err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("authority  %v (private key present)", a.ID)}, nil
	case bytes.Contains(data, []byte("STATIC PRIVATE KEY")):
		if e, err := ReadEnrolment(path); err == nil {
			return append(append([]string{"pump enrolment (private key present)"}, e.Identity.Credential.Lines()...), e.Trust.Lines()...), nil
		}
		id, err := ReadIdentity(path)
		if err != nil {
			return nil, err
		}
		return append([]string{"identity (private key present)"}, id.Credential.Lines()...), nil
	case bytes.Contains(data, []byte("THECAL CREDENTIAL")):
		c, err := ReadCredential(path)
		if err != nil {
			return nil, err
		}
		return append([]string{"credential"}, c.Lines()...), nil
	}
	t, err := ReadTrust(path)
	if err != nil {
		return nil, err
	}
	return append([]string{"trust file"}, t.Lines()...), nil
}

// Lines describes c, a line each: role, serial, name, validity, authority
// and the first 8 bytes of the static key.
func (c Credential) Lines() []string {
	return []string{
		fmt.Sprintf("role       %v", c.Role),
		fmt.Sprintf("serial     %d", c.Serial),
		fmt.Sprintf("name       %q", c.Name),
		fmt.Sprintf("valid      %s to %s", c.NotBefore.Format("2006-01-02 15:04Z07:00"), c.NotAfter.Format("2006-01-02 15:04Z07:00")),
		fmt.Sprintf("authority  %v", c.Authority),
		"static key " + hex.EncodeToString(c.StaticKey[:8]),
	}
}

// Lines describes t, a line each: the authorities it trusts, by key id, and
// the serials it has revoked.
func (t Trust) Lines() []string {
	var out []string
	for _, a := range t.Authorities {
		out = append(out, fmt.Sprintf("trusts     authority %v", KeyIDOf(a)))
	}
	if len(t.Revoked) > 0 {
		out = append(out, fmt.Sprintf("revoked    serials %v", t.Revoked))
	}
	return out
}

// WriteSecretFile writes data as every private key file of Thecal is
// written: a new file, never overwriting one, that only its owner may read
// (0600), synced before it is closed.
func WriteSecretFile(path string, data []byte) error { return writeSecret(path, data) }

// ReadSecretFile reads a private key file, refusing one others may read.
func ReadSecretFile(path string) ([]byte, error) { return readFile(path, true) }
