package clinic

import (
	"context"
	"strconv"
	"time"
)

// Nothing is recorded twice (issue 11 item 7). A create made under an
// idempotency key — the API's Idempotency-Key header, a page form's key —
// stores its answer under the key in the transaction of the create itself, so
// the record and the answer are committed together or not at all: a repeat
// of the request, on this server or another one on the same database, before
// or after a restart, finds the answer instead of recording again. Keys are
// scoped to the principal (one user's key is not another's) and kept for
// IdempotencyTTL.

// IdempotencyTTL is how long a key and its answer are kept: a day covers
// every retry of a client or a person (a reload, a resent form, a queued
// request of a monitor that lost its network); after it, the key may be used
// again.
const IdempotencyTTL = 24 * time.Hour

// Idempotent is an answer stored under an idempotency key.
type Idempotent struct {
	Scope string // whose key (IdempotencyScope)
	Key   string
	// Fingerprint identifies the request (method, path and body): a repeat
	// has the same, another request under the same key another.
	Fingerprint string
	Status      int    // the answer's HTTP status
	Location    string // for a page form: where its answer sends the browser
	Body        []byte // the answer's body
	CreatedAt   time.Time
}

// Idempotency is a request made under an idempotency key, carried by its
// context (WithIdempotency) into the Service. The first write of the request
// that succeeds stores Answer's answer with it; the write finds the key taken
// (IsKeyUsed) when another request stored it first.
type Idempotency struct {
	Scope, Key, Fingerprint string
	// Answer renders the answer to store, in the write's transaction, after
	// the write succeeded; result is what the service declared its result
	// (the alarm acknowledged, the user created, the report's ingest
	// result…), nil when the caller holds the result itself (a record it
	// passed in, filled by the service).
	Answer func(result any) (status int, location string, body []byte, err error)
	result any
	done   bool
}

type idempotencyKey struct{}

// WithIdempotency returns a context whose next successful write stores its
// answer under i.
func WithIdempotency(ctx context.Context, i *Idempotency) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, i)
}

func idempotencyOf(ctx context.Context) *Idempotency {
	i, _ := ctx.Value(idempotencyKey{}).(*Idempotency)
	if i == nil || i.done || i.Answer == nil {
		return nil
	}
	return i
}

// IdempotencyScope is whose keys a principal's are: a user's, a token's, the
// server's own.
func IdempotencyScope(p *Principal) string {
	switch {
	case p == nil:
		return ""
	case p.TokenID != 0:
		return "token:" + strconv.FormatInt(p.TokenID, 10)
	case p == System || p.UserID == 0:
		return "system:" + p.Name
	}
	return "user:" + strconv.FormatInt(p.UserID, 10)
}

// keyUsed is the refusal of a write whose key another request stored first.
func keyUsed(field string) error {
	return Errorf(ECONFLICT, field, "a request with this idempotency key was recorded already: its answer stands")
}

// IsKeyUsed reports whether err refused a write because its idempotency key
// was taken by another request (read the stored answer with Idempotent).
func IsKeyUsed(err error) bool {
	return ErrorCode(err) == ECONFLICT && ErrorField(err) == IdempotencyField
}

// IdempotencyField is the field a taken key is refused on.
const IdempotencyField = "Idempotency-Key"

// Idempotent returns the answer stored under the acting principal's key, or
// nil when there is none (or it is older than IdempotencyTTL).
func (s *Service) Idempotent(ctx context.Context, key string) (*Idempotent, error) {
	p := FromContext(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHORIZED, "", "sign in first")
	}
	var r *Idempotent
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		r, err = tx.Idempotent(IdempotencyScope(p), key, s.now().Add(-IdempotencyTTL))
		return err
	})
	return r, err
}

// result declares what a write's answer is made of (Idempotency.Answer's
// result).
func (o *op) result(v any) {
	if o.idem != nil {
		o.idem.result = v
	}
}

// storeAnswer saves the request's answer under its key, in the write's
// transaction.
func (o *op) storeAnswer() error {
	i := o.idem
	status, loc, body, err := i.Answer(i.result)
	if err != nil {
		return err
	}
	err = o.tx.SaveIdempotent(&Idempotent{Scope: i.Scope, Key: i.Key, Fingerprint: i.Fingerprint, Status: status,
		Location: loc, Body: body, CreatedAt: o.now}, o.now.Add(-IdempotencyTTL))
	if ErrorCode(err) == ECONFLICT {
		return keyUsed(IdempotencyField)
	}
	return err
}
