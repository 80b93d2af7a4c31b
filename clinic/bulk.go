package clinic

import "context"

// Bulk writes many records in one transaction, each audited exactly as the
// service audits it (an entry with the record's digest), and recomputes the
// worklist and list columns of every patient it touched once, at the end.
// It is for the server's own importers and generators (`thecal demo
// --patients`): only the System principal may use it, and it checks no
// clinical rule — what it is given is taken as recorded elsewhere.
type Bulk struct{ o *op }

// Bulk runs fn with a Bulk over one transaction: everything fn adds is
// committed with its audit entries, or nothing is.
func (s *Service) Bulk(ctx context.Context, fn func(b *Bulk) error) error {
	if FromContext(ctx) != System {
		return Errorf(EFORBIDDEN, "", "bulk writes are the server's own")
	}
	return s.write(ctx, ManageUsers, func(o *op) error { return fn(&Bulk{o: o}) })
}

// CreatePatient adds a patient (its ID and version are set).
func (b *Bulk) CreatePatient(p *Patient) error {
	p.CreatedAt, p.UpdatedAt = b.o.now, b.o.now
	if err := b.o.tx.CreatePatient(p); err != nil {
		return err
	}
	b.o.auditPatient("patient.create", nil, p)
	return nil
}

// Add adds a record of any kind (*Implant, *Prescription, *Refill…) for the
// patient its Meta names; its ID and version are set. A record with the key
// of one stored already is an ECONFLICT.
func (b *Bulk) Add(r record) error {
	created, err := b.o.create(r)
	if err == nil && !created {
		err = Errorf(ECONFLICT, "", "a %s with the same key is stored already", kindOf(r))
	}
	return err
}
