package clinic

import (
	"context"
	"crypto/rand"
	"strings"
	"time"
)

// SecurityItem is an item on the administrator's security worklist: an
// account or a source address locked by the sign-in throttle. It stays open
// until an administrator resolves it (which also lifts the lock on this
// server).
type SecurityItem struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`    // account_locked, address_locked
	Subject    string     `json:"subject"` // the username or the address
	UserID     int64      `json:"user_id,omitempty"`
	Reason     string     `json:"reason"`
	RaisedAt   time.Time  `json:"raised_at"`
	Until      time.Time  `json:"until"` // the lock's end
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
}

// Security item kinds.
const (
	AccountLocked = "account_locked"
	AddressLocked = "address_locked"
)

// SecurityItems lists the security worklist, open items first, newest first.
func (s *Service) SecurityItems(ctx context.Context, openOnly bool) ([]*SecurityItem, error) {
	var out []*SecurityItem
	err := s.view(ctx, ManageUsers, func(tx Tx) (err error) {
		out, err = tx.SecurityItems(openOnly)
		return err
	})
	return out, err
}

// ResolveSecurityItem closes an item and lifts its lock (on this server; a
// lock elsewhere ends by itself within the lock time).
func (s *Service) ResolveSecurityItem(ctx context.Context, id int64) (*SecurityItem, error) {
	var it *SecurityItem
	err := s.write(ctx, ManageUsers, func(o *op) error {
		var err error
		if it, err = o.tx.SecurityItem(id); err != nil {
			return err
		}
		if it.ResolvedAt != nil {
			return nil // resolved already: nothing to do
		}
		before := *it
		at := o.now
		it.ResolvedAt, it.ResolvedBy = &at, o.p.Name
		if err := o.tx.ResolveSecurityItem(id, at, o.p.Name); err != nil {
			return err
		}
		o.audit("security.resolve", "security_item", id, 0, &before, it)
		return nil
	})
	if err == nil && it != nil {
		if it.Kind == AccountLocked {
			s.throttle.unlock(accountKey(it.Subject))
		} else {
			s.throttle.unlock("address:" + strings.TrimPrefix(it.Subject, "address:"))
		}
	}
	return it, err
}

// SharedSecret returns the secret of that name every server on the database
// shares (made, n random bytes, by the first server that asks): the
// sign-in form's CSRF key, so that several servers behind one load balancer
// accept each other's forms. It is the server's own (System).
func (s *Service) SharedSecret(ctx context.Context, name string, n int) ([]byte, error) {
	if FromContext(ctx) != System {
		return nil, Errorf(EFORBIDDEN, "", "shared secrets are the server's own")
	}
	fresh := make([]byte, n)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var key []byte
	err := s.Store.Update(ctx, func(tx Tx) (err error) {
		key, err = tx.Secret(name, fresh)
		return err
	})
	return key, err
}
