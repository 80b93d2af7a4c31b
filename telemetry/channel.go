package telemetry

import (
	"fmt"
	"io"

	"github.com/flynn/noise"

	"github.com/thecal/thecal/pumpwire"
)

// The handshake is Noise_XX_25519_ChaChaPoly_BLAKE2s from the flynn/noise
// implementation; this package only moves its messages and checks the
// credentials carried in their encrypted payloads. The prologue binds the
// protocol name and frame version into the handshake hash, so a peer of
// another version fails the handshake rather than misreading it.
var (
	cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
	prologue    = []byte{'t', 'h', 'e', 'c', 'a', 'l', ' ', 't', 'e', 'l', 'e', 'm', 'e', 't', 'r', 'y', ' ', Version}
)

func newHandshake(initiator bool, static StaticKey, rng io.Reader) (*noise.HandshakeState, error) {
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        rng,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      prologue,
		StaticKeypair: static.dhKey(),
	})
}

// Sizes of the data channel.
const (
	tagLen = 16 // ChaCha20-Poly1305 tag
	// maxFragment is the most message bytes one data frame carries: the
	// payload less the tag and the fragment flags byte.
	maxFragment = MaxPayload - tagLen - 1
	flagMore    = 0x01
)

// channel is one side's half of an established session: a send and a receive
// Noise CipherState, whose implicit nonces are the per-direction frame
// counters, and the reassembly buffer for a message split across frames.
// A frame that does not open with the next receive counter (replayed,
// reordered, duplicated, dropped before it, from another session, or altered
// in any bit, header included) fails authentication.
type channel struct {
	send, recv *noise.CipherState
	hdr        [HeaderLen]byte
	enc        []byte // encoded outgoing message
	pt         []byte // one fragment's plaintext
	open       []byte // decrypted incoming frame
	msg        []byte // reassembled incoming message
	// fragment, if not zero, is a smaller fragment size than maxFragment
	// (tests use it to split a command over several frames).
	fragment int
}

// seal encodes m and appends its data frames to out, returning out and the
// frames (sub-slices of out).
func (c *channel) seal(out []byte, m pumpwire.Message) ([]byte, [][]byte, error) {
	var err error
	c.enc, err = pumpwire.AppendMessage(c.enc[:0], m)
	if err != nil {
		return out, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var frames [][]byte
	rest := c.enc
	size := maxFragment
	if c.fragment > 0 {
		size = min(c.fragment, maxFragment)
	}
	for first := true; first || len(rest) > 0; first = false {
		n := min(len(rest), size)
		flags := byte(0)
		if n < len(rest) {
			flags = flagMore
		}
		c.pt = append(append(c.pt[:0], flags), rest[:n]...)
		rest = rest[n:]
		AppendHeader(c.hdr[:0], Header{Version: Version, Type: FrameData, Length: uint16(len(c.pt) + tagLen)})
		start := len(out)
		out = append(out, c.hdr[:]...)
		out, err = c.send.Encrypt(out, c.hdr[:], c.pt)
		if err != nil {
			return out[:start], nil, err
		}
		frames = append(frames, out[start:len(out):len(out)])
	}
	return out, frames, nil
}

// receive opens one data frame. Once the last fragment of a message has
// arrived it returns the whole message (valid until the next call) and true.
func (c *channel) receive(frame []byte) ([]byte, bool, error) {
	h, payload, err := ConsumePacket(frame)
	if err != nil {
		return nil, false, err
	}
	if h.Type != FrameData {
		return nil, false, fmt.Errorf("%w: %v frame in an open session", ErrUnexpected, h.Type)
	}
	if len(payload) < tagLen+1 {
		return nil, false, fmt.Errorf("%w: data frame of %d bytes", ErrIntegrity, len(payload))
	}
	c.open, err = c.recv.Decrypt(c.open[:0], frame[:HeaderLen], payload)
	if err != nil {
		return nil, false, ErrIntegrity
	}
	flags, frag := c.open[0], c.open[1:]
	if flags&^flagMore != 0 {
		return nil, false, fmt.Errorf("%w: fragment flags %#x", ErrMalformed, flags)
	}
	if len(c.msg)+len(frag) > MaxMessage {
		return nil, false, fmt.Errorf("%w: message over %d bytes", ErrTooLarge, MaxMessage)
	}
	if flags&flagMore != 0 && len(frag) == 0 {
		return nil, false, fmt.Errorf("%w: empty fragment", ErrMalformed)
	}
	c.msg = append(c.msg, frag...)
	if flags&flagMore != 0 {
		return nil, false, nil
	}
	m := c.msg
	c.msg = c.msg[:0]
	return m, true, nil
}
