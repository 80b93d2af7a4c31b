package clinic

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The audit chain's anchor outside the database (issue 14, finding 5): a
// checkpoint is the chain's head (sequence number and hash) signed with the
// server's Ed25519 key. Someone who can write the database can change an
// entry and recompute every hash after it and the head, or cut entries off
// the end; they cannot make the chain pass through a checkpoint signed
// before, nor sign a new one without the key, which lives in a file (0600)
// outside the database.

// CheckpointFormat names the checkpoint file format.
const CheckpointFormat = "thecal-audit-checkpoint/1"

// Checkpoint is a signed audit chain head.
type Checkpoint struct {
	Format    string    `json:"format"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	PublicKey string    `json:"public_key"` // base64 of the Ed25519 public key
	Signature string    `json:"signature"`  // base64 of the Ed25519 signature
}

// message is what is signed: every field but the signature, length-prefixed.
func (c *Checkpoint) message() []byte {
	return []byte(digest(CheckpointFormat, []byte(c.Format), []byte(itoa(c.Seq)), []byte(c.Hash),
		[]byte(itoa(c.At.UnixMilli())), []byte(c.PublicKey)))
}

// SignCheckpoint signs a chain head.
func SignCheckpoint(key ed25519.PrivateKey, seq int64, hash string, at time.Time) *Checkpoint {
	c := &Checkpoint{Format: CheckpointFormat, Seq: seq, Hash: hash, At: at.UTC().Truncate(time.Millisecond),
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.message()))
	return c
}

// Verify checks the checkpoint was signed by pub, the key the verifier
// trusts (never the key the checkpoint names: anyone can make a key).
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if c.Format != CheckpointFormat {
		return fmt.Errorf("checkpoint: format %q, want %q", c.Format, CheckpointFormat)
	}
	if c.PublicKey != base64.StdEncoding.EncodeToString(pub) {
		return errors.New("checkpoint: signed with another key than this server's")
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(pub, c.message(), sig) {
		return errors.New("checkpoint: the signature does not verify: the file was changed")
	}
	return nil
}

// ParseCheckpoint reads a checkpoint file strictly.
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Checkpoint
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if c.Seq < 0 || c.Hash == "" && c.Seq != 0 {
		return nil, errors.New("checkpoint: no chain head")
	}
	return &c, nil
}

// NewAuditKey makes a new Ed25519 signing key, PEM-encoded (PKCS #8).
func NewAuditKey() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseAuditKey reads a key made by NewAuditKey.
func ParseAuditKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("audit key: not a PEM \"PRIVATE KEY\"")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("audit key: not an Ed25519 key")
	}
	return priv, nil
}

// Checkpoint verifies the whole audit trail and, only if it is intact, signs
// its head with key.
func (s *Service) Checkpoint(ctx context.Context, key ed25519.PrivateKey) (*Checkpoint, AuditReport, error) {
	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		return nil, rep, err
	}
	if !rep.OK {
		return nil, rep, Errorf(ECONFLICT, "", "the audit trail does not verify at entry %d (%s): no checkpoint signed", rep.BadSeq, rep.Problem)
	}
	return SignCheckpoint(key, rep.Entries, rep.Head, s.now()), rep, nil
}
