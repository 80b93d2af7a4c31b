package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/thecal/thecal/clinic"
)

// ---- drug library versions ----

const libraryCols = "id, version, digest, dated, publisher, note, published_by, published_by_id, published_at, drugs"

func scanLibrary(row interface{ Scan(...any) error }, extra ...any) (*clinic.LibraryVersion, error) {
	var v clinic.LibraryVersion
	var at int64
	var drugs string
	dest := append([]any{&v.ID, &v.Version, &v.Digest, &v.Dated, &v.Publisher, &v.Note, &v.PublishedBy, &v.ByID, &at, &drugs}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	v.PublishedAt = fromMS(at)
	if err := json.Unmarshal([]byte(drugs), &v.Drugs); err != nil {
		return nil, fmt.Errorf("store: library version %d: drugs: %w", v.ID, err)
	}
	return &v, nil
}

func (t *tx) CreateLibraryVersion(v *clinic.LibraryVersion) error {
	drugs, err := json.Marshal(v.Drugs)
	if err != nil {
		return err
	}
	err = t.queryRow(`INSERT INTO library_versions (version, digest, dated, publisher, note, published_by, published_by_id, published_at, drugs, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, v.Version, v.Digest, v.Dated, v.Publisher, v.Note, v.PublishedBy, v.ByID,
		ms(v.PublishedAt), string(drugs), string(v.Data)).Scan(&v.ID)
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, "version", "drug library version %q is published already: a published version is immutable", v.Version)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (t *tx) LibraryVersion(version string) (*clinic.LibraryVersion, error) {
	var data string
	v, err := scanLibrary(t.queryRow("SELECT "+libraryCols+", data FROM library_versions WHERE version = ?", version), &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, clinic.Errorf(clinic.ENOTFOUND, "version", "no drug library version %q", version)
	} else if err != nil {
		return nil, err
	}
	v.Data = []byte(data)
	return v, nil
}

func (t *tx) LatestLibraryVersion() (*clinic.LibraryVersion, error) {
	v, err := scanLibrary(t.queryRow("SELECT " + libraryCols + " FROM library_versions ORDER BY id DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

func (t *tx) LibraryVersions() ([]*clinic.LibraryVersion, error) {
	rows, err := t.query("SELECT " + libraryCols + " FROM library_versions ORDER BY id DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*clinic.LibraryVersion
	for rows.Next() {
		v, err := scanLibrary(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
